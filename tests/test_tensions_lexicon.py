"""The seed lexicon count of a calibration with words: counted by terms, weighted by cross-validation,
added exactly when scoring, absent from older calibrations and from redefined seeds, checked when loaded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.tensions.definition import Pole, Tension, seed_tensions
from mirror_kit.tensions.lexicon import WEIGHT_GRID, lexicon_counts, lexicon_for
from mirror_kit.tensions.model import TensionScorer

TID = "solitude_connection"


def test_lexicon_count_is_pole_b_entries_minus_pole_a_entries_each_once():
    a, b = lexicon_for(TID)
    got = lexicon_counts([
        "We met my friends, my FRIENDS, for dinner.",  # we, met, my friends, friends: 4 (repeats count once)
        "I went by myself, alone.",  # by myself, myself, alone: -3 ("I" is not a term)
        "The weather was fine.",
        "",
    ], a, b)
    np.testing.assert_array_equal(got, [4.0, -3.0, 0.0, 0.0])
    assert lexicon_for("no_such_tension") is None
    # every entry is one or two terms as the words view sees them, or it could never count
    from mirror_kit.tensions.words import terms

    for tid in ("solitude_connection", "surrender_agency"):
        for entry in sum(lexicon_for(tid), []):
            assert terms(entry)[-1] == entry, entry


@pytest.fixture(scope="module")
def social_rows(happydb_embeddings):
    """2,400 HappyDB rows labelled for social: a 2,000-row journal (200 labelled) and 400 more."""
    df, E = happydb_embeddings
    idx = np.random.default_rng(11).permutation(len(df))[:2400]
    texts = df["moment"].astype(str).to_numpy()[idx]
    y = (df["social"] == "yes").to_numpy().astype(int)[idx]
    return E[idx], texts, y


@pytest.fixture(scope="module")
def embedder_cached(embedder):
    from mirror_kit.tensions.service import _CachingEncoder

    return _CachingEncoder(embedder)


def _scorer(emb, tension=None, **kw):
    t = tension or next(t for t in seed_tensions() if t.id == TID)
    return TensionScorer([t], embedder=emb, **kw).fit()


@pytest.mark.slow
def test_calibration_weights_the_lexicon_by_cv_and_scoring_adds_exactly_that(social_rows, embedder_cached):
    E, texts, y = social_rows
    lab, pool, other = np.arange(200), np.arange(2000), np.arange(2000, 2400)
    kw = dict(unlabelled=E[pool], texts=texts[lab], unlabelled_texts=texts[pool])
    with_lex = _scorer(embedder_cached)
    cal = with_lex.calibrate(E[lab], y[lab], TID, **kw)
    before = _scorer(embedder_cached, lexicon_weights=())
    old = before.calibrate(E[lab], y[lab], TID, **kw)

    # for people words the count helps out of fold, so a weight from the grid is kept
    lex = cal["lexicon"]
    assert lex["weight"] in WEIGHT_GRID and lex["weight"] > 0 and (lex["a"], lex["b"]) == lexicon_for(TID)
    assert cal["cv_auc"] > old["cv_auc"]
    # the axis and the words view are the estimator before's, to the bit
    assert "lexicon" not in old
    assert {k: v for k, v in cal.items() if k not in ("lexicon", "cv_auc")} == \
        {k: v for k, v in old.items() if k != "cv_auc"}

    X, t = E[other], texts[other]
    expected = before.decision(X, TID, t) + lex["weight"] * lexicon_counts(t, lex["a"], lex["b"])
    np.testing.assert_array_equal(with_lex.decision(X, TID, t), expected)
    # a stored copy scores the same; a stored calibration from before the lexicon scores as before
    stored = _scorer(embedder_cached, calibrations={TID: json.loads(json.dumps(cal))})
    np.testing.assert_array_equal(stored.decision(X, TID, t), expected)
    older = _scorer(embedder_cached, calibrations={TID: json.loads(json.dumps(old))})
    np.testing.assert_array_equal(older.decision(X, TID, t), before.decision(X, TID, t))

    # damaged or orphaned lexicon entries are refused in one line, the calibration in use is kept
    for bad, msg in [({**cal, "lexicon": {**lex, "weight": "x"}}, "lexicon of a calibration is damaged"),
                     ({**cal, "lexicon": {**lex, "b": "friends"}}, "lexicon of a calibration is damaged"),
                     ({k: v for k, v in cal.items() if k != "words"}, "has a lexicon but no words view")]:
        with pytest.raises(InvalidInputError, match=msg):
            stored.apply_calibration(TID, bad)
    np.testing.assert_array_equal(stored.decision(X, TID, t), expected)


@pytest.mark.slow
def test_seed_redefined_under_its_id_gets_no_lexicon(social_rows, embedder_cached):
    E, texts, y = social_rows
    seed = next(t for t in seed_tensions() if t.id == TID)
    other = Tension(TID, seed.name, Pole("indoors", anchors=["I stayed inside all day.", "I read at home."]),
                    Pole("outdoors", anchors=["I went hiking in the hills.", "I walked in the park."]))
    lab = np.arange(120)
    cal = _scorer(embedder_cached, other).calibrate(E[lab], y[lab], TID, unlabelled=E[:600], texts=texts[lab],
                                                   unlabelled_texts=texts[:600])
    assert cal.get("words") and "lexicon" not in cal
