"""The words view of a calibrated tension: a TF-IDF logistic model of the reflections' own words.

A calibrated axis is a line in embedding space; some of what people mean by a pole is carried by
plain words ("I decided", "with my friends") that the embedding blurs. The words view is taught by
the calibrated embedding axis itself on the whole journal (every reflection labelled by which side
of the axis it falls, cut at the labelled share of pole b), by the real labels (weighted up) and by
the tension's anchor phrases; its logit, rescaled to the axis's spread over the journal, is added to
the axis's logit. Co-training of two views (Blum & Mitchell 1998) with TF-IDF features (scikit-learn).

This module is the one definition of the view: `fit_words` (needs scikit-learn) learns it and
`WordsView` scores it with the standard library and numpy only, reproducing scikit-learn's
`TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")` on the stored
vocabulary (default token pattern, lowercasing, L2 norm over the stored terms).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError

WORDS_VERSION = 1
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token_pattern
MIN_DF = 2  # a term must occur in two reflections of the journal to be kept


def _strip_accents(s: str) -> str:
    """scikit-learn's `strip_accents_unicode`: NFKD, then drop combining marks (ASCII passes unchanged)."""
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def terms(text: str) -> list[str]:
    """The unigrams then bigrams of a text, as TfidfVectorizer(ngram_range=(1, 2), strip_accents="unicode") sees them."""
    toks = _TOKEN.findall(_strip_accents(text.lower()))
    return toks + [f"{a} {b}" for a, b in zip(toks[:-1], toks[1:], strict=True)]


class WordsView:
    """Score texts with a stored words view (the `words` entry of a calibration dict).

    `decision(texts)` -> (n,) float64 logits of the words model alone (before rescaling);
    `contribution(texts)` -> (n,) what is added to the axis's logit (scale * weight * logit).
    Raises InvalidInputError for a damaged entry.
    """

    def __init__(self, d: dict):
        try:
            ts, idf, coef = d["terms"], d["idf"], d["coef"]
            if not (isinstance(ts, list) and len(ts) == len(idf) == len(coef)):
                raise ValueError("terms, idf and coef differ in length")
            self.index = {str(t): i for i, t in enumerate(ts)}
            self.idf = np.asarray(idf, dtype=np.float64)
            self.coef = np.asarray(coef, dtype=np.float64)
            self.intercept = float(d["intercept"])
            self.factor = float(d["scale"]) * float(d["weight"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"words view of a calibration is damaged: {exc}") from exc
        self.idf_coef = self.idf * self.coef

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) logits: sum over stored terms of tfidf * coef (tfidf L2-normalised) + intercept."""
        out = np.full(len(texts), self.intercept, dtype=np.float64)
        index, idf, ic = self.index, self.idf, self.idf_coef
        for r, text in enumerate(texts):
            counts = Counter(i for i in map(index.get, terms(str(text))) if i is not None)
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            norm = math.sqrt(float(np.dot(tf * idf[cols], tf * idf[cols])))
            out[r] += float(np.dot(tf, ic[cols])) / norm
        return out

    def contribution(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) the view's share of the calibrated logit: its logit rescaled and weighted."""
        return self.factor * self.decision(texts)


