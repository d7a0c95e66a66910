"""Search: FTS5 index kept in step with reflections, hybrid ranking on the real sample journal
(real SQLite, real MiniLM embeddings), read-only behaviour and the `mirror-kit search` CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError, NotFoundError
from mirror_kit.sample import load_truth
from mirror_kit.search import fts_query
from tests.plugins.store import run_cli, snapshot

HOSTILE = ['"', 'AND', 'OR NOT', 'a:b', '(*', 'NEAR(x y', "it's", 'title:run^', '"half marathon', '-', '***',
           'café naïve', '\x00', "'; DROP TABLE reflections; --"]


@pytest.fixture(scope="module")
def themes():
    return {rid: lab["theme"] for rid, lab in load_truth()["labels"]["reflections"].items()}


@pytest.fixture
def sample_copy(patterns_embedded_db, tmp_path):
    dst = tmp_path / "sample.db"
    shutil.copy(patterns_embedded_db, dst)
    return dst


def test_race_training_query_finds_race_training_reflections(sample_copy, themes):
    with mirror_kit.open(sample_copy, readonly=True) as j:
        df = j.search("race training", identity="maya", k=10)
    assert list(df.columns[:7]) == ["reflection_id", "created_at", "score", "fts_rank", "vector_rank",
                                    "similarity", "why"]
    hits = [themes[r] for r in df["reflection_id"]]
    assert hits.count("race_training") >= 9, hits
    assert df["score"].is_monotonic_decreasing
    top = df.iloc[0]
    assert "words:" in top["why"] and "meaning" in top["why"] and "[" in top["snippet"]


@pytest.mark.parametrize("query,theme", [("grieving my grandmother", "grief"), ("stress at the office", "new_job"),
                                          ("repotting tomato seedlings", "garden")])
def test_each_mode_ranks_the_theme_first_and_hybrid_is_never_worse(sample_copy, themes, query, theme):
    with mirror_kit.open(sample_copy, readonly=True) as j:
        prec = {m: sum(themes[r] == theme for r in j.search(query, identity="maya", k=10, mode=m)["reflection_id"])
                for m in ("hybrid", "text", "meaning")}
    assert prec["hybrid"] >= 8, prec
    assert prec["hybrid"] >= min(prec["text"], prec["meaning"]), prec


def test_more_like_this_returns_the_same_theme_and_not_itself(sample_copy, themes):
    with mirror_kit.open(sample_copy, readonly=True) as j:
        grief = next(r for r, t in themes.items() if t == "grief")
        df = j.search(like=grief, k=10)
        assert grief not in set(df["reflection_id"])
        assert sum(themes[r] == "grief" for r in df["reflection_id"]) >= 8
        assert df["why"].str.startswith(f"like {grief}").all()
        with pytest.raises(NotFoundError, match="no reflection with id 'r_nope'"):
            j.search(like="r_nope")


def test_filters_bound_time_tag_and_identity(sample_copy):
    with mirror_kit.open(sample_copy, readonly=True) as j:
        df = j.search("morning", identity="maya", k=50, since="2025-01-01", until="2025-03-31")
        assert len(df) and df["created_at"].between("2025-01-01", "2025-03-31T23:59:59Z").all()
        tag = j.execute("SELECT t.name FROM tags t JOIN reflection_tags rt ON rt.tag_id = t.id "
                        "GROUP BY t.id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        tagged = {r[0] for r in j.execute(
            "SELECT rt.reflection_id FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id WHERE t.name = ?",
            (tag,))}
        df = j.search("today", k=500, tag=tag.upper())
        assert set(df["reflection_id"]) == tagged  # every tagged reflection and nothing else
        sam = j.identities.get("sam").id
        df = j.search("dog park", identity="sam", k=20)
        owners = {j.reflections.get(r).identity_id for r in df["reflection_id"]}
        assert owners == {sam}


def test_search_never_writes_even_with_missing_vectors(sample_copy):
    with mirror_kit.open(sample_copy) as j:
        rid = j.reflections.add("maya", "Intervals on the track: six by eight hundred at threshold pace.",
                                "2025-08-30").id
        n_vectors = j.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    before = snapshot(sample_copy)
    with mirror_kit.open(sample_copy) as j:  # writable handle: still nothing may be stored
        df = j.search("interval session on the running track", identity="maya", k=5, mode="meaning")
        assert rid in set(df["reflection_id"])  # found through a vector computed in memory
        assert j.execute("SELECT count(*) FROM embeddings").fetchone()[0] == n_vectors
    with mirror_kit.open(sample_copy, readonly=True) as j:
        assert rid in set(j.search("track intervals", identity="maya", k=5)["reflection_id"])
    assert snapshot(sample_copy) == before


def test_index_follows_add_update_and_delete(journal):
    journal.identities.add("maya")
    rid = journal.reflections.add("maya", "Sourdough starter bubbling on the windowsill.", "2024-03-01",
                                  title="Bread").id
    search = lambda q: list(journal.search(q, identity="maya", mode="text")["reflection_id"])  # noqa: E731
    assert search("sourdough") == [rid] and search("bread") == [rid]  # title is indexed too
    assert search("bubbles") == [rid]  # stemming: bubbles ~ bubbling
    journal.reflections.update(rid, content="Planted basil seedlings.", title=None)
    assert search("sourdough") == [] and search("bread") == [] and search("seedling") == [rid]
    journal.reflections.delete(rid)
    assert search("basil") == []
    assert journal.execute("SELECT count(*) FROM search_docs").fetchone()[0] == 0
    assert journal.execute("SELECT count(*) FROM reflections_fts").fetchone()[0] == 0


def test_typed_text_with_fts_operators_never_raises(journal):
    journal.identities.add("maya")
    journal.reflections.add("maya", "It's a café with naïve art; NEAR the title: run^", "2024-03-01")
    for q in HOSTILE:
        match = fts_query(q)
        assert match is None or all(part.startswith('"') and part.endswith('"') for part in match.split(" AND "))
        if match is not None:
            journal.search(q, identity="maya", mode="text")
        else:  # no word to search for: refused, as on every surface
            with pytest.raises(InvalidInputError, match="no word to search for"):
                journal.search(q, identity="maya", mode="text")
    assert len(journal.search("cafe naive", identity="maya", mode="text")) == 1  # diacritics folded
    for bad in ("", "   "):
        with pytest.raises(InvalidInputError, match="no word to search for"):
            journal.search(bad, identity="maya")
    with pytest.raises(InvalidInputError, match="k must be an integer from 1 to"):
        journal.search("x", identity="maya", k=0)
    with pytest.raises(InvalidInputError, match="either a query or like"):
        journal.search(identity="maya")


def _before_search(migrator) -> None:
    """Roll back to the schema just before the search migration (and whatever came after it)."""
    version = next(int(p.name[:4]) for p in (Path(__file__).resolve().parents[1] / "migrations").glob("*_search.up.sql"))
    migrator.down(migrator.current_version() - version + 1, force=True)


def test_migration_indexes_existing_reflections_and_down_removes_the_index(journal):
    journal.identities.add("maya")
    _before_search(journal.migrator)
    assert journal.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE '%fts%' OR name = 'search_docs' "
                           "OR name LIKE 'reflections_search_%'").fetchone()[0] == 0
    rid = journal.reflections.add("maya", "Long run along the river at an easy pace.", "2024-03-01").id
    journal.migrator.up()
    assert list(journal.search("river", identity="maya", mode="text")["reflection_id"]) == [rid]
    assert journal.migrator.verify()["ok"]


def test_cli_search_prints_id_date_score_and_snippet_and_changes_nothing(sample_copy, tmp_path, themes):
    before = snapshot(sample_copy)
    p = run_cli("--db", str(sample_copy), "search", "race training", "--identity", "maya", "--k", "3",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "date", "score", "why"] and len(lines) == 4
    rid, day = lines[1].split()[:2]
    assert themes[rid] == "race_training" and day[:2] == "20" and "[" in lines[1]
    p = run_cli("--db", str(sample_copy), "search", '"half (marathon', "-i", "maya", "--json", "--since", "2025-01-01", "--mode", "text",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert rows and all(r["created_at"] >= "2025-01-01" for r in rows)
    p = run_cli("--db", str(sample_copy), "search", "x", "-i", "nobody", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "unknown identity 'nobody'" in p.stderr
    p = run_cli("--db", str(sample_copy), "search", "-i", "maya", cwd=tmp_path)
    assert p.returncode == 2 and "give a QUERY or --like" in p.stderr
    assert snapshot(sample_copy) == before


def test_search_on_an_older_read_only_journal_falls_back_to_meaning(sample_copy):
    with mirror_kit.open(sample_copy) as j:
        _before_search(j.migrator)
    raw = sqlite3.connect(sample_copy)
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'reflections_fts'").fetchone()[0] == 0
    raw.close()
    with mirror_kit.open(sample_copy, readonly=True) as j:
        df = j.search("race training", identity="maya", k=5)
        assert len(df) == 5 and df["fts_rank"].isna().all()
        with pytest.raises(mirror_kit.errors.MirrorKitError, match="no full-text index"):
            j.search("race", identity="maya", mode="text")
