"""Rewriting a journal file densely with the page size of new journals (`Journal.compact`,
`mirror-kit compact`).

A journal made before new journals got 16 KB pages keeps its 4 KB pages, where two stored vectors fill
a page and a third of it stays unused. SQLite can change the page size of an existing file only by
rebuilding it with VACUUM outside WAL mode: this module does exactly that, all or nothing (VACUUM
writes through a rollback journal), and refuses first when another program has the journal open or
the disk cannot hold the copies VACUUM makes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import db
from .errors import JournalLockedError, MirrorKitError

if TYPE_CHECKING:
    from .journal import Journal

# How long to wait for another connection to let go: one that keeps the journal open (a notebook, a
# server) does not let go within any wait, so refusing soon beats waiting the usual 5 s.
LOCK_WAIT_MS = 1000
_MB = 1e6


# Below this many stored vectors 16 KB pages do not pay for themselves: every table and index takes at
# least one page, so a small journal grows when compacted.
ADVICE_MIN_VECTORS = 5000


def advice(journal: Journal) -> str | None:
    """One line suggesting `mirror-kit compact` when the journal's pages are smaller than new journals'
    and it stores enough vectors to gain from larger ones; None otherwise. Reads only."""
    conn = journal.conn
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    if size >= db.PAGE_SIZE:
        return None
    n = conn.execute("SELECT max(rowid) FROM embeddings").fetchone()[0] or 0  # an upper bound, without a scan
    if n < ADVICE_MIN_VECTORS or conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] < ADVICE_MIN_VECTORS:
        return None
    return (f"note: this journal uses {size}-byte pages, where stored vectors leave pages part empty; "
            f"`mirror-kit compact` rebuilds it with {db.PAGE_SIZE}-byte pages (smaller, faster to read)")


def compact(journal: Journal, *, page_size: int = db.PAGE_SIZE) -> dict[str, Any]:
    """Rebuild the journal file densely with `page_size`-byte pages (default: that of new journals).

    Every row stays as it was (VACUUM copies rows, it never changes them); free pages are returned
    to the file system. Returns {path, bytes_before, bytes_after, page_size_before, page_size_after,
    seconds}.
    Raises MirrorKitError on a read-only journal, inside a transaction or when the disk lacks space
    for the copy; JournalLockedError when another connection has the journal open. The file is then
    unchanged.
    """
    t0 = time.perf_counter()
    path = Path(journal.path)
    if str(journal.path) == ":memory:":
        raise MirrorKitError("an in-memory journal has no file to compact")
    if journal.readonly:
        raise MirrorKitError(f"{path}: journal is open read-only; cannot compact it")
    if page_size not in {1 << k for k in range(9, 17)}:
        raise MirrorKitError(f"page size {page_size} is not a power of two from 512 to 65536")
    conn = journal.conn
    if conn.in_transaction:
        raise MirrorKitError(f"{path}: cannot compact inside an open transaction")
    frames = journal.__dict__.get("frames")
    if frames is not None:
        frames.close_sql()  # DuckDB's attachment is a connection of its own and would block the rebuild
    before = _file_bytes(path)
    old_size = conn.execute("PRAGMA page_size").fetchone()[0]
    _check_space(path, conn)
    old_timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    try:
        was_wal = conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if was_wal:
            _leave_wal(conn, path)
        try:
            conn.execute(f"PRAGMA page_size = {int(page_size)}")
            conn.execute("VACUUM")
        except sqlite3.Error as exc:
            # VACUUM rolled itself back; the file holds what it held
            err = db.translate(exc, path, LOCK_WAIT_MS)
            if "nothing was changed" not in str(err):
                err = type(err)(f"{err}; the journal was not changed")
            raise err from exc
        finally:
            if was_wal:
                # A reader that arrived meanwhile keeps the switch back from happening: the journal is
                # then left in rollback mode, which is as safe; the next writer turns WAL back on.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(old_timeout)}")
    return {
        "path": str(path),
        "bytes_before": before,
        "bytes_after": _file_bytes(path),
        "page_size_before": int(old_size),
        "page_size_after": int(conn.execute("PRAGMA page_size").fetchone()[0]),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def repage_file(path: str | os.PathLike, page_size: int) -> None:
    """Rebuild a SQLite file no one else has open (a staging copy) with `page_size`-byte pages."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA page_size = {int(page_size)}")
        conn.execute("VACUUM")
    except sqlite3.Error as exc:
        raise db.translate(exc, path) from exc
    finally:
        conn.close()


def _leave_wal(conn: sqlite3.Connection, path: Path) -> None:
    """Switch to rollback mode (page size and VACUUM need it); only possible when no other connection
    has the file open, since each of them holds a shared lock for as long as it is open."""
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise db.translate(exc, path) from exc
        mode = "wal"
    if mode != "delete":
        raise JournalLockedError(
            f"{path}: another program has the journal open; close it (notebooks, `mirror-kit serve`) "
            "and run compact again; the journal was not changed")


def _file_bytes(path: Path) -> int:
    """Bytes of the journal on disk, its write-ahead log included."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def sqlite_temp_dir() -> Path:
    """The folder SQLite puts VACUUM's temporary copy in (its own search order on Unix)."""
    for cand in (os.environ.get("SQLITE_TMPDIR"), os.environ.get("TMPDIR"), "/var/tmp", "/usr/tmp", "/tmp"):
        if cand and os.path.isdir(cand) and os.access(cand, os.W_OK | os.X_OK):
            return Path(cand)
    return Path.cwd()


def _check_space(path: Path, conn: sqlite3.Connection) -> None:
    """Refuse before VACUUM when the disks cannot hold its temporary copy (in SQLite's temp folder)
    and the rollback journal of the rewrite (beside the journal): up to the file's size each."""
    size = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    size += Path(f"{path}-wal").stat().st_size if Path(f"{path}-wal").exists() else 0
    need = int(size * 1.1) + (1 << 20)
    here = path.resolve().parent
    tmp = sqlite_temp_dir()
    wants: dict[int, list] = {}
    for folder in (here, tmp):
        dev = folder.stat().st_dev
        wants.setdefault(dev, [folder, 0])[1] += need
    for folder, want in wants.values():
        free = shutil.disk_usage(folder).free
        if free < want:
            raise MirrorKitError(
                f"{path}: compacting needs about {want / _MB:,.0f} MB free in {folder} "
                f"but {free / _MB:,.0f} MB are; free some space and retry; the journal was not changed")
