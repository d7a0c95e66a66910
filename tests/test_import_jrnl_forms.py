"""One jrnl journal met in several forms, all written by the real jrnl program in a private HOME: the
lossy forms (XML, display output) never overwrite what a full form stored; the journal file and the
exports named after the journal share one source (`journal.txt` is jrnl's `default`); a `timeformat`
with no shape of its own is read with --date-format or refused in one line; `jrnl.yaml` beside a
journal given by a relative path is used; two forms of one journal in one folder are duplicates; two
journals holding the same words at the same minute keep both entries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_import_jrnl_outputs import ROOT, JrnlHome, _import, _rows


def _fail_line(home: JrnlHome, db: Path, path: Path, *extra: str) -> str:
    r = home.cli(db, "import", str(path), "--identity", "maya", *extra)
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def default_home(tmp_path_factory) -> JrnlHome:
    """jrnl's default layout: the `default` journal kept in `journal.txt`, plus a `work` journal."""
    home = JrnlHome(tmp_path_factory.mktemp("forms") / "home", {"default": "journal.txt", "work": "work.txt"})
    home.jrnl("2024-03-01 09:00: Race training. Ran 5k along the canal @running")
    home.jrnl("2024-03-02 21:30: Quiet evening. Read two chapters\nthen slept early #rest")
    home.jrnl("work", "2024-03-01 10:00: Sprint planning. Too many tickets @work")
    return home


def test_lossy_xml_and_display_output_never_overwrite_entries_stored_from_the_journal(default_home, tmp_path):
    home, db = default_home, tmp_path / "j.db"
    assert _import(home, db, home.data / "journal.txt")["added"] == 2
    before = _rows(db)
    for name, args in (("default.xml", ("--format", "xml")), ("export.xml", ("--format", "xml")),
                       ("saved.txt", ("-n", "10"))):
        out = tmp_path / name
        out.write_text(home.jrnl(*args), encoding="utf-8")
        s = _import(home, db, out)
        assert (s["added"], s["updated"], s["skipped"], s["conflicts"]) == (0, 0, 2, 0), name
        assert _rows(db) == before, name  # titles kept, bodies not joined or re-wrapped
    work_xml = tmp_path / "work.xml"
    work_xml.write_text(home.jrnl("work", "--format", "xml"), encoding="utf-8")
    assert _import(home, db, home.data / "work.txt")["added"] == 1
    s = _import(home, db, work_xml)
    assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 1)
    assert [r[2] for r in _rows(db) if r[0] == "jrnl:work"] == ["Sprint planning."]
    # An edit seen only in a lossy output is not applied, and the import says so.
    work_xml.write_text(work_xml.read_text().replace("Too many tickets", "Fewer tickets"), encoding="utf-8")
    s = _import(home, db, work_xml)
    assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 1)
    assert any("not applied" in w and "work.xml" in w for w in s["warnings"]), s["warnings"]
    assert "Too many tickets" in [r[3] for r in _rows(db) if r[0] == "jrnl:work"][0]


