"""Importing mirror_os_export_v1 files: merge, conflicts, replace, dry-run, all-or-nothing, hostile
input; through `import_export_file` and through `mirror-kit import`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from mirror_kit.cli import main as cli
from mirror_kit.errors import InvalidInputError, UnknownIdentityError
from mirror_kit.export.importer import import_export_file
from tests.plugins.export import strip_exported_at


def _state(j) -> str:
    """A fingerprint of everything in a journal (its export, minus the export time)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        j.exports.json(Path(d) / "s.json")
        text = strip_exported_at((Path(d) / "s.json").read_text(encoding="utf-8"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def exported(filled_journal, tmp_path):
    j, info = filled_journal
    j.exports.json(tmp_path / "all.json")
    return j, info, tmp_path / "all.json"


def test_merge_adds_new_and_skips_identical(exported, fresh_journal):
    _, info, path = exported
    target = fresh_journal()
    target.identities.add("maya", {"lang": "en"})
    target.reflections.add("maya", "only in the target", "2023-05-05T10:00:00")
    first = import_export_file(target, path)
    assert first["counts"]["reflections"]["added"] == 8 and first["conflicts"] == 0
    assert len(target.reflections.rows("maya")) == 6  # 5 imported + the target's own one
    again = import_export_file(target, path)
    assert again["added"] == 0 and again["updated"] == 0 and again["conflicts"] == 0
    assert again["counts"]["reflections"]["unchanged"] == 8
    assert again["counts"]["tension_observations"]["unchanged"] == 5
    assert target.reflections.get(info["maya_ids"][0]).tags == ["Calm", "walk"]


def test_merge_conflict_keeps_ours_and_reports_or_takes_theirs(exported, fresh_journal):
    _, info, path = exported
    target = fresh_journal()
    import_export_file(target, path)
    rid = info["maya_ids"][2]
    target.reflections.update(rid, content="edited in the target")
    res = import_export_file(target, path)
    assert res["conflicts"] == 1
    assert res["conflict_details"] == [{"kind": "reflections", "id": rid, "identity": "maya",
                                        "reason": "same id, different content (kept the journal's)"}]
    assert target.reflections.get(rid).content == "edited in the target"
    res = import_export_file(target, path, on_conflict="theirs")
    assert res["counts"]["reflections"]["updated"] == 1 and res["conflicts"] == 0
    assert target.reflections.get(rid).content.startswith("שלום עולם")


def test_same_source_id_under_another_id_is_a_conflict_not_a_crash(exported, fresh_journal):
    _, info, path = exported
    target = fresh_journal()
    target.identities.add("maya")
    target.reflections.add("maya", "different text, same source key", "2024-01-01", source="test", source_id="0",
                          id="r_custom")
    res = import_export_file(target, path)
    assert res["counts"]["reflections"]["conflicts"] == 1 and res["counts"]["reflections"]["added"] == 7
    # its mirrorback, occurrence, observation and thread slot are skipped with it (no dangling references)
    assert res["counts"]["mirrorbacks"]["conflicts"] == 1
    assert all(m.reflection_id != info["maya_ids"][0] for m in target.mirrorbacks.rows())


def test_replace_swaps_only_that_identitys_data(exported, fresh_journal, tmp_path):
    source, info, path = exported
    target = fresh_journal()
    import_export_file(target, path)
    extra = target.reflections.add("maya", "maya wrote this after the export", "2024-06-01")
    sam_before = [r.id for r in target.reflections.rows("sam")]
    res = import_export_file(target, path, mode="replace", identity="maya")
    assert res["identities"] == ["maya"] and res["counts"]["reflections"]["deleted"] == 6
    ids = [r.id for r in target.reflections.rows("maya")]
    assert extra.id not in ids and sorted(ids) == sorted(info["maya_ids"])
    assert [r.id for r in target.reflections.rows("sam")] == sam_before
    source.exports.json(tmp_path / "src.json", identity="maya")
    target.exports.json(tmp_path / "dst.json", identity="maya")
    assert strip_exported_at((tmp_path / "src.json").read_text()) == strip_exported_at((tmp_path / "dst.json").read_text())


def test_dry_run_reports_counts_and_changes_nothing(exported, fresh_journal):
    _, _, path = exported
    target = fresh_journal()
    target.identities.add("maya")
    before = _state(target)
    res = import_export_file(target, path, dry_run=True)
    assert res["dry_run"] is True and res["counts"]["reflections"]["added"] == 8
    assert _state(target) == before
    res = import_export_file(target, path, mode="replace", dry_run=True)
    assert res["counts"]["reflections"]["added"] == 8
    assert _state(target) == before


def test_failure_half_way_leaves_the_journal_as_it_was(exported, fresh_journal, tmp_path):
    _, _, path = exported
    doc = json.loads(path.read_text(encoding="utf-8"))
    target = fresh_journal()
    target.identities.add("zed")
    # the second identity of the file claims an id that is taken here: fails after maya was written
    doc["identities"][1]["id"] = target.identities.get("zed").id
    bad = tmp_path / "clash.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    before = _state(target)
    with pytest.raises(InvalidInputError, match="belongs to 'zed' in this journal"):
        import_export_file(target, bad)
    assert _state(target) == before and [i.name for i in target.identities.rows()] == ["zed"]


def _mutated(path, tmp_path, name, fn):
    doc = json.loads(path.read_text(encoding="utf-8"))
    fn(doc)
    out = tmp_path / name
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.mark.parametrize("name, mutate, message", [
    ("future.json", lambda d: d.update(format="mirror_os_export_v2"), "written by a newer mirror_kit"),
    ("wrong.json", lambda d: d.update(format="something_else"), "not a mirror_os_export_v1 export"),
    ("nofmt.json", lambda d: d.pop("format"), "not a mirror_os_export_v1 export"),
    ("missing.json", lambda d: d["identities"][0]["reflections"][1].pop("created_at"),
     r"identities\[0\]\.reflections\[1\]: required field 'created_at' is missing"),
    ("nosettings.json", lambda d: d.pop("settings"), "required field 'settings' is missing"),
    ("extra.json", lambda d: d.update(evil=1), "unexpected field"),
    ("type.json", lambda d: d["identities"][0]["reflections"][0].update(tags="calm"),
     r"reflections\[0\]\.tags: must be array"),
    ("date.json", lambda d: d["identities"][0]["reflections"][0].update(created_at="2024-13-45T99:00:00Z"),
     "is not a valid date"),
    ("tz.json", lambda d: d["identities"][0]["reflections"][0].update(tz="Mars/Olympus"), "unknown time zone"),
    ("empty.json", lambda d: d["identities"][0]["reflections"][0].update(content="  \n "), "is empty"),
    ("dup.json", lambda d: d["identities"][0]["reflections"][1].update(id=d["identities"][0]["reflections"][0]["id"]),
     "duplicate reflection id"),
    ("dangling.json", lambda d: d["identities"][0]["mirrorbacks"][0].update(reflection_id="r_nowhere"),
     "'r_nowhere' is not a reflection of identity 'maya'"),
    ("cross.json", lambda d: d["identities"][0]["patterns"][0]["occurrences"].append(
        {"reflection_id": d["identities"][1]["reflections"][0]["id"], "strength": 1.0}),
     "is not a reflection of identity 'maya'"),
    ("range.json", lambda d: d["identities"][0]["tensions"][0]["observations"][0].update(position=3),
     "must be <= 1"),
])
def test_broken_files_are_refused_and_nothing_is_written(exported, fresh_journal, tmp_path, name, mutate, message):
    _, _, path = exported
    bad = _mutated(path, tmp_path, name, mutate)
    target = fresh_journal()
    before = _state(target)
    with pytest.raises(InvalidInputError, match=message) as err:
        import_export_file(target, bad)
    assert name in str(err.value)
    assert _state(target) == before and target.identities.rows() == []


@pytest.mark.parametrize("content, message", [
    (b'{"format": "mirror_os_export_v1", "identities": [', r"not valid JSON \(line 1 column"),
    (b"[1, 2]", "top level is not an object"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"date": "2024-01-01", "text": "a"}\n{"date": "2024-01-02", "text": "b"}\n',
     r"line 2 column 1: Extra data\); it looks like JSON Lines .* import a CSV"),
])
def test_malformed_files_are_refused(fresh_journal, tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    target = fresh_journal()
    with pytest.raises(InvalidInputError, match=message):
        import_export_file(target, bad)
    assert target.identities.rows() == []


def test_a_json_lines_file_is_named_as_such_on_every_import_path(tmp_path):
    from mirror_kit.cli import main as cli_main

    f = tmp_path / "diary.jsonl"
    f.write_text('{"date": "2024-01-01", "text": "a"}\n{"date": "2024-01-02", "text": "b"}\n', encoding="utf-8")
    db = str(tmp_path / "j.db")
    assert cli_main(["init", db]) == 0
    for args in (["--mode", "merge"], ["--identity", "me"]):
        proc = subprocess.run([sys.executable, "-c", "from mirror_kit.cli import run; run()", "--db", db, "import",
                               str(f), *args], capture_output=True, text=True)
        assert proc.returncode != 0 and "looks like JSON Lines" in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_unknown_identity_and_bad_options(exported, fresh_journal):
    _, _, path = exported
    target = fresh_journal()
    with pytest.raises(UnknownIdentityError, match="it has: maya, sam"):
        import_export_file(target, path, identity="zoe")
    with pytest.raises(InvalidInputError, match="mode must be one of"):
        import_export_file(target, path, mode="upsert")
    with pytest.raises(InvalidInputError, match="on_conflict"):
        import_export_file(target, path, on_conflict="both")


def test_cli_import_recognises_the_format(exported, tmp_path, capsys):
    _, _, path = exported
    db = tmp_path / "cli.db"
    assert cli(["--db", str(db), "init"]) == 0
    capsys.readouterr()
    assert cli(["--db", str(db), "import", str(path), "--dry-run", "--json"]) == 0
    out = capsys.readouterr().out
    res = json.loads(out)
    assert res["dry_run"] is True and res["counts"]["reflections"]["added"] == 8
    assert cli(["--db", str(db), "import", str(path), "--mode", "merge", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["reflections"]["added"] == 8
    assert cli(["--db", str(db), "import", str(path), "--mode", "replace", "--identity", "sam", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["identities"] == ["sam"] and res["counts"]["reflections"]["deleted"] == 3
    source, _, _ = exported
    source.exports.json(tmp_path / "enc.json", identity="maya", passphrase="pw")
    assert cli(["--db", str(db), "import", str(tmp_path / "enc.json"), "--passphrase", "nope"]) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    assert cli(["--db", str(db), "import", str(tmp_path / "enc.json"), "--passphrase", "pw", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["reflections"]["unchanged"] == 5
    bad = tmp_path / "future.json"
    bad.write_text(path.read_text(encoding="utf-8").replace("mirror_os_export_v1", "mirror_os_export_v9", 1))
    assert cli(["--db", str(db), "import", str(bad), "--mode", "merge"]) == 1
    assert "error:" in capsys.readouterr().err
