"""jrnl import, with the JSON export and journal file produced by the real jrnl program."""

from __future__ import annotations

import json

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.api import detect_format
from mirror_kit.timeutil import format_utc


def test_json_export_and_text_file_are_the_same_journal(journal, jrnl_journal, tmp_path):
    # Named after its journal (journal.txt), as the key of a jrnl entry is journal name + minute.
    export = jrnl_journal.export_json(tmp_path / "journal.json")
    assert json.loads(export.read_text())["entries"]  # really written by jrnl
    assert detect_format(export) == "jrnl"
    assert detect_format(jrnl_journal.file) == "jrnl"

    s = journal.imports.run(export, "maya")
    assert (s["format"], s["added"], s["rejected"]) == ("jrnl", 5, [])
    refs = journal.reflections.rows("maya")
    assert [format_utc(r.created_at) for r in refs] == [
        "2024-03-01T09:00:00Z", "2024-03-02T21:30:00Z", "2024-03-02T21:30:00Z", "2024-03-05T10:00:00Z",
        "2024-04-10T18:15:00Z"]
    walk = refs[0]
    assert walk.title == "Morning walk."
    assert walk.content == "Morning walk.\nI felt calm by the river @nature @calm"
    assert sorted(walk.tags) == ["calm", "nature"]
    assert {r.source_id for r in refs} == {"2024-03-01T09:00", "2024-03-02T21:30", "2024-03-02T21:30#2",
                                           "2024-03-05T10:00", "2024-04-10T18:15"}
    starred = [r for r in refs if r.metadata["starred"]]
    assert [r.title for r in starred] == ["Starred day."]
    assert any("Zoë café ✓" in r.content for r in refs[1:3])

    # The plain-text journal file holds the same entries: nothing new.
    again = journal.imports.run(jrnl_journal.file, "maya")
    assert (again["added"], again["updated"], again["skipped"]) == (0, 0, 5)


def test_edit_in_jrnl_updates_the_reflection(journal, jrnl_journal, tmp_path):
    journal.imports.run(jrnl_journal.file, "maya")
    before = {r.source_id: r for r in journal.reflections.rows("maya")}
    jrnl_journal.edit("2024-03-01", "s/river/sea/")
    # Body lines that start with a bracket are not new entries (jrnl agrees: its export has 5 entries).
    jrnl_journal.edit("2024-04-10", "s/like this./like this.\\n[1] tea\\n[2] a book/")
    export = jrnl_journal.export_json(_mkdir(tmp_path / "after") / "journal.json")
    assert len(json.loads(export.read_text())["entries"]) == 5
    s = journal.imports.run(export, "maya")
    assert (s["added"], s["updated"], s["skipped"]) == (0, 2, 3)
    after = journal.reflections.get(before["2024-03-01T09:00"].id)
    assert after.content == "Morning walk.\nI felt calm by the sea @nature @calm"
    assert sorted(after.tags) == ["calm", "nature"]
    assert journal.reflections.get(before["2024-04-10T18:15"].id).content.endswith("like this.\n[1] tea\n[2] a book")
    assert journal.imports.run(jrnl_journal.file, "maya")["skipped"] == 5
    jrnl_journal.write("2024-04-11 07:00: New day. A fresh entry @morning")
    s2 = journal.imports.run(jrnl_journal.file, "maya")
    assert (s2["added"], s2["updated"], s2["skipped"]) == (1, 0, 5)


def test_wrong_format_and_broken_exports(journal, jrnl_journal, tmp_path):
    csv_file = tmp_path / "notes.csv"
    csv_file.write_text("date,text\n2024-01-01,hello\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="notes.csv: not a jrnl JSON export or jrnl journal file"):
        journal.imports.run(csv_file, "maya", format="jrnl")
    export = jrnl_journal.export_json(tmp_path / "export.json")
    truncated = tmp_path / "truncated.json"
    truncated.write_text(export.read_text()[:-40], encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"truncated.json: line \d+: invalid JSON"):
        journal.imports.run(truncated, "maya", format="jrnl")
    doc = json.loads(export.read_text())
    doc["entries"][2]["date"] = "2024-13-45"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"broken.json: entry 3: cannot read date '2024-13-45 21:30'"):
        journal.imports.run(broken, "maya")
    assert journal.identities.rows() == []
    s = journal.imports.run(broken, "maya", skip_bad=True)
    assert s["added"] == 4 and s["rejected"][0]["entry"] == 3


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path
