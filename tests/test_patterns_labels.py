"""Pattern names from the reflections' own phrases, and names a user gives that survive re-analysis
(real sample journal, real MiniLM embeddings)."""

from __future__ import annotations

import re

import pytest

from mirror_kit.errors import InvalidInputError, NotFoundError
from mirror_kit.patterns.keywords import _stop_words
from mirror_kit.patterns.labels import _is_candidate, candidate_scores
from mirror_kit.sample import load_truth
from tests.plugins.store import run_cli
from tests.test_patterns_api import PLANTED, _best_match


def _theme_words(spec: dict, theme: str) -> set[str]:
    words = set(theme.split("_"))
    for kw in spec["keywords"]:
        words.update(kw.split())
    return words


def test_planted_patterns_have_short_names_with_a_word_of_their_theme(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    truth = load_truth()
    labels = truth["labels"]["reflections"]
    df = j.patterns.frame("maya")
    for theme in PLANTED:
        pid = _best_match(j, labels, theme)[0]
        label = df.set_index("id").loc[pid, "label"]
        words = re.findall(r"[a-z]+", label.lower())
        assert 1 <= len(words) <= 5 and label[0].isupper(), label
        assert set(words) & _theme_words(truth["themes"][theme], theme), (theme, label)
    assert df["label"].is_unique
    assert not df["label"].str.contains(",").any()  # names, not keyword lists
    assert df["keywords"].map(len).min() >= 3  # keywords are still there


def test_candidates_are_phrases_not_sentence_fragments():
    stop = _stop_words()
    for good in ("new job", "half marathon", "gnocchi with sage", "grief", "long run"):
        assert _is_candidate(good, stop), good
    for bad in ("walked", "really tired", "funeral telling stories", "the dog", "new", "km", "handle the job",
                "slept badly", "quickly"):
        assert not _is_candidate(bad, stop), bad
    texts = ["training for the half marathon", "half marathon pace today", "baked sourdough bread",
             "sourdough bread again", "half marathon long run"]
    cands = candidate_scores(texts, [0, 0, 1, 1, 0], 2)
    assert "half marathon" in [p for p, _ in cands[0]] and "sourdough bread" in [p for p, _ in cands[1]]
    assert "half marathon" not in [p for p, _ in cands[1]]


def test_a_users_name_survives_reanalysis_and_shows_everywhere(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    pid = j.patterns.frame("maya").iloc[0]["id"]
    auto = j.patterns.frame("maya").set_index("id").loc[pid, "label"]
    assert j.patterns.rename(pid, "  My   everyday life ") == "My everyday life"
    j.patterns.analyze("maya")
    df = j.patterns.frame("maya").set_index("id")
    assert df.loc[pid, "label"] == "My everyday life"
    assert j.patterns.get(pid).label == "My everyday life"
    assert j.patterns.get(pid).metadata["auto_label"] == auto
    assert "My everyday life" in set(j.patterns.trends("maya")["label"])
    assert j.patterns.rename(pid, None) == auto  # back to the computed name
    j.patterns.analyze("maya")
    assert j.patterns.get(pid).label == auto
    with pytest.raises(NotFoundError, match="no pattern with id 'p_nope'"):
        j.patterns.rename("p_nope", "x")
    for bad, why in (("a" * 81, "at most 80"), ("two\nlines", "one line"), (3, "must be text"),
                     ("\x1b[31mred", "control characters")):
        with pytest.raises(InvalidInputError, match=why):
            j.patterns.rename(pid, bad)


def test_a_name_another_pattern_of_the_person_has_is_refused(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    first, second = j.patterns.frame("maya")["id"].iloc[:2]
    j.patterns.rename(first, "Marathon")
    with pytest.raises(InvalidInputError, match=f"another pattern \\({first}\\) is already called 'MARATHON'"):
        j.patterns.rename(second, "MARATHON")
    assert j.patterns.get(second).label != "MARATHON"
    assert j.patterns.rename(first, "Marathon") == "Marathon"  # its own name again is fine
    j.patterns.rename(first, "")


def test_cli_rename_then_list_shows_the_name(patterns_analyzed_path, tmp_path):
    p = run_cli("--db", str(patterns_analyzed_path), "patterns", "list", "-i", "maya", "--json", cwd=tmp_path)
    import json

    pid = json.loads(p.stdout)[0]["id"]
    p = run_cli("--db", str(patterns_analyzed_path), "patterns", "rename", pid, "Marathon training", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.strip() == f"{pid}  Marathon training", p.stderr
    p = run_cli("--db", str(patterns_analyzed_path), "patterns", "list", "-i", "maya", cwd=tmp_path)
    assert "Marathon training" in p.stdout
    p = run_cli("--db", str(patterns_analyzed_path), "patterns", "rename", "p_nope", "x", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.strip() == "error: no pattern with id 'p_nope'"
