"""Opening SQLite connections the way every part of mirror_kit needs them, and turning SQLite's
errors into messages a user can act on."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from .errors import JournalLockedError, JournalNotFoundError, MirrorKitError, NotAJournalError
from .safefiles import create_private_file, make_journal_private, private_mkdir

BUSY_TIMEOUT_MS = 5000
# Page size of new journals. A stored vector (384 float32 = 1.5 KB) plus its row leaves 2 rows per 4 KB
# page (a third of the page unused) but 9 per 16 KB page: 1.19x the raw vectors on disk instead of
# 1.34x. `mirror-kit compact` moves an existing journal to this size.
PAGE_SIZE = 16384
SQLITE_MAGIC = b"SQLite format 3\x00"


# Files whose header was read already, by (device, inode). Closing any descriptor of a file drops every
# POSIX lock this process holds on it, including those of open SQLite connections: another process
# then takes them for gone, checkpoints and resets the WAL under them ("database disk image is
# malformed"). So the header is read outside SQLite only once per file, before any connection to it.
_CHECKED: set[tuple[int, int]] = set()


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that exists but is not SQLite, before SQLite gets a chance to touch it."""
    if path.exists() and path.is_file() and path.stat().st_size > 0:
        st = path.stat()
        key = (st.st_dev, st.st_ino)
        if key in _CHECKED:
            return
        with path.open("rb") as fh:
            head = fh.read(16)
        if head != SQLITE_MAGIC:
            raise NotAJournalError(f"{path} is not a SQLite database (not a mirror_kit journal)")
        _CHECKED.add(key)
    elif path.exists() and not path.is_file():
        raise NotAJournalError(f"{path} is not a file")


