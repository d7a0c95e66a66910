"""Large inserts into `reflections` with index upkeep deferred to one pass at the end of the transaction.

Each reflection row touches four B-trees of `reflections` (its random hash id, content hash, source
key, time order), two of the full-text index and two of `reflection_tags`; inserted one by one, keys
land at random places and a large import spends most of its database time moving pages in and out of
the page cache. In bulk mode, inside the caller's transaction:

- the per-row full-text trigger is dropped and every reflection inserted meanwhile is indexed by one
  INSERT ... SELECT at the end (one FTS5 flush instead of one per chunk);
- when the journal holds few reflections, the secondary indexes of `reflections` are dropped and
  built again at the end by sorting (a unique index that no longer holds raises, so the whole
  transaction rolls back, as a conflict on insert would);
- the page cache is raised to a fixed size (not proportional to the import: memory stays flat).

Everything happens in a savepoint of the caller's transaction: a failure or a kill leaves the
schema, the rows and the index exactly as they were; other connections never see the schema without
its trigger or indexes. Durability settings (journal mode, synchronous) are never touched.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .errors import InvalidInputError
from .search_index import index_inserted_since

_TRIGGER = "reflections_search_ai"
# Page cache during a bulk load, in KiB (negative PRAGMA cache_size): bounded, whatever the row count.
CACHE_KIB = 65536
# Below this many stored reflections the secondary indexes are rebuilt rather than kept up per row
# (rebuilding costs a sort of every row, old ones included).
REBUILD_MAX_EXISTING = 100_000


class BulkLoad:
    """Deferred index upkeep for one large write; `begin()` (idempotent) then `finish()` or `abort()`.

    Call inside a transaction. `finish` raises InvalidInputError when a rebuilt unique index finds
    two reflections with the same (identity, source, source id); the caller's transaction then rolls back.
    """

    def __init__(self, conn: sqlite3.Connection, path: Any = None) -> None:
        self.conn, self.path = conn, path
        self.active = False
        self._trigger: str | None = None
        self._indexes: list[tuple[str, str]] = []
        self._start_rowid = 0
        self._cache: int | None = None

    def begin(self) -> None:
        """Enter bulk mode (once; later calls do nothing)."""
        if self.active or not self.conn.in_transaction:
            return
        conn = self.conn
        conn.execute("SAVEPOINT bulk_load")
        self.active = True
        self._cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._start_rowid = conn.execute("SELECT coalesce(max(rowid), 0) FROM reflections").fetchone()[0]
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                           (_TRIGGER,)).fetchone()
        if row is not None:
            conn.execute(f"DROP TRIGGER {_TRIGGER}")
            self._trigger = row[0]
        existing = conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM reflections LIMIT {REBUILD_MAX_EXISTING})"
        ).fetchone()[0]
        if existing < REBUILD_MAX_EXISTING:
            self._indexes = [(n, s) for n, s in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reflections' "
                "AND sql IS NOT NULL ORDER BY name"
            )]
            for name, _ in self._indexes:
                conn.execute(f'DROP INDEX "{name}"')

    def finish(self) -> None:
        """Build the deferred indexes and full-text rows, restore the trigger, leave bulk mode."""
        if not self.active:
            return
        conn = self.conn
        try:
            for name, sql in self._indexes:
                try:
                    conn.execute(sql)
                except sqlite3.IntegrityError as exc:
                    raise InvalidInputError(self._explain(name, exc)) from exc
            if self._trigger is not None:
                index_inserted_since(conn, self._start_rowid)
                conn.execute(self._trigger)
        except BaseException:
            self.abort()
            raise
        conn.execute("RELEASE bulk_load")
        self._leave()

    def abort(self) -> None:
        """Undo everything written since `begin` (rows included) and leave bulk mode."""
        if not self.active:
            return
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK TO bulk_load")
            self.conn.execute("RELEASE bulk_load")
        self._leave()

    def _leave(self) -> None:
        self.active = False
        if self._cache is not None:
            self.conn.execute(f"PRAGMA cache_size = {int(self._cache)}")

    def _explain(self, index: str, exc: sqlite3.Error) -> str:
        dup = self.conn.execute(
            "SELECT source, source_id FROM reflections WHERE source IS NOT NULL AND source_id IS NOT NULL "
            "GROUP BY identity_id, source, source_id HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if dup is not None:
            return f"source {dup[0]!r} source_id {dup[1]!r} would be stored twice; nothing was stored"
        where = f"{self.path}: " if self.path else ""
        return f"{where}cannot rebuild index {index} ({exc}); nothing was stored"
