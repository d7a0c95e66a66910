"""The words view of tension calibration: its scorer equals scikit-learn's, it helps on held-out rows,
it does not depend on row order, old calibrations score as before, and every journal path uses texts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.tensions.definition import seed_tensions
from mirror_kit.tensions.model import TensionScorer
from mirror_kit.tensions.words import WordsFitter, WordsView, terms

pytestmark = pytest.mark.slow

TID = "solitude_connection"
AGENCY = "surrender_agency"
ODD_TEXTS = [
    "Café with Zoë and José: we laughed, we laughed a LOT!",
    "I don't know... maybe I'll stay in, alone, alone, alone.",
    "",
    "a b c",  # no token of two characters
    "Ünïcödé naïve façade — 42 times, snake_case and e-mail",
    "friends friends friends family dinner together tonight",
    "walked alone by the river, quiet and calm",
    "ｆｕｌｌｗｉｄｔｈ letters and ﬁ ligatures",
]


def _fitted_view(max_terms=None):
    pool = ODD_TEXTS * 2 + ["we met friends for dinner", "I read alone at home", "dinner with my family",
                            "alone in the quiet house"]
    t = next(t for t in seed_tensions() if t.id == TID)
    fitter = WordsFitter(pool, t.phrases("a"), t.phrases("b"), max_terms=max_terms)
    z = np.linspace(-2, 2, len(pool))
    return fitter.fit(z, ["we met friends for dinner", "I read alone at home"], np.array([1, 0]), 1.5, 1.0)


@pytest.mark.parametrize("max_terms", [None, 25])
def test_words_scorer_equals_sklearn_tfidf_times_coef(max_terms):
    from sklearn.feature_extraction.text import TfidfVectorizer

    d = _fitted_view(max_terms)
    assert d["terms"] == sorted(d["terms"])
    if max_terms:
        assert len(d["terms"]) == max_terms
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", vocabulary=d["terms"])
    vec.fit(ODD_TEXTS)
    vec.idf_ = np.asarray(d["idf"])
    probe = ODD_TEXTS + ["Friends, friends and more FRIENDS at dinner", "completely unseen vocabulary here"]
    expected = vec.transform(probe) @ np.asarray(d["coef"]) + d["intercept"]
    ours = WordsView(d).decision(probe)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    an = vec.build_analyzer()
    assert all(terms(t) == an(t) for t in probe)


@pytest.fixture(scope="module")
def small_happy(happydb_embeddings):
    """3,000 HappyDB rows labelled for agency: a 2,000-row journal (200 of them labelled) and 1,000 held-out rows."""
    df, E = happydb_embeddings
    idx = np.random.default_rng(7).permutation(len(df))[:3000]
    texts = df["moment"].astype(str).to_numpy()[idx]
    y = (df["agency"] == "yes").to_numpy().astype(int)[idx]
    return E[idx], texts, y, np.arange(2000), np.arange(200), np.arange(2000, 3000)


@pytest.fixture(scope="module")
def embedder_cached(embedder):
    from mirror_kit.tensions.service import _CachingEncoder

    return _CachingEncoder(embedder)


def _scorer(emb):
    return TensionScorer([t for t in seed_tensions() if t.id == AGENCY], embedder=emb).fit()


def test_calibration_with_words_beats_zero_shot_and_the_axis_alone_on_held_out_rows(small_happy, embedder_cached):
    from sklearn.metrics import roc_auc_score

    E, texts, y, pool, lab, held = small_happy
    words = _scorer(embedder_cached)
    cal = words.calibrate(E[lab], y[lab], AGENCY, unlabelled=E[pool], texts=texts[lab], unlabelled_texts=texts[pool])
    axis = _scorer(embedder_cached)
    axis.calibrate(E[lab], y[lab], AGENCY, unlabelled=E[pool])
    zero = roc_auc_score(y[held], axis.raw_scores(E[held], AGENCY)[0])
    auc_axis = roc_auc_score(y[held], axis.decision(E[held], AGENCY))
    auc_words = roc_auc_score(y[held], words.decision(E[held], AGENCY, texts[held]))
    assert auc_words > zero + 0.03, (auc_words, zero)
    assert auc_words > auc_axis, (auc_words, auc_axis)
    assert cal["words"]["terms"] and cal["cv_auc"] > 0.8
    with pytest.raises(InvalidInputError, match="calibrated with words: scoring needs the reflections' texts"):
        words.score_frame(E[held], list(range(len(held))))
    with pytest.raises(InvalidInputError, match="3 texts for 1000 embeddings"):
        words.transform(E[held], texts[:3])


def test_calibration_with_words_is_the_same_whatever_the_row_order(small_happy, embedder_cached):
    E, texts, y, pool, lab, held = small_happy
    first = _scorer(embedder_cached).calibrate(E[lab], y[lab], AGENCY, unlabelled=E[pool], texts=texts[lab],
                                               unlabelled_texts=texts[pool])
    rng = np.random.default_rng(3)
    lab2, pool2 = rng.permutation(lab), rng.permutation(pool)
    second = _scorer(embedder_cached).calibrate(E[lab2], y[lab2], AGENCY, unlabelled=E[pool2], texts=texts[lab2],
                                                unlabelled_texts=texts[pool2])
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_calibration_stored_without_words_scores_as_before(small_happy, embedder_cached):
    E, texts, y, pool, lab, held = small_happy
    old = _scorer(embedder_cached)
    cal = old.calibrate(E[lab], y[lab], AGENCY, unlabelled=E[pool])
    assert "words" not in cal
    s = TensionScorer([t for t in seed_tensions() if t.id == AGENCY], embedder=embedder_cached,
                      calibrations={AGENCY: json.loads(json.dumps(cal))}).fit()
    X = E[held]
    before = X @ np.asarray(cal["coef"], dtype=np.float32) + cal["prior_coef"] * s.raw_scores(X, AGENCY)[0] \
        + cal["intercept"]
    assert not s.needs_texts()
    np.testing.assert_array_equal(s.decision(X, AGENCY), before)
    np.testing.assert_array_equal(s.decision(X, AGENCY, texts[held]), before)
    np.testing.assert_array_equal(s.position_intensity(X, AGENCY)[0], np.tanh(before / 2.0).astype(float))
    damaged = {**cal, "words": {**_fitted_view(), "idf": [1.0]}}
    with pytest.raises(InvalidInputError, match="words view of a calibration is damaged"):
        s.apply_calibration(AGENCY, damaged)
    np.testing.assert_array_equal(s.decision(X, AGENCY), before)  # the calibration in use is unchanged


def _positions(j, tid=TID):
    return dict(j.conn.execute("SELECT reflection_id, position FROM tension_observations WHERE tension_id = ?",
                               (tid,)).fetchall())


def test_journal_calibration_fits_words_and_every_scoring_path_uses_texts(sample_journal, sample_truth):
    import mirror_kit

    j = sample_journal
    labels = {rid: v["social"] for rid, v in sample_truth["labels"]["reflections"].items() if "social" in v}
    ids = [r.id for r in j.reflections.rows("maya")]
    chosen = {rid: labels[rid] for rid in ids if rid in labels}
    chosen = dict(list(chosen.items())[:60])
    res = j.tensions.calibrate(TID, chosen)
    cal = json.loads(j.conn.execute("SELECT calibration FROM tensions WHERE id = ?", (TID,)).fetchone()[0])
    assert res["words_terms"] == len(cal["words"]["terms"]) > 100 and res["rescored"] >= len(ids)
    assert j.tensions.get(TID, "maya").calibration["words_terms"] == res["words_terms"]
    rescored = _positions(j)

    # the words move positions away from the axis alone
    axis_only = {k: v for k, v in cal.items() if k not in ("words", "lexicon")}
    ids_all, E = j.embeddings.matrix("maya")
    from mirror_kit.tensions.service import _CachingEncoder

    s = TensionScorer([t for t in seed_tensions() if t.id == TID], calibrations={TID: axis_only},
                      embedder=_CachingEncoder(j.embeddings.embedder, j.embeddings.model_name())).fit()
    plain = s.position_intensity(E, TID)[0]
    assert max(abs(rescored[r] - p) for r, p in zip(ids_all, plain, strict=True)) > 1e-3

    # the analysis after a calibration scores everything again, as the calibration's rescoring did
    assert j.tensions.analyze("maya")["mode"] == "full"
    after = _positions(j)
    for rid in ids:
        assert after[rid] == pytest.approx(rescored[rid], abs=1e-9)

    # new reflections: incremental analysis and `score` give what a full refit gives
    new = [j.reflections.add("maya", text, created_at=f"2025-09-0{i + 1}T20:00:00Z").id for i, text in enumerate([
        "Dinner with my whole family, everyone talking at once and laughing.",
        "Stayed home by myself all weekend reading, no calls, no plans.",
    ])]
    res_inc = j.tensions.analyze("maya")
    assert res_inc["mode"] == "incremental" and res_inc["scored"] == 2
    inc = _positions(j)
    scored = j.tensions.score(new).set_index(["reflection_id", "tension_id"])["position"]
    j.tensions.analyze("maya", refit=True)
    full = _positions(j)
    assert set(inc) == set(full)

    for rid in full:
        assert inc[rid] == pytest.approx(full[rid], abs=1e-9)
    for rid in new:
        assert scored[(rid, TID)] == pytest.approx(full[rid], abs=1e-9)
    assert full[new[0]] > 0 > full[new[1]]

    # a read-only journal scores from the stored calibration with texts too
    j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with mirror_kit.open(j.path, readonly=True) as ro:
        again = ro.tensions.score(new).set_index(["reflection_id", "tension_id"])["position"]
    for rid in new:
        assert again[(rid, TID)] == pytest.approx(full[rid], abs=1e-9)
