"""A read-only DuckDB view of a journal file: `journal.sql(query)` runs here.

Two ways to read the file, `backend` says which one is active:
- "pandas" (the default for a journal handle): each table or view a query names is read through the
  journal's own sqlite3 connection into a frame and registered under its own name, and read again
  after any commit. A second SQLite library in the process (the scanner's) would otherwise close its
  own descriptors on the journal after every query, and closing any descriptor drops every POSIX lock
  the process holds on that file: the journal's long-lived connection would lose its shared lock, and
  another process closing last would then checkpoint and delete the WAL under it, losing writes.
- "sqlite_scanner" (`scanner=True`, for a one-shot read in a process that keeps no other connection
  in use, as the CLI's `sql` command): DuckDB's sqlite scanner, loaded from the
  `duckdb-extension-sqlite-scanner` wheel (DuckDB's own auto-install would download it, which fails
  offline), with the journal ATTACHed READ_ONLY and made the default catalog. DuckDB then reads the
  SQLite pages lazily (projection and filter pushdown) and cannot write to the file. When the extension
  cannot load (other DuckDB version, missing wheel, unsupported platform) the copy is used instead.

Read-only by construction, in two layers. (1) Only SELECT statements run: each statement is parsed by
DuckDB first, anything else (ATTACH, DETACH, COPY, INSTALL, LOAD, SET, PRAGMA, EXPORT, CALL, ...) is
refused, and so are the functions that would open another file or run SQL given as a string (the
sqlite scanner's own `sqlite_scan`/`sqlite_attach`/`sqlite_query`, `query`, ...), because the scanner
opens files through SQLite itself, past DuckDB's file-system switch. (2) Once the journal is attached,
`enable_external_access` is switched off and the configuration locked, so DuckDB's own readers and
writers (read_csv, read_text, COPY TO, extension downloads) cannot touch the file system or the network.

Tables the scanner cannot count: for a scan that needs no column (`count(*)`, `SELECT 1`, `EXISTS`) the
scanner asks SQLite for `ROWID`, which WITHOUT ROWID tables (and views) do not have. Each such object is
shadowed by a TEMP view of the same name (temp is searched before the journal catalog) whose filter reads
one real column, so every scan projects at least that column. Columns declared without a type come out of
the scanner as BLOB; the same view decodes them back to the storage class SQLite holds for them. The
shadows follow the journal's schema (rebuilt when `PRAGMA schema_version` moves).

Errors: DuckDB runs a relation lazily, so the relation is handed out wrapped (`Relation`): whatever DuckDB
raises while binding or fetching becomes one-line `SQLError`.
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


_WRITE_VERBS = ("ALTER", "ANALYZE", "ATTACH", "BEGIN", "CHECKPOINT", "COMMIT", "COPY", "CREATE", "DELETE", "DETACH",
                "DROP", "EXPORT", "IMPORT", "INSERT", "INSTALL", "LOAD", "PRAGMA", "REINDEX", "RELEASE", "REPLACE",
                "ROLLBACK", "SAVEPOINT", "SET", "TRUNCATE", "UPDATE", "UPSERT", "USE", "VACUUM")


def _write_verb(sql: str) -> str | None:
    """The first statement verb in `sql` that is not a read (ATTACH, CREATE, ...), else None; a rough
    split on `;` after removing comments, for text DuckDB's parser could not read."""
    import re

    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
    for part in text.split(";"):
        m = re.match(r"\s*(?:\(\s*)*([A-Za-z]+)", part)
        if m and m.group(1).upper() in _WRITE_VERBS:
            return m.group(1).upper()
    return None


