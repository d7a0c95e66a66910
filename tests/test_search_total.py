"""A word search cut at k says how many reflections match in all, counted by the same word rule:
the Explorer's reading panel ("first 500 of 620 reflections"), `journal.search(mode="text")`'s
`attrs["total"]`, the CLI (a line on stderr) and `/api/search` on a real `mirror-kit serve`
(`total`). Meaning and hybrid searches rank every reflection, so they report no total."""

from __future__ import annotations

import json
import urllib.request

import pytest

import mirror_kit
from mirror_kit.search import search_service
from mirror_kit.search_words import MAX_K
from mirror_kit.viz.state import ExplorerState
from tests.plugins.server import serving
from tests.plugins.store import run_cli

LENTIL_DAYS = 620  # more than MAX_K, so the Explorer's default search is cut


@pytest.fixture(scope="module")
def lentils(tmp_path_factory):
    db = tmp_path_factory.mktemp("lentils") / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.identities.add("sam")
        j.reflections.add_many("maya", [
            {"content": f"Cooked lentils again, batch {i}.", "created_at": f"2024-{1 + i % 9:02d}-{1 + i % 28:02d}T"
             f"{i % 24:02d}:{i % 60:02d}:00"} for i in range(LENTIL_DAYS)]
            + [{"content": f"Walk number {i}.", "created_at": f"2024-02-{1 + i % 28:02d}T10:{i % 60:02d}:00"}
               for i in range(30)])
        j.reflections.add_many("sam", [{"content": "Lentil soup.", "created_at": f"2024-03-{d:02d}"}
                                       for d in range(1, 11)])
    return db


def test_explorer_search_says_it_shows_the_first_500_of_all_matches(lentils):
    with mirror_kit.open(lentils, readonly=True) as j:
        s = ExplorerState(j, "maya")
        s.search("lentils")
        assert len(s.selected) == MAX_K and s.selection_total == LENTIL_DAYS
        assert f"search “lentils” · first {MAX_K} of {LENTIL_DAYS} reflections" in s.selection_html()
        # stems count as in the search itself: "lentil" and "Lentils" are the same word
        s.search("LENTIL")
        assert f"first {MAX_K} of {LENTIL_DAYS} reflections" in s.selection_html()
        # the range shown bounds the total as it bounds the hits
        s.update(since="2024-03-01", until="2024-03-31")
        s.search("lentils")
        march = len(j.search("lentils", identity="maya", mode="text", k=MAX_K, since="2024-03-01",
                             until="2024-03-31"))
        assert 0 < march < MAX_K and s.selection_total == march
        assert f"search “lentils” · {march} reflections</b>" in s.selection_html()
        # a click selection after a cut search no longer claims a total
        s.select(s.selected[:3], "clicked")
        assert s.selection_total is None and "clicked · 3 reflections" in s.selection_html()
        s.update(since=None, until=None)
        s.search("walk")
        assert s.selection_total == 30 and "search “walk” · 30 reflections" in s.selection_html()


def test_text_search_total_counts_every_match_within_the_filters_and_other_modes_have_none(lentils):
    with mirror_kit.open(lentils, readonly=True) as j:
        df = j.search("lentils", identity="maya", mode="text", k=5)
        assert len(df) == 5 and df.attrs["total"] == LENTIL_DAYS
        assert j.search("lentils", mode="text", k=5).attrs["total"] == LENTIL_DAYS + 10  # every identity
        n = search_service(j).count("lentils", identity="maya", since="2024-03-01", until="2024-03-31")
        assert n == len(j.search("lentils", identity="maya", mode="text", k=MAX_K, since="2024-03-01",
                                 until="2024-03-31"))
        assert j.search("nothingmatches", identity="maya", mode="text").attrs["total"] == 0
        assert j.search("lentils walk", identity="maya", mode="text").attrs["total"] == 0
        assert "total" not in j.search("lentils", identity="sam", mode="meaning", k=3).attrs


def test_cli_search_says_on_stderr_when_k_cut_the_matches(lentils, tmp_path):
    p = run_cli("--db", str(lentils), "search", "lentils", "-i", "maya", "--mode", "text", "--k", "10",
                "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)) == 10  # stdout stays the plain list
    assert f"showing 10 of {LENTIL_DAYS} matches (--k to see more" in p.stderr
    p = run_cli("--db", str(lentils), "search", "lentils", "-i", "sam", "--mode", "text", "--k", "20", cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == "", p.stderr  # all 10 shown: nothing to say


def test_http_search_reports_the_total_in_text_mode_only(lentils, tmp_path):
    with mirror_kit.open(lentils) as j:
        token = j.tokens.create("maya", "read")[0]

    def get(base: str, path: str) -> dict:
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    with serving(lentils, tmp_path) as (base, _):
        body = get(base, "/api/search?q=lentils&mode=text&k=7")
        assert len(body["data"]) == 7 and body["total"] == LENTIL_DAYS
        body = get(base, "/api/search?q=walk&mode=text&k=50")
        assert len(body["data"]) == 30 and body["total"] == 30
        body = get(base, "/api/search?q=lentils&mode=text&k=7&since=2024-03-01&until=2024-03-31")
        assert 7 < body["total"] < LENTIL_DAYS
