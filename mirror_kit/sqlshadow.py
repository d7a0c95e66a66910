"""The DuckDB views `journal.sql` puts in front of journal objects the sqlite scanner cannot read as they are.

Two gaps of DuckDB's sqlite scanner, both visible to a user as a wrong answer or an error:
- a scan that needs no column (`count(*)`, `SELECT 1 FROM t`, `EXISTS`) is sent to SQLite as
  `SELECT ROWID FROM t`, which fails for WITHOUT ROWID tables (reflection_tags, pattern_occurrences,
  tension_observations, thread_reflections, FTS5's own _config/_idx tables) and for views;
- a column declared without a type (sqlite_sequence, the FTS5 tables) comes out as BLOB bytes even
  when SQLite holds text or a number there.
Each affected object gets a view of the same name: a filter that reads one real column (always true) keeps
that column in every scan, and untyped columns are decoded back to the storage class SQLite holds.
"""

from __future__ import annotations

import re
import sqlite3

# Storage class (SQLite's typeof) -> DuckDB expression over the scanner's BLOB value {c}.
_DECODE = {
    "text": "decode({c})",
    "integer": "CAST(decode({c}) AS BIGINT)",
    "real": "CAST(decode({c}) AS DOUBLE)",
}
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID\s*;?\s*$", re.IGNORECASE)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _objects(conn: sqlite3.Connection) -> list[tuple[str, str, bool]]:
    """(name, type, has_no_rowid) of every table and view in the main schema."""
    try:
        rows = conn.execute("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main'").fetchall()
        return [(n, t, bool(wr) or t == "view") for n, t, wr in rows
                if n not in ("sqlite_schema", "sqlite_master")]
    except sqlite3.OperationalError:  # SQLite before 3.37 has no table_list: read the schema text
        rows = conn.execute("SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        return [(n, t, t == "view" or bool(_WITHOUT_ROWID.search(sql or ""))) for n, t, sql in rows]


def shadow_views(conn: sqlite3.Connection, catalog: str) -> dict[str, str]:
    """{object name: DuckDB SELECT over `catalog`} for the objects that need a view in front of them.

    conn: a connection to the journal (read only here). Objects the scanner reads correctly are left out.
    """
    views: dict[str, str] = {}
    for name, _kind, no_rowid in _objects(conn):
        cols = conn.execute("SELECT name, type FROM pragma_table_info(?)", (name,)).fetchall()
        if not cols:
            continue
        replace = []
        for col, decl in cols:
            if decl.strip():
                continue
            # The storage class of the first stored value stands for the column: SQLite itself puts
            # one class in such columns in this schema (FTS5 text, sqlite_sequence integers).
            found = conn.execute(
                f"SELECT typeof({_ident(col)}) FROM {_ident(name)} WHERE {_ident(col)} IS NOT NULL LIMIT 1"
            ).fetchone()
            expr = _DECODE.get(found[0]) if found else None
            if expr:
                replace.append(f"{expr.format(c=_ident(col))} AS {_ident(col)}")
        if not no_rowid and not replace:
            continue
        select = "SELECT *"
        if replace:
            select += f" REPLACE ({', '.join(replace)})"
        select += f" FROM {_ident(catalog)}.main.{_ident(name)}"
        if no_rowid:
            # Always true, but it reads a real column, so no scan of this object asks SQLite for ROWID.
            select += f" WHERE hash({_ident(cols[0][0])}) IS NOT NULL"
        views[name] = select
    return views
