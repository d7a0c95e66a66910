"""One encryption for exports and backups (scrypt + AES-256-GCM over the whole file, names hidden);
a passphrase given for an unencrypted file refuses it; old WinZip-AES backups stay readable with a
note; ZIPs that are not Day One exports (a mirror_kit backup, a password-protected archive) are named."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError
from mirror_kit.export.service import restore, verify_backup
from tests.plugins.imports import dayone_journals, write_dayone_zip
from tests.plugins.store import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "the secret garden entry", "2024-03-01")
        out = {"db": db, "plain.zip": tmp_path / "plain.zip", "enc.zip": tmp_path / "enc.zip",
               "plain.json": tmp_path / "plain.json", "enc.json": tmp_path / "enc.json"}
        j.exports.backup(out["plain.zip"])
        j.exports.backup(out["enc.zip"], passphrase="pw")
        j.exports.json(out["plain.json"])
        j.exports.json(out["enc.json"], passphrase="pw")
    return out


def _legacy_winzip_aes_backup(plain: Path, out: Path, passphrase: str) -> Path:
    """A backup as older versions wrote it: the same members, each WinZip-AES encrypted."""
    import pyzipper

    with zipfile.ZipFile(plain) as src, pyzipper.AESZipFile(out, "w", compression=pyzipper.ZIP_DEFLATED,
                                                           encryption=pyzipper.WZ_AES) as dst:
        dst.setpassword(passphrase.encode())
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    return out


def test_an_encrypted_backup_hides_member_names_and_uses_the_export_envelope(files):
    raw = files["enc.zip"].read_bytes()
    assert raw.startswith(b"MKENC1") and raw[6 + 16:6 + 19] == bytes((15, 8, 1))  # scrypt n=2^15, r=8, p=1
    for visible in (b"journal.db", b"metadata.json", b"export.json", b"PK\x03\x04", b"secret garden"):
        assert visible not in raw
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(files["enc.zip"])
    res = verify_backup(files["enc.zip"], passphrase="pw")
    assert res["encrypted"] is True and res["notes"] == [] and res["counts"]["reflections"] == 1


def test_an_encrypted_backup_restores_and_nothing_in_clear_is_left_behind(files, tmp_path):
    res = restore(files["enc.zip"], tmp_path / "r.db", passphrase="pw")
    assert res["counts"]["reflections"] == 1
    with mirror_kit.open(tmp_path / "r.db", readonly=True) as j:
        assert j.reflections.frame("maya")["content"].tolist() == ["the secret garden entry"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("command", [
    ("backup", "verify", "{plain_zip}", "--passphrase", "pw"),
    ("restore", "{plain_zip}", "--to", "{dir}/r.db", "--passphrase", "pw"),
    ("--db", "{dir}/new.db", "import", "{plain_json}", "--passphrase", "pw"),
])
def test_a_passphrase_for_an_unencrypted_file_refuses_it(files, tmp_path, command):
    args = [a.format(dir=tmp_path, **{k.replace(".", "_"): v for k, v in files.items()}) for a in command]
    p = run_cli(*args, cwd=tmp_path, env=ENV)
    assert_one_line_error(p, "is not encrypted, but a passphrase was given")
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize("command", [
    ("backup", "verify", "{enc_zip}"),
    ("restore", "{enc_zip}", "--to", "{dir}/r.db"),
    ("--db", "{dir}/new.db", "import", "{enc_json}"),
])
def test_an_encrypted_file_without_a_passphrase_asks_for_it(files, tmp_path, command):
    args = [a.format(dir=tmp_path, **{k.replace(".", "_"): v for k, v in files.items()}) for a in command]
    env = {**ENV, "MIRROR_KIT_PASSPHRASE": ""}
    p = run_cli(*args, cwd=tmp_path, env=env)
    assert_one_line_error(p, "is encrypted: give the passphrase")
    assert not (tmp_path / "r.db").exists()


def test_an_old_winzip_aes_backup_still_restores_with_a_note(files, tmp_path):
    old = _legacy_winzip_aes_backup(files["plain.zip"], tmp_path / "old.zip", "pw")
    p = run_cli("restore", str(old), "--to", str(tmp_path / "r.db"), "--passphrase", "pw", cwd=tmp_path, env=ENV)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("\n") == 1 and "older ZIP encryption" in p.stderr and "make a new backup" in p.stderr
    assert verify_backup(old, passphrase="pw")["notes"]
    with pytest.raises(InvalidInputError, match="is encrypted: give the passphrase"):
        verify_backup(old)


def test_a_backup_and_an_export_are_not_taken_for_each_other(files, tmp_path):
    p = run_cli("restore", str(files["enc.json"]), "--to", str(tmp_path / "r.db"), "--passphrase", "pw",
                cwd=tmp_path, env=ENV)
    assert_one_line_error(p, "encrypted mirror_kit JSON export, not a backup")
    p = run_cli("--db", str(tmp_path / "n.db"), "import", str(files["enc.zip"]), "--passphrase", "pw",
                cwd=tmp_path, env=ENV)
    assert_one_line_error(p, "encrypted mirror_kit backup, not an export", "mirror-kit restore")


@pytest.mark.parametrize("extra", [(), ("--identity", "maya"), ("--identity", "maya", "--format", "dayone")])
def test_importing_our_own_backup_says_to_restore_it(files, tmp_path, extra):
    for name in ("plain.zip", "enc.zip"):
        p = run_cli("--db", str(tmp_path / "n.db"), "import", str(files[name]), *extra, cwd=tmp_path, env=ENV)
        assert_one_line_error(p, "mirror_kit backup", "mirror-kit restore")
    with mirror_kit.open(tmp_path / "n.db") as j:
        assert j.reflections.frame().empty


def test_a_password_protected_day_one_zip_says_day_one_exports_are_not_encrypted(tmp_path):
    import pyzipper

    plain = write_dayone_zip(tmp_path / "plain.zip", dayone_journals())
    locked = tmp_path / "Export.zip"
    with zipfile.ZipFile(plain) as src, pyzipper.AESZipFile(locked, "w", encryption=pyzipper.WZ_AES) as dst:
        dst.setpassword(b"pw")
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    p = run_cli("--db", str(tmp_path / "n.db"), "import", str(locked), "--identity", "maya", cwd=tmp_path, env=ENV)
    line = assert_one_line_error(p, "password-protected", "Day One exports are not encrypted", "export")
    assert "backup" not in line and "passphrase" not in line