class SQLView:
    """One in-memory DuckDB connection over one journal file (never writes to it)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, scanner: bool = False):
        import duckdb

        self.path = Path(path)
        self._sqlite = conn  # the copy reads through the journal's own connection
        # No network: never auto-install or auto-load extensions from the internet.
        self.con = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        self.backend = "sqlite_scanner" if scanner else "pandas"
        self.fallback_reason: str | None = None
        self._fingerprint: tuple | None = None
        self._registered: set[str] = set()
        self._schema_version: int | None = None
        if scanner:
            self._attach()
        # From here on DuckDB may not open files, fetch extensions or change these settings back.
        for setting in ("enable_external_access = false", "autoinstall_known_extensions = false",
                        "autoload_known_extensions = false", "allow_community_extensions = false",
                        "lock_configuration = true"):
            self.con.execute(f"SET {setting}")

    def _attach(self) -> None:
        """Attach the journal through the sqlite scanner; on any failure use the copy and say why."""
        try:
            if os.environ.get(FALLBACK_ENV):
                raise RuntimeError(f"{FALLBACK_ENV} is set")
            from .db import readonly_uri

            if "immutable=1" in readonly_uri(self.path):
                # the scanner opens a WAL journal only where it may create the -shm file
                raise RuntimeError("the journal is on read-only storage")
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
                stacklevel=4,
            )

    def query(self, sql: str, params: Any = None) -> Any:
        import duckdb

        self._check_read_only(sql)
        try:
            if self.backend == "pandas":
                self._refresh(sql)
            else:
                self._refresh_shadows()
            rel = self.con.sql(sql, params=params)
        except duckdb.Error as exc:
            raise self.error(exc) from exc
        return None if rel is None else Relation(rel, self)

    def error(self, exc: BaseException) -> SQLError:
        """The one-line SQLError for a DuckDB error raised while running a query."""
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "read-only" in msg or "read only" in msg:
            msg = f"the journal is read-only in journal.sql ({msg})"
        elif "no such column: ROWID" in msg:  # a catalog-qualified name skipped the same-named view
            msg += f" (name the table without the '{SCHEMA}.' prefix)"
        return SQLError(f"{self.path}: {msg}")

    def _refresh_shadows(self) -> None:
        """(Scanner) (re)create the TEMP views over objects the scanner cannot read as they are."""
        from .sqlshadow import shadow_views

        version = self._sqlite.execute("PRAGMA schema_version").fetchone()[0]
        if version == self._schema_version:
            return
        views = shadow_views(self._sqlite, SCHEMA)
        for name in self._registered - set(views):
            self.con.execute(f"DROP VIEW IF EXISTS temp.main.{_ident(name)}")
        for name, select in views.items():
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {select}")
        self._registered = set(views)
        self._schema_version = version

    def _check_read_only(self, sql: str) -> None:
        """Refuse anything but SELECT statements that call no file-opening or SQL-running function."""
        import duckdb

        try:
            statements = self.con.extract_statements(sql)
        except duckdb.Error as exc:
            # SQLite's own syntax (ATTACH DATABASE, CREATE TABLE t(a), VACUUM INTO) is not DuckDB's: a
            # write in either dialect gets the read-only refusal, not a parser error
            verb = _write_verb(sql)
            if verb:
                raise SQLError(f"{self.path}: the journal is read-only in journal.sql: only SELECT queries run "
                               f"here, not {verb}") from None
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

    def _refresh(self, sql: str) -> None:
        """(Copy) register each journal table or view the query names, read through the journal's own
        connection; every copy is dropped when the journal changed since it was read."""
        import duckdb
        import pandas as pd

        fp = (self._sqlite.total_changes, self._sqlite.execute("PRAGMA data_version").fetchone()[0])
        if fp != self._fingerprint:
            for name in self._registered:
                self.con.unregister(name)
            self._registered = set()
            self._fingerprint = fp
        # sqlite_sequence and sqlite_stat1 are tables of the journal too (the scanner shows them)
        names = {r[0].lower(): r[0] for r in self._sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        try:
            wanted = {n.lower() for n in duckdb.get_table_names(sql, qualified=False)}
        except duckdb.Error:
            wanted = set(names)  # let the query itself report what is wrong with it
        cur = self._sqlite.cursor()
        cur.row_factory = None
        for key in sorted(wanted & set(names)):
            name = names[key]
            if name in self._registered:
                continue
            cur.execute(f'SELECT * FROM "{name}"')
            cols = [d[0] for d in cur.description]
            self.con.register(name, pd.DataFrame.from_records(cur.fetchall(), columns=cols))
            self._registered.add(name)

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


class Relation:
    """A DuckDB relation whose errors (raised when it binds or runs) are one-line `SQLError`s.

    Behaves as `duckdb.DuckDBPyRelation` (`df()`, `fetchall()`, `columns`, `project(...)`, ...);
    methods returning a relation return a wrapped one. `relation` is the bare DuckDB object.
    """

    __slots__ = ("relation", "_view")

    def __init__(self, relation: Any, view: SQLView):
        self.relation = relation
        self._view = view

    def __getattr__(self, name: str) -> Any:
        import duckdb

        try:
            attr = getattr(self.relation, name)
        except duckdb.Error as exc:
            raise self._view.error(exc) from exc
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = attr(*args, **kwargs)
            except duckdb.Error as exc:
                raise self._view.error(exc) from exc
            return Relation(out, self._view) if isinstance(out, duckdb.DuckDBPyRelation) else out

        call.__name__ = name
        call.__doc__ = attr.__doc__
        return call

    def __len__(self) -> int:
        return self.__getattr__("__len__")()

    def __getitem__(self, key: Any) -> Any:
        return self.__getattr__("__getitem__")(key)

    def __str__(self) -> str:
        return self.__getattr__("__str__")()

    def __repr__(self) -> str:
        return self.__getattr__("__repr__")()

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self.relation)) | {"relation"})


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(s: str) -> str:
    return s.replace("'", "''")
