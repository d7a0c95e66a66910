"""Owner-only files and folders: every file mirror_kit writes holds private journal text.

The rule: files 0600, folders 0700, whatever the umask. New files are created with that mode
(os.open with O_EXCL, so an existing file or symlink is never followed), and SQLite's own companion
files (-wal, -shm, -journal) are tightened after each open because SQLite creates them itself.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(path: str | os.PathLike) -> None:
    """Set an existing file to 0600 (a folder to 0700); missing paths and foreign owners are skipped."""
    try:
        st = os.stat(path)
        if st.st_uid != os.getuid():
            return
        mode = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
        if stat.S_IMODE(st.st_mode) != mode:
            os.chmod(path, mode)
    except (FileNotFoundError, PermissionError):
        pass


def make_journal_private(path: str | os.PathLike) -> None:
    """0600 on a journal file and whichever of its -wal/-shm/-journal companions exist."""
    make_private(path)
    for suffix in SQLITE_COMPANIONS:
        make_private(f"{os.fspath(path)}{suffix}")


def create_private_file(path: str | os.PathLike) -> None:
    """Create an empty file with mode 0600 unless it exists (then only tighten its mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        make_private(path)
        return
    os.fchmod(fd, FILE_MODE)  # the umask can only remove bits, but be explicit
    os.close(fd)


def private_mkdir(path: str | os.PathLike, *, parents: bool = True) -> Path:
    """Create a folder (and missing parents) with mode 0700; an existing one is left as it is."""
    p = Path(path)
    if p.is_dir():
        return p
    if parents and not p.parent.exists():
        private_mkdir(p.parent, parents=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(p, DIR_MODE)
    return p


def existing_parent(path: str | os.PathLike, what: str = "nothing was written") -> Path:
    """The folder `path` is to be written in; InvalidInputError (one line) when it does not exist.

    A new file's folder is never created on the way: a mistyped `--out /nmt/x` would otherwise
    leave a tree of folders (as root, even at the top of the file system).
    """
    from .errors import InvalidInputError

    parent = Path(path).expanduser().parent
    if not parent.is_dir():
        reason = "no such folder (create it first)" if not parent.exists() else "not a folder"
        raise InvalidInputError(f"{parent}: {reason}; {what}")
    return parent


@contextlib.contextmanager
def private_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """open() for writing whose file is 0600 from the first byte (truncating an existing file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, mode, **kwargs) as fh:
        yield fh


def private_backup_copy(conn: sqlite3.Connection, dst: str | os.PathLike) -> None:
    """A consistent copy of an open database in a new 0600 file (SQLite backup API); refuses to overwrite."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(fd)
    out = sqlite3.connect(dst)
    try:
        conn.backup(out)
    except BaseException:
        out.close()
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise
    out.close()
    make_journal_private(dst)
