"""Inputs rebuilt from public bug reports against jrnl, Day One, Daylio, Obsidian and CSV tools
(tests/fixtures/import/cases): each gives what its README row says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.timeutil import format_utc

CASES = Path(__file__).resolve().parent / "fixtures" / "import" / "cases"


def _copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(CASES / name, dst)
    return dst


def _dates(journal, who: str = "maya") -> list[str]:
    return sorted(format_utc(r.created_at) for r in journal.reflections.rows(who))


def _cli(journal_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
    return subprocess.run([sys.executable, "-c", code, "--db", str(journal_path), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_two_jrnl_journals_with_same_minutes_both_kept(journal):
    case = CASES / "jrnl-two-journals-overwrite"
    assert journal.imports.run(case / "personal.json", "maya")["added"] == 2
    work = journal.imports.run(case / "work.json", "maya")
    assert (work["added"], work["updated"]) == (2, 0)
    assert len(journal.reflections.rows("maya")) == 4
    for f in ("personal.json", "personal.txt", "work.json", "work.txt"):
        again = journal.imports.run(case / f, "maya")
        assert (again["added"], again["updated"], again["skipped"]) == (0, 0, 2), f
    titles = {r.title for r in journal.reflections.rows("maya")}
    assert {"Long letter to my sister about the move.", "Sprint planning."} <= titles


def test_csv_column_read_day_first_when_one_value_proves_it(journal):
    s = journal.imports.run(CASES / "csv-dayfirst-dates" / "diary.csv", "maya")
    assert s["added"] == 4
    assert [d[:10] for d in _dates(journal)] == ["2023-12-31", "2024-01-03", "2024-01-14", "2024-02-02"]


def test_ambiguous_csv_column_stops_with_hint_until_order_given(journal, tmp_path):
    f = tmp_path / "us.csv"
    f.write_text("date,text\n03/01/2024,one\n04/02/2024,two\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as exc:
        journal.imports.run(f, "maya")
    msg = str(exc.value)
    assert "\n" not in msg and "--dayfirst" in msg and "--date-format" in msg and "us.csv" in msg
    assert journal.identities.find("maya") is None
    journal.imports.run(f, "maya", dayfirst=False)
    assert [d[:10] for d in _dates(journal)] == ["2024-03-01", "2024-04-02"]
    journal.imports.run(f, "bob", date_format="%d/%m/%Y")
    assert [d[:10] for d in _dates(journal, "bob")] == ["2024-01-03", "2024-02-04"]


def test_csv_column_mixing_proven_orders_is_refused(journal, tmp_path):
    f = tmp_path / "mixed.csv"
    f.write_text("date,text\n31/01/2024,one\n01/31/2024,two\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"mixed.csv: column 'date': mixes date orders.*line 2"):
        journal.imports.run(f, "maya")


def test_yearless_values_are_refused_not_completed_from_today(journal, tmp_path):
    f = tmp_path / "noyear.csv"
    f.write_text("date,text\nMay 30,one\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"noyear.csv: line 2: date 'May 30' has no year"):
        journal.imports.run(f, "maya")


def test_daylio_uses_full_date_and_time_title_mood_and_activities(journal):
    s = journal.imports.run(CASES / "daylio-csv" / "yearless-date.csv", "maya")
    assert (s["format"], s["source"], s["added"]) == ("csv", "daylio", 3)
    assert _dates(journal) == ["2023-03-14T08:20:00Z", "2023-12-30T10:05:00Z", "2023-12-31T23:10:00Z"]
    eve = next(r for r in journal.reflections.rows("maya") if r.created_at.day == 31)
    assert eve.title == "New Year's Eve"
    assert eve.content.startswith("Made dumplings")
    assert eve.metadata["mood"] == "good" and eve.metadata["activities"] == ["friends", "cooking"]
    assert sorted(eve.tags) == ["cooking", "friends"]
    assert journal.imports.run(CASES / "daylio-csv" / "yearless-date.csv", "maya")["skipped"] == 3


def test_daylio_mood_only_rows_counted_without_text_and_html_stripped(journal, journal_path):
    s = journal.imports.run(CASES / "daylio-csv" / "mood-only-rows.csv", "maya")
    assert (s["added"], s["skipped_empty"], s["rejected"]) == (1, 2, [])
    (r,) = journal.reflections.rows("maya")
    assert r.content == "Tried the new lentil recipe. Worth it."
    out = _cli(journal_path, "import", str(CASES / "daylio-csv" / "mood-only-rows.csv"), "--identity", "bob")
    assert out.returncode == 0 and "2 without text skipped" in out.stdout


def test_unclosed_csv_quote_is_an_error_naming_its_line(journal, journal_path):
    f = CASES / "csv-unbalanced-quote" / "stray-quote.csv"
    with pytest.raises(InvalidInputError, match=r"stray-quote.csv: line 3: a quoted field opens here"):
        journal.imports.run(f, "maya")
    assert journal.identities.find("maya") is None
    out = _cli(journal_path, "import", str(f), "--identity", "maya", "--skip-bad")
    assert out.returncode != 0 and "Traceback" not in out.stderr and "line 3" in out.stderr


def test_jrnl_folder_journal_detected_with_entries_and_tags(journal):
    s = journal.imports.run(CASES / "jrnl-folder-journal" / "myjournal", "maya")
    assert (s["format"], s["added"]) == ("jrnl", 3)
    refs = sorted(journal.reflections.rows("maya"), key=lambda r: r.created_at)
    assert [format_utc(r.created_at) for r in refs] == [
        "2024-06-01T08:10:00Z", "2024-06-01T21:30:00Z", "2024-06-03T07:45:00Z"]
    assert refs[0].tags == ["shopping"] and refs[2].tags == ["work"]
    assert journal.imports.run(CASES / "jrnl-folder-journal" / "myjournal", "maya")["skipped"] == 3


def test_obsidian_dailies_dated_from_format_and_folders_not_mtime(journal):
    s = journal.imports.run(CASES / "obsidian-monthname-dailies" / "vault", "maya")
    assert s["added"] == 4
    assert [d[:10] for d in _dates(journal)] == ["2023-01-01", "2023-01-02", "2023-02-11", "2023-03-05"]
    assert not any("modification time" in w for w in s["warnings"])


def test_note_imported_alone_after_its_vault_is_the_same_note(journal, tmp_path):
    vault = _copy("obsidian-monthname-dailies", tmp_path) / "vault"
    journal.imports.run(vault, "maya")
    note = vault / "Daily" / "2023" / "03" / "05.md"
    assert journal.imports.run(note, "maya")["skipped"] == 1
    assert journal.imports.run(vault / "Journal", "maya")["skipped"] == 3
    note.write_text(note.read_text(encoding="utf-8") + "\nAdded a line later.\n", encoding="utf-8")
    assert journal.imports.run(note, "maya")["updated"] == 1
    assert len(journal.reflections.rows("maya")) == 4


def test_impossible_front_matter_date_named_in_one_line(journal, journal_path):
    vault = CASES / "frontmatter-invalid-date" / "vault"
    with pytest.raises(InvalidInputError) as exc:
        journal.imports.run(vault, "maya")
    assert "Daily/typo-date.md" in str(exc.value) and "2024-02-30" in str(exc.value)
    dry = _cli(journal_path, "import", str(vault), "--identity", "maya", "--dry-run", "--skip-bad")
    assert dry.returncode == 0 and "Traceback" not in dry.stderr and "typo-date.md" in dry.stdout
    out = _cli(journal_path, "import", str(vault), "--identity", "maya")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "Daily/typo-date.md" in out.stderr and "2024-02-30" in out.stderr
    s = journal.imports.run(vault, "maya", skip_bad=True)
    assert s["added"] == 1 and [r["file"] for r in s["rejected"]] == ["Daily/typo-date.md"]


@pytest.mark.parametrize("name", ["journal.txt", "journal-v3.txt"])
def test_encrypted_jrnl_journal_refused_with_export_hint(journal, journal_path, name):
    f = CASES / "jrnl-encrypted" / name
    with pytest.raises(InvalidInputError, match=r"encrypted jrnl journal.*--format json"):
        journal.imports.run(f, "maya")
    out = _cli(journal_path, "import", str(f), "--identity", "maya")
    assert out.returncode != 0 and "--format json" in out.stderr and "Traceback" not in out.stderr


def test_dayone_pdf_and_audio_links_removed_and_media_kept_with_real_names(journal):
    s = journal.imports.run(CASES / "dayone-pdf-audio-links" / "media-links.zip", "maya")
    assert (s["added"], s["warnings"]) == (3, [])
    refs = {r.source_id[-1]: r for r in journal.reflections.rows("maya")}
    assert all("dayone-moment" not in r.content for r in refs.values())
    assert refs["2"].content == "Tax letter arrived.\n\nNeed to call the office on Monday."
    assert [m["file"] for m in refs["2"].metadata["media"]] == ["pdfs/22222222222222222222222222222222.pdf"]
    assert [m["file"] for m in refs["3"].metadata["media"]] == ["audios/33333333333333333333333333333333.m4a"]
    assert refs["3"].metadata["media"][0]["kind"] == "audio"


def test_dayone_audio_extension_from_format_when_file_not_in_archive(journal):
    s = journal.imports.run(CASES / "dayone-pdf-audio-links" / "Journal.readable.json", "maya", format="dayone")
    audio = next(r for r in journal.reflections.rows("maya") if r.source_id.endswith("3"))
    assert audio.metadata["media"][0]["file"].endswith(".m4a")
    assert not any("missing" in w or "not in the archive" in w for w in s["warnings"])


def test_dayone_photo_only_entries_counted_without_text(journal):
    s = journal.imports.run(CASES / "dayone-photo-only" / "photo-only.zip", "maya")
    assert (s["added"], s["skipped_empty"], s["rejected"]) == (2, 2, [])


def test_far_future_offset_is_one_line_naming_line_2(journal, journal_path):
    f = CASES / "far-future-offset" / "future.csv"
    for extra in ([], ["--skip-bad"], ["--dry-run"]):
        out = _cli(journal_path, "import", str(f), "--identity", "maya", *extra)
        text = out.stdout + out.stderr
        assert "Traceback" not in text and "OverflowError" not in text
        assert "line 2" in text and "9999-12-31" in text and "years 1..9999" in text
    with pytest.raises(InvalidInputError, match=r"future.csv: line 2: .*9999-12-31.*outside years 1..9999"):
        journal.imports.run(f, "maya")
    assert journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 0
