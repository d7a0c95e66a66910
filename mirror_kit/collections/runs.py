"""`journal.runs`: the record of every analysis run (table `analysis_runs`)."""

from __future__ import annotations

import contextlib
import contextvars
import json
import sqlite3
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..ids import random_id
from ..records import Identity, to_json
from ..runrecovery import interrupted, owner_metadata
from ..timeutil import now_iso
from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd

# The request (an HTTP run id) the runs recorded in this context belong to: stored in their metadata
# as `request`, so that run id still finds them after the server that answered it has restarted.
_REQUEST: contextvars.ContextVar[str | None] = contextvars.ContextVar("mirror_kit_run_request", default=None)


class Runs(Collection):
    """Analysis runs: `record` (a context manager) and `rows`/`frame` to read them."""

    @contextlib.contextmanager
    def for_request(self, request_id: str) -> Iterator[None]:
        """Runs recorded inside this block carry `request_id` in their metadata (`request`)."""
        token = _REQUEST.set(request_id)
        try:
            yield
        finally:
            _REQUEST.reset(token)

    def of_request(self, request_id: str) -> list[dict]:
        """The runs recorded for one request (see `for_request`), oldest first, as `rows` gives them."""
        return self._rows("WHERE json_extract(metadata, '$.request') = ?", [request_id])

    @contextlib.contextmanager
    def record(self, kind: str, identity: str | Identity | None = None,
               parameters: dict | None = None) -> Iterator[dict]:
        """Record an analysis run: yields a dict whose `counts`/`metadata` the caller fills in;
        duration and status (ok/failed, with the error) are stored when the block ends.

        Used inside an outer `journal.transaction()`, the run row shares its fate: a failure that rolls
        the outer transaction back takes the run row with it.
        """
        self._writable()
        conn = self.conn
        rid = random_id("run")
        request = _REQUEST.get()
        ident_id = self.journal.identities.id_of(identity)
        info: dict = {"id": rid, "counts": {}, "metadata": {}}
        started = now_iso()
        t0 = time.perf_counter()
        outer = conn.in_transaction
        with self.journal.transaction():
            self._execute(
                "INSERT INTO analysis_runs (id, identity_id, kind, parameters, started_at, status, metadata) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (rid, ident_id, kind, to_json(parameters, "parameters"), started, owner_metadata(request)),
            )
        status, error = "ok", None
        try:
            yield info
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            # A failed block may have left its own BEGIN open; the run row must still land.
            if not outer and conn.in_transaction:
                conn.execute("ROLLBACK")
            try:
                final = info.get("metadata")
                if request is not None and isinstance(final, dict):
                    final = {**final, "request": request}
                counts, meta = to_json(info.get("counts"), "counts"), to_json(final, "metadata")
            except InvalidInputError as exc:
                counts, meta = "{}", "{}"
                if status == "ok":
                    status, error = "failed", str(exc)
            with self.journal.transaction():
                self._execute(
                    "UPDATE analysis_runs SET duration_ms = ?, counts = ?, status = ?, error = ?, metadata = ? "
                    "WHERE id = ?",
                    ((time.perf_counter() - t0) * 1000, counts, status, error, meta, rid),
                )

    def restore(self, row: dict) -> None:
        """Insert one run row as exported (inside the caller's transaction)."""
        cols = ["id", "identity_id", "kind", "parameters", "started_at", "duration_ms", "counts", "status",
                "error", "metadata"]
        self._execute(f"INSERT INTO analysis_runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                      [row.get(c) for c in cols])

    def delete_rows(self, where: str, params: Any) -> int:
        return self.conn.execute(f"DELETE FROM analysis_runs WHERE {where}", list(params)).rowcount

    def rows(self, kind: str | None = None, identity: str | Identity | None = None) -> list[dict]:
        """Runs oldest first as dicts (id, kind, identity_id, parameters, started_at, duration_ms (ms),
        counts, status, error, metadata)."""
        where, params = [], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if identity is not None:
            where.append("identity_id = ?")
            params.append(self.journal.identities.get(identity).id)
        return self._rows("WHERE " + " AND ".join(where) if where else "", params)

    def _rows(self, where: str, params: list) -> list[dict]:
        sql = f"SELECT * FROM analysis_runs {where}"
        out = []
        for r in self._execute(sql + " ORDER BY started_at, rowid", params):
            d = dict(r)
            for k in ("parameters", "counts", "metadata"):
                d[k] = json.loads(d[k])
            out.append(d)
        return out

    def frame(self, identity: Any = None, since: Any = None, until: Any = None) -> pd.DataFrame:
        return self.journal.frame("runs", identity, since, until)


def mark_interrupted(conn: sqlite3.Connection) -> int:
    """Mark `running` runs whose process is gone as failed ('interrupted: ...'); returns how many.

    Called on every writable open. Never raises for a busy or read-only journal (the next open tries
    again).
    """
    try:
        rows = conn.execute(
            "SELECT id, started_at, metadata FROM analysis_runs WHERE status = 'running'").fetchall()
    except sqlite3.Error:
        return 0
    dead = interrupted([tuple(r) for r in rows])
    if not dead:
        return 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE analysis_runs SET status = 'failed', error = ? WHERE id = ? AND status = 'running'",
            [(why, rid) for rid, why in dead],
        )
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return 0
    return len(dead)