class WordsFitter:
    """Fits words views on one journal: the vocabulary (terms in >= MIN_DF of `pool_texts`) and the
    pool's TF-IDF rows are computed once and reused by every fit (cross-validation folds too).

    pool_texts: (m,) the journal's reflections, labelled or not; anchors_a/anchors_b: the tension's
    anchor phrases. Needs scikit-learn.
    """

    def __init__(self, pool_texts: Sequence[str], anchors_a: Sequence[str], anchors_b: Sequence[str], *,
                 label_weight: float = 10.0, anchor_weight: float = 4.0, C: float = 1.0,
                 max_terms: int | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.pool_texts = [str(t) for t in pool_texts]
        self.label_weight, self.anchor_weight, self.C = float(label_weight), float(anchor_weight), float(C)
        self.max_terms = max_terms
        min_df = MIN_DF if len(self.pool_texts) >= 2 * MIN_DF else 1
        # norm=None: rows are normalised here, over whichever terms a view keeps
        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, strip_accents="unicode",
                                   norm=None, dtype=np.float64)
        try:
            self.Xpool = self.vec.fit_transform(self.pool_texts).tocsr()
        except ValueError:  # no term at all (empty or one-letter texts): no words view
            self.Xpool = None
            return
        self.terms = self.vec.get_feature_names_out().tolist()  # sorted: independent of row order
        self.Xanch = self.vec.transform(list(anchors_a) + list(anchors_b)).tocsr()
        self.yanch = np.r_[np.zeros(len(anchors_a), int), np.ones(len(anchors_b), int)]

    def fit(self, z_pool: np.ndarray, label_texts: Sequence[str], y: np.ndarray, axis_spread: float,
            weight: float) -> dict | None:
        """A words view (calibration entry) taught by the axis logits `z_pool` (m,) over the pool, the
        labelled texts with labels `y` (0/1) and the anchors; rescaled so its spread over the pool is
        `axis_spread` (the axis logits' standard deviation there). None when the journal has no terms."""
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import normalize

        if self.Xpool is None:
            return None
        y = np.asarray(y).astype(int)
        labelled = {str(t) for t in label_texts}
        # the labelled reflections count with their real label only
        free = np.array([t not in labelled for t in self.pool_texts], dtype=bool)
        zf = np.asarray(z_pool, dtype=np.float64)[free]
        thr = np.quantile(zf, 1.0 - y.mean()) if len(zf) else 0.0
        Xl = self.vec.transform([str(t) for t in label_texts])
        F = normalize(sparse.vstack([self.Xpool[free], Xl, self.Xanch]).tocsr())
        yy = np.concatenate([(zf > thr).astype(int), y, self.yanch])
        w = np.concatenate([np.ones(len(zf)), np.full(len(y), self.label_weight),
                            np.full(len(self.yanch), self.anchor_weight)])
        if len(np.unique(yy)) < 2:
            return None
        lr = LogisticRegression(C=self.C, max_iter=5000).fit(F, yy, sample_weight=w)
        # stored to 7 significant digits (a third of the JSON), and scored from exactly what is stored
        coef, intercept = _compact(lr.coef_[0]), float(lr.intercept_[0])
        idf = _compact(self.vec.idf_)
        keep = np.arange(len(coef))
        if self.max_terms is not None and len(coef) > self.max_terms:
            # the largest |coef|, ties by term order; kept in vocabulary (sorted) order
            keep = np.sort(np.lexsort((keep, -np.abs(coef)))[: int(self.max_terms)])
        Xk = self.Xpool[:, keep]
        Xk = Xk.multiply(1.0 / self.vec.idf_[keep]).multiply(idf[keep]).tocsr()  # the stored idf
        zw = normalize(Xk) @ coef[keep] + intercept
        spread = float(np.std(zw))
        return {
            "version": WORDS_VERSION,
            "terms": [self.terms[i] for i in keep],
            "idf": [float(v) for v in idf[keep]],
            "coef": [float(v) for v in coef[keep]],
            "intercept": intercept,
            "scale": float(axis_spread) / spread if spread > 1e-12 else 0.0,
            "weight": float(weight),
            "n_terms_vocabulary": len(self.terms),
            "label_weight": self.label_weight,
            "anchor_weight": self.anchor_weight,
            "C": self.C,
        }


def _compact(v: np.ndarray) -> np.ndarray:
    return np.array([float(f"{x:.7g}") for x in np.asarray(v, dtype=np.float64)])


def check_words(d: Any) -> None:
    """Raise InvalidInputError unless `d` is a usable words entry."""
    if not isinstance(d, dict) or d.get("version") != WORDS_VERSION:
        raise InvalidInputError("words view of a calibration is of an unknown version")
    WordsView(d)
