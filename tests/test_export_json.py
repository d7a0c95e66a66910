"""JSON export: schema, exact keys, identity scoping, determinism, file mode, encryption, CLI."""

from __future__ import annotations

import json
import os
import stat

import jsonschema
import pytest

from mirror_kit.cli import main as cli
from mirror_kit.errors import InvalidInputError, UnknownIdentityError
from mirror_kit.export.crypto import WrongPassphraseError
from mirror_kit.export.importer import import_export_file
from mirror_kit.export.validation import SCHEMA_PATH, export_schema, validate
from tests.plugins.export import HOSTILE, strip_exported_at


def test_schema_ships_inside_the_package_and_is_valid_json_schema():
    assert SCHEMA_PATH.parent.parent.name == "export" and SCHEMA_PATH.is_file()
    jsonschema.Draft202012Validator.check_schema(export_schema())


def test_export_validates_against_the_schema_with_the_exact_keys(filled_journal, tmp_path):
    j, info = filled_journal
    res = j.exports.json(tmp_path / "all.json")
    doc = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, export_schema())
    assert list(doc) == ["format", "exported_at", "identities", "settings"]
    assert doc["format"] == "mirror_os_export_v1"
    assert [i["name"] for i in doc["identities"]] == ["maya", "sam"]
    maya = doc["identities"][0]
    for key in ("id", "name", "reflections", "mirrorbacks", "threads", "patterns", "tensions", "analysis_runs"):
        assert key in maya
    r = next(x for x in maya["reflections"] if x["content"] == HOSTILE)
    assert {"id", "created_at", "tz", "title", "content", "tags", "source", "source_id", "metadata"} <= set(r)
    assert r["tz"] == "+05:45" and r["created_at"] == "2024-01-05T16:25:00Z" and r["tags"] == ["test"]
    assert r["metadata"] == {"k": 1, "nested": {"ü": [1, 2]}}
    assert [x["created_at"] for x in maya["reflections"]] == sorted(x["created_at"] for x in maya["reflections"])
    (pat,) = maya["patterns"]
    assert pat["occurrences"] == [{"reflection_id": info["maya_ids"][0], "strength": 0.9},
                                  {"reflection_id": info["maya_ids"][4], "strength": 0.6}]
    assert {"id", "label", "keywords", "confidence"} <= set(pat) and pat["keywords"] == ["calm", "walk"]
    (ten,) = maya["tensions"]
    assert ten["shared"] is True and ten["definition"] == {"description": "alone or with others"}
    assert {o["reflection_id"] for o in ten["observations"]} == {info["maya_ids"][i] for i in (0, 3, 4)}
    assert set(ten["observations"][0]) >= {"reflection_id", "position", "intensity"}
    assert maya["analysis_runs"][0]["kind"] == "patterns"
    assert maya["mirrorbacks"][0]["content"].startswith("You sound calm.")
    assert maya["threads"][0]["reflection_ids"] == [info["maya_ids"][4], info["maya_ids"][0]]
    assert doc["settings"] == {"embedding.model": "all-MiniLM-L6-v2", "ui": {"theme": "dark", "list": [1, 2, 3]}}
    assert res["counts"]["reflections"] == 8 and res["counts"]["identities"] == 2


