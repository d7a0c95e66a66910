"""Inputs of the same kinds as the field cases (tests/fixtures/import/cases), tried through the real
CLI where a user would meet them: jrnl journals sharing a file name, dates before year 1000, offsets
of a day or more, bare days in every form, encrypted jrnl journals in a notes folder, and a second
import that must wait for a long first one."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mirror_kit
from mirror_kit.errors import InvalidInputError

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "import" / "neighbours"
CASES = ROOT / "tests" / "fixtures" / "import" / "cases"


def _cli(db: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
    return subprocess.run([sys.executable, "-c", code, "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _created(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT created_at FROM reflections ORDER BY created_at")]
    finally:
        con.close()


def test_two_jrnl_journals_saved_under_the_same_file_name_keep_all_entries(tmp_path):
    src = CASES / "jrnl-two-journals-overwrite"
    for folder, name in (("a", "personal"), ("b", "work")):
        (tmp_path / folder).mkdir()
        shutil.copy(src / f"{name}.json", tmp_path / folder / "export.json")
        shutil.copy(src / f"{name}.txt", tmp_path / folder / "journal.txt")
    db = tmp_path / "j.db"
    for f in ("a/journal.txt", "b/export.json"):
        r = _cli(db, "import", str(tmp_path / f), "--identity", "maya", "--json")
        assert r.returncode == 0, r.stderr
        assert (json.loads(r.stdout)["added"], json.loads(r.stdout)["conflicts"]) == (2, 0), f
    # Each journal again, in either form and under either name: nothing new, nothing replaced.
    for f in ("a/export.json", "b/journal.txt", "a/journal.txt", "b/export.json"):
        r = _cli(db, "import", str(tmp_path / f), "--identity", "maya", "--json")
        s = json.loads(r.stdout)
        assert (s["added"], s["updated"], s["skipped"], s["conflicts"]) == (0, 0, 2, 0), f
    with mirror_kit.open(db) as j:
        titles = sorted(r.title for r in j.reflections.rows("maya"))
    assert titles == ["Dentist went fine.", "Fixed the flaky test finally.",
                      "Long letter to my sister about the move.", "Sprint planning."]


def test_an_edited_jrnl_entry_still_updates_in_place(journal, tmp_path):
    f = tmp_path / "journal.txt"
    f.write_text("[2024-03-01 09:00] Sprint planning.\nToo many tickets @sprint\n", encoding="utf-8")
    journal.imports.run(f, "maya")
    f.write_text("[2024-03-01 09:00] Sprint planning.\nToo many tickets, fewer now @sprint\n", encoding="utf-8")
    s = journal.imports.run(f, "maya")
    assert (s["added"], s["updated"]) == (0, 1)
    assert [r.content for r in journal.reflections.rows("maya")] == [
        "Sprint planning.\nToo many tickets, fewer now @sprint"]


def test_dates_before_year_1000_are_stored_with_four_digit_years_and_read_back_everywhere(tmp_path):
    db = tmp_path / "j.db"
    r = _cli(db, "import", str(FIX / "old-dates.csv"), "--identity", "maya")
    assert r.returncode == 0, r.stderr
    assert _created(db) == ["0099-01-01T12:00:00Z", "0999-06-01T12:00:00Z", "1850-12-31T23:00:00Z",
                            "2024-01-01T09:00:00Z"]
    stats = _cli(db, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    row = json.loads(stats.stdout)[0]
    assert (row["first"], row["last"]) == ("0099-01-01T12:00:00Z", "2024-01-01T09:00:00Z")
    out = tmp_path / "e.json"
    assert _cli(db, "export", "json", "--out", str(out)).returncode == 0
    back = _cli(tmp_path / "k.db", "import", str(out))
    assert back.returncode == 0, back.stderr
    assert _created(tmp_path / "k.db") == _created(db)
    md = _cli(db, "export", "markdown", "--out", str(tmp_path / "md"))
    assert md.returncode == 0 and "Traceback" not in md.stderr, md.stderr
    again = _cli(db, "import", str(FIX / "old-dates.csv"), "--identity", "maya", "--json")
    assert json.loads(again.stdout)["skipped"] == 4


def test_an_offset_of_a_day_or_more_in_any_date_form_is_one_line_and_nothing_is_written(tmp_path):
    db = tmp_path / "j.db"
    line = _one_error_line(_cli(db, "import", str(FIX / "dateutil-offset.csv"), "--identity", "maya"))
    assert "dateutil-offset.csv: line 3" in line and "UTC offset of 24 hours or more" in line
    assert "timedelta" not in line
    skip = _cli(db, "import", str(FIX / "dateutil-offset.csv"), "--identity", "maya", "--skip-bad", "--json")
    assert skip.returncode == 0, skip.stderr
    assert json.loads(skip.stdout)["added"] == 1
    iso = tmp_path / "iso.csv"
    iso.write_text("date,text\n2024-03-01T10:00:00+25:00,x\n", encoding="utf-8")
    line = _one_error_line(_cli(tmp_path / "k.db", "import", str(iso), "--identity", "maya"))
    assert "line 2" in line and "UTC offset of 24 hours or more" in line and "timedelta" not in line


def test_a_signed_year_is_refused_not_read_as_year_one(journal, tmp_path):
    f = tmp_path / "neg.csv"
    f.write_text("date,text\n-0001-01-01,x\n", encoding="utf-8")
    s = journal.imports.run(f, "maya", skip_bad=True)
    assert s["added"] == 0 and "signed year" in s["rejected"][0]["reason"]
    db = tmp_path / "j.db"
    assert _cli(db, "identity", "add", "maya").returncode == 0
    line = _one_error_line(_cli(db, "add", "--identity", "maya", "--date", "-0001-01-01", "neg"))
    assert "signed year" in line
    line = _one_error_line(_cli(db, "add", "--identity", "maya", "--date", "March 1 2024 10:00 +2500", "x"))
    assert "UTC offset of 24 hours or more" in line
    assert _created(db) == []


def test_a_bare_day_is_stored_at_noon_whatever_its_written_form(journal):
    journal.imports.run(FIX / "bare-days.csv", "maya")
    got = sorted(r.created_at.strftime("%Y-%m-%dT%H:%M") for r in journal.reflections.rows("maya"))
    assert got == ["2023-12-31T12:00", "2024-01-03T12:00", "2024-01-05T12:00", "2024-01-14T19:30"]


def test_a_date_format_without_a_time_reads_bare_days_at_noon(journal, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("date,text\n31/12/2023,x\n", encoding="utf-8")
    journal.imports.run(f, "maya", date_format="%d/%m/%Y", tz="Asia/Tokyo")
    (r,) = journal.reflections.rows("maya")
    assert r.created_at.strftime("%Y-%m-%dT%H:%M") == "2023-12-31T03:00"  # noon in Tokyo


def test_an_encrypted_jrnl_journal_in_a_notes_folder_is_refused_not_stored_as_text(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    shutil.copy(CASES / "jrnl-encrypted" / "journal.txt", notes / "journal.txt")
    (notes / "a.md").write_text("---\ndate: 2024-01-01\n---\nhello\n", encoding="utf-8")
    db = tmp_path / "j.db"
    line = _one_error_line(_cli(db, "import", str(notes), "--identity", "maya"))
    assert "journal.txt" in line and "encrypted jrnl journal" in line and "--format json" in line
    assert not db.exists() or _created(db) == []
    forced = _one_error_line(_cli(db, "import", str(notes / "journal.txt"), "--identity", "maya",
                                  "--format", "text"))
    assert "encrypted jrnl journal" in forced
    r = _cli(db, "import", str(notes), "--identity", "maya", "--skip-bad", "--json")
    assert json.loads(r.stdout)["added"] == 1
    con = sqlite3.connect(db)
    assert [c for (c,) in con.execute("SELECT content FROM reflections")] == ["hello"]
    con.close()


def test_an_import_waits_for_a_writer_holding_the_journal_longer_than_the_default_timeout(tmp_path):
    db = tmp_path / "j.db"
    f = tmp_path / "a.csv"
    f.write_text("id,date,text\n1,2024-01-01,one\n2,2024-01-02,two\n", encoding="utf-8")
    assert _cli(db, "import", str(f), "--identity", "maya").returncode == 0
    from mirror_kit.db import BUSY_TIMEOUT_MS

    # Another process writing (a long import of the same file) holds the write lock past the
    # default busy timeout; the second import waits, then finds every row already stored.
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
    p = subprocess.Popen([sys.executable, "-c", code, "--db", str(db), "import", str(f), "--identity", "maya",
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(BUSY_TIMEOUT_MS / 1000 + 1.5)
    holder.execute("COMMIT")
    holder.close()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    s = json.loads(out)
    assert (s["added"], s["skipped"]) == (0, 2)


def test_notes_named_day_first_are_dated_by_their_names_in_one_order(journal, tmp_path):
    vault = tmp_path / "vault" / "Daily"
    vault.mkdir(parents=True)
    (vault / "05.03.2023.md").write_text("Morning fog.\n", encoding="utf-8")
    (vault / "13-03-2023 evening.md").write_text("Evening rain.\n", encoding="utf-8")
    s = journal.imports.run(tmp_path / "vault", "maya")
    assert s["added"] == 2 and not [w for w in s["warnings"] if "modification time" in w]
    got = sorted(r.created_at.strftime("%Y-%m-%dT%H:%M") for r in journal.reflections.rows("maya"))
    assert got == ["2023-03-05T12:00", "2023-03-13T12:00"]


def test_notes_named_with_an_unproven_day_month_order_stop_with_the_hint(journal, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "05-03-2023.md").write_text("a\n", encoding="utf-8")
    (notes / "06-03-2023.md").write_text("b\n", encoding="utf-8")
    try:
        journal.imports.run(notes, "maya")
        raise AssertionError("an ambiguous file name order was guessed")
    except InvalidInputError as exc:
        assert "05-03-2023" in str(exc) and "--dayfirst" in str(exc)
    assert journal.identities.find("maya") is None  # nothing written
    journal.imports.run(notes, "maya", dayfirst=False)
    got = sorted(r.created_at.strftime("%Y-%m-%d") for r in journal.reflections.rows("maya"))
    assert got == ["2023-05-03", "2023-06-03"]


def test_an_impossible_day_first_date_says_why_it_cannot_be_read(journal, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("date,text\n31/12/2023 10:00,ok\n31/02/2024 10:00,bad\n", encoding="utf-8")
    s = journal.imports.run(f, "maya", skip_bad=True)
    assert s["added"] == 1
    assert s["rejected"][0]["line"] == 3 and "day is out of range" in s["rejected"][0]["reason"]


def test_two_real_jrnl_default_journals_exported_as_export_json_keep_every_entry(journal, tmp_path):
    from .plugins.imports import JrnlJournal

    files = []
    texts = {"home": ("Long letter to my sister.", "Dentist went fine, ice cream after."),
             "work": ("Sprint planning ran over.", "Fixed the flaky test finally.")}
    for name, (first, second) in texts.items():
        j = JrnlJournal(tmp_path / name)  # jrnl's default journal file: journal.txt
        j.write(f"2024-03-01 09:00: {first}")
        j.write(f"2024-03-02 09:00: {second}")
        files.append((j.file, j.export_json(tmp_path / name / "export.json")))
    for text_file, export in files:
        s = journal.imports.run(export, "maya")
        assert (s["added"], s["conflicts"]) == (2, 0)
        s = journal.imports.run(text_file, "maya")  # the same journal in its text form
        assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 2)
    assert len(journal.reflections.rows("maya")) == 4


def test_a_tz_option_of_a_day_or_more_is_one_line_before_anything_is_read(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("date,text\n2024-01-01 10:00,a\n", encoding="utf-8")
    db = tmp_path / "j.db"
    for zone in ("+25:00", "UTC+30", "-24:00"):
        line = _one_error_line(_cli(db, "import", str(f), "--identity", "maya", "--tz", zone))
        assert line.startswith("error: --tz:") and "24 hours or more" in line, line
    assert not db.exists() or _created(db) == []
    ok = _cli(db, "import", str(f), "--identity", "maya", "--tz", "+23:59")
    assert ok.returncode == 0, ok.stderr
    assert _created(db) == ["2023-12-31T10:01:00Z"]  # 10:00 at +23:59


def test_a_date_bound_with_an_offset_of_a_day_or_more_says_so_in_words():
    from mirror_kit.timeutil import bound_iso

    try:
        bound_iso("2024-01-01T00:00:00+25:00")
        raise AssertionError("an offset of 25 hours was accepted")
    except InvalidInputError as exc:
        assert "UTC offset of 24 hours or more" in str(exc) and "timedelta" not in str(exc)
    assert bound_iso("0099-01-01") == "0099-01-01T00:00:00Z"


def test_notes_named_month_word_first_are_dated_by_their_names(journal, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("January 5th, 2023.md", "Jan 6, 2023.md", "Friday, January 13th 2023.md", "14th January 2023.md"):
        (notes / name).write_text(f"Note {name}\n", encoding="utf-8")
    s = journal.imports.run(notes, "maya")
    assert s["added"] == 4 and not [w for w in s["warnings"] if "modification time" in w]
    got = sorted(r.created_at.strftime("%Y-%m-%d") for r in journal.reflections.rows("maya"))
    assert got == ["2023-01-05", "2023-01-06", "2023-01-13", "2023-01-14"]


def test_a_jrnl_folder_journal_shares_one_date_order_proved_by_any_day_file_or_its_path(journal, tmp_path):
    root = tmp_path / "myjournal"
    (root / "2024" / "01").mkdir(parents=True)
    (root / "2024" / "01" / "03.txt").write_text("[03/01/2024 08:00] Back to work.\n", encoding="utf-8")
    (root / "2024" / "01" / "31.txt").write_text("[31/01/2024 08:00] End of the month.\n", encoding="utf-8")
    journal.imports.run(root, "maya")
    got = sorted(r.created_at.strftime("%Y-%m-%dT%H:%M") for r in journal.reflections.rows("maya"))
    assert got == ["2024-01-03T08:00", "2024-01-31T08:00"]
    # One file alone: its path (2024/02/03) says `03/02/2024` is day-first.
    alone = tmp_path / "alone"
    (alone / "2024" / "02").mkdir(parents=True)
    (alone / "2024" / "02" / "03.txt").write_text("[03/02/2024 08:00] Snow.\n", encoding="utf-8")
    journal.imports.run(alone, "sam")
    assert [r.created_at.strftime("%Y-%m-%d") for r in journal.reflections.rows("sam")] == ["2024-02-03"]


def test_a_day_equal_to_its_month_needs_no_date_order(journal, tmp_path):
    f = tmp_path / "same.csv"
    f.write_text("date,text\n01/01/2024,a\n02/02/2024 10:00,b\n", encoding="utf-8")
    assert journal.imports.run(f, "maya")["added"] == 2


def test_text_after_a_closing_quote_is_read_with_a_warning_naming_its_line(tmp_path):
    db = tmp_path / "j.db"
    r = _cli(db, "import", str(FIX / "quote-then-text.csv"), "--identity", "maya", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["added"] == 3
    assert [w for w in s["warnings"] if "quote-then-text.csv: line 3" in w and "closing quote" in w]
    well_formed = tmp_path / "ok.csv"
    well_formed.write_text('date,text\n2024-01-02,"""Rain"" and wind."\n2024-01-03,Slept "well".\n', encoding="utf-8")
    ok = json.loads(_cli(tmp_path / "k.db", "import", str(well_formed), "--identity", "maya", "--json").stdout)
    assert ok["added"] == 2 and not [w for w in ok["warnings"] if "closing quote" in w]