def test_default_journal_file_and_its_exports_share_one_source(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"})
    home.jrnl("2024-03-01 09:00: Race training. Ran 5k along the canal @running")
    home.jrnl("2024-03-02 21:30: Quiet evening. Read two chapters")
    db = tmp_path / "j.db"
    assert _import(home, db, home.data / "journal.txt")["added"] == 2
    export = tmp_path / "default.json"
    export.write_text(home.jrnl("default", "--format", "json"), encoding="utf-8")
    assert (_import(home, db, export)["skipped"]) == 2
    xml = tmp_path / "default.xml"
    xml.write_text(home.jrnl("--format", "xml"), encoding="utf-8")
    assert _import(home, db, xml)["added"] == 0
    # An edit made in jrnl, imported from the journal file: the stored entry changes, none is added.
    journal = home.data / "journal.txt"
    journal.write_text(journal.read_text().replace("along the canal", "along the river"), encoding="utf-8")
    s = _import(home, db, journal)
    assert (s["added"], s["updated"]) == (0, 1)
    assert {r[0] for r in _rows(db)} == {"jrnl:default"} and len(_rows(db)) == 2
    # Without any jrnl config (another machine), `journal.txt` is still jrnl's `default` journal.
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(journal, moved / "journal.txt")
    stranger = JrnlHome(tmp_path / "stranger", {"other": "other.txt"})
    s = _import(stranger, db, moved / "journal.txt")
    assert (s["added"], s["updated"], s["source"]) == (0, 0, "jrnl:default")


def test_encrypted_journal_refusal_names_an_export_file_that_keeps_its_source(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt", "work": "work.txt"})
    (home.data / "work.txt").write_bytes(b"JRNLv3" + bytes(range(256)) * 4)
    line = _fail_line(home, tmp_path / "j.db", home.data / "work.txt")
    assert "`jrnl work --format json --file work.json`" in line
    (home.data / "journal.txt").write_bytes(b"gAAAAABl" + b"A" * 200)
    line = _fail_line(home, tmp_path / "j.db", home.data / "journal.txt")
    assert "`jrnl default --format json --file default.json`" in line


def test_custom_timeformat_without_its_config_is_read_with_date_format_or_refused_in_one_line(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"}, timeformat="%Y%m%d %H%M")
    home.jrnl("2024-03-01 09:00: Compact stamps. Written by jrnl @format")
    home.jrnl("2024-03-02 18:00: Second one. Not merged with the first")
    folder = tmp_path / "copied"
    folder.mkdir()
    shutil.copy(home.data / "journal.txt", folder / "journal.txt")
    (folder / "default.md").write_text(home.jrnl("--format", "md"), encoding="utf-8")
    (folder / "shown.txt").write_text(home.jrnl("-n", "10"), encoding="utf-8")  # the display output
    stranger = JrnlHome(tmp_path / "stranger", {"other": "other.txt"})  # no config names these files
    db = tmp_path / "j.db"
    for path in (folder / "journal.txt", folder / "default.md", folder / "shown.txt", folder):
        line = _fail_line(stranger, db, path)
        assert "'20240301 0900'" in line or "'### 20240301 0900" in line or "'20240301 0900 " in line, line
        assert "--date-format" in line and "jrnl.yaml" in line, line
    assert not db.exists() or _rows(db) == []
    given = ("--date-format", "%Y%m%d %H%M")
    s = _import(stranger, db, folder / "journal.txt", *given)
    assert (s["added"], s["rejected"]) == (2, [])
    assert [(r[0], r[1], r[2]) for r in _rows(db)] == [
        ("jrnl:default", "2024-03-01T09:00:00Z", "Compact stamps."),
        ("jrnl:default", "2024-03-02T18:00:00Z", "Second one.")]
    for path in (folder / "default.md", folder / "shown.txt", folder, folder / "journal.txt"):
        s = _import(stranger, db, path, *given)
        assert (s["added"], s["updated"], s["rejected"]) == (0, 0, []), path
    line = _fail_line(stranger, tmp_path / "k.db", folder / "journal.txt", "--date-format", "%d.%m.%Y %H:%M")
    assert "does not match --date-format" in line


def test_jrnl_yaml_beside_a_journal_given_by_a_relative_path_is_used(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"}, timeformat="%m/%d/%Y %H:%M")
    home.jrnl("2024-03-04 10:00: Month first. Only the config says so")
    moved = tmp_path / "backup"
    moved.mkdir()
    shutil.copy(home.data / "journal.txt", moved / "journal.txt")
    shutil.copy(home.root / ".config" / "jrnl" / "jrnl.yaml", moved / "jrnl.yaml")
    stranger = JrnlHome(tmp_path / "stranger", {"other": "other.txt"})
    code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
    for i, (cwd, rel) in enumerate(((moved, "journal.txt"), (tmp_path, "backup/journal.txt"), (moved, "."))):
        db = tmp_path / f"j{i}.db"
        r = subprocess.run([sys.executable, "-c", code, "--db", str(db), "import", rel, "--identity", "maya"],
                           capture_output=True, text=True, cwd=cwd, timeout=120,
                           env={**stranger.env, "PYTHONPATH": str(ROOT)})
        assert r.returncode == 0, r.stderr
        assert [r[1] for r in _rows(db)] == ["2024-03-04T10:00:00Z"], rel


def test_two_forms_of_one_journal_in_one_folder_are_duplicates_not_errors(default_home, tmp_path):
    home, db = default_home, tmp_path / "j.db"
    folder = tmp_path / "exports"
    folder.mkdir()
    for name, fmt in (("default.md", "md"), ("default.txt", "text"), ("default.xml", "xml")):
        (folder / name).write_text(home.jrnl("--format", fmt), encoding="utf-8")
    s = _import(home, db, folder)
    assert (s["added"], s["skipped"], s["conflicts"], s["rejected"]) == (2, 4, 0, [])
    assert [r[2] for r in _rows(db)] == ["Race training.", "Quiet evening. Read two chapters"]
    again = _import(home, db, folder)
    assert (again["added"], again["updated"], again["skipped"]) == (0, 0, 6)
    # A different entry under the same key in two forms is a conflict, reported and not applied.
    txt = folder / "default.txt"
    txt.write_text(txt.read_text().replace("Ran 5k along the canal", "Swam a mile in the lake"), encoding="utf-8")
    s = _import(home, tmp_path / "k.db", folder)
    assert (s["added"], s["conflicts"], s["rejected"]) == (2, 1, [])
    assert any("conflict" in w and "default.txt" in w for w in s["warnings"])


def test_identical_entries_of_two_journals_are_kept_alone_or_as_a_folder(tmp_path):
    folder = tmp_path / "journals"
    folder.mkdir()
    for name in ("personal.txt", "work.txt"):
        (folder / name).write_text("[2024-02-02 10:00] Team lunch.\nWe ate pizza.\n", encoding="utf-8")
    home = JrnlHome(tmp_path / "home", {"other": "other.txt"})
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    assert [_import(home, one, folder / n)["added"] for n in ("personal.txt", "work.txt")] == [1, 1]
    assert _import(home, two, folder)["added"] == 2
    for db in (one, two):
        assert [r[0] for r in _rows(db)] == ["jrnl:personal", "jrnl:work"]
        s = _import(home, db, folder)
        assert (s["added"], s["skipped"]) == (0, 2)
    assert json.loads(json.dumps(_rows(one))) == json.loads(json.dumps(_rows(two)))


def test_markdown_output_keeps_the_star_it_cannot_print_and_still_applies_edits(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"}, timeformat="%Y-%m-%d %H:%M")
    journal = home.data / "journal.txt"
    journal.write_text("[2024-03-01 09:00] Starred one. *\nBody\n\n[2024-03-02 09:00] Plain.\nTwo\n", encoding="utf-8")
    assert json.loads(home.jrnl("--format", "json"))["entries"][0]["starred"] is True
    md = tmp_path / "default.md"
    md.write_text(home.jrnl("--format", "md"), encoding="utf-8")
    db = tmp_path / "j.db"
    assert _import(home, db, journal)["added"] == 2
    s = _import(home, db, md)
    assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 2)
    md.write_text(md.read_text().replace("Body", "Body edited"), encoding="utf-8")
    s = _import(home, db, md)
    assert (s["added"], s["updated"]) == (0, 1)
    import sqlite3

    con = sqlite3.connect(db)
    got = con.execute("SELECT content, metadata FROM reflections ORDER BY created_at").fetchall()
    con.close()
    assert got[0] == ("Starred one.\nBody edited", '{"starred": true}')


def test_notes_starting_with_a_bracketed_reference_or_phone_number_stay_notes(journal, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "call.md").write_text("[555 123 4567] call back about the flat\n", encoding="utf-8")
    (notes / "order.md").write_text("[Ref 1234567890] parcel arrived\n", encoding="utf-8")
    s = journal.imports.run(notes, "maya", default_date="2024-03-01")
    assert (s["added"], s["rejected"]) == (2, [])
    assert {r.source for r in journal.reflections.rows("maya")} == {"text:notes"}


def test_identical_entries_of_two_configured_journals_kept_from_their_json_exports(tmp_path):
    home = JrnlHome(tmp_path / "home", {"personal": "personal.txt", "work": "work.txt"})
    for name in ("personal", "work"):
        home.jrnl(name, "2024-02-02 10:00: Team lunch. We ate pizza.")
        (tmp_path / f"{name}.json").write_text(home.jrnl(name, "--format", "json"), encoding="utf-8")
    (tmp_path / "export.json").write_text(home.jrnl("work", "--format", "json"), encoding="utf-8")
    db = tmp_path / "j.db"
    assert [_import(home, db, tmp_path / f"{n}.json")["added"] for n in ("personal", "work")] == [1, 1]
    assert [r[0] for r in _rows(db)] == ["jrnl:personal", "jrnl:work"]
    # Saved under a name that is no journal's, it may be either journal's: held already.
    assert _import(home, db, tmp_path / "export.json")["added"] == 0
    for name in ("personal.txt", "work.txt"):
        s = _import(home, db, home.data / name)
        assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 1), name
