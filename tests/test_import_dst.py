"""Local times and daylight saving time: a wall-clock time its zone skips is refused in one line
naming file, line and field (nothing stored); a time the zone shows twice is its first occurrence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirror_kit.errors import InvalidInputError

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "import" / "fieldcases"


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from mirror_kit.cli import run; sys.argv[0] = 'mirror-kit'; run()"
    return subprocess.run([sys.executable, "-c", code, "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_csv_time_in_the_skipped_hour_is_refused_in_one_line_and_nothing_stored(journal, journal_path):
    r = _cli(journal_path, "import", str(FIX / "dst-berlin.csv"), "--identity", "maya", "--tz", "Europe/Berlin")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "dst-berlin.csv: line 3: column 'date': 2024-03-31 02:30:00 does not exist in Europe/Berlin" in lines[0]
    assert "daylight saving time" in lines[0]
    assert _count(journal) == 0


def test_skip_bad_lists_the_skipped_hour_and_reads_the_repeated_hour_as_its_first(journal):
    s = journal.imports.run(FIX / "dst-berlin.csv", "maya", tz="Europe/Berlin", skip_bad=True)
    assert s["added"] == 2
    assert [(r["line"], r["reason"].split(":")[0]) for r in s["rejected"]] == [(3, "column 'date'")]
    stored = sorted(r.created_at.isoformat() for r in journal.reflections.rows("maya"))
    # 22:10 CET is 21:10 UTC; 02:30 on 2024-10-27 happens at 00:30 UTC (CEST) and again at 01:30 UTC.
    assert stored == ["2024-03-30T21:10:00+00:00", "2024-10-27T00:30:00+00:00"]


@pytest.mark.parametrize(("when", "tz"), [("2024-03-31 02:30", "Europe/Berlin"),
                                          ("2024-03-10 02:30", "America/New_York"),
                                          ("2024-03-10 02:00", "America/New_York")])
def test_added_reflection_in_a_skipped_hour_is_refused(journal, when, tz):
    journal.identities.add("maya")
    with pytest.raises(InvalidInputError, match=f"does not exist in {tz}"):
        journal.reflections.add("maya", "Night shift.", when, tz=tz)
    assert _count(journal) == 0


def test_new_york_repeated_hour_is_its_first_occurrence_and_fixed_offsets_have_no_gap(journal):
    journal.identities.add("maya")
    a = journal.reflections.add("maya", "Clocks go back tonight.", "2024-11-03 01:30", tz="America/New_York")
    b = journal.reflections.add("maya", "Offsets never skip.", "2024-03-10 02:30", tz="-05:00")
    assert a.created_at.isoformat() == "2024-11-03T05:30:00+00:00"  # EDT (-04:00), the first 01:30
    assert b.created_at.isoformat() == "2024-03-10T07:30:00+00:00"


def test_jrnl_entry_written_in_the_skipped_hour_is_named_by_its_line(journal, jrnl_journal):
    jrnl_journal.write("2024-03-10 02:30: Up with the baby. Long night.")
    with pytest.raises(InvalidInputError,
                       match=r"journal.txt: line \d+: timestamp: 2024-03-10 02:30:00 does not exist in America/New_York"):
        journal.imports.run(jrnl_journal.file, "maya", tz="America/New_York")
    assert _count(journal) == 0


def _count(journal) -> int:
    return journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0]


def test_note_front_matter_time_in_the_skipped_hour_names_the_field(journal, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "night.md").write_text("---\ndate: 2024-03-31 02:30\n---\nCould not sleep.\n",
                                                 encoding="utf-8")
    (tmp_path / "notes" / "day.md").write_text("---\ndate: 2024-03-31 12:00\n---\nSlept at last.\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"night.md: front matter 'date': 2024-03-31 02:30:00 does not exist"):
        journal.imports.run(tmp_path / "notes", "maya", tz="Europe/Berlin")
    assert _count(journal) == 0
    s = journal.imports.run(tmp_path / "notes", "maya", tz="Europe/Berlin", skip_bad=True)
    assert (s["added"], [r["file"] for r in s["rejected"]]) == (1, ["night.md"])
