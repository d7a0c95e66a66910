"""Limits on hostile input (mirror_kit/limits.py): alias bombs, deep nesting, ZIP bombs, costly key
derivation, overlong tags and titles. Each is refused with one line and changes nothing."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit import limits
from mirror_kit.errors import InvalidInputError
from tests.plugins.store import assert_one_line_error, run_cli, snapshot

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "already here", "2024-01-01")
        j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _bomb_zip(path: Path, mb: int = 40) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf, \
            zf.open("Journal.json", "w") as fh:
        fh.write(b'{"metadata": {}, "entries": [')
        for _ in range(mb):
            fh.write(b" " * (1 << 20))
        fh.write(b"]}")
    return path


def _inputs(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    notes = tmp / "bomb_notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\n" + ALIAS_BOMB + "---\nhello\n", encoding="utf-8")
    deep_notes = tmp / "deep_notes"
    deep_notes.mkdir()
    (deep_notes / "a.md").write_text("---\nx: " + "[" * 2000 + "]" * 2000 + "\n---\nhello\n", encoding="utf-8")
    offset = tmp / "offset_notes"
    offset.mkdir()
    (offset / "a.md").write_text("---\ndate: 2024-03-01T10:00:00+25:00\n---\nhello\n", encoding="utf-8")
    (tmp / "deep_jrnl.json").write_text('{"entries": ' + "[" * 100000 + "]" * 100000 + "}")
    (tmp / "deep_export.json").write_text('{"format": "mirror_os_export_v1", "x": ' + "[" * 100000 + "]" * 100000 + "}")
    (tmp / "surrogate.json").write_text(
        '{"entries": [{"date": "2024-01-01", "time": "10:00", "title": "Hi \\ud800", "body": "x"}]}')
    return {
        "yaml_alias_bomb": (notes, ["--identity", "maya"]),
        "yaml_deep": (deep_notes, ["--identity", "maya"]),
        "yaml_impossible_offset": (offset, ["--identity", "maya"]),
        "jrnl_json_deep": (tmp / "deep_jrnl.json", ["--identity", "maya"]),
        "export_json_deep": (tmp / "deep_export.json", []),
        "json_lone_surrogate": (tmp / "surrogate.json", ["--identity", "maya"]),
        "dayone_zip_bomb": (_bomb_zip(tmp / "bomb.zip"), ["--identity", "maya"]),
    }


@pytest.mark.parametrize("kind", ["yaml_alias_bomb", "yaml_deep", "yaml_impossible_offset", "jrnl_json_deep",
                                  "export_json_deep", "json_lone_surrogate", "dayone_zip_bomb"])
def test_hostile_import_is_one_line_and_changes_nothing(tmp_path, db, kind):
    path, extra = _inputs(tmp_path)[kind]
    before = snapshot(db)
    t0 = time.monotonic()
    p = run_cli("--db", str(db), "import", str(path), *extra, cwd=tmp_path)
    assert time.monotonic() - t0 < 20
    assert_one_line_error(p, "a.md" if path.is_dir() else path.name)
    assert snapshot(db) == before


def test_yaml_alias_bomb_in_a_tension_definition_is_refused(tmp_path):
    from mirror_kit.tensions.definition import load_tensions

    f = tmp_path / "t.yaml"
    f.write_text(ALIAS_BOMB, encoding="utf-8")
    with pytest.raises(InvalidInputError, match="alias"):
        load_tensions(f)


def test_day_one_and_backup_readers_share_the_zip_bomb_check(tmp_path):
    from mirror_kit.export.backup import verify_backup

    bomb = _bomb_zip(tmp_path / "b.zip", mb=8)
    with pytest.raises(InvalidInputError, match="ZIP bomb"):
        verify_backup(bomb)
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("maya")
        with pytest.raises(InvalidInputError, match="ZIP bomb"):
            j.imports.run(bomb, "maya")


@pytest.mark.parametrize("params", [(22, 8, 16), (22, 32, 16), (20, 8, 1), (16, 8, 16)])
def test_costly_key_derivation_in_an_encrypted_export_is_refused_at_once(tmp_path, db, params):
    exp = tmp_path / "e.json"
    with mirror_kit.open(db) as j:
        j.exports.json(exp, passphrase="pw")
    raw = bytearray(exp.read_bytes())
    raw[22:25] = bytes(params)  # MKENC1 | salt(16) | log2 n, r, p | nonce prefix
    exp.write_bytes(raw)
    t0 = time.monotonic()
    p = run_cli("--db", str(db), "import", str(exp), "--passphrase", "pw", cwd=tmp_path)
    assert time.monotonic() - t0 < 15
    assert_one_line_error(p, "e.json", "key derivation")


def test_default_key_derivation_is_within_the_limits():
    limits.check_scrypt(15, 8, 1, "x")


def test_overlong_tag_and_title_are_refused_naming_the_field(tmp_path, db):
    with mirror_kit.open(db) as j:
        with pytest.raises(InvalidInputError, match="tag"):
            j.reflections.add("maya", "x", "2024-02-01", tags=["t" * (limits.MAX_TAG_CHARS + 1)])
        with pytest.raises(InvalidInputError, match="field 'title'"):
            j.reflections.add("maya", "x", "2024-02-01", title="T" * (limits.MAX_TITLE_CHARS + 1))
        with pytest.raises(InvalidInputError, match="field 'title' must be text"):
            j.reflections.add("maya", "x", "2024-02-01", title=["not", "text"])
        assert len(j.reflections.rows("maya")) == 1
    (tmp_path / "long.csv").write_text(f"id,date,text,tags\n1,2024-01-01,hello,{'x' * 500}\n")
    before = snapshot(db)
    p = run_cli("--db", str(db), "import", str(tmp_path / "long.csv"), "--identity", "maya", cwd=tmp_path)
    assert_one_line_error(p, "500 characters")
    assert snapshot(db) == before


def test_backup_metadata_with_wrong_types_is_one_line(tmp_path, db):
    with mirror_kit.open(db) as j:
        j.exports.backup(tmp_path / "good.zip")
    with zipfile.ZipFile(tmp_path / "good.zip") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["metadata.json"])
    meta["counts"] = "many"
    members["metadata.json"] = json.dumps(meta).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    (tmp_path / "bad.zip").write_bytes(buf.getvalue())
    assert_one_line_error(run_cli("backup", "verify", "bad.zip", cwd=tmp_path), "counts")
    assert_one_line_error(run_cli("restore", "bad.zip", "--to", "r.db", cwd=tmp_path), "counts")