def test_identity_scoped_export_holds_nothing_of_other_identities(filled_journal, tmp_path):
    j, info = filled_journal
    j.exports.json(tmp_path / "maya.json", identity="maya")
    text = (tmp_path / "maya.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    jsonschema.validate(doc, export_schema())
    assert [i["name"] for i in doc["identities"]] == ["maya"]
    assert "sam" not in text  # every sam record carries the word (content, titles, labels, parameters)
    for rid in info["sam_ids"]:
        assert rid not in text
    assert info["sam"].id not in text and "ten_sam_own" not in text and "pat_sam" not in text
    # the shared tension comes with maya's observations only
    (ten,) = doc["identities"][0]["tensions"]
    assert len(ten["observations"]) == 3


def test_export_is_deterministic_and_private(filled_journal, tmp_path):
    j, _ = filled_journal
    j.exports.json(tmp_path / "a.json")
    j.exports.json(tmp_path / "b.json")
    a, b = ((tmp_path / n).read_text(encoding="utf-8") for n in ("a.json", "b.json"))
    assert strip_exported_at(a) == strip_exported_at(b)
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp-*"))


def test_failed_export_leaves_the_existing_file_and_no_temp_files(filled_journal, tmp_path):
    j, _ = filled_journal
    out = tmp_path / "keep.json"
    out.write_text("previous", encoding="utf-8")
    with pytest.raises(UnknownIdentityError):
        j.exports.json(out, identity="nobody")
    assert out.read_text(encoding="utf-8") == "previous"
    assert not list(tmp_path.glob(".keep.json.tmp-*"))


def test_validator_names_the_path_of_the_problem(filled_journal, tmp_path):
    j, _ = filled_journal
    j.exports.json(tmp_path / "e.json")
    doc = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    del doc["identities"][0]["reflections"][2]["content"]
    with pytest.raises(InvalidInputError, match=r"identities\[0\]\.reflections\[2\]: required field 'content'"):
        validate(doc)
    # and jsonschema agrees it is invalid
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, export_schema())


def test_encrypted_export_round_trips_and_refuses_wrong_passphrases(filled_journal, tmp_path, fresh_journal):
    j, _ = filled_journal
    j.exports.json(tmp_path / "plain.json", identity="maya")
    j.exports.json(tmp_path / "enc.json", identity="maya", passphrase="correct horse")
    raw = (tmp_path / "enc.json").read_bytes()
    assert b"Morning walk" not in raw and b"maya" not in raw and raw.startswith(b"MKENC1")
    assert stat.S_IMODE(os.stat(tmp_path / "enc.json").st_mode) == 0o600
    target = fresh_journal("t.db")
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        import_export_file(target, tmp_path / "enc.json", passphrase="wrong horse")
    with pytest.raises(InvalidInputError, match="is encrypted: give the passphrase"):
        import_export_file(target, tmp_path / "enc.json")
    assert target.identities.rows() == []
    (tmp_path / "cut.json").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InvalidInputError, match="truncated"):
        import_export_file(target, tmp_path / "cut.json", passphrase="correct horse")
    tampered = bytearray(raw)
    tampered[60] ^= 1
    (tmp_path / "tampered.json").write_bytes(bytes(tampered))
    with pytest.raises(InvalidInputError):
        import_export_file(target, tmp_path / "tampered.json", passphrase="correct horse")
    assert target.identities.rows() == []
    res = import_export_file(target, tmp_path / "enc.json", passphrase="correct horse")
    assert res["counts"]["reflections"]["added"] == 5
    target.exports.json(tmp_path / "again.json", identity="maya")
    assert strip_exported_at((tmp_path / "again.json").read_text(encoding="utf-8")) == strip_exported_at(
        (tmp_path / "plain.json").read_text(encoding="utf-8"))


def test_cli_export_json(filled_journal, tmp_path, capsys, monkeypatch):
    j, _ = filled_journal
    out = tmp_path / "cli.json"
    assert cli(["--db", str(j.path), "export", "json", "--identity", "sam", "--out", str(out)]) == 0
    assert "3 reflections" in capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [i["name"] for i in doc["identities"]] == ["sam"]
    monkeypatch.setenv("MIRROR_KIT_PASSPHRASE", "from env")
    assert cli(["--db", str(j.path), "export", "json", "--out", str(tmp_path / "enc.json")]) == 0
    assert (tmp_path / "enc.json").read_bytes().startswith(b"MKENC1")
    assert cli(["--db", str(j.path), "export", "json", "--identity", "zed", "--out", str(tmp_path / "z.json")]) == 1
    assert "error: unknown identity 'zed'" in capsys.readouterr().err
    assert not (tmp_path / "z.json").exists()
