"""Files readable by the owner only, written atomically: a temp file in the target's directory,
created with mode 0600 by `os.open`, then `os.replace`d into place (so a failure leaves nothing)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


# `.NAME.tmp-PID-HEX` (a file) or `.NAME.tmp-PID-HEX.d` (a folder): the writer's process id is in the
# name so a later run can tell the leftovers of a killed run (process gone) from work in progress.
_STAGING_RE = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}(\.d)?$")


def temp_sibling(path: Path, suffix: str = "") -> Path:
    """A unique hidden name next to `path` (same filesystem, so the final rename is atomic).

    Leftovers of killed runs in that folder and in the system's temp folder, where verification
    stages (they may hold a clear-text copy of a journal that was being encrypted), are removed first.
    """
    sweep_stale_staging(path.parent)
    sweep_stale_staging(Path(tempfile.gettempdir()))
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_stale_staging(folder: Path) -> list[Path]:
    """Remove our staging files and folders in `folder` whose writing process no longer runs.

    Only entries owned by this user and named by `temp_sibling` are touched; returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        m = _STAGING_RE.match(e.name)
        if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        try:
            if e.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:
            continue
    return removed


def create_private(path: Path) -> int:
    """A new file descriptor for `path` (which must not exist) with mode 0600 from the start."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE)


@contextlib.contextmanager
def atomic_private_file(path: str | Path, *, text: bool = False, sync: bool = True) -> Iterator[IO]:
    """Yield a file handle; on success it becomes `path` (replacing it), on failure it vanishes."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    tmp = temp_sibling(path)
    fd = create_private(tmp)
    try:
        if text:
            fh: IO = open(fd, "w", encoding="utf-8", newline="\n", buffering=1 << 20)  # noqa: SIM115
        else:
            fh = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115
        with fh:
            yield fh
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def private_temp_dir(near: Path) -> Iterator[Path]:
    """A 0700 scratch directory next to `near`, removed afterwards whatever happens."""
    d = temp_sibling(near, ".d")
    os.mkdir(d, PRIVATE_DIR)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def write_private_text(path: Path, text: str) -> None:
    """A small new private text file (inside a directory we are building)."""
    fd = create_private(path)
    with open(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


@contextlib.contextmanager
def writing_to(target: str | Path, what: str = "nothing was written") -> Iterator[None]:
    """Turn an OS error while writing `target` (full disk, file-size or quota limit, read-only or
    forbidden folder) into one line naming `target`, whichever temp file or folder it happened in.

    what: what the failure left behind, for the message (default: nothing).
    Raises MirrorKitError (other exceptions pass through).
    """
    from ..errors import MirrorKitError

    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            hint = "free some space and retry"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = "choose a folder you can write to"
        else:
            hint = "check the target and retry"
        raise MirrorKitError(f"{target}: cannot write it: {reason} ({hint}; {what})") from exc
