"""Date values that were read wrong or refused with the wrong reason, tried through the real CLI on
small CSV files: year-first values in a day-first column, time-zone abbreviations, an order proved
by a skipped row, compact ISO days, epoch seconds, other digits, and the zone recorded under --tz."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.dates import parse_value
from mirror_kit.timeutil import parse_datetime, to_utc

ROOT = Path(__file__).resolve().parent.parent


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
    return subprocess.run([sys.executable, "-c", code, "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def _rows(db: Path) -> dict[str, tuple[str, str | None]]:
    con = sqlite3.connect(db)
    try:
        return {c: (at, tz) for at, tz, c in con.execute("SELECT created_at, tz, content FROM reflections")}
    finally:
        con.close()


def _one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_year_first_values_keep_month_then_day_in_a_day_first_column(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("id,date,text\n1,31/12/2023,a\n2,2024-03-05,b\n3,2024/03/05,c\n4,2024.03.05,d\n"
                 "5,2024/3/5 10:00,e\n6,2024 03 05,f\n")
    r = _cli(tmp_path / "t.db", "import", str(f), "-i", "a")
    assert r.returncode == 0, r.stderr
    rows = _rows(tmp_path / "t.db")
    assert rows["a"][0] == "2023-12-31T12:00:00Z"
    assert {rows[k][0] for k in "bcdf"} == {"2024-03-05T12:00:00Z"}
    assert rows["e"][0] == "2024-03-05T10:00:00Z"


def test_year_first_values_keep_month_then_day_with_dayfirst_option(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("id,date,text\n1,2024/03/05,a\n2,2024/03/06,b\n")
    r = _cli(tmp_path / "t.db", "import", str(f), "-i", "a", "--dayfirst")
    assert r.returncode == 0, r.stderr
    assert sorted(at for at, _ in _rows(tmp_path / "t.db").values()) == [
        "2024-03-05T12:00:00Z", "2024-03-06T12:00:00Z"]


@pytest.mark.parametrize("raw", ["2024/03/05", "2024.03.05", "2024-3-5", "20240305", "2024/03/05 10:00"])
def test_year_first_value_reads_the_same_in_either_order(raw: str) -> None:
    one, other = parse_value(raw, dayfirst=True), parse_value(raw, dayfirst=False)
    assert one == other and (one.month, one.day) == (3, 5)
    assert (parse_datetime(raw).month, parse_datetime(raw).day) == (3, 5)


def test_default_date_year_first_is_not_swapped_by_dayfirst(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("id,text\n1,a\n")
    r = _cli(tmp_path / "t.db", "import", str(f), "-i", "a", "--dayfirst", "--default-date", "2024/03/05")
    assert r.returncode == 0, r.stderr
    assert _rows(tmp_path / "t.db")["a"][0] == "2024-03-05T12:00:00Z"


@pytest.mark.parametrize("abbr", ["EST", "CET", "PST", "BST"])
def test_time_zone_abbreviation_is_refused_in_one_line(tmp_path: Path, abbr: str) -> None:
    f = tmp_path / "z.csv"
    f.write_text(f"id,date,text\n1,2024-03-04,a\n2,2024-03-05 10:00 {abbr},b\n")
    r = _cli(tmp_path / "z.db", "import", str(f), "-i", "a")
    line = _one_error_line(r)
    assert "z.csv" in line and "line 3" in line and "'date'" in line and abbr in line
    assert "--tz" in line and "offset" in line
    r = _cli(tmp_path / "z.db", "import", str(f), "-i", "a", "--tz", "Europe/Paris", "--skip-bad")
    assert r.returncode == 0 and "Warning" not in r.stderr, r.stderr
    assert set(_rows(tmp_path / "z.db")) == {"a"}


def test_utc_and_numeric_offsets_are_still_read() -> None:
    assert to_utc(parse_value("2024-03-05 10:00 UTC"))[0].hour == 10
    assert to_utc(parse_value("5 March 2024 10:00 -0500"))[0].hour == 15
    with pytest.raises(InvalidInputError, match="abbreviation"):
        parse_datetime("March 5 2024 10:00 EST")


def test_skipped_row_still_proves_the_day_month_order(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("id,date,text\n1,01/02/2024,a\n2,25/02/2024,\n3,03/04/2024,c\n")
    r = _cli(tmp_path / "p.db", "import", str(f), "-i", "a", "--skip-bad")
    assert r.returncode == 0, r.stderr
    rows = _rows(tmp_path / "p.db")
    assert rows["a"][0] == "2024-02-01T12:00:00Z" and rows["c"][0] == "2024-04-03T12:00:00Z"


def test_compact_iso_day_is_stored_at_noon_like_other_bare_days(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("id,date,text\n1,20240305,a\n2,2024-W10-2,b\n")
    r = _cli(tmp_path / "t.db", "import", str(f), "-i", "a")
    assert r.returncode == 0, r.stderr
    assert {at for at, _ in _rows(tmp_path / "t.db").values()} == {"2024-03-05T12:00:00Z"}


@pytest.mark.parametrize("raw, why", [("1709632800", "epoch seconds"), ("１７０９６３２８００", "0-9"),
                                      ("２０２４-０３-０５", "0-9")])
def test_epoch_and_foreign_digits_are_refused_in_one_line(tmp_path: Path, raw: str, why: str) -> None:
    f = tmp_path / "t.csv"
    f.write_text(f"id,date,text\n1,{raw},a\n", encoding="utf-8")
    line = _one_error_line(_cli(tmp_path / "t.db", "import", str(f), "-i", "a"))
    assert "line 2" in line and why in line and "isoformat" not in line and "out of range" not in line


def test_tz_option_is_not_recorded_for_a_value_with_another_offset(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("id,date,text\n1,2024-03-05T10:00Z,a\n2,2024-03-05T10:00+01:00,b\n3,2024-03-05 10:00,c\n")
    r = _cli(tmp_path / "t.db", "import", str(f), "-i", "a", "--tz", "Europe/Paris")
    assert r.returncode == 0, r.stderr
    rows = _rows(tmp_path / "t.db")
    assert rows["a"] == ("2024-03-05T10:00:00Z", "UTC")
    assert rows["b"] == ("2024-03-05T09:00:00Z", "Europe/Paris")  # its offset is Paris's then
    assert rows["c"] == ("2024-03-05T09:00:00Z", "Europe/Paris")


def test_add_date_year_first_and_zone_abbreviation(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert _cli(db, "init", str(db)).returncode == 0
    assert _cli(db, "identity", "add", "a").returncode == 0
    r = _cli(db, "add", "-i", "a", "--date", "2024/03/05 10:00", "one")
    assert r.returncode == 0 and "2024-03-05T10:00:00Z" in r.stdout, r.stderr
    line = _one_error_line(_cli(db, "add", "-i", "a", "--date", "2024/03/05 10:00 PST", "two"))
    assert line.startswith("error: --date:") and "'PST'" in line and "--tz" in line
    assert list(_rows(db)) == ["one"]


def test_notes_and_jrnl_year_first_dates_ignore_dayfirst(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\ndate: 2024/03/05\n---\nfront\n")
    (notes / "b.md").write_text("---\ndate: 25/12/2024\n---\nother\n")
    journal = tmp_path / "j.txt"
    journal.write_text("[2024/03/05 10:00] Title.\nBody one.\n\n[2024/03/06 09:00] Two.\nBody.\n")
    db = tmp_path / "n.db"
    assert _cli(db, "import", str(notes), "-i", "a").returncode == 0
    r = _cli(db, "import", str(journal), "-i", "a", "--dayfirst")
    assert r.returncode == 0, r.stderr
    rows = _rows(db)
    assert rows["front"][0] == "2024-03-05T12:00:00Z"
    assert sorted(at for c, (at, _) in rows.items() if c not in ("front", "other")) == [
        "2024-03-05T10:00:00Z", "2024-03-06T09:00:00Z"]


def test_note_without_text_still_proves_the_day_month_order(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\ndate: 01/02/2024\n---\nfirst\n")
    (notes / "b.md").write_text("---\ndate: 25/02/2024\n---\n\n")
    r = _cli(tmp_path / "n.db", "import", str(notes), "-i", "a")
    assert r.returncode == 0, r.stderr
    assert _rows(tmp_path / "n.db")["first"][0] == "2024-02-01T12:00:00Z"


def test_front_matter_time_with_offset_keeps_its_own_zone_under_tz(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\ndate: 2024-03-05T10:00:00Z\n---\nutc\n")
    (notes / "b.md").write_text("---\ndate: 2024-03-05 10:00\n---\nlocal\n")
    r = _cli(tmp_path / "n.db", "import", str(notes), "-i", "a", "--tz", "Europe/Paris")
    assert r.returncode == 0, r.stderr
    rows = _rows(tmp_path / "n.db")
    assert rows["utc"] == ("2024-03-05T10:00:00Z", "UTC")
    assert rows["local"] == ("2024-03-05T09:00:00Z", "Europe/Paris")


@pytest.mark.parametrize("raw", ["2024/03/05", "20240305", "March 5 2024", "2024.03.05"])
def test_add_date_bare_day_in_any_form_is_stored_at_noon(raw: str) -> None:
    assert to_utc(raw)[0].isoformat() == "2024-03-05T12:00:00+00:00"
    assert to_utc("2024/03/05 00:00")[0].hour == 0  # a written midnight stays midnight


def test_utc_plus_offsets_are_read_as_written_not_with_posix_flipped_signs(tmp_path: Path) -> None:
    csv = tmp_path / "offsets.csv"
    csv.write_text("id,text,date\n1,a,2024-03-05 10:00 UTC+2\n2,b,2024-03-05 10:00 GMT-5\n"
                   "3,c,2024-03-05 10:00 UTC+05:30\n4,d,2024-03-05 10:00 utc +1\n", encoding="utf-8")
    r = _cli(tmp_path / "j.db", "import", str(csv), "-i", "a")
    assert r.returncode == 0, r.stderr
    got = {c: at for c, (at, _) in _rows(tmp_path / "j.db").items()}
    assert got == {"a": "2024-03-05T08:00:00Z", "b": "2024-03-05T15:00:00Z",
                   "c": "2024-03-05T04:30:00Z", "d": "2024-03-05T09:00:00Z"}
    # the same on the paths that read one value: `add --date` and the API
    assert to_utc(parse_datetime("2024-03-05 10:00 UTC+2"))[0].hour == 8
    assert parse_value("5 Mar 2024 10:00 GMT+01:00").utcoffset().total_seconds() == 3600


def test_an_order_option_a_value_refutes_is_refused_not_applied_to_half_the_column(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("id,text,date\n1,a,31/12/2023\n2,b,03/01/2024\n", encoding="utf-8")
    r = _cli(tmp_path / "j.db", "import", str(csv), "-i", "a", "--monthfirst")
    line = _one_error_line(r)
    assert "'31/12/2023' can only be day-first" in line and "--monthfirst" in line and "line 2" in line
    assert not (tmp_path / "j.db").exists() or _rows(tmp_path / "j.db") == {}
    r = _cli(tmp_path / "j.db", "import", str(csv), "-i", "a", "--dayfirst")  # agrees with the values
    assert r.returncode == 0, r.stderr
    assert _rows(tmp_path / "j.db")["b"][0] == "2024-01-03T12:00:00Z"


def test_two_digit_years_are_never_read_as_a_future_year(tmp_path: Path) -> None:
    from datetime import date

    csv = tmp_path / "y.csv"
    this = date.today().year % 100
    csv.write_text(f"id,text,date\n1,a,31/12/69\n2,b,05/03/{this:02d}\n3,c,05/03/{(this + 1) % 100:02d}\n",
                   encoding="utf-8")
    r = _cli(tmp_path / "j.db", "import", str(csv), "-i", "a")
    assert r.returncode == 0, r.stderr
    years = {c: int(at[:4]) for c, (at, _) in _rows(tmp_path / "j.db").items()}
    assert years["a"] == 1969  # dateutil alone says 2069
    assert years["b"] == date.today().year and years["c"] == date.today().year - 99
    assert parse_datetime("31/12/69").year == 1969  # `add --date` and the API


def test_a_zone_name_read_by_date_format_percent_z_is_kept(tmp_path: Path) -> None:
    csv = tmp_path / "z.csv"
    csv.write_text("id,text,date\n1,a,2024-03-05 10:00 UTC\n", encoding="utf-8")
    r = _cli(tmp_path / "j.db", "import", str(csv), "-i", "a", "--date-format", "%Y-%m-%d %H:%M %Z",
             "--tz", "Europe/Paris")
    assert r.returncode == 0, r.stderr
    assert _rows(tmp_path / "j.db")["a"][0] == "2024-03-05T10:00:00Z"  # not read as Paris time
    assert parse_value("2024-03-05 10:00 GMT", date_format="%Y-%m-%d %H:%M %Z").utcoffset().total_seconds() == 0


def test_a_compact_day_in_front_matter_is_read_like_the_same_value_in_a_csv(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\ndate: 20240305\n---\nhello there\n", encoding="utf-8")
    (notes / "b.md").write_text("---\ndate: 1709632800\n---\nan epoch number\n", encoding="utf-8")
    r = _cli(tmp_path / "j.db", "import", str(notes), "-i", "a", "--skip-bad")
    assert r.returncode == 0, r.stderr
    assert "b.md" in r.stdout + r.stderr and "number" in r.stdout + r.stderr
    assert _rows(tmp_path / "j.db") == {"hello there": ("2024-03-05T12:00:00Z", None)}


def test_a_week_without_its_day_is_refused_not_taken_as_its_monday() -> None:
    for read in (parse_value, parse_datetime):
        with pytest.raises(InvalidInputError, match="a week without its day"):
            read("2024-W10")
    with pytest.raises(InvalidInputError) as exc:
        parse_value("2024-W53-1")  # 2024 has 52 ISO weeks
    assert "isoformat" not in str(exc.value) and "not a real date" in str(exc.value)
    assert parse_value("2024-W10-2").isoformat() == "2024-03-05"
