"""jrnl journals as users keep them and jrnl's outputs as users save them, all written by the real jrnl
program in a private HOME: a folder of journals (jrnl's data folder with `journal.txt`, several
journals with their own `timeformat`, a folder journal beside them) is imported entry by entry with
one source per journal; `jrnl --format markdown|md|text|json` output, with or without jrnl's message
boxes, is imported entry by entry and deduplicates against the journal file."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.importers.api import detect_format
from tests.plugins.imports import find_jrnl

ROOT = Path(__file__).resolve().parent.parent


class JrnlHome:
    """A HOME with a jrnl config naming several journals, driven only through the jrnl command line."""

    def __init__(self, root: Path, journals: dict[str, str | tuple[str, str]], timeformat: str = "%F %r"):
        self.root, self.exe = root, find_jrnl()
        self.data = root / ".local" / "share" / "jrnl"  # jrnl's default place for journals
        self.data.mkdir(parents=True)
        cfg = root / ".config" / "jrnl"
        cfg.mkdir(parents=True)
        lines = []
        for name, spec in journals.items():
            file, fmt = spec if isinstance(spec, tuple) else (spec, None)
            if file.endswith("/"):
                (self.data / file).mkdir()
            lines.append(f"  {name}:\n    journal: {self.data / file}{'/' if file.endswith('/') else ''}\n"
                         + (f"    timeformat: '{fmt}'\n" if fmt else ""))
        (cfg / "jrnl.yaml").write_text(
            "colors: {body: none, date: none, tags: none, title: none}\ndefault_hour: 9\ndefault_minute: 0\n"
            "editor: ''\nencrypt: false\nhighlight: false\nindent_character: '|'\njournals:\n" + "".join(lines)
            + f"linewrap: 79\ntagsymbols: '#@'\ntemplate: false\ntimeformat: '{timeformat}'\nversion: v4.6\n",
            encoding="utf-8")
        self.env = {**os.environ, "HOME": str(root), "XDG_CONFIG_HOME": str(root / ".config"),
                    "XDG_DATA_HOME": str(root / ".local" / "share"), "NO_COLOR": "1", "TERM": "dumb"}

    def jrnl(self, *args: str, stderr_too: bool = False) -> str:
        p = subprocess.run([self.exe, *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60, cwd=self.root)
        assert p.returncode == 0, p.stderr
        return p.stderr + p.stdout if stderr_too else p.stdout

    def cli(self, db: Path, *args: str) -> subprocess.CompletedProcess:
        """mirror-kit run as this user (its HOME holds the jrnl config)."""
        code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
        return subprocess.run([sys.executable, "-c", code, "--db", str(db), *args], capture_output=True, text=True,
                              env={**self.env, "PYTHONPATH": str(ROOT)}, timeout=120)


def _import(home: JrnlHome, db: Path, path: Path, *extra: str) -> dict:
    r = home.cli(db, "import", str(path), "--identity", "maya", "--json", *extra)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return json.loads(r.stdout)


def _rows(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT source, created_at, title, content FROM reflections "
                           "ORDER BY source, created_at").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_journals(tmp_path_factory) -> JrnlHome:
    """`default.txt` (jrnl's `%F %r` timestamps) and `work.txt` (`%d.%m.%Y %H:%M`), both with an
    entry at 2024-03-01 09:00, and a folder journal `diary/` (`YYYY/MM/DD.txt` day files)."""
    home = JrnlHome(tmp_path_factory.mktemp("jrnl") / "home", {"default": "default.txt", "work": ("work.txt", "%d.%m.%Y %H:%M"),
                                        "diary": "diary/"})
    home.jrnl("2024-03-01 09:00: Race training. Ran 5k along the canal @running")
    home.jrnl("2024-03-02 21:30: Quiet evening. Read two chapters\n# Plan\nSleep early #rest")
    home.jrnl("work", "2024-03-01 09:00: Sprint planning. Too many tickets @work")
    home.jrnl("work", "2024-03-13 17:05: Retro. Shorter meetings")
    home.jrnl("diary", "2024-06-01 08:10: Market day. Cherries @shopping")
    home.jrnl("diary", "2024-06-01 21:30: Evening swim. The lake was warm")
    return home


def test_folder_of_jrnl_journals_imports_their_entries_one_source_per_journal(two_journals, tmp_path):
    home, db = two_journals, tmp_path / "j.db"
    note = home.data / "ideas.md"
    note.write_text("---\ndate: 2024-02-01\n---\nA garden by the shed.\n", encoding="utf-8")
    try:
        s = _import(home, db, home.data)
    finally:
        note.unlink()  # the journals are shared with the other tests of this file
    assert (s["added"], s["rejected"], s["warnings"]) == (7, [], [])
    rows = _rows(db)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("jrnl:default", "2024-03-01T09:00:00Z", "Race training."),
        ("jrnl:default", "2024-03-02T21:30:00Z", "Quiet evening. Read two chapters"),
        ("jrnl:diary", "2024-06-01T08:10:00Z", "Market day."),
        ("jrnl:diary", "2024-06-01T21:30:00Z", "Evening swim."),
        # day-first from work's own timeformat: 13.03 proves it, and 01.03 is read the same way
        ("jrnl:work", "2024-03-01T09:00:00Z", "Sprint planning."),
        ("jrnl:work", "2024-03-13T17:05:00Z", "Retro."),
        ("text:jrnl", "2024-02-01T12:00:00Z", None),  # the note beside them stays a note
    ]
    assert rows[1][3] == "Quiet evening. Read two chapters\n# Plan\nSleep early #rest"
    # Each journal again, alone or as the folder, and as its JSON export: nothing new, nothing replaced.
    for path in (home.data / "work.txt", home.data):
        again = _import(home, db, path)
        assert (again["added"], again["updated"], again["conflicts"]) == (0, 0, 0), path
    export = tmp_path / "work-export.json"
    export.write_text(home.jrnl("work", "--format", "json"), encoding="utf-8")
    assert _import(home, db, export)["added"] == 0
    assert len(_rows(db)) == 7


def test_jrnl_default_journal_txt_read_with_its_configured_timeformat(tmp_path):
    # `[20240301 0900]` has no shape a reader can trust; jrnl's config says how it was written.
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"}, timeformat="%Y%m%d %H%M")
    home.jrnl("2024-03-01 09:05: Compact stamps. Written by jrnl @format")
    home.jrnl("2024-12-24 18:00: Christmas Eve. Family dinner")
    assert (home.data / "journal.txt").read_text().startswith("[20240301 0905] Compact stamps.")
    for i, path in enumerate((home.data, home.data / "journal.txt")):
        db = tmp_path / f"j{i}.db"
        s = _import(home, db, path)
        assert (s["added"], s["rejected"]) == (2, []), path
        assert [(r[0], r[1], r[2]) for r in _rows(db)] == [
            ("jrnl:default", "2024-03-01T09:05:00Z", "Compact stamps."),
            ("jrnl:default", "2024-12-24T18:00:00Z", "Christmas Eve.")]
    # Copied to another machine with its config beside it (and no jrnl config in that HOME).
    moved = tmp_path / "backup"
    moved.mkdir()
    shutil.copy(home.data / "journal.txt", moved / "journal.txt")
    shutil.copy(home.root / ".config" / "jrnl" / "jrnl.yaml", moved / "jrnl.yaml")
    stranger = JrnlHome(tmp_path / "stranger", {"default": "other.txt"})
    s = _import(stranger, tmp_path / "moved.db", moved)
    assert (s["added"], s["rejected"]) == (2, [])
    assert [r[1] for r in _rows(tmp_path / "moved.db")] == ["2024-03-01T09:05:00Z", "2024-12-24T18:00:00Z"]


@pytest.mark.parametrize("how", [("--format", "markdown"), ("--format", "md"), ("--format", "text"),
                                 ("--format", "json")])
def test_jrnl_output_formats_import_each_entry_and_match_the_journal(two_journals, tmp_path, how):
    home = two_journals
    printed = home.jrnl(*how, stderr_too=True)
    assert "2 entries found" in printed  # jrnl's message box, as saved by `> out 2>&1`
    suffix = {"markdown": ".md", "md": ".md", "text": ".txt", "json": ".json"}[how[1]]
    for i, content in enumerate((home.jrnl(*how), printed)):
        out = tmp_path / f"export{i}{suffix}"
        out.write_text(content, encoding="utf-8")
        assert detect_format(out) == "jrnl"
        with mirror_kit.open(tmp_path / f"j{i}.db") as j:
            s = j.imports.run(out, "maya")
            assert (s["format"], s["added"], s["rejected"]) == ("jrnl", 2, []), out
            got = [(r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), r.title, r.content) for r in j.reflections.rows("maya")]
            assert got == [e[1:] for e in _expected_default()]
            # The journal itself after its output: the same entries.
            again = j.imports.run(home.data / "default.txt", "maya")
            assert (again["added"], again["updated"], again["skipped"]) == (0, 0, 2)


@pytest.mark.parametrize("how", [("-n", "10"), ("--format", "xml")], ids=["display", "xml"])
def test_jrnl_display_and_xml_output_import_each_entry_and_say_what_is_lost(two_journals, tmp_path, how):
    home = two_journals
    out = tmp_path / ("saved.txt" if how[0] == "-n" else "export.xml")
    out.write_text(home.jrnl(*how, stderr_too=True), encoding="utf-8")
    assert detect_format(out) == "jrnl"
    with mirror_kit.open(tmp_path / "j.db") as j:
        s = j.imports.run(out, "maya")
        assert (s["added"], s["rejected"]) == (2, [])
        assert len(s["warnings"]) == 1 and "--format" in s["warnings"][0]
        got = [(r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), r.title, r.content, sorted(r.tags))
               for r in j.reflections.rows("maya")]
    if how[0] == "-n":  # the display output keeps title and body apart
        assert got == [(e[1], e[2], e[3], t) for e, t in zip(_expected_default(), (["running"], ["rest"]), strict=True)]
    else:  # XML joins them with a space
        assert got == [("2024-03-01T09:00:00Z", None, "Race training. Ran 5k along the canal @running", ["running"]),
                       ("2024-03-02T21:30:00Z", None,
                        "Quiet evening. Read two chapters # Plan\nSleep early #rest", ["rest"])]


def _expected_default() -> list[tuple]:
    return [("jrnl:default", "2024-03-01T09:00:00Z", "Race training.",
             "Race training.\nRan 5k along the canal @running"),
            ("jrnl:default", "2024-03-02T21:30:00Z", "Quiet evening. Read two chapters",
             "Quiet evening. Read two chapters\n# Plan\nSleep early #rest")]


@pytest.mark.parametrize("fmt", ["md", "yaml", "txt"])
def test_jrnl_one_file_per_entry_output_folder_is_one_journal(two_journals, tmp_path, fmt):
    # `--format yaml` writes front matter that is not valid YAML (a tab-indented `body: |`).
    home, db = two_journals, tmp_path / "j.db"
    folder = tmp_path / "work-out"
    folder.mkdir()
    home.jrnl("work", "--format", fmt, "--file", f"{folder}/")
    assert len(list(folder.iterdir())) == 2
    s = _import(home, db, folder)
    assert (s["added"], s["rejected"]) == (2, [])
    assert [(r[0], r[1], r[2]) for r in _rows(db)] == [
        ("jrnl:work-out", "2024-03-01T09:00:00Z", "Sprint planning."),
        ("jrnl:work-out", "2024-03-13T17:05:00Z", "Retro.")]
    assert _import(home, db, home.data / "work.txt")["added"] == 0  # the same entries
    one = sorted(folder.iterdir())[0]
    assert _import(home, tmp_path / "one.db", one)["format"] == "jrnl"  # a file of it given alone


def test_markdown_output_month_heading_settles_day_month_order_and_bad_stamp_is_one_line(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"}, timeformat="%m/%d/%Y %H:%M")
    home.jrnl("2024-03-04 10:00: Ambiguous alone. Only the month heading tells")
    out = tmp_path / "out.md"
    out.write_text(home.jrnl("--format", "markdown"), encoding="utf-8")
    assert "### 03/04/2024 10:00 Ambiguous alone." in out.read_text()
    db = tmp_path / "j.db"
    # The config is no help for a file it does not name; `## March` is.
    other = JrnlHome(tmp_path / "other", {"default": "x.txt"})
    s = _import(other, db, out)
    assert (s["added"], [r[1] for r in _rows(db)]) == (1, ["2024-03-04T10:00:00Z"])
    broken = tmp_path / "broken.md"
    broken.write_text(out.read_text().replace("03/04/2024 10:00", "03/34/2024 10:00"), encoding="utf-8")
    r = other.cli(tmp_path / "k.db", "import", str(broken), "--identity", "maya")
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(lines) == 1, r.stderr
    assert "broken.md: line 5: timestamp: cannot read date '03/34/2024 10:00'" in lines[0]
    assert "nothing was imported" in lines[0]


def test_jrnl_journal_whose_first_timestamp_is_impossible_is_refused_not_read_as_a_note(tmp_path):
    home = JrnlHome(tmp_path / "home", {"default": "journal.txt"})
    home.jrnl("2024-02-28 09:00: Leap year. Almost")
    home.jrnl("2024-03-01 09:00: Spring. Here")
    journal = home.data / "journal.txt"
    journal.write_text(journal.read_text().replace("2024-02-28", "2024-02-30"), encoding="utf-8")
    for path in (journal, home.data):
        r = home.cli(tmp_path / "j.db", "import", str(path), "--identity", "maya")
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and "Traceback" not in r.stderr and len(lines) == 1, r.stderr
        assert "journal.txt: line 1: timestamp: cannot read date '2024-02-30 09:00:00 AM'" in lines[0]
    assert not (tmp_path / "j.db").exists() or _rows(tmp_path / "j.db") == []


def test_notes_that_merely_start_with_a_date_stay_notes(journal, tmp_path):
    vault = tmp_path / "notes"
    vault.mkdir()
    (vault / "standup.md").write_text("2024-03-01 10:00 Standup\n| Name | Status |\n| --- | --- |\n| Kim | ok |\n",
                                      encoding="utf-8")
    (vault / "plan.md").write_text("# 2024-03-02 plan\n\nNo time of day here.\n", encoding="utf-8")
    s = journal.imports.run(vault, "maya", default_date="2024-03-01")
    assert (s["added"], s["rejected"]) == (2, [])
    assert {r.source for r in journal.reflections.rows("maya")} == {"text:notes"}
