"""ZIP backups: a consistent SQLite snapshot (`VACUUM INTO`, safe while others write), the JSON export
of that same snapshot, and `metadata.json` (format and schema versions, created_at, row counts and the
SHA-256 of every member). `verify_backup` re-checks all of it; `restore` writes a new journal file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..collections.settings import scrub_secrets
from ..db import integrity_messages
from ..errors import InvalidInputError, MirrorKitError
from ..limits import loads_json
from ..safefiles import existing_parent, make_journal_private
from ..timeutil import now_iso
from . import backupcheck, crypto, safezip
from .files import (
    atomic_private_file,
    create_private,
    private_temp_dir,
    sweep_stale_staging,
    temp_sibling,
    writing_to,
)
from .jsonfmt import FORMAT, write_export

BACKUP_FORMAT = "mirror_kit_backup"
BACKUP_FORMAT_VERSION = 1
DB_MEMBER, JSON_MEMBER, META_MEMBER = "journal.db", "export.json", "metadata.json"
COUNTED_TABLES = (
    "identities", "reflections", "tags", "reflection_tags", "threads", "thread_reflections", "mirrorbacks",
    "patterns", "pattern_occurrences", "tensions", "tension_observations", "embeddings", "analysis_runs",
    "settings",
)
_HASH_CHUNK = 1 << 20


class BackupError(InvalidInputError):
    """A backup file failed a check (names the file and what is wrong)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED_TABLES if t in have}


def _schema_version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT max(version) FROM schema_migrations WHERE rolled_back_at IS NULL").fetchone()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0] or 0)


