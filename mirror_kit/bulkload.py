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
- new rows (with their tag links) wait in scratch tables of the connection's temp database and are
  inserted at the end in id order, so every B-tree keyed by the hash id (the table's id index, the
  tag links, the search index's key) grows at one end instead of at a random page per row; once
  those B-trees outgrow the page cache, random inserts cost more than everything else together;
- the page cache is raised to a fixed size (not proportional to the import: memory stays flat).

Everything happens in a savepoint of the caller's transaction: a failure or a kill leaves the
schema, the rows and the index exactly as they were; other connections never see the schema without
its trigger or indexes. Durability settings (journal mode, synchronous) are never touched.
"""

from __future__ import annotations

import operator
import sqlite3
from typing import Any

from .errors import InvalidInputError
from .search_index import index_inserted_since

_TRIGGER = "reflections_search_ai"
# Page cache during a bulk load, in KiB (negative PRAGMA cache_size): bounded, whatever the row count.
# Rows arrive in key order, so a small cache does; it also bounds SQLite's sorter (which spills to temp
# files beyond it). 64 MB cost the same CPU at 300k rows and doubled the peak RSS.
CACHE_KIB = 16384
# Below this many stored reflections the secondary indexes are rebuilt rather than kept up per row
# (rebuilding costs a sort of every row, old ones included).
REBUILD_MAX_EXISTING = 100_000


# Columns that one import usually writes with one value for every row (checked per chunk).
_CONSTANT_CANDIDATES = ("identity_id", "tz", "source", "visibility", "intensity", "language")


def _same(rows: list[dict], col: str, value: Any) -> bool:
    """Whether every row holds exactly `value` (same type too: SQLite stores 1 and 1.0 differently)."""
    values = list(map(operator.itemgetter(col), rows))
    return set(map(type, values)) == {type(value)} and set(values) == {value}


class BulkLoad:
    """Deferred index upkeep for one large write; `begin()` (idempotent) then `finish()` or `abort()`.

    Call inside a transaction. `finish` raises InvalidInputError when a rebuilt unique index finds
    two reflections with the same (identity, source, source id); the caller's transaction then rolls back.
    """

    def __init__(self, conn: sqlite3.Connection, path: Any = None, journal: Any = None) -> None:
        self.conn, self.path, self.journal = conn, path, journal
        self._cols: list[str] | None = None  # columns of the staged rows, once staging began
        self._consts: dict[str, Any] = {}  # columns held once for every staged row: name -> value
        self._no_stage = False
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

    def stage(self, rows: list[dict]) -> bool:
        """Hold encoded reflection rows and their tag links until `finish` inserts them in id order.

        False (nothing held) outside bulk mode or without a journal: the caller inserts them itself.
        Rows are dicts of `Reflections.encode`; tags are created now, in the order first seen.
        """
        if not self.active or self.journal is None or not rows or self._no_stage:
            return False
        conn = self.conn
        if self._cols is not None and not all(_same(rows, c, v) for c, v in self._consts.items()):
            self._insert_staged()  # a value held once for all rows changed: start again from here
        if self._cols is None:
            names = [c for c in rows[0] if not c.startswith("_") and c in self.journal.reflections.columns]
            # Columns equal in every row (identity, source, ...) are held once, not per row: fewer
            # values to bind, store and sort per row.
            consts = {c: rows[0][c] for c in names if c in _CONSTANT_CANDIDATES and _same(rows, c, rows[0][c])}
            cols = [c for c in names if c not in consts]
            conn.execute("SAVEPOINT bulk_stage")
            try:
                # No column types: values are stored as given and converted once, by `reflections`.
                conn.execute(f"CREATE TEMP TABLE mirror_kit_bulk_rows ({', '.join(cols)})")
                conn.execute("CREATE TEMP TABLE mirror_kit_bulk_links (reflection_id, tag_id)")
            except sqlite3.Error:
                # No temp database here (or a name taken): rows go in as they come, only slower.
                conn.execute("ROLLBACK TO bulk_stage")
                conn.execute("RELEASE bulk_stage")
                self._no_stage = True
                return False
            conn.execute("RELEASE bulk_stage")
            self._cols, self._consts = cols, consts
        pick = operator.itemgetter(*self._cols)
        conn.executemany(f"INSERT INTO mirror_kit_bulk_rows VALUES ({', '.join('?' * len(self._cols))})",
                         list(map(pick, rows)))
        conn.executemany("INSERT INTO mirror_kit_bulk_links VALUES (?, ?)",
                         self.journal.tags.links((r["id"], t) for r in rows for t in r["_tags"]))
        return True

    def finish(self) -> None:
        """Insert the staged rows, build the deferred indexes and full-text rows, restore the trigger,
        leave bulk mode."""
        if not self.active:
            return
        conn = self.conn
        try:
            self._insert_staged()
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

    def _insert_staged(self) -> None:
        """Move the staged rows and links into the journal's tables (in key order); drop the scratch tables."""
        if self._cols is None:
            return
        assert self.journal is not None
        self.journal.reflections.insert_staged("temp.mirror_kit_bulk_rows", self._cols, self._consts)
        self.journal.tags.attach_staged("temp.mirror_kit_bulk_links")
        self.conn.execute("DROP TABLE temp.mirror_kit_bulk_rows")
        self.conn.execute("DROP TABLE temp.mirror_kit_bulk_links")
        self._cols, self._consts = None, {}

    def _leave(self) -> None:
        self.active = False
        self._cols, self._consts = None, {}  # the rollback to the savepoint took the scratch tables with it
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
