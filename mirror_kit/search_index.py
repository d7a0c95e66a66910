"""Bulk upkeep of the full-text index (`search_docs`, `reflections_fts`) when many reflections are
inserted at once.

The search migration's insert trigger indexes one row per statement, and every statement opens a
savepoint on which FTS5 flushes its pending terms, so a 100k-row import wrote 100k tiny index
segments and merged them again (about 40 % of the import's CPU). Here the trigger is dropped for the
chunk, the chunk is indexed with one INSERT ... SELECT (one flush), and the trigger is recreated from
its stored text, all inside one savepoint of the caller's transaction: readers never see the schema
without the trigger, and any failure rolls the chunk, its index rows and the trigger back together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

_TRIGGER = "reflections_search_ai"
BULK_MIN = 64  # below this the per-row trigger is cheaper than the schema change


def insert_indexed(conn: sqlite3.Connection, insert: Callable[[], None], ids: Sequence[str]) -> None:
    """Run `insert` (which adds the reflections `ids`, in this order) and index them in one pass.

    Same rows as the trigger writes (search_docs keys in insertion order); call inside a transaction.
    Errors of `insert` propagate unchanged after the savepoint is rolled back.
    """
    row = None
    if len(ids) >= BULK_MIN and conn.in_transaction:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                           (_TRIGGER,)).fetchone()
    if row is None:
        insert()
        return
    conn.execute("SAVEPOINT search_bulk")
    try:
        try:
            conn.execute(f"DROP TRIGGER {_TRIGGER}")
        except sqlite3.OperationalError:  # e.g. a statement still reading: keep the per-row trigger
            conn.execute("RELEASE search_bulk")
            insert()
            return
        insert()
        last = conn.execute("SELECT coalesce(max(rowid), 0) FROM search_docs").fetchone()[0]
        conn.executemany("INSERT INTO search_docs (reflection_id) VALUES (?)", [(i,) for i in ids])
        conn.execute(
            "INSERT INTO reflections_fts (rowid, title, content) "
            "SELECT d.rowid, coalesce(r.title, ''), r.content FROM search_docs d "
            "JOIN reflections r ON r.id = d.reflection_id WHERE d.rowid > ? ORDER BY d.rowid",
            (last,),
        )
        conn.execute(row[0])
    except BaseException:
        # after a failed write (disk full) SQLite may have rolled the whole transaction back, taking
        # the savepoint with it: undoing it again must not replace the cause with `no such savepoint`
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK TO search_bulk")
                conn.execute("RELEASE search_bulk")
            except sqlite3.OperationalError:
                pass
        raise
    conn.execute("RELEASE search_bulk")


# FTS5 keeps this many bytes of new terms in memory before writing a segment (its default is 1 MB).
# For one bulk pass a larger buffer means fewer, larger segments and less merging (1M rows: 5.8 ->
# 4.6 CPU s); fixed, so memory does not grow with the rows. Set only for that pass.
BULK_HASHSIZE = 16 << 20
_FTS5_DEFAULT_HASHSIZE = 1 << 20


def index_inserted_since(conn: sqlite3.Connection, start_rowid: int) -> None:
    """Index every reflection with rowid > `start_rowid` in one pass (while the per-row trigger is
    dropped, see `mirror_kit.bulkload`): the same rows, in the same order, as the trigger writes.
    Call inside a transaction: a failure leaves the index's settings to its rollback."""
    row = conn.execute("SELECT v FROM reflections_fts_config WHERE k = 'hashsize'").fetchone()
    conn.execute("INSERT INTO reflections_fts (reflections_fts, rank) VALUES ('hashsize', ?)", (BULK_HASHSIZE,))
    _index_inserted_since(conn, start_rowid)
    conn.execute("INSERT INTO reflections_fts (reflections_fts, rank) VALUES ('hashsize', ?)",
                 (_FTS5_DEFAULT_HASHSIZE if row is None else row[0],))
    if row is None:  # the setting was not stored before: no stored row now either (same default)
        conn.execute("DELETE FROM reflections_fts_config WHERE k = 'hashsize'")


def _index_inserted_since(conn: sqlite3.Connection, start_rowid: int) -> None:
    last = conn.execute("SELECT coalesce(max(rowid), 0) FROM search_docs").fetchone()[0]
    count, top = conn.execute("SELECT count(*), coalesce(max(rowid), 0) FROM reflections WHERE rowid > ?",
                              (start_rowid,)).fetchone()
    if top - start_rowid == count:
        # The new rows' rowids have no gap (one insert appends them), so the key each gets in
        # `search_docs` is known: the rowid offset by the same amount, as the inserts below would
        # number them. The text is then read in one pass over the table, with no lookup per row.
        shift = last - start_rowid
        conn.execute("INSERT INTO search_docs (rowid, reflection_id) SELECT rowid + ?, id FROM reflections "
                     "WHERE rowid > ? ORDER BY rowid", (shift, start_rowid))
        conn.execute("INSERT INTO reflections_fts (rowid, title, content) SELECT rowid + ?, coalesce(title, ''), "
                     "content FROM reflections WHERE rowid > ? ORDER BY rowid", (shift, start_rowid))
        return
    conn.execute("INSERT INTO search_docs (reflection_id) SELECT id FROM reflections WHERE rowid > ? ORDER BY rowid",
                 (start_rowid,))
    conn.execute(
        "INSERT INTO reflections_fts (rowid, title, content) "
        "SELECT d.rowid, coalesce(r.title, ''), r.content FROM search_docs d "
        "JOIN reflections r ON r.id = d.reflection_id WHERE d.rowid > ? ORDER BY d.rowid",
        (last,),
    )