def snapshot(conn: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of the live database in `target` (a new 0600 file), in rollback-journal mode.

    `VACUUM INTO` reads inside one transaction, so concurrent writers neither block it for long nor
    leave it half-applied; a raw file copy of a WAL database could miss or tear recent commits.
    """
    if conn.in_transaction:
        raise MirrorKitError("cannot take a backup inside an open transaction")
    os.close(create_private(target))  # VACUUM INTO accepts an existing empty file, so it keeps our mode
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            from ..db import translate

            raise translate(exc) from exc
        # a read-only connection cannot VACUUM INTO (the output inherits its flags): use the online
        # backup API, copying every page in one step under one read lock (so also consistent)
        dst = sqlite3.connect(target)
        try:
            conn.backup(dst)
        except sqlite3.Error as exc:  # a full disk, mostly: one line naming where
            from ..db import translate

            raise translate(exc, target.parent) from exc
        finally:
            dst.close()
    snap = sqlite3.connect(target, isolation_level=None)
    try:
        snap.execute("PRAGMA journal_mode = DELETE")  # self-contained: no -wal file needed next to it
    except sqlite3.Error as exc:
        from ..db import translate

        raise translate(exc, target.parent) from exc
    finally:
        snap.close()


def create_backup(conn: sqlite3.Connection, out: str | Path, *, passphrase: str | None = None,
                  compresslevel: int = 1) -> dict[str, Any]:
    """Write the backup ZIP to `out` (atomically, mode 0600); returns its metadata."""
    out = Path(out)
    if out.is_dir():
        raise InvalidInputError(f"{out} is a directory; give a file name such as backup.zip")
    existing_parent(out)
    with private_temp_dir(out) as tmp:
        db_file, json_file = tmp / DB_MEMBER, tmp / JSON_MEMBER
        try:
            snapshot(conn, db_file)
        except MirrorKitError as exc:  # name the backup the user asked for, not our staging folder
            raise MirrorKitError(f"{out}: {str(exc).split(': ', 1)[-1]}") from exc
        scrub_secrets(db_file)
        snap = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, isolation_level=None)
        snap.row_factory = sqlite3.Row
        try:
            created_at = now_iso()
            fd = create_private(json_file)
            with open(fd, "wb", buffering=1 << 20) as fh:
                write_export(snap, fh, identity_id=None, exported_at=created_at)
            counts = _counts(snap)
            schema_version = _schema_version(snap)
        finally:
            snap.close()
        meta = {
            "format": BACKUP_FORMAT,
            "format_version": BACKUP_FORMAT_VERSION,
            "schema_version": schema_version,
            "export_format": FORMAT,
            "created_at": created_at,
            "encrypted": bool(passphrase),
            "counts": counts,
            "members": {
                name: {"sha256": _sha256(f), "size": f.stat().st_size}
                for name, f in ((DB_MEMBER, db_file), (JSON_MEMBER, json_file))
            },
        }
        def write_zip(fh) -> None:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
                zf.write(db_file, DB_MEMBER)
                zf.write(json_file, JSON_MEMBER)
                zf.writestr(META_MEMBER, json.dumps(meta, indent=2, sort_keys=True) + "\n")

        with writing_to(out), atomic_private_file(out) as fh:
            if not passphrase:
                write_zip(fh)
            else:
                # The clear ZIP stays in the private staging folder (removed whatever happens, swept
                # if killed); the file the user keeps is the whole archive in the export envelope.
                clear = tmp / "backup.zip"
                with open(create_private(clear), "wb", buffering=1 << 20) as zfh:
                    write_zip(zfh)
                sink = crypto.EncryptingWriter(fh, passphrase)
                with open(clear, "rb") as src:
                    while chunk := src.read(_HASH_CHUNK):
                        sink.write(chunk)
                sink.close()
    return {"path": str(out), **meta}


@contextlib.contextmanager
def open_backup(p: Path, passphrase: str | None, staging: Path) -> Iterator[tuple[zipfile.ZipFile, list[str]]]:
    """The backup's ZIP, opened and checked, and notes for the user (an outdated encryption).

    A backup in the encryption envelope is decrypted into `staging` (a private folder the caller
    removes). Refused: a passphrase for an unencrypted backup, an encrypted one without a passphrase,
    an encrypted JSON export given as a backup.
    """
    if p.is_dir():
        raise _fail(p, _not_a_backup_folder(p))
    if not p.is_file():
        raise BackupError(f"{p}: no such file")
    with open(p, "rb") as fh:
        head = fh.read(len(crypto.MAGIC))
        kind = _export_kind(head + fh.read(4096))
        if kind:
            raise _fail(p, kind)
        fh.seek(len(head))
        if crypto.is_encrypted(head):
            fh.seek(0)
            clear = staging / "backup.zip"
            with open(create_private(clear), "wb", buffering=1 << 20) as out:
                crypto.decrypt_to(fh, out, passphrase, name=str(p))
            with open(clear, "rb") as out:
                if out.read(4) != b"PK\x03\x04":
                    raise _fail(p, "this is an encrypted mirror_kit JSON export, not a backup: import it with "
                                   "`mirror-kit import FILE --passphrase ...`")
            with safezip.open_zip(clear, name=p) as zf:
                if safezip.encrypted_members(zf):
                    raise _fail(p, "unexpected encrypted members inside the encrypted backup")
                yield zf, []
            return
    zf = safezip.open_zip(p, passphrase=passphrase)
    with zf:
        legacy = safezip.encrypted_members(zf)
        notes = []
        if legacy:
            if not passphrase:
                raise crypto.passphrase_needed_error(str(p))
            notes.append(f"note: {p} uses the older ZIP encryption (PBKDF2-SHA1 with 1,000 rounds, member names "
                         "in clear); make a new backup to protect it with scrypt and AES-256-GCM")
        elif passphrase:
            raise crypto.not_encrypted_error(str(p))
        yield zf, notes


def _export_kind(head: bytes) -> str | None:
    """Why a file that is not a ZIP is another kind of export (JSON, Markdown), or None."""
    if head.startswith(b"PK") or crypto.is_encrypted(head):
        return None
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        what = "a mirror_kit JSON export" if "mirror_os_export" in text else "a JSON file"
        return (f"{what}, not a backup ZIP: import it with `mirror-kit import FILE` "
                "(restore takes a ZIP made by `mirror-kit backup`)")
    if text.startswith(("#", "---")):
        return ("a Markdown file (a Markdown export is for reading), not a backup ZIP: restore takes a ZIP "
                "made by `mirror-kit backup`; a JSON export is imported with `mirror-kit import FILE`")
    return None


def _not_a_backup_folder(p: Path) -> str:
    if any(p.glob("*/reflections.md")) or (p / "reflections.md").exists():
        return ("a Markdown export folder (for reading), not a backup ZIP: restore takes a ZIP made by "
                "`mirror-kit backup`; a JSON export is imported with `mirror-kit import FILE`")
    return "a folder, not a backup ZIP (made by `mirror-kit backup`)"


def _fail(p: Path, msg: str) -> BackupError:
    return BackupError(f"{p}: {msg}")


def _read_metadata(zf: zipfile.ZipFile, p: Path) -> dict:
    if META_MEMBER not in zf.namelist():
        raise _fail(p, f"not a mirror_kit backup ({META_MEMBER} is missing)")
    raw = safezip.read_member(zf, META_MEMBER, p, max_size=1 << 20)
    try:
        meta = loads_json(raw, f"{p}: {META_MEMBER}")
    except InvalidInputError as exc:
        raise _fail(p, f"{META_MEMBER} is not valid JSON ({str(exc).split(': ', 2)[-1]})") from exc
    if not isinstance(meta, dict) or meta.get("format") != BACKUP_FORMAT:
        raise _fail(p, f"not a mirror_kit backup ({META_MEMBER} has format {meta.get('format')!r})"
                    if isinstance(meta, dict) else f"{META_MEMBER} is not an object")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise _fail(p, f"{META_MEMBER}: field 'format_version' is missing")
    if version > BACKUP_FORMAT_VERSION:
        raise _fail(p, f"backup format version {version} is newer than this mirror_kit reads "
                       f"({BACKUP_FORMAT_VERSION}); upgrade mirror_kit")
    members = meta.get("members")
    if not isinstance(members, dict) or DB_MEMBER not in members:
        raise _fail(p, f"{META_MEMBER}: field 'members' must list {DB_MEMBER} with its sha256")
    for name, info in members.items():
        if not isinstance(info, dict) or not isinstance(info.get("sha256"), str):
            raise _fail(p, f"{META_MEMBER}: member {name!r} has no sha256")
    counts = meta.get("counts")
    if counts is not None and not (isinstance(counts, dict) and all(
            isinstance(k, str) and type(v) is int for k, v in counts.items())):
        raise _fail(p, f"{META_MEMBER}: field 'counts' must map table names to row counts")
    if not isinstance(meta.get("schema_version", 0), int):
        raise _fail(p, f"{META_MEMBER}: field 'schema_version' must be a whole number")
    unexpected = sorted(set(zf.namelist()) - set(members) - {META_MEMBER})
    if unexpected:
        raise _fail(p, f"unexpected member(s) not listed in {META_MEMBER}: {', '.join(unexpected)}")
    return meta


def _check(zf: zipfile.ZipFile, p: Path, meta: dict, db_out: Path) -> dict:
    """Checksums of every member (writing journal.db to `db_out`), then the database and the export."""
    for name, info in sorted(meta["members"].items()):
        if name == DB_MEMBER:
            fd = create_private(db_out)
            with open(fd, "wb") as fh:
                digest = safezip.copy_member(zf, name, p, fh)
        else:
            digest = safezip.sha256_member(zf, name, p)
        if digest != info["sha256"]:
            raise _fail(p, f"checksum mismatch for member {name!r}: the backup is damaged or was altered")
    try:
        conn = sqlite3.connect(f"file:{db_out}?mode=ro", uri=True, isolation_level=None)
        try:
            rows = integrity_messages(conn)
            if rows != ["ok"]:
                # SQLite can list thousands of damaged pages: one line with the first few
                lines = [ln for r in rows for ln in str(r).splitlines() if not ln.startswith("***")]
                more = f" (and {len(lines) - 3}{'+' if len(rows) >= 100 else ''} more)" if len(lines) > 3 else ""
                raise _fail(p, f"{DB_MEMBER} fails SQLite's integrity check: {'; '.join(lines[:3])}{more}")
            counts, schema_version = _counts(conn), _schema_version(conn)
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        # a damaged file can also hold text that is not UTF-8 where the counts read names
        raise _fail(p, f"{DB_MEMBER} is not a readable SQLite database ({exc})") from exc
    if schema_version != meta.get("schema_version"):
        raise _fail(p, f"{DB_MEMBER} has schema version {schema_version}, metadata says {meta.get('schema_version')}")
    if meta.get("counts") is not None and counts != meta["counts"]:
        diff = {k: (meta["counts"].get(k), counts.get(k)) for k in set(counts) | set(meta["counts"])
                if meta["counts"].get(k) != counts.get(k)}
        raise _fail(p, f"row counts differ from {META_MEMBER} (recorded, actual): {diff}")
    if JSON_MEMBER in meta["members"]:
        head = b""
        for chunk in safezip.iter_member(zf, JSON_MEMBER, p):
            head += chunk
            if len(head) >= 64:
                break
        if not head.lstrip().startswith(b'{"format": "' + FORMAT.encode()):
            raise _fail(p, f"{JSON_MEMBER} is not a {FORMAT} export")
    # Checksums can be recomputed by whoever edits the archive: check what the members say, too.
    conn = sqlite3.connect(f"file:{db_out}?mode=ro", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        backupcheck.check_database(conn, schema_version, f"{p}: {DB_MEMBER}")
        if JSON_MEMBER in meta["members"]:
            backupcheck.check_export(zf, JSON_MEMBER, p, conn)
    except sqlite3.DatabaseError as exc:
        raise _fail(p, f"{DB_MEMBER} is not a readable SQLite database ({exc})") from exc
    finally:
        conn.close()
    return {"counts": counts, "schema_version": schema_version}


def verify_backup(path: str | Path, *, passphrase: str | None = None) -> dict[str, Any]:
    """Check a backup: safe ZIP structure, metadata, SHA-256 of every member, the database's
    integrity and row counts. Returns a summary; raises BackupError (naming the problem) otherwise."""
    p = Path(path)
    sweep_stale_staging(p.parent)  # a killed backup's clear-text staging next to the archive
    scratch = Path(tempfile.gettempdir()) / "mirror-kit-verify"
    # named by process id: a killed verify's copies are swept later
    with private_temp_dir(scratch) as tmp, open_backup(p, passphrase, tmp) as (zf, notes):
        meta = _read_metadata(zf, p)
        checked = _check(zf, p, meta, Path(tmp) / DB_MEMBER)
    return {"path": str(p), "ok": True, "created_at": meta.get("created_at"), "encrypted": meta.get("encrypted"),
            "format_version": meta["format_version"], "members": sorted(meta["members"]), "notes": notes,
            **checked}


def _restore_into_live(src: Path, to: Path) -> bool:
    """Copy `src` over the existing SQLite file `to` with SQLite's backup API; False if `to` is not SQLite.

    Replacing the file under a program that holds it open would leave that program writing into the
    old (unlinked) file or mixing its -wal with the new pages; through the backup API SQLite takes
    the write lock, waits for other writers and every open connection reads the restored content.
    """
    from ..db import BUSY_TIMEOUT_MS, translate

    with open(to, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            return False
    from ..errors import JournalLockedError

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000

    def give_up_when_busy_too_long(status: int, remaining: int, total: int) -> None:
        # sqlite3.backup retries a busy target forever; a writer that never lets go must end in one line
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise JournalLockedError(f"{to} is locked by another process (waited {BUSY_TIMEOUT_MS / 1000:g} s); "
                                     "it was not changed, close the other program and retry")

    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(to, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            # The backup API cannot change a WAL file's page size (4 KB journals, 16 KB since
            # `mirror_kit.db.PAGE_SIZE`): our own copy takes the target's page size first.
            size = target.execute("PRAGMA page_size").fetchone()[0]
            if source.execute("PRAGMA page_size").fetchone()[0] != size:
                source.close()
                from ..compact import repage_file

                repage_file(src, size)
                source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
            source.backup(target, pages=256, progress=give_up_when_busy_too_long)
        except sqlite3.Error as exc:
            raise translate(exc, to) from exc
        finally:
            target.close()
    finally:
        source.close()
    make_journal_private(to)
    return True


def restore(path: str | Path, to: str | Path, force: bool = False, *, passphrase: str | None = None) -> dict:
    """Restore a backup's database into a new file `to` (refuses to overwrite unless `force`).

    Everything is verified first and the database is written to a temp file next to `to` that is
    renamed into place only when complete, so a failed restore leaves `to` as it was.
    """
    p, to = Path(path), Path(to).expanduser()
    if to.is_dir():
        raise InvalidInputError(f"{to} is a directory; give the new journal's file name")
    if to.exists() and not force:
        raise InvalidInputError(f"{to} already exists; refusing to overwrite it (use --force)")
    existing_parent(to, "nothing was restored")
    # a full disk or a folder one may not write to is one line naming `to`, not a bare OS error
    with writing_to(to, "nothing was restored; the target was left as it was"):
        tmp = temp_sibling(to)
        return _restore_to(p, to, tmp, passphrase)


def _restore_to(p: Path, to: Path, tmp: Path, passphrase: str | None) -> dict:
    """`restore` once the target is checked: verify and write `tmp`, then move it into place."""
    try:
        with private_temp_dir(to) as staging, open_backup(p, passphrase, staging) as (zf, notes):
            meta = _read_metadata(zf, p)
            checked = _check(zf, p, meta, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if to.exists() and _restore_into_live(tmp, to):
            pass  # another program may hold `to` open: it now sees the restored pages through SQLite
        else:
            for suffix in ("-wal", "-shm", "-journal"):  # a stale WAL next to the new file would corrupt it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{to}{suffix}")
            os.replace(tmp, to)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return {"path": str(to), "from": str(p), "created_at": meta.get("created_at"), "notes": notes, **checked}
