"""The sample journal: deterministic, committed, realistic enough, planted structure in the text."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from mirror_kit.sample import JOURNAL_FILE, TRUTH_FILE, generate, keyword_hits, load_sample, write

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [json.loads(line) for line in (DATA / JOURNAL_FILE).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DATA / TRUTH_FILE).read_text(encoding="utf-8"))


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip(" -#") for p in parts if p.strip(" -#")]


def test_regenerating_gives_the_committed_files_byte_for_byte(tmp_path):
    write(tmp_path)
    for name in (JOURNAL_FILE, TRUTH_FILE):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_generate_is_deterministic_and_seed_dependent(records):
    assert generate() == records
    other = generate(seed=7)
    assert other != records
    assert generate(seed=7) == other


def test_cli_regenerates(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mirror_kit.sample", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    assert JOURNAL_FILE in out.stdout
    assert (tmp_path / JOURNAL_FILE).read_bytes() == (DATA / JOURNAL_FILE).read_bytes()


def test_records_shape_identities_and_span(records, truth):
    keys = {"id", "identity", "created_at", "tz", "title", "content", "tags"}
    assert all(set(r) == keys for r in records)
    assert len({r["id"] for r in records}) == len(records)
    by = {}
    for r in records:
        by.setdefault(r["identity"], []).append(r)
    assert set(by) == {"maya", "sam"}
    maya = by["maya"]
    assert 520 <= len(maya) <= 600
    assert 120 <= len(by["sam"]) <= 180
    first = datetime.fromisoformat(maya[0]["created_at"])
    last = datetime.fromisoformat(maya[-1]["created_at"])
    assert (last - first).days >= 18 * 30
    # chronological, aware timestamps whose offset is the writer's zone at that moment
    from zoneinfo import ZoneInfo

    stamps = [datetime.fromisoformat(r["created_at"]) for r in maya]
    assert stamps == sorted(stamps)
    for r, dt in zip(maya, stamps, strict=True):
        assert dt.utcoffset() == dt.replace(tzinfo=ZoneInfo(r["tz"])).utcoffset()
    assert len({r["tz"] for r in maya}) >= 3
    assert truth["identities"]["maya"]["reflections"] == len(maya)
    # irregular: some days twice, some gaps of a week or more
    days = [dt.date() for dt in stamps]
    assert sum(1 for a, b in zip(days, days[1:], strict=False) if a == b) >= 20
    assert sum(1 for a, b in zip(days, days[1:], strict=False) if (b - a).days >= 7) >= 3


def test_titles_tags_markdown_and_long_entries(records):
    maya = [r for r in records if r["identity"] == "maya"]
    titled = sum(1 for r in maya if r["title"]) / len(maya)
    tagged = sum(1 for r in maya if r["tags"]) / len(maya)
    assert 0.18 <= titled <= 0.35
    assert 0.22 <= tagged <= 0.38
    assert sum(1 for r in maya if r["content"].startswith("#")) >= 10
    assert sum(1 for r in maya if "\n- " in r["content"]) >= 15
    assert sum(1 for r in maya if len(r["content"].split()) >= 350) >= 5
    assert sum(1 for r in maya if "?" in r["content"]) >= 40


def test_not_one_template(records):
    sents = [s for r in records for s in _sentences(r["content"]) if len(s.split()) >= 5]
    assert len(set(sents)) / len(sents) > 0.6
    # many distinct ways to begin a sentence, not one skeleton with words swapped
    openings = {" ".join(s.split()[:2]).lower() for s in sents}
    assert len(openings) > 600


def _month(r: dict) -> str:
    return r["created_at"][:7]


@pytest.mark.parametrize("theme", ["new_job", "race_training", "grief"])
def test_planted_keywords_concentrate_in_their_windows(records, truth, theme):
    spec = truth["themes"][theme]
    start, end = spec["window"]["start"][:7], spec["window"]["end"][:7]
    maya = [r for r in records if r["identity"] == "maya"]
    hits = {True: [0, 0], False: [0, 0]}  # inside? -> [entries with >= 1 keyword, entries]
    for r in maya:
        inside = start <= _month(r) <= end
        hits[inside][0] += keyword_hits(r["content"], spec["keywords"]) > 0
        hits[inside][1] += 1
    rate_in = hits[True][0] / hits[True][1]
    rate_out = hits[False][0] / hits[False][1]
    assert rate_in > 0.15
    assert rate_in > 4 * rate_out, (rate_in, rate_out)


def test_new_job_is_first_half_and_race_second_half(truth):
    job, race = truth["themes"]["new_job"], truth["themes"]["race_training"]
    assert job["halves"]["first_share"] > 0.15 and job["halves"]["second_share"] == 0
    assert race["halves"]["second_share"] > 3 * race["halves"]["first_share"]
    assert race["mann_kendall_share"]["p_value"] < 0.001 and race["mann_kendall_share"]["slope"] > 0
    months = list(job["monthly_share"])
    inside = [m for m in months if "2024-04" <= m <= "2024-10"]
    assert all(job["monthly_share"][m] > 0.1 for m in inside)
    assert all(job["monthly_share"][m] == 0 for m in months if m not in inside)


def test_background_themes_keep_a_flat_share(truth, records):
    from mirror_kit.timeseries import mann_kendall

    background = [t for t, s in truth["themes"].items() if s.get("kind") == "background" and s["identity"] == "maya"]
    assert len(background) >= 4
    labels = truth["labels"]["reflections"]
    maya = [r for r in records if r["identity"] == "maya"]
    months = sorted({_month(r) for r in maya})
    half = len(months) // 2
    for theme in background:
        share = [sum(labels[r["id"]]["theme"] == theme for r in maya if _month(r) == m)
                 / sum(1 for r in maya if _month(r) == m) for m in months]
        assert min(share) > 0, theme  # written about every month
        assert mann_kendall(share)["p_value"] > 0.05, theme
        # and in the text: the theme's keywords are about as frequent in both halves
        kw = truth["themes"][theme]["keywords"]
        rates = []
        for part in (months[:half], months[half:]):
            rs = [r for r in maya if _month(r) in part]
            rates.append(sum(keyword_hits(r["content"], kw) > 0 for r in rs) / len(rs))
        assert 0.5 < rates[0] / rates[1] < 2.0, (theme, rates)


def test_solitude_to_connection_drift_in_the_labels(truth, records):
    from mirror_kit.timeseries import mann_kendall

    labels = truth["labels"]["reflections"]
    maya = [r for r in records if r["identity"] == "maya"]
    months = sorted({_month(r) for r in maya})
    series = [sum(labels[r["id"]]["social"] for r in maya if _month(r) == m)
              / sum(1 for r in maya if _month(r) == m) for m in months]
    mk = mann_kendall(series)
    assert mk["p_value"] < 0.001 and mk["slope"] > 0
    assert series[0] < -0.5 and series[-1] > 0.5
    assert {"tension": "solitude_connection", "direction": "+"}.items() <= truth["tensions"][0].items()


def test_load_sample_is_idempotent(journal):
    first = load_sample(journal)
    assert first["added"]["maya"] > 500 and first["skipped"] == 0
    n = journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0]
    assert n == first["total"]
    second = load_sample(journal)
    assert second["total"] == 0 and second["skipped"] == n
    assert journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == n
    r = journal.reflections.rows("maya", limit=1)[0]
    assert r.created_at.isoformat().startswith("2024-01-01")
    assert journal.conn.execute("SELECT count(*) FROM reflections WHERE source = 'sample' "
                                "AND source_id = id").fetchone()[0] == n


def test_load_sample_reports_bad_lines(journal, tmp_path):
    from mirror_kit.errors import InvalidInputError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "r_1", "identity": "x", "content": "hi", "created_at": "2024-01-01T10:00:00+01:00"}\n'
                   "{not json\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="line 2"):
        load_sample(journal, bad)
    assert journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 0


def test_load_sample_is_all_or_nothing(journal, tmp_path):
    from mirror_kit.errors import InvalidInputError

    bad = tmp_path / "half.jsonl"
    bad.write_text('{"id": "r_1", "identity": "newbie", "content": "fine", "created_at": "2024-01-01T10:00:00+01:00"}\n'
                   '{"id": "r_2", "identity": "newbie", "content": "bad date", "created_at": "not a date"}\n',
                   encoding="utf-8")
    with pytest.raises(InvalidInputError, match="created_at"):
        load_sample(journal, bad)
    assert journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 0
    assert [i.name for i in journal.identities.rows()] == []
    with pytest.raises(InvalidInputError, match="no such file"):
        load_sample(journal, tmp_path / "missing.jsonl")


def test_load_sample_one_identity(journal):
    counts = load_sample(journal, identities=["sam"])
    assert list(counts["added"]) == ["sam"] and counts["total"] == len(journal.reflections.rows("sam"))
    assert [i.name for i in journal.identities.rows()] == ["sam"]
