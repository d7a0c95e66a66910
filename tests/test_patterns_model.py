"""PatternModel on real embeddings: HappyDB quality floors, determinism, small corpora, keywords."""

from __future__ import annotations

import numpy as np
import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.patterns.keywords import class_keywords, make_label
from mirror_kit.patterns.model import PatternModel


@pytest.fixture(scope="module")
def happydb_fit(happydb_embeddings):
    df, E = happydb_embeddings
    model = PatternModel(random_state=0).fit(E, texts=df["moment"].tolist())
    return df, E, model


@pytest.mark.slow
def test_happydb_quality_floors_with_automatic_number_of_patterns(happydb_fit):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    df, E, model = happydb_fit
    single = ~df["concepts"].str.contains("|", regex=False)
    truth = df.loc[single, "concepts"].to_numpy()
    pred = model.labels_[single.to_numpy()]
    nmi = normalized_mutual_info_score(truth, pred)
    ari = adjusted_rand_score(truth, pred)
    unassigned = float((model.labels_ < 0).mean())
    assert nmi >= 0.50, nmi
    assert ari >= 0.38, ari
    assert unassigned <= 0.10, unassigned
    # chosen, not told: a sensible number of themes for 15 human ones
    assert 8 <= model.n_patterns_ <= 30
    p = model.patterns_
    assert len(p) == model.n_patterns_ and p["size"].sum() == int((model.labels_ >= 0).sum())
    assert p["confidence"].between(0, 1).all()
    assert all(isinstance(lbl, str) and lbl and not lbl.startswith("pattern ") for lbl in p["label"])
    # the human themes show up in the labels: a dog/cat theme and a work/job theme
    joined = " | ".join(p["label"])
    assert any(w in joined for w in ("dog", "cat", "puppy")), joined
    assert any(w in joined for w in ("work", "job")), joined


@pytest.mark.slow
def test_happydb_outlier_rows_are_the_least_similar(happydb_fit):
    _, E, model = happydb_fit
    sims = model.transform(E).max(1)
    if (model.labels_ < 0).any():
        assert sims[model.labels_ < 0].max() < sims[model.labels_ >= 0].min() + 1e-9
    assert (model.predict(E[:500]) == model.labels_[:500]).all()
    assert np.all((model.strengths_ >= 0) & (model.strengths_ <= 1))


def _subset(happydb_embeddings, themes, per_theme):
    df, E = happydb_embeddings
    single = df[~df["concepts"].str.contains("|", regex=False)]
    idx = np.concatenate([single.index[single["concepts"] == t][:per_theme] for t in themes])
    return df.loc[idx].reset_index(drop=True), E[idx]


def test_same_seed_same_result_and_input_order_does_not_matter(happydb_embeddings):
    df, E = _subset(happydb_embeddings, ["exercise", "animals", "food", "career", "religion", "weather"], 150)
    texts = df["moment"].tolist()
    a = PatternModel(random_state=3).fit(E, texts=texts)
    b = PatternModel(random_state=3).fit(E, texts=texts)
    assert (a.labels_ == b.labels_).all()
    assert a.patterns_["label"].tolist() == b.patterns_["label"].tolist()
    perm = np.random.default_rng(7).permutation(len(E))
    c = PatternModel(random_state=3).fit(E[perm], texts=[texts[i] for i in perm])
    assert (c.labels_ == a.labels_[perm]).all()
    assert c.patterns_["label"].tolist() == a.patterns_["label"].tolist()
    assert np.allclose(c.cluster_centers_, a.cluster_centers_, atol=1e-6)


def test_twenty_reflections_give_a_few_sensible_patterns(happydb_embeddings):
    from sklearn.metrics import adjusted_rand_score

    df, E = _subset(happydb_embeddings, ["exercise", "animals", "food", "career"], 5)
    model = PatternModel().fit(E, texts=df["moment"].tolist())
    assert 2 <= model.n_patterns_ <= 8
    assert (model.labels_ >= 0).mean() >= 0.9
    assert adjusted_rand_score(df["concepts"], model.labels_) > 0.3


def test_asking_for_a_number_and_granularity(happydb_embeddings):
    df, E = _subset(happydb_embeddings, ["exercise", "animals", "food", "career", "religion", "weather"], 60)
    assert PatternModel(n_patterns=4).fit(E).n_patterns_ == 4
    coarse = PatternModel(granularity="coarse", merge_threshold=None).fit(E).n_patterns_
    fine = PatternModel(granularity="fine", merge_threshold=None).fit(E).n_patterns_
    assert coarse < fine


def test_tiny_and_bad_inputs():
    E = np.eye(3, 8, dtype=np.float32)
    m = PatternModel().fit(E, texts=["a run", "a walk", "a swim"])
    assert m.n_patterns_ == 1 and (m.labels_ == 0).all()
    with pytest.raises(InvalidInputError, match="texts has 2 items"):
        PatternModel().fit(E, texts=["x", "y"])
    with pytest.raises(InvalidInputError, match="NaN"):
        PatternModel().fit(np.full((5, 3), np.nan))
    with pytest.raises(InvalidInputError, match="2D array"):
        PatternModel().fit(np.zeros(5))


def test_class_keywords_prefer_repeated_phrases_and_drop_stop_words():
    texts = [
        "started my new job at the office, the manager was kind",
        "second week at the new job, a deadline on friday",
        "new job onboarding with the manager today",
        "baked sourdough bread and a tomato soup",
        "sourdough bread again, the oven is too hot",
        "made soup for dinner with the last tomatoes",
    ]
    kw = class_keywords(texts, [0, 0, 0, 1, 1, 1], 2, top_n=4)
    words0 = [w for w, _ in kw[0]]
    words1 = [w for w, _ in kw[1]]
    assert words0[0] == "new job"
    assert "sourdough bread" in words1
    assert not {"the", "and", "a", "today"} & set(words0 + words1)
    assert make_label(kw[0]).startswith("new job")


def test_an_asked_number_of_patterns_outside_the_sensible_range_is_refused():
    rng = np.random.default_rng(0)
    E = rng.normal(size=(30, 8)).astype(np.float32)
    for bad in (1, 11, 100000, 2.5, True):
        with pytest.raises(InvalidInputError, match=r"n_patterns must be a whole number from 2 to 10 for 30"):
            PatternModel(n_patterns=bad, n_seeds=2).fit(E)
    assert PatternModel(n_patterns=10, n_seeds=2).fit(E).n_patterns_ <= 10


def test_library_warnings_never_reach_the_caller_raw():
    import warnings

    # 30 rows but only 3 distinct points: KMeans asked for 6 clusters warns (ConvergenceWarning)
    E = np.repeat(np.eye(3, 8, dtype=np.float32), 10, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = PatternModel(n_patterns=6, n_seeds=2, outlier_mads=None).fit(E)
    assert any("distinct clusters" in w for w in m.info_["warnings"])
