"""A read-only DuckDB view of a journal file: `journal.sql(query)` runs here.

Primary path: DuckDB's sqlite scanner, loaded from the `duckdb-extension-sqlite-scanner` wheel (DuckDB's
own auto-install would download it, which fails offline), with the journal ATTACHed READ_ONLY and made
the default catalog so `SELECT * FROM reflections` works. DuckDB then reads the SQLite pages lazily
(projection and filter pushdown), sees every commit, and cannot write to the file.

Fallback, when the extension cannot load (other DuckDB version, missing wheel, unsupported platform):
each table is read with sqlite3 into a pandas frame and registered under its own name. That copies the
journal into memory and is refreshed only when the journal changed, so it is a correctness fallback,
not the fast path; `backend` says which one is active.

Read-only by construction, in two layers. (1) Only SELECT statements run: each statement is parsed by
DuckDB first, anything else (ATTACH, DETACH, COPY, INSTALL, LOAD, SET, PRAGMA, EXPORT, CALL, ...) is
refused, and so are the functions that would open another file or run SQL given as a string (the
sqlite scanner's own `sqlite_scan`/`sqlite_attach`/`sqlite_query`, `query`, ...), because the scanner
opens files through SQLite itself, past DuckDB's file-system switch. (2) Once the journal is attached,
`enable_external_access` is switched off and the configuration locked, so DuckDB's own readers and
writers (read_csv, read_text, COPY TO, extension downloads) cannot touch the file system or the network.
"""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from pathlib import Path
from typing import Any

from .errors import MirrorKitError

SCHEMA = "journal"
# Force the fallback (for debugging or platforms where the extension misbehaves).
FALLBACK_ENV = "MIRROR_KIT_SQL_FALLBACK"
# Functions a SELECT may not call: they open files through SQLite (not DuckDB's file system, so the
# external-access switch does not cover them) or run SQL passed as a string (which the parse check
# below cannot see into).
_DENIED_FUNCTIONS = frozenset({
    "sqlite_scan", "sqlite_attach", "sqlite_query", "query", "query_table",
    "json_execute_serialized_sql", "json_deserialize_sql",
})


class SQLError(MirrorKitError):
    """A query `journal.sql` could not run (syntax, unknown table, or an attempt to write)."""


def sqlite_extension_path() -> Path | None:
    """The sqlite_scanner binary shipped for the installed DuckDB version, if any."""
    try:
        import duckdb
        import duckdb_extension_sqlite_scanner as pkg
    except ImportError:
        return None
    base = Path(os.path.dirname(pkg.__file__)) / "extensions"
    exact = base / f"v{duckdb.__version__}" / "sqlite_scanner.duckdb_extension"
    if exact.is_file():
        return exact
    found = sorted(base.glob("v*/sqlite_scanner.duckdb_extension"))
    return found[-1] if found else None


class SQLView:
    """One in-memory DuckDB connection over one journal file (never writes to it)."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        import duckdb

        self.path = Path(path)
        self._sqlite = conn  # only for the fallback: reads through the journal's own connection
        # No network: never auto-install or auto-load extensions from the internet.
        self.con = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        self.backend = "sqlite_scanner"
        self.fallback_reason: str | None = None
        self._fingerprint: tuple | None = None
        self._registered: set[str] = set()
        try:
            if os.environ.get(FALLBACK_ENV):
                raise RuntimeError(f"{FALLBACK_ENV} is set")
            ext = sqlite_extension_path()
            if ext is None:
                raise RuntimeError("package duckdb-extension-sqlite-scanner is not installed")
            self.con.execute(f"LOAD '{_quote(str(ext))}'")
            self.con.execute(f"ATTACH '{_quote(str(self.path.resolve()))}' AS {SCHEMA} (TYPE sqlite, READ_ONLY)")
            self.con.execute(f"USE {SCHEMA}")
        except Exception as exc:  # any failure here means: use the fallback, say why
            self.backend = "pandas"
            self.fallback_reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            warnings.warn(
                f"journal.sql: DuckDB sqlite scanner unavailable ({self.fallback_reason}); "
                "copying the journal's tables into memory instead",
                RuntimeWarning,
                stacklevel=3,
            )
        # From here on DuckDB may not open files, fetch extensions or change these settings back.
        for setting in ("enable_external_access = false", "autoinstall_known_extensions = false",
                        "autoload_known_extensions = false", "allow_community_extensions = false",
                        "lock_configuration = true"):
            self.con.execute(f"SET {setting}")

    def query(self, sql: str, params: Any = None) -> Any:
        import duckdb

        self._check_read_only(sql)
        if self.backend == "pandas":
            self._refresh()
        try:
            return self.con.sql(sql, params=params)
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            if "read-only" in msg or "read only" in msg:
                msg = f"the journal is read-only in journal.sql ({msg})"
            raise SQLError(f"{self.path}: {msg}") from exc

    def _check_read_only(self, sql: str) -> None:
        """Refuse anything but SELECT statements that call no file-opening or SQL-running function."""
        import duckdb

        try:
            statements = self.con.extract_statements(sql)
        except duckdb.Error as exc:
            raise SQLError(f"{self.path}: {str(exc).splitlines()[0]}") from exc
        if not statements:
            raise SQLError(f"{self.path}: empty query")
        for stmt in statements:
            if stmt.type != duckdb.StatementType.SELECT:
                kind = stmt.type.name.replace("_", " ")
                raise SQLError(f"{self.path}: the journal is read-only in journal.sql: only SELECT queries run "
                               f"here, not {kind}")
            tree = self.con.execute("SELECT json_serialize_sql(?)", [stmt.query]).fetchone()[0]
            parsed = json.loads(tree)
            if parsed.get("error"):
                raise SQLError(f"{self.path}: {parsed.get('error_message', 'query not understood')}")
            called = _function_names(parsed)
            denied = sorted(called & _DENIED_FUNCTIONS)
            if denied:
                raise SQLError(f"{self.path}: the journal is read-only in journal.sql: {denied[0]}() may not "
                               "be called (it opens other files or runs other statements)")

    def _refresh(self) -> None:
        """(Fallback) re-register the tables when the journal changed since the last query."""
        import pandas as pd

        fp = (self._sqlite.total_changes, self._sqlite.execute("PRAGMA data_version").fetchone()[0])
        if fp == self._fingerprint:
            return
        names = [r[0] for r in self._sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        )]
        for name in self._registered - set(names):
            self.con.unregister(name)
        cur = self._sqlite.cursor()
        cur.row_factory = None
        for name in names:
            cur.execute(f'SELECT * FROM "{name}"')
            cols = [d[0] for d in cur.description]
            self.con.register(name, pd.DataFrame.from_records(cur.fetchall(), columns=cols))
        self._registered = set(names)
        self._fingerprint = fp

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:
            pass


def _function_names(node: Any) -> set[str]:
    """Every function name called anywhere in a parsed statement (DuckDB's JSON syntax tree)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            name = cur.get("function_name")
            if isinstance(name, str):
                found.add(name.lower())
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _quote(s: str) -> str:
    return s.replace("'", "''")
