"""ZIP backups: contents and checksums, consistency under concurrent writes, verify, restore,
encryption, and hostile or broken archives (each refused with nothing written)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import threading
import zipfile

import pytest

import mirror_kit
from mirror_kit.cli import main as cli
from mirror_kit.errors import InvalidInputError
from mirror_kit.export import restore, verify_backup
from mirror_kit.export.safezip import Limits, open_zip
from tests.plugins.export import strip_exported_at


@pytest.fixture
def backup_zip(filled_journal, tmp_path):
    j, _ = filled_journal
    j.exports.backup(tmp_path / "backup.zip")
    return j, tmp_path / "backup.zip"


def _rezip(src, dst, *, replace: dict | None = None, extra: dict | None = None, skip=()):
    """A copy of the archive `src` with some members' bytes replaced or added (names taken as given)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in skip:
                continue
            data = (replace or {}).get(info.filename, zin.read(info.filename))
            zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(zipfile.ZipInfo(name), data)
    return dst


def test_backup_contents_metadata_and_checksums(backup_zip):
    j, path = backup_zip
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["export.json", "journal.db", "metadata.json"]
        meta = json.loads(zf.read("metadata.json"))
        for name in ("journal.db", "export.json"):
            data = zf.read(name)
            assert meta["members"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        export = json.loads(zf.read("export.json"))
        db = zf.read("journal.db")
    assert meta["format"] == "mirror_kit_backup" and meta["format_version"] == 1
    assert meta["schema_version"] == j.migrator.current_version() and meta["export_format"] == "mirror_os_export_v1"
    assert meta["counts"]["reflections"] == 8 and meta["counts"]["identities"] == 2
    assert meta["created_at"] == export["exported_at"]
    assert db.startswith(b"SQLite format 3\x00")
    assert sum(len(i["reflections"]) for i in export["identities"]) == 8
    res = verify_backup(path)
    assert res["ok"] and res["counts"]["reflections"] == 8


def test_restore_gives_back_the_same_journal_and_refuses_to_overwrite(backup_zip, tmp_path):
    j, path = backup_zip
    to = tmp_path / "restored" / "new.db"
    to.parent.mkdir()  # restore never creates a missing folder
    res = restore(path, to)
    assert res["counts"]["reflections"] == 8 and stat.S_IMODE(os.stat(to).st_mode) == 0o600
    with mirror_kit.open(to) as r:
        r.exports.json(tmp_path / "r.json")
    j.exports.json(tmp_path / "j.json")
    assert strip_exported_at((tmp_path / "r.json").read_text()) == strip_exported_at((tmp_path / "j.json").read_text())
    before = to.read_bytes()
    with pytest.raises(InvalidInputError, match="already exists; refusing to overwrite it"):
        restore(path, to)
    assert to.read_bytes() == before
    other = tmp_path / "other.db"
    other.write_bytes(b"something else")
    restore(path, other, force=True)
    with mirror_kit.open(other) as r:
        assert len(r.reflections.rows()) == 8
    assert not [p for p in (tmp_path / "restored").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("readonly", [False, True])  # VACUUM INTO, or the backup API on a read-only handle
def test_backup_is_consistent_while_another_connection_writes(journal, tmp_path, readonly):
    journal.identities.add("writer")
    reader = mirror_kit.open(journal.path, readonly=True) if readonly else journal
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with mirror_kit.open(journal.path) as w:
                k = 0
                while not stop.is_set():
                    # ten at a time in one transaction: a torn snapshot would show a count not divisible by 10
                    w.reflections.add_many("writer", [{"content": f"entry {k}-{i}", "created_at": "2024-01-01"}
                                                 for i in range(10)])
                    k += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    t = threading.Thread(target=write)
    t.start()
    try:
        counts = []
        for n in range(3):
            out = tmp_path / f"b{n}.zip"
            reader.exports.backup(out)
            res = verify_backup(out)
            with zipfile.ZipFile(out) as zf:
                export = json.loads(zf.read("export.json"))
            n_export = sum(len(i["reflections"]) for i in export["identities"])
            assert res["counts"]["reflections"] == n_export
            assert n_export % 10 == 0
            counts.append(n_export)
    finally:
        stop.set()
        t.join()
        if readonly:
            reader.close()
    assert not errors
    assert counts[-1] > 0 and counts == sorted(counts)


def test_encrypted_backup(filled_journal, tmp_path, capsys):
    j, _ = filled_journal
    path = tmp_path / "enc.zip"
    j.exports.backup(path, passphrase="s3cret")
    raw = path.read_bytes()
    assert b"Morning walk" not in raw and b"SQLite format 3" not in raw and b"mirror_os_export_v1" not in raw
    with pytest.raises(InvalidInputError, match="encrypted: give the passphrase"):
        verify_backup(path)
    with pytest.raises(InvalidInputError, match="wrong passphrase"):
        verify_backup(path, passphrase="guess")
    to = tmp_path / "r.db"
    with pytest.raises(InvalidInputError, match="wrong passphrase"):
        restore(path, to, passphrase="guess")
    assert not to.exists()
    assert verify_backup(path, passphrase="s3cret")["encrypted"] is True
    restore(path, to, passphrase="s3cret")
    with mirror_kit.open(to) as r:
        assert len(r.reflections.rows("maya")) == 5


def _refused(path, tmp_path, message):
    to = tmp_path / "never.db"
    with pytest.raises(InvalidInputError, match=message):
        verify_backup(path)
    with pytest.raises(InvalidInputError, match=message):
        restore(path, to)
    assert not to.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


@pytest.mark.parametrize("member, why", [("../evil.db", "'..' in path"), ("/etc/evil", "absolute path"),
                                          ("a\\..\\..\\evil", "backslash"), ("C:/evil", "absolute path")])
def test_path_traversal_members_are_refused(backup_zip, tmp_path, member, why):
    _, path = backup_zip
    bad = _rezip(path, tmp_path / "trav.zip", extra={member: b"x"})
    _refused(bad, tmp_path, why)
    assert not (tmp_path.parent / "evil.db").exists()


def test_zip_bomb_is_refused_before_inflating(backup_zip, tmp_path):
    _, path = backup_zip
    bad = _rezip(path, tmp_path / "bomb.zip", replace={"export.json": b"\0" * (30 << 20)})
    assert bad.stat().st_size < 1 << 20
    _refused(bad, tmp_path, "possible ZIP bomb")
    with pytest.raises(InvalidInputError, match="over the limit"):
        open_zip(path, limits=Limits(max_total_size=1000))
    with pytest.raises(InvalidInputError, match="more than the limit"):
        open_zip(path, limits=Limits(max_members=2))


def _patch_declared_size(path, member: str, delta: int):
    """Change a member's declared uncompressed size in both its local and central headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        pos = data.find(sig)
        while pos != -1:
            (n,) = struct.unpack_from("<H", data, pos + name_len_at)
            if bytes(data[pos + name_at: pos + name_at + n]) == name:
                (size,) = struct.unpack_from("<I", data, pos + size_at)
                struct.pack_into("<I", data, pos + size_at, size + delta)
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("delta, message", [(+1000, "declares|truncated|corrupted"), (-10, "corrupted|declares")])
def test_declared_sizes_that_lie_are_refused(backup_zip, tmp_path, delta, message):
    _, path = backup_zip
    bad = tmp_path / "lying.zip"
    bad.write_bytes(path.read_bytes())
    _patch_declared_size(bad, "export.json", delta)
    _refused(bad, tmp_path, message)


def test_truncated_and_non_zip_files_are_refused(backup_zip, tmp_path):
    _, path = backup_zip
    raw = path.read_bytes()
    for n, cut in enumerate((len(raw) // 2, len(raw) - 10, 100)):
        bad = tmp_path / f"cut{n}.zip"
        bad.write_bytes(raw[:cut])
        _refused(bad, tmp_path, "not a ZIP archive or truncated")
    text = tmp_path / "notes.zip"
    text.write_text("just text")
    _refused(text, tmp_path, "not a ZIP archive or truncated")


def test_checksum_mismatch_and_bad_metadata_are_refused(backup_zip, tmp_path):
    _, path = backup_zip
    with zipfile.ZipFile(path) as zf:
        export, db, meta = zf.read("export.json"), zf.read("journal.db"), json.loads(zf.read("metadata.json"))
    bad = _rezip(path, tmp_path / "tampered.zip", replace={"export.json": export.replace(b"Morning", b"Evening")})
    _refused(bad, tmp_path, "checksum mismatch for member 'export.json'")
    flipped = bytearray(db)
    flipped[len(db) // 2] ^= 0xFF
    bad = _rezip(path, tmp_path / "db.zip", replace={"journal.db": bytes(flipped)})
    _refused(bad, tmp_path, "checksum mismatch for member 'journal.db'")
    future = dict(meta, format_version=2)
    bad = _rezip(path, tmp_path / "future.zip", replace={"metadata.json": json.dumps(future).encode()})
    _refused(bad, tmp_path, "newer than this mirror_kit reads")
    bad = _rezip(path, tmp_path / "nometa.zip", skip={"metadata.json"})
    _refused(bad, tmp_path, "metadata.json is missing")
    bad = _rezip(path, tmp_path / "brokenmeta.zip", replace={"metadata.json": b"{not json"})
    _refused(bad, tmp_path, "metadata.json is not valid JSON")
    bad = _rezip(path, tmp_path / "extra.zip", extra={"notes.txt": b"hi"})
    _refused(bad, tmp_path, "unexpected member")
    counts = dict(meta, counts=dict(meta["counts"], reflections=9))
    bad = _rezip(path, tmp_path / "counts.zip", replace={"metadata.json": json.dumps(counts).encode()})
    _refused(bad, tmp_path, "row counts differ")


def test_forced_restore_that_fails_keeps_the_existing_file(backup_zip, tmp_path):
    _, path = backup_zip
    with zipfile.ZipFile(path) as zf:
        export = zf.read("export.json")
    bad = _rezip(path, tmp_path / "tampered.zip", replace={"export.json": export + b" "})
    target = tmp_path / "keep.db"
    target.write_bytes(b"precious")
    with pytest.raises(InvalidInputError, match="checksum mismatch"):
        restore(bad, target, force=True)
    assert target.read_bytes() == b"precious"


def test_cli_backup_verify_restore(filled_journal, tmp_path, capsys):
    j, _ = filled_journal
    out = tmp_path / "cli.zip"
    assert cli(["--db", str(j.path), "backup", "--out", str(out)]) == 0
    assert "8 reflections" in capsys.readouterr().out
    assert cli(["backup", "verify", str(out)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    assert cli(["restore", str(out), "--to", str(tmp_path / "new.db")]) == 0
    assert cli(["restore", str(out), "--to", str(tmp_path / "new.db")]) == 1
    assert "use --force" in capsys.readouterr().err
    assert cli(["restore", str(out), "--to", str(tmp_path / "new.db"), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["reflections"] == 8
    buf = io.BytesIO(out.read_bytes())
    with zipfile.ZipFile(buf) as zf:
        names = zf.namelist()
    assert "journal.db" in names
    bad = _rezip(out, tmp_path / "bad.zip", extra={"../x": b"1"})
    assert cli(["backup", "verify", str(bad)]) == 1
    assert "error:" in capsys.readouterr().err
    assert cli(["--db", str(j.path), "backup"]) != 0
