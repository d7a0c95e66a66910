"""`journal.runs`: the record of every analysis run (table `analysis_runs`)."""

from __future__ import annotations

import contextlib
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


class Runs(Collection):
    """Analysis runs: `record` (a context manager) and `rows`/`frame` to read them."""

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
        ident_id = self.journal.identities.id_of(identity)
        info: dict = {"id": rid, "counts": {}, "metadata": {}}
        started = now_iso()
        t0 = time.perf_counter()
        outer = conn.in_transaction
        with self.journal.transaction():
            self._execute(
                "INSERT INTO analysis_runs (id, identity_id, kind, parameters, started_at, status, metadata) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (rid, ident_id, kind, to_json(parameters, "parameters"), started, owner_metadata()),
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
                counts, meta = to_json(info.get("counts"), "counts"), to_json(info.get("metadata"), "metadata")
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
        sql, where, params = "SELECT * FROM analysis_runs", [], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if identity is not None:
            where.append("identity_id = ?")
            params.append(self.journal.identities.get(identity).id)
        if where:
            sql += " WHERE " + " AND ".join(where)
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
