"""`journal.exports`: the JSON export, the Markdown folder and the ZIP backup of a journal, each read
from one consistent snapshot; `verify_backup` and `restore` work on files without a journal."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..journal import Journal

from ..safefiles import existing_parent


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction, so an export sees a single consistent state while others write."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")


class Exports:
    """Exports of a journal: `json`, `markdown`, `backup` (reads only; the journal is not changed)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def json(self, out: str | Path, identity: str | None = None, passphrase: str | None = None) -> dict:
        """Write the `mirror_os_export_v1` JSON export (streamed; mode 0600; atomic).

        identity: only this identity (nothing of the others); default all.
        passphrase: encrypt with scrypt + AES-256-GCM (`mirror_kit.export.crypto`).
        """
        from ..timeutil import now_iso
        from .crypto import EncryptingWriter
        from .files import atomic_private_file, writing_to
        from .jsonfmt import write_export

        iid = self.journal.identities.id_of(identity)
        out = Path(out).expanduser()
        existing_parent(out)
        with writing_to(out), atomic_private_file(out) as fh, read_snapshot(self.journal.conn):
            sink = EncryptingWriter(fh, passphrase) if passphrase else fh
            counts = write_export(self.journal.conn, sink, identity_id=iid, exported_at=now_iso())
            if passphrase:
                sink.close()
        return {"path": str(out), "counts": counts, "encrypted": bool(passphrase), "bytes": out.stat().st_size}

    def markdown(self, out_dir: str | Path, identity: str | None = None) -> dict:
        """Write a readable Markdown folder per identity (README, reflections, patterns, tensions)."""
        from .files import writing_to
        from .markdown import write_markdown

        iid = self.journal.identities.id_of(identity)
        out = Path(out_dir).expanduser()
        with writing_to(out, "the folder was left as it was"), read_snapshot(self.journal.conn):
            return write_markdown(self.journal, out, identity_id=iid)

    def backup(self, out: str | Path, passphrase: str | None = None) -> dict:
        """A ZIP with a consistent database snapshot, the JSON export and checksummed metadata."""
        from .backup import create_backup
        from .files import writing_to

        with writing_to(Path(out).expanduser()):
            return create_backup(self.journal.conn, Path(out).expanduser(), passphrase=passphrase)


def verify_backup(path: str | Path, passphrase: str | None = None) -> dict[str, Any]:
    """Check a backup ZIP completely; raises `BackupError` naming the problem."""
    from .backup import verify_backup as _verify

    return _verify(path, passphrase=passphrase)


def restore(path: str | Path, to: str | Path, force: bool = False, passphrase: str | None = None) -> dict:
    """Restore a backup into the new journal file `to` (`force` to overwrite an existing one)."""
    from .backup import restore as _restore

    return _restore(path, to, force, passphrase=passphrase)
