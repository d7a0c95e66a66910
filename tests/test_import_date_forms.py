"""Date forms read on every path (`add --date`, the API, CSV, notes, jrnl, Daylio, Day One,
`--default-date`, `--date-format`): ISO ordinal dates, weekdays that must agree with their date,
the written offset against `--tz`, one stored form for UTC, `--date-format` checked before any row,
and `add` for an identity that does not exist yet."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.dates import date_from_moment, date_from_name, moment_regex, parse_value
from mirror_kit.timeutil import parse_datetime, to_utc

from .plugins.store import assert_one_line_error, run_cli


def _rows(db: Path) -> dict[str, tuple[str, str | None]]:
    con = sqlite3.connect(db)
    try:
        return {c: (at, tz) for at, tz, c in con.execute("SELECT created_at, tz, content FROM reflections")}
    finally:
        con.close()


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM reflections").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
    return db


# --- ISO 8601 ordinal dates ---------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-065", date(2024, 3, 5)), ("2024-366", date(2024, 12, 31)), ("2023-001", date(2023, 1, 1)),
    ("2024-065T10:00", datetime(2024, 3, 5, 10, 0)), ("2024-065 10:00+01:00",
                                                      datetime(2024, 3, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))),
])
def test_ordinal_date_is_read_as_its_day_of_the_year(raw: str, expected) -> None:
    assert parse_value(raw) == expected
    assert parse_value(raw, dayfirst=True) == expected
    assert parse_datetime(raw).date() == (expected if type(expected) is date else expected.date())


@pytest.mark.parametrize(("raw", "why"), [
    ("2023-366", "2023 has days 001 to 365"), ("2024-000", "2024 has days 001 to 366"),
    ("2024-367T10:00", "2024 has days 001 to 366"), ("2024065", "compact ordinal date"),
])
def test_impossible_or_compact_ordinal_date_is_refused_saying_why(raw: str, why: str) -> None:
    for read in (parse_value, parse_datetime):
        with pytest.raises(InvalidInputError, match=why) as info:
            read(raw)
        assert repr(raw) in str(info.value)


@pytest.mark.parametrize(("raw", "why"), [
    ("2024-065T25:00", "hour must be in 0..23"), ("2024-02-30", "day is out of range for month"),
])
def test_impossible_date_typed_to_add_says_why(raw: str, why: str) -> None:
    with pytest.raises(InvalidInputError, match=why):
        parse_datetime(raw)
    with pytest.raises(InvalidInputError, match=why):
        to_utc(raw)


def test_ordinal_dates_through_add_csv_and_default_date(tmp_path: Path, journal: Path) -> None:
    p = run_cli("--db", str(journal), "add", "-i", "maya", "--date", "2024-065", "bare day", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = run_cli("--db", str(journal), "add", "-i", "maya", "--date", "2024-065T10:00", "timed", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    f = tmp_path / "o.csv"
    f.write_text("date,text\n2024-366,last day\n,no date\n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--default-date", "2024-065T08:00",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = _rows(journal)
    assert rows["bare day"][0] == "2024-03-05T12:00:00Z"  # a bare day is its noon, as 2024-03-05 is
    assert rows["timed"][0] == "2024-03-05T10:00:00Z"
    assert rows["last day"][0] == "2024-12-31T12:00:00Z"
    assert rows["no date"][0] == "2024-03-05T08:00:00Z"
    p = run_cli("--db", str(journal), "add", "-i", "maya", "--date", "2023-366", "never", cwd=tmp_path)
    assert_one_line_error(p, "--date", "'2023-366'", "2023 has days 001 to 365")
    assert _count(journal) == 4


def test_ordinal_dates_in_note_names_front_matter_and_daily_note_formats(tmp_path: Path, journal: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "2024-065 walk.md").write_text("named ordinal\n")
    (notes / "2023-366.md").write_text("named impossible\n")
    (notes / "a.md").write_text("---\ndate: 2024-065T10:00\n---\nfront ordinal\n")
    (notes / "b.md").write_text("---\ndate: 2024065\n---\nfront compact\n")  # YAML reads it as a number
    p = run_cli("--db", str(journal), "import", str(notes), "-i", "maya", "--skip-bad", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "rejected 2023-366.md: cannot read date '2023-366': not a real date" in p.stdout
    assert "rejected b.md: cannot read date '2024065': a compact ordinal date" in p.stdout
    rows = _rows(journal)
    assert rows["named ordinal"][0] == "2024-03-05T12:00:00Z"
    assert rows["front ordinal"][0] == "2024-03-05T10:00:00Z"
    assert set(rows) == {"named ordinal", "front ordinal"}
    assert date_from_moment(moment_regex("YYYY-DDDD"), "2024-065") == datetime(2024, 3, 5, 12, 0)


# --- weekdays -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "Mon, 05 Mar 2024 10:00:00 +0000", "Monday, March 5, 2024", "monday 5 March 2024 10:00", "Sun 2024-03-05",
])
def test_weekday_that_is_not_the_dates_is_refused_naming_both(tmp_path: Path, journal: Path, raw: str) -> None:
    p = run_cli("--db", str(journal), "add", "-i", "maya", "--date", raw, "wrong day", cwd=tmp_path)
    line = assert_one_line_error(p, "--date", repr(raw), "is a Tuesday")
    written = raw.split(",")[0].split(" ")[0]
    assert f"says {written}" in line
    assert _count(journal) == 0
    with pytest.raises(InvalidInputError, match="is a Tuesday"):
        parse_value(raw)


@pytest.mark.parametrize("raw", [
    "Tue, 05 Mar 2024 10:00:00 +0000", "Tuesday, March 5, 2024", "Tue 5 March 2024 10:00", "tuesday 2024-03-05",
])
def test_weekday_that_is_the_dates_is_read(raw: str) -> None:
    assert parse_value(raw).day == 5
    assert to_utc(raw)[0].date() == date(2024, 3, 5)


def test_date_format_weekday_is_checked_not_ignored(tmp_path: Path, journal: Path) -> None:
    f = tmp_path / "w.csv"
    f.write_text("date,text\nTue 05 Mar 2024,right\nMon 05 Mar 2024,wrong\n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--date-format", "%a %d %b %Y", "--skip-bad",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "line 3" in p.stdout and "says Mon (Monday) but 5 March 2024 is a Tuesday" in p.stdout
    assert set(_rows(journal)) == {"right"}


def test_jrnl_timeformat_weekday_is_checked(tmp_path: Path, journal: Path) -> None:
    d = tmp_path / "jr"
    d.mkdir()
    (d / "jrnl.yaml").write_text('journals:\n  default:\n    journal: journal.txt\ntimeformat: "%a %Y-%m-%d %H:%M"\n')
    (d / "journal.txt").write_text("[Mon 2024-03-05 10:00] Wrong weekday.\nBody one.\n\n"
                                   "[Tue 2024-03-05 11:00] Right weekday.\nBody two.\n")
    p = run_cli("--db", str(journal), "import", str(d / "journal.txt"), "-i", "maya", "--skip-bad", cwd=tmp_path,
                env={"XDG_CONFIG_HOME": str(tmp_path / "none"), "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert "line 1" in p.stdout and "is a Tuesday" in p.stdout
    assert [at for at, _ in _rows(journal).values()] == ["2024-03-05T11:00:00Z"]


def test_jrnl_markdown_heading_weekday_is_checked(tmp_path: Path, journal: Path) -> None:
    f = tmp_path / "out.md"
    f.write_text("# 2024\n\n## March\n\n### Mon 05 Mar 2024 10:00 Wrong weekday\n\nBody one.\n \n"
                 "### Tue 05 Mar 2024 11:00 Right weekday\n\nBody two.\n \n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--format", "jrnl", "--skip-bad", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "line 5" in p.stdout and "says Mon (Monday) but 5 March 2024 is a Tuesday" in p.stdout
    assert [at for at, _ in _rows(journal).values()] == ["2024-03-05T11:00:00Z"]
    rx = moment_regex("dddd YYYY-MM-DD")
    assert date_from_moment(rx, "Tuesday 2024-03-05") == datetime(2024, 3, 5, 12, 0)
    with pytest.raises(InvalidInputError, match="daily-note name 'Monday 2024-03-05' says Monday"):
        date_from_moment(rx, "Monday 2024-03-05")


def test_notes_weekday_in_front_matter_and_file_name_is_checked(tmp_path: Path, journal: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Monday, March 5th 2024.md").write_text("named wrong\n")
    (notes / "Tuesday, March 5th 2024.md").write_text("named right\n")
    (notes / "2024-03-05 Monday standup.md").write_text("title word\n")  # a word after the date is the title
    (notes / "a.md").write_text("---\ndate: Mon, 05 Mar 2024 10:00\n---\nfront wrong\n")
    (notes / "b.md").write_text("---\ndate: Tue, 05 Mar 2024 10:00\n---\nfront right\n")
    p = run_cli("--db", str(journal), "import", str(notes), "-i", "maya", "--skip-bad", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "rejected Monday, March 5th 2024.md: file name date 'Monday, March 5th 2024' says Monday" in p.stdout
    assert "rejected a.md: date 'Mon, 05 Mar 2024 10:00' says Mon (Monday)" in p.stdout
    assert set(_rows(journal)) == {"named right", "title word", "front right"}
    assert date_from_name("Fri 2023-01-06 notes") == datetime(2023, 1, 6, 12, 0)


def test_daylio_weekday_column_is_checked_in_english_and_kept_otherwise(tmp_path: Path, journal: Path) -> None:
    f = tmp_path / "daylio.csv"
    f.write_text("full_date,date,weekday,time,mood,activities,note_title,note\n"
                 "2024-03-05,March 5,Monday,10:00,good,,,wrong\n"
                 "2024-03-05,March 5,Tuesday,11:00,good,,,right\n"
                 "2024-03-05,5. März,Dienstag,12:00,good,,,german\n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--skip-bad", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "column 'weekday' ('Monday') of full_date '2024-03-05' says Monday but 5 March 2024 is a Tuesday" \
        in p.stdout
    assert set(_rows(journal)) == {"right", "german"}


# --- the written offset against --tz, and one form for UTC ---------------------------------------

def test_written_offset_wins_over_tz_on_add_and_api(tmp_path: Path, journal: Path) -> None:
    for text, when, tz in (("india", "2024-03-05T10:00+05:30", "Europe/Paris"),
                           ("paris winter", "2024-03-05T10:00+01:00", "Europe/Paris"),
                           ("paris summer offset in winter", "2024-03-05T10:00+02:00", "Europe/Paris"),
                           ("naive", "2024-03-05T10:00", "Europe/Paris")):
        p = run_cli("--db", str(journal), "add", "-i", "maya", "--date", when, "--tz", tz, text, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    with mirror_kit.open(journal) as j:
        r = j.reflections.add("maya", "api", "2024-03-05T10:00+05:30", tz="Europe/Paris")
        assert r.tz == "+05:30"
        aware = datetime(2024, 3, 5, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
        assert j.reflections.add("maya", "api aware", aware, tz="Europe/Paris").tz == "-05:00"
    rows = _rows(journal)
    assert rows["india"] == ("2024-03-05T04:30:00Z", "+05:30")
    assert rows["paris winter"] == ("2024-03-05T09:00:00Z", "Europe/Paris")  # the zone gives that offset then
    assert rows["paris summer offset in winter"] == ("2024-03-05T08:00:00Z", "+02:00")
    assert rows["naive"] == ("2024-03-05T09:00:00Z", "Europe/Paris")


@pytest.mark.parametrize("when", ["2024-03-05T10:00Z", "2024-03-05T10:00+00:00", "2024-03-05 10:00 UTC",
                                  "2024-03-05 10:00 GMT", "Tue, 05 Mar 2024 10:00:00 +0000", "2024-03-05T10:00-00:00"])
def test_utc_written_any_way_is_stored_as_utc(when: str) -> None:
    assert to_utc(when) == (datetime(2024, 3, 5, 10, 0, tzinfo=UTC), "UTC")
    for zone in ("UTC", "GMT", "Z", "+00:00", "Etc/UTC"):
        assert to_utc(when, zone)[1] == "UTC"


def test_utc_is_one_stored_form_on_add_and_import(tmp_path: Path, journal: Path) -> None:
    for i, (when, tz) in enumerate((("2024-03-05T10:00Z", None), ("2024-03-05 10:00 GMT", None),
                                    ("2024-03-05T10:00+0000", None), ("2024-03-05 10:00", "Z"),
                                    ("2024-03-05 10:00", "Etc/UTC"))):
        args = ["--db", str(journal), "add", "-i", "maya", "--date", when, f"add {i}"]
        p = run_cli(*args, *(["--tz", tz] if tz else []), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    f = tmp_path / "u.csv"
    f.write_text("date,text\n2024-03-05T10:00Z,csv z\n2024-03-05T10:00+00:00,csv offset\n"
                 "Tue 05 Mar 2024 10:00 GMT,csv gmt\n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    g = tmp_path / "naive.csv"
    g.write_text("date,text\n2024-03-05 10:00,csv naive in gmt\n")
    p = run_cli("--db", str(journal), "import", str(g), "-i", "maya", "--tz", "GMT", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert {tz for _, tz in _rows(journal).values()} == {"UTC"}


def test_day_one_utc_creation_date_keeps_its_time_zone(tmp_path: Path, journal: Path) -> None:
    doc = {"metadata": {"version": "1.0"}, "entries": [
        {"uuid": "A1", "creationDate": "2024-03-05T09:00:00Z", "timeZone": "Europe/Paris", "text": "paris"},
        {"uuid": "A2", "creationDate": "2024-03-05T09:00:00Z", "timeZone": "GMT", "text": "gmt"},
    ]}
    z = tmp_path / "dayone.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Journal.json", json.dumps(doc))
    p = run_cli("--db", str(journal), "import", str(z), "-i", "maya", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _rows(journal) == {"paris": ("2024-03-05T09:00:00Z", "Europe/Paris"),
                              "gmt": ("2024-03-05T09:00:00Z", "UTC")}


def test_stored_plus_zero_offset_stays_readable_and_round_trips(tmp_path: Path, journal: Path) -> None:
    con = sqlite3.connect(journal)
    with mirror_kit.open(journal) as j:
        rid = j.reflections.add("maya", "old row", "2024-03-05T10:00Z").id
    con.execute("UPDATE reflections SET tz = '+00:00' WHERE id = ?", (rid,))  # as stored before
    con.commit()
    con.close()
    out = tmp_path / "e.json"
    p = run_cli("--db", str(journal), "export", "json", "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = run_cli("--db", str(tmp_path / "copy.db"), "import", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _rows(tmp_path / "copy.db") == {"old row": ("2024-03-05T10:00:00Z", "+00:00")}
    with mirror_kit.open(tmp_path / "copy.db", readonly=True) as j:
        assert j.reflections.get(rid).tz == "+00:00"


# --- --date-format checked once ------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "needle"), [
    ("%Q/%m/%Y", "%Q is not a strptime directive"), ("%m/%Y", "has no day directive"),
    ("%d/%m", "has no year directive"), ("%d/%m/%Y %", "a lone '%' at the end"), ("%d/%d/%Y", "%d appears twice"),
    ("%Y-W%V-%u", "ISO week date"),
])
def test_bad_date_format_is_refused_once_before_any_row(tmp_path: Path, journal: Path, fmt: str, needle: str) -> None:
    f = tmp_path / "f.csv"
    f.write_text("date,text\n" + "".join(f"0{i}/03/2024,row {i}\n" for i in range(1, 6)))
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--date-format", fmt, "--skip-bad",
                cwd=tmp_path)
    line = assert_one_line_error(p, "--date-format", repr(fmt), needle)
    assert "line" not in line
    assert _count(journal) == 0
    fresh = tmp_path / "fresh.db"
    p = run_cli("--db", str(fresh), "import", str(f), "-i", "maya", "--date-format", fmt, cwd=tmp_path)
    assert_one_line_error(p, "--date-format")
    assert not fresh.exists()


def test_good_date_formats_still_read(tmp_path: Path, journal: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("date,text\n05/03/2024 10:00,a\n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--date-format", "%d/%m/%Y %H:%M",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _rows(journal)["a"][0] == "2024-03-05T10:00:00Z"
    assert parse_value("2024-065", date_format="%Y-%j") == date(2024, 3, 5)
    assert parse_value("2024-W10-2", date_format="%G-W%V-%u") == date(2024, 3, 5)


# --- add for an identity not created yet ---------------------------------------------------------

def test_add_to_unknown_identity_names_the_command_that_creates_it(tmp_path: Path, journal: Path) -> None:
    p = run_cli("--db", str(journal), "add", "-i", "sam lee", "Hello.", cwd=tmp_path)
    assert_one_line_error(p, "unknown identity 'sam lee' (known: maya)",
                          "create it with `mirror-kit identity add 'sam lee'`")
    assert _count(journal) == 0
    p = run_cli("--db", str(journal), "identity", "add", "sam lee", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = run_cli("--db", str(journal), "add", "-i", "sam lee", "Hello.", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_reimport_into_a_journal_that_stored_utc_as_plus_zero_counts_nothing_changed(tmp_path: Path,
                                                                                  journal: Path) -> None:
    f = tmp_path / "u.csv"
    f.write_text("id,date,text\n1,2024-03-05T10:00Z,first\n2,2024-03-06T11:00+00:00,second\n")
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    con = sqlite3.connect(journal)
    con.execute("UPDATE reflections SET tz = '+00:00'")  # as an earlier version stored UTC
    con.commit()
    con.close()
    p = run_cli("--db", str(journal), "import", str(f), "-i", "maya", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["updated"] == 0 and summary["added"] == 0, summary
    assert {tz for _, tz in _rows(journal).values()} == {"+00:00"}  # an equal zone is not rewritten
