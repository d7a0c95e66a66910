"""One rule for word search everywhere: a reflection matches when it holds EVERY word of the query
(stems, case and accents ignored, stop words left out), in `journal.search` (text mode and the text
part of hybrid), `reflections.search(text=)`, the Explorer's search box, the HTTP API (a real
`mirror-kit serve` on loopback) and the browser code of the report (checked against SQLite's stems).
The expected sets come from tests/search_oracle.py, which reads SQLite's own index terms."""

from __future__ import annotations

import csv
import json
import re
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.search_words import RULE, browser_js, fts_match
from tests.plugins.server import serving
from tests.search_oracle import any_word_ids, matching_ids, sqlite_stems

ROOT = Path(__file__).resolve().parent.parent
TEXTS = {
    "both": ("Race training in the rain.", None),
    "stems": ("Raced the 10k after weeks of trained intervals.", None),
    "title": ("Training notes: tempo run.", "Race"),
    "accents": ("RACE-TRAINING, then a café stop.", None),
    "only_training": ("Training alone today.", None),
    "only_race": ("The race was cancelled.", None),
    "embrace": ("Embrace the training plan.", None),  # `embrace` is not `race`
    "neither": ("Nothing related at all.", None),
}
EVERY = {"both", "stems", "title", "accents"}


@pytest.fixture
def small(journal, journal_path):
    journal.identities.add("maya")
    ids = {key: journal.reflections.add("maya", text, f"2024-03-{i + 1:02d}", title=title).id
           for i, (key, (text, title)) in enumerate(TEXTS.items())}
    return journal, journal_path, ids


@pytest.mark.parametrize("query", ["race training", "Training RACE", "the races and the trainings", "räce, training!"])
def test_python_api_and_list_filter_match_every_word(small, query):
    journal, path, ids = small
    want = {ids[k] for k in EVERY}
    assert matching_ids(path, query) == want  # the oracle agrees with the hand-made expectation
    assert set(journal.search(query, identity="maya", k=100, mode="text")["reflection_id"]) == want
    assert {r.id for r in journal.reflections.search("maya", text=query, limit=100)} == want
    assert len(any_word_ids(path, "race training")) == 7 > len(want)  # what "any word" would have found


def test_match_expression_requires_every_word_and_stays_literal():
    assert fts_match("race training") == '"race" AND "training"'
    assert fts_match('NEAR(x "y" OR z') == '"near x" AND ("y" OR "z")'  # NEAR( is a word, OR is ours
    assert fts_match("the and of") == '"the" AND "and" AND "of"'  # only stop words: they are the query
    assert fts_match("?!") is None
    assert "every word" in RULE


def test_hybrid_text_part_and_explorer_box_follow_the_rule_on_the_sample_journal(viz_sample_db, tmp_path):
    from mirror_kit.viz.explorer import Explorer

    db = tmp_path / "sample.db"
    shutil.copyfile(viz_sample_db, db)
    with mirror_kit.open(db, readonly=True) as j:
        maya = j.identities.get("maya").id
        want = matching_ids(db, "race training", maya)
        assert 0 < len(want) < len(any_word_ids(db, "race training", maya))
        hybrid = j.search("race training", identity="maya", k=200)
        assert set(hybrid.loc[hybrid["fts_rank"].notna(), "reflection_id"]) == want
        ex = Explorer(j)
        ex.identity.value = "maya"
        ex.search.value = "race training"
        assert set(ex.state.selected) == want
        assert f"search “race training” · {len(want)} reflection" in ex.text.value


def _get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_http_search_and_list_match_every_word(small, tmp_path):
    journal, path, ids = small
    token = journal.tokens.create("maya", "read")[0]
    want = {ids[k] for k in EVERY}
    q = urllib.parse.quote("race training")
    with serving(path, tmp_path) as (base, _):
        text = _get(f"{base}/api/search?q={q}&mode=text&k=50", token)["data"]
        listed = _get(f"{base}/api/reflections?q={q}&limit=500", token)["data"]["items"]
    assert {h["reflection_id"] for h in text} == want
    assert {r["id"] for r in listed} == want


def test_report_browser_code_stems_and_splits_words_as_sqlite(browser):
    words = {"training", "trained", "races", "raced", "racing", "embrace", "café", "naïve", "caresses", "ponies",
             "hopping", "falling", "relational", "generalization", "don't", "x", "ab", "2024", "Größe", "ёлка"}
    with (ROOT / "tests" / "fixtures" / "import" / "happydb_slice.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            words.update(row["moment"].split())
    folded = sorted({w for text in words for w in re.findall(r"[^\W_]+", text.lower())})
    want = sqlite_stems(folded)
    page = browser.new_page()
    try:
        page.set_content(f"<script>{browser_js()}</script>")
        got = page.evaluate("ws => ws.map(w => Array.from(mkSearchTerms(w)))", folded)
        query = page.evaluate("q => mkQueryTerms(q)", "The Races and the TRAINING, café")
    finally:
        page.close()
    assert len(folded) > 500
    assert {w: g[0] for w, g in zip(folded, got, strict=True)} == want
    assert query == ["race", "train", "cafe"]