def connect(
    path: str | Path,
    *,
    create: bool = True,
    readonly: bool = False,
    busy_timeout_ms: int | None = None,
) -> sqlite3.Connection:
    """A connection with WAL, foreign keys on and a busy timeout; autocommit mode (we BEGIN ourselves).

    create: make the file when it does not exist (else JournalNotFoundError).
    readonly: never writes, never creates, never switches the file to WAL.
    busy_timeout_ms: how long to wait for another writer (default `BUSY_TIMEOUT_MS`).
    """
    p = Path(path)
    memory = str(path) == ":memory:"
    timeout = BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
    if not memory:
        if not p.exists() and (not create or readonly):
            raise JournalNotFoundError(f"journal {p} does not exist (create it with `mirror-kit init {p}`)")
        check_sqlite_file(p)
        if create and not p.exists():
            private_mkdir(p.parent)
            create_private_file(p)  # SQLite gives -wal/-shm/-journal the main file's mode: 0600 too
        elif not readonly:
            make_journal_private(p)  # a journal made by an older version or under a loose umask
    try:
        if readonly and not memory:
            # A plain connection that closes last checkpoints a WAL a crashed writer left and deletes
            # it: a read would rewrite the journal. mode=ro never checkpoints; the -wal/-shm it had to
            # make beside a journal nobody had open are removed again on close.
            conn = sqlite3.connect(readonly_uri(p), uri=True, isolation_level=None, check_same_thread=False,
                                   factory=_ReadOnlyConnection)
            if _writable(p) and not any(Path(f"{p}{s}").exists() for s in ("-wal", "-shm")):
                conn.tidy_path = p
        else:
            conn = sqlite3.connect(str(p), isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
        elif not memory:
            if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                # only an empty file takes a page size; it must precede WAL, which fixes the size
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            if _may_switch_to_wal(conn):
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            make_journal_private(p)
        conn.row_factory = sqlite3.Row
        return conn
    except sqlite3.DatabaseError as exc:
        with contextlib.suppress(Exception):
            conn.close()
        raise translate(exc, p, timeout) from exc


def _may_switch_to_wal(conn: sqlite3.Connection) -> bool:
    """WAL is persistent and rewrites the header: only for a new file or a mirror_kit journal, never for
    another program's database (which the migrator then refuses, unchanged)."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return False
    tables = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )}
    return not tables or "schema_migrations" in tables


class _ReadOnlyConnection(sqlite3.Connection):
    """A mode=ro connection that, when it is the one that made the journal's -wal/-shm, removes them on close."""

    tidy_path: Path | None = None

    def close(self) -> None:
        super().close()
        path, self.tidy_path = self.tidy_path, None
        if path is not None:
            tidy_side_files(path)


def _writable(p: Path) -> bool:
    return os.access(p, os.W_OK) and os.access(p.resolve().parent, os.W_OK)


def tidy_side_files(p: str | Path) -> None:
    """Remove the -wal/-shm files a read-only reader (mode=ro, DuckDB's scanner) left beside a WAL
    journal no program had open: such readers cannot delete them, so a read would leave two files.

    A plain connection that only reads is opened and closed: SQLite deletes the side files when the
    last connection closes, and keeps them while any other program has the journal open. The main
    file is not written (the side files hold no pages). Failures are ignored: the files then stay.
    """
    with contextlib.suppress(sqlite3.Error, OSError):
        if not Path(f"{p}-wal").exists() and not Path(f"{p}-shm").exists():
            return
        conn = sqlite3.connect(str(p), isolation_level=None)
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()


def readonly_uri(p: str | Path) -> str:
    """The SQLite URI that opens journal `p` for reading without writing anything beside it.

    A WAL journal needs a -shm file to be read; on read-only storage (a read-only mount, a folder one
    may not write to) SQLite cannot make it and refuses with "unable to open database file". When no
    -shm exists and no -wal holds pages, the main file is the whole journal and nothing can be writing
    it (a writer keeps both files), so it is opened as immutable: read without the WAL machinery.
    """
    p = Path(p)
    uri = f"{p.resolve().as_uri()}?mode=ro"
    folder_writable = os.access(p.resolve().parent, os.W_OK)
    wal, shm = Path(f"{p}-wal"), Path(f"{p}-shm")
    if not folder_writable and not shm.exists() and (not wal.exists() or wal.stat().st_size == 0):
        uri += "&immutable=1"
    return uri


def translate(
    exc: sqlite3.Error, path: Path | str | None = None, busy_timeout_ms: int | None = None
) -> MirrorKitError:
    """A MirrorKitError with a one-line explanation of a SQLite error."""
    msg = str(exc)
    waited = (BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms) / 1000
    where = f"{path}: " if path else ""
    if "file is not a database" in msg or "file is encrypted" in msg:
        return NotAJournalError(f"{where}not a SQLite database (not a mirror_kit journal)")
    if "database is locked" in msg or "database is busy" in msg:
        return JournalLockedError(
            f"{where}the journal is locked by another process (waited {waited:g} s); "
            "close other programs using it and retry"
        )
    if "disk is full" in msg or "disk I/O error" in msg:
        return MirrorKitError(f"{where}cannot write: {msg} (free some space and retry; nothing was changed)")
    if "unable to open database" in msg:
        return JournalNotFoundError(f"{where}cannot open the journal file ({msg})")
    if "readonly" in msg:
        return MirrorKitError(f"{where}the journal is read-only ({msg})")
    return MirrorKitError(f"{where}{msg}")


def _environmental(exc: sqlite3.Error) -> bool:
    """Errors caused by the file's situation (locked, read-only, disk), not by the statement."""
    msg = str(exc)
    return any(k in msg for k in ("locked", "busy", "readonly", "disk", "not a database"))


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    """BEGIN ... COMMIT, ROLLBACK on any exception; nested use joins the outer transaction."""
    if conn.in_transaction:
        yield conn
        return
    try:
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    except sqlite3.OperationalError as exc:
        raise translate(exc, busy_timeout_ms=conn.execute("PRAGMA busy_timeout").fetchone()[0]) from exc
    try:
        yield conn
    except BaseException as exc:
        # SQLite may already have rolled back (e.g. disk full); a second ROLLBACK would hide the cause.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and _environmental(exc):
            raise translate(exc, _main_file(conn)) from exc
        raise
    else:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise translate(exc, _main_file(conn)) from exc


def _main_file(conn: sqlite3.Connection) -> str | None:
    """The journal file of `conn` (named in errors about writing it), or None (in memory, or unknown)."""
    try:
        row = conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return None
    return row[2] if row and row[2] else None


# How long an import waits for another writer: a large import holds the write lock for its whole
# run (minutes at a million rows), and a second import of the same file should then find its rows
# as duplicates rather than fail after the default few seconds.
IMPORT_LOCK_WAIT_MS = 900_000


@contextlib.contextmanager
def waiting_for_writers(conn: sqlite3.Connection, ms: int = IMPORT_LOCK_WAIT_MS) -> Iterator[None]:
    """Raise the connection's busy timeout to `ms` milliseconds inside the block (wrap only the BEGIN).

    When the write lock is still taken after the usual timeout, a terminal is told what it waits for.
    """
    old = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    if not conn.in_transaction and sys.stderr.isatty():
        try:  # a probe: the lock is taken and given back at once when free
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            print("waiting for another process writing to the journal (an import?) ...", file=sys.stderr)
    conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(old)}")


def integrity_messages(conn: sqlite3.Connection, limit: int = 100) -> list[str]:
    """SQLite's `PRAGMA integrity_check(limit)` lines (["ok"] when sound). A damaged file can put any
    bytes in a message (a broken name or row), so they are decoded leniently instead of raising."""
    old = conn.text_factory
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        return [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()]
    finally:
        conn.text_factory = old


def split_sql(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers with BEGIN...END stay whole).

    We execute statements one by one because `executescript` commits any open transaction first,
    which would break the all-or-nothing guarantee of a migration.
    """
    statements: list[str] = []
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            stmt = _strip_comments(buf).strip()
            if stmt and stmt != ";":
                statements.append(buf.strip())
            buf = ""
    rest = _strip_comments(buf.rstrip(";")).strip()
    if rest:
        statements.append(buf.rstrip(";").strip())
    return statements


def _strip_comments(sql: str) -> str:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return "\n".join(lines)
