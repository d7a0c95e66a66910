"""`journal.threads`: named, ordered collections of reflections (tables `threads`, `thread_reflections`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..ids import random_id
from ..records import Identity, Thread, to_json
from ..timeutil import now_iso, parse_utc
from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd


class Threads(Collection):
    """Threads: `add`, `extend`, `get`, `rows`."""

    def add(self, identity: str | Identity, title: str, reflection_ids: Iterable[str] = (),
            metadata: dict | None = None) -> Thread:
        """A new thread holding `reflection_ids` in order (InvalidInputError for an unknown reflection)."""
        self._writable()
        ident = self.journal.identities.get(identity)
        tid = random_id("t")
        with self.journal.transaction():
            self.restore(tid, ident.id, title, now_iso(), metadata or {}, list(reflection_ids))
        return self.get(tid)

    def restore(self, id: str, identity_id: str, title: str, created_at: str, metadata: dict,
                reflection_ids: list[str]) -> None:
        """Insert one thread row with its reflections (inside the caller's transaction)."""
        self._execute(
            "INSERT INTO threads (id, identity_id, title, created_at, metadata) VALUES (?, ?, ?, ?, ?)",
            (id, identity_id, title, created_at, to_json(metadata, "metadata")),
        )
        self._append(id, reflection_ids)

    def delete_rows(self, where: str, params: Iterable[Any]) -> int:
        return self.conn.execute(f"DELETE FROM threads WHERE {where}", list(params)).rowcount

    def _append(self, thread_id: str, reflection_ids: list[str]) -> None:
        start = self._execute(
            "SELECT coalesce(max(position), -1) + 1 FROM thread_reflections WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]
        for i, rid in enumerate(reflection_ids):
            try:
                self.conn.execute(
                    "INSERT INTO thread_reflections (thread_id, reflection_id, position) VALUES (?, ?, ?)",
                    (thread_id, rid, start + i),
                )
            except sqlite3.IntegrityError as exc:
                raise InvalidInputError(f"cannot add reflection {rid!r} to thread {thread_id!r}: {exc}") from exc

    def extend(self, thread_id: str, *reflection_ids: str) -> Thread:
        """Append reflections to a thread; returns the thread."""
        self.get(thread_id)
        self._writable()
        with self.journal.transaction():
            self._append(thread_id, list(reflection_ids))
        return self.get(thread_id)

    def get(self, thread_id: str) -> Thread:
        """One thread by id (NotFoundError if there is none)."""
        r = self._execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no thread with id {thread_id!r}")
        ids = [x[0] for x in self._execute(
            "SELECT reflection_id FROM thread_reflections WHERE thread_id = ? ORDER BY position", (thread_id,)
        )]
        return Thread(r["id"], r["identity_id"], r["title"], parse_utc(r["created_at"]), ids, json.loads(r["metadata"]))

    def rows(self, identity: str | Identity | None = None) -> list[Thread]:
        """Threads in creation order, optionally of one identity."""
        sql, params = "SELECT id FROM threads", []
        if identity is not None:
            sql += " WHERE identity_id = ?"
            params.append(self.journal.identities.get(identity).id)
        return [self.get(r[0]) for r in self._execute(sql + " ORDER BY created_at, rowid", params).fetchall()]

    def __iter__(self) -> Iterator[Thread]:
        return iter(self.rows())

    def frame(self, identity: Any = None) -> pd.DataFrame:
        return self.journal.frame("threads", identity)
