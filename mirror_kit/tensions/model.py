"""`TensionScorer`: position (-1 pole a .. +1 pole b) and intensity (0..1) of reflections on tensions.

Zero-shot, a reflection's raw score on a tension is the average of two views of its embedding's
similarity to the poles' anchor phrases: the centroid difference (x . (mean B - mean A)), stable for
broad poles, and the top-k difference (mean of the k best anchor similarities of B minus those of A),
which lets one very close anchor count even when the pole is varied. Position is tanh(score / scale).

Intensity is how close the reflection is to any anchor of either pole at all (mean of the top-k
similarities), mapped linearly from `intensity_range` to [0, 1]: unrelated text sits near the
model's baseline similarity and gets ~0.

Calibration (few-shot) fits a logistic regression on the labelled reflections together with the
anchors as pseudo-labelled examples, with the zero-shot score as an extra feature: the anchors and
the score act as the prior that keeps a handful of labels from overfitting, and the labels move the
axis where the person's own writing differs from the phrases. The unlabelled reflections of the
journal shape that prior too: the axis is penalised less along the journal's main directions of
variation (its top principal components, fitted on all its reflections, labels not needed), so a
few labels can move it where the person's writing actually varies rather than along noise.
The held-out separation is estimated by stratified cross-validation over the labelled reflections.

Given the reflections' texts, calibration adds a words view (`words.py`): a TF-IDF model of the
journal's own words taught by the calibrated axis over every reflection, the labels and the anchor
phrases, added to the axis's logit at its spread. Scoring a tension calibrated with it needs the
texts of the reflections scored; calibrations without it score from the embeddings alone. A seed
tension with a general-English lexicon of its poles (`lexicon.py`) also gets, with the words view,
the count of its pole-b minus pole-a entries in a reflection's terms, weighted by cross-validation
over the labels (weight 0 when it does not help).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..errors import InvalidInputError
from ..estimators import require_fitted, reset_fitted, validated
from .definition import Tension, seed_tensions
from .lexicon import WEIGHT_GRID, check_lexicon, lexicon_counts, lexicon_for
from .words import WordsFitter, WordsView, check_words

CALIBRATION_METHOD = "anchor_prior_logreg"


class TensionScorer(TransformerMixin, BaseEstimator):
    """Score embedded reflections on tensions: a scikit-learn transformer (`fit`, then `transform`).

    Input: (n, d) embeddings from the same model as `embedder` (d = its width). Output of
    `transform`: (n, 2 * n_tensions) float, position in [-1, 1] and intensity in [0, 1] per tension.
    Learned: tensions_, tension_ids_, anchors_ {id: (A (na, d), B (nb, d)) unit vectors},
    model_name_, n_features_in_, calibrations_ {id: dict}, words_ {id: WordsView} (tensions calibrated
    with words). Sources: zero-shot scoring against
    anchor phrases follows embedding-based concept axes (semantic projection, Grand et al. 2022);
    calibration is L2-regularised logistic regression (scikit-learn) with anchors as weighted
    pseudo-labels and a weaker penalty along the unlabelled reflections' principal components
    (a generalised ridge prior); held-out separation is ROC AUC over stratified k-fold.

    tensions: Tension objects (default: the five seeds).
    embedder: object with `.encode(list[str])` and `.model_name` used for the anchor phrases; default
        `mirror_kit.embedding.get_embedder()`. It must be the model that embedded the reflections.
    calibrations: {tension_id: calibration dict} from `calibrate` (or the journal), applied in transform.
    top_k: anchors that count in the closeness (intensity) view.
    score_k: nearest anchors per pole that count in the lean (10: with ~100 anchors per pole, the
        mean of the 10 nearest is steadier than of 5 on unseen text, and still local).
    position_scale: raw score (cosine units) that maps to position tanh(1) ~ 0.76.
    intensity_range: (low, high) anchor similarity mapped to intensity 0 and 1.
    anchor_weight: weight of each anchor phrase as a pseudo-label in calibration.
    C: inverse regularisation of the calibration's logistic regression.
    prior_components: principal components of the unlabelled reflections along which calibration
        is penalised less (0: isotropic penalty, the estimator before unlabelled data was used).
    prior_spread: extra prior scale along those components (penalty there is 1 / (1 + spread^2) of
        the isotropic one).
    cv: folds (at most) of the calibration's cross-validated AUC.
    random_state: seed of the calibration's folds and solver.
    words_weight: weight of the words view (rescaled to the axis's spread) added to the axis when
        `calibrate` is given texts (0: embedding axis only).
    words_max_terms: keep only this many terms (largest |coefficient|) in a stored words view
        (None: every term found in two reflections of the journal).
    lexicon_weights: weights (logit units per lexicon entry) the calibration's cross-validation picks
        from for a seed tension's lexicon count, with the words view (ties: the smaller; () or (0,):
        no lexicon, the estimator before it).

    Raises InvalidInputError for no tensions, embeddings of another width, a calibration made
    for another model/anchors, or missing texts for a tension calibrated with words;
    ModelNotFittedError (an sklearn NotFittedError) before fit.
    """

    def __init__(
        self,
        tensions: Sequence[Tension] | None = None,
        *,
        embedder: Any = None,
        calibrations: dict[str, dict] | None = None,
        top_k: int = 5,
        score_k: int = 10,
        position_scale: float = 0.08,
        intensity_range: tuple[float, float] = (0.2, 0.55),
        anchor_weight: float = 4.0,
        C: float = 1.0,
        prior_components: int = 32,
        prior_spread: float = 0.5,
        cv: int = 5,
        random_state: int | None = 0,
        words_weight: float = 1.0,
        words_max_terms: int | None = None,
        lexicon_weights: tuple[float, ...] = WEIGHT_GRID,
    ):
        self.tensions = tensions
        self.embedder = embedder
        self.calibrations = calibrations
        self.top_k = top_k
        self.score_k = score_k
        self.position_scale = position_scale
        self.intensity_range = intensity_range
        self.anchor_weight = anchor_weight
        self.C = C
        self.prior_components = prior_components
        self.prior_spread = prior_spread
        self.cv = cv
        self.random_state = random_state
        self.words_weight = words_weight
        self.words_max_terms = words_max_terms
        self.lexicon_weights = lexicon_weights

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: Any = None, y: Any = None) -> TensionScorer:
        """Embed the anchor phrases of every tension; returns self. X (n, d) is only checked for its width.

        Everything learned by an earlier fit (calibrations added by `calibrate` too) is discarded first.
        """
        reset_fitted(self)
        tensions = list(self.tensions) if self.tensions is not None else seed_tensions()
        if not tensions:
            raise InvalidInputError("TensionScorer needs at least one tension")
        emb = self.embedder
        if emb is None:
            from ..embedding import get_embedder

            emb = get_embedder()
        texts: list[str] = []
        spans: list[tuple[int, int, int]] = []
        for t in tensions:
            pa, pb = t.phrases("a"), t.phrases("b")
            start = len(texts)
            texts += pa + pb
            spans.append((start, start + len(pa), start + len(pa) + len(pb)))
        vecs = np.asarray(emb.encode(texts), dtype=np.float32)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        self.tensions_ = tensions
        self.tension_ids_ = [t.id for t in tensions]
        self.model_name_ = getattr(emb, "model_name", None)
        self.anchors_ = {t.id: (vecs[s:m], vecs[m:e]) for t, (s, m, e) in zip(tensions, spans, strict=True)}
        self.n_features_in_ = vecs.shape[1]
        if X is not None:
            validated(self, X, reset=False, dtype=np.float32,
                      name=f"embeddings must be a (n, {self.n_features_in_}) matrix from the anchors' model")
        self.calibrations_ = {}
        self.words_ = {}
        for tid, cal in (self.calibrations or {}).items():
            if tid in self.anchors_ and cal:
                self.apply_calibration(tid, cal)
        return self

    def _check(self, X: Any) -> np.ndarray:
        require_fitted(self, "anchors_")
        if getattr(X, "ndim", None) == 2 and X.shape[0] == 0 and X.shape[1] in (0, self.n_features_in_):
            return np.zeros((0, self.n_features_in_), dtype=np.float32)  # nothing to score is not an error
        return validated(self, X, reset=False, dtype=np.float32,
                         name=f"embeddings must be a (n, {self.n_features_in_}) matrix from the anchors' model")

    def apply_calibration(self, tension_id: str, calibration: dict) -> None:
        """Use a stored calibration dict (from `calibrate`) for one tension in later transforms.

        Raises InvalidInputError when it was made for another model, other anchor phrases, or an
        embedding width other than this scorer's.
        """
        require_fitted(self, "anchors_")
        self.check_calibration(tension_id, calibration)
        self.calibrations_[tension_id] = calibration
        self.words_.pop(tension_id, None)
        if calibration.get("words"):
            self.words_[tension_id] = WordsView(calibration["words"])

    def check_calibration(self, tid: str, cal: dict) -> None:
        """Raise InvalidInputError unless `cal` is usable by this fitted scorer for tension `tid`."""
        coef = cal.get("coef")
        if cal.get("method") != CALIBRATION_METHOD or not isinstance(coef, list) or len(coef) != self.n_features_in_:
            raise InvalidInputError(f"calibration of tension {tid!r} is not usable by this scorer/model")
        if cal.get("anchors") and cal["anchors"] != self.anchors_hash(tid):
            raise InvalidInputError(f"calibration of tension {tid!r} was made for other anchor phrases")
        if cal.get("model") and self.model_name_ and cal["model"] != self.model_name_:
            raise InvalidInputError(
                f"calibration of tension {tid!r} was made with model {cal['model']!r}, not {self.model_name_!r}"
            )
        if cal.get("words"):
            try:
                check_words(cal["words"])
            except InvalidInputError as exc:
                raise InvalidInputError(f"calibration of tension {tid!r}: {exc}") from exc
        if cal.get("lexicon") is not None:
            if not cal.get("words"):  # the lexicon count rides on the words view's texts
                raise InvalidInputError(f"calibration of tension {tid!r} has a lexicon but no words view")
            try:
                check_lexicon(cal["lexicon"])
            except InvalidInputError as exc:
                raise InvalidInputError(f"calibration of tension {tid!r}: {exc}") from exc

    def needs_texts(self) -> bool:
        """True when some applied calibration has a words view: scoring then needs the reflections' texts."""
        return bool(getattr(self, "words_", None))

    def _texts(self, texts: Any, n: int, tension_id: str | None = None) -> list[str] | None:
        """`texts` as a list of n strings, or None when not given; raises InvalidInputError when they are
        needed (a tension calibrated with words) and missing, or do not match the rows."""
        if texts is None:
            if n and (tension_id in self.words_ if tension_id is not None else self.needs_texts()):
                which = tension_id if tension_id is not None else ", ".join(sorted(self.words_))
                raise InvalidInputError(f"tension {which} is calibrated with words: scoring needs the reflections' texts")
            return None
        texts = [str(t) for t in texts]
        if len(texts) != n:
            raise InvalidInputError(f"{len(texts)} texts for {n} embeddings")
        return texts

    # -- scoring -------------------------------------------------------------------------------
    def raw_scores(self, X: Any, tension_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(score, closeness), each (n,): zero-shot lean towards pole b in cosine units (mean of the
        centroid and nearest-`score_k` differences), and the mean top-k anchor similarity.
        Raises ModelNotFittedError, InvalidInputError (bad X), KeyError (tension)."""
        return self._raw_scores(self._check(X), tension_id)

    def _raw_scores(self, X: np.ndarray, tension_id: str) -> tuple[np.ndarray, np.ndarray]:
        """`raw_scores` of checked rows, in X's precision (float64 X: float64 anchors too)."""
        A, B = self.anchors_[tension_id]
        if X.dtype == np.float64:
            A, B = A.astype(np.float64), B.astype(np.float64)
        sa, sb = X @ A.T, X @ B.T
        ka, kb = min(self.score_k, A.shape[0]), min(self.score_k, B.shape[0])
        top_a = np.sort(sa, axis=1)[:, -ka:].mean(axis=1)
        top_b = np.sort(sb, axis=1)[:, -kb:].mean(axis=1)
        centroid = sb.mean(axis=1) - sa.mean(axis=1)
        score = (centroid + (top_b - top_a)) / 2.0
        both = np.concatenate([sa, sb], axis=1)
        k = min(self.top_k, both.shape[1])
        closeness = np.sort(both, axis=1)[:, -k:].mean(axis=1)
        return score, closeness

    def decision(self, X: Any, tension_id: str, texts: Sequence[str] | None = None) -> np.ndarray:
        """(n,) unbounded lean towards pole b: the calibrated logit when calibrated, else score / scale.

        texts: (n,) the reflections' texts, required when the tension is calibrated with words.
        """
        X = self._check(X)
        cal = self.calibrations_.get(tension_id)
        if cal is not None:
            texts = self._texts(texts, X.shape[0], tension_id)
            view = self.words_.get(tension_id)
            # with words (a newer calibration) in float64: a row's score then does not depend on how
            # many rows it is scored with; older calibrations keep their float32 arithmetic
            dtype = np.float32 if view is None else np.float64
            Xd = X.astype(dtype, copy=False)
            score = self._raw_scores(Xd, tension_id)[0]
            z = Xd @ np.asarray(cal["coef"], dtype=dtype) + float(cal["prior_coef"]) * score + float(
                cal["intercept"])
            if view is None:
                return z
            z = z + view.contribution(texts)
            lex = cal.get("lexicon")
            if lex:
                z = z + float(lex["weight"]) * lexicon_counts(texts, lex["a"], lex["b"])
            return z
        return self.raw_scores(X, tension_id)[0] / self.position_scale

    def position_intensity(self, X: Any, tension_id: str,
                           texts: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(position, intensity), each (n,): position in [-1, 1] (tanh of the lean) and intensity in [0, 1].

        texts: (n,) the reflections' texts, required when the tension is calibrated with words.
        """
        X = self._check(X)
        score, closeness = self.raw_scores(X, tension_id)
        if tension_id in self.calibrations_:
            position = np.tanh(self.decision(X, tension_id, texts) / 2.0)  # = 2 * sigmoid(logit) - 1
        else:
            position = np.tanh(score / self.position_scale)
        lo, hi = self.intensity_range
        intensity = np.clip((closeness - lo) / (hi - lo), 0.0, 1.0)
        return position.astype(float), intensity.astype(float)

    def transform(self, X: Any, texts: Sequence[str] | None = None) -> np.ndarray:
        """(n, 2 * n_tensions): position and intensity per tension (see `get_feature_names_out`).

        texts: (n,) the reflections' texts, required when a tension is calibrated with words.
        """
        X = self._check(X)
        texts = self._texts(texts, X.shape[0])
        cols = []
        for tid in self.tension_ids_:
            cols.extend(self.position_intensity(X, tid, texts))
        return np.column_stack(cols) if cols else np.zeros((X.shape[0], 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of `transform`'s 2 * n_tensions columns: "<tension_id>__position", "<tension_id>__intensity"."""
        require_fitted(self, "tension_ids_")
        return np.array([f"{tid}__{what}" for tid in self.tension_ids_ for what in ("position", "intensity")])

    def score_frame(self, X: Any, reflection_ids: Sequence[str] | None = None,
                    texts: Sequence[str] | None = None) -> Any:
        """Long DataFrame (n * n_tensions rows): reflection_id, tension_id, position, intensity, calibrated.

        texts: (n,) the reflections' texts, required when a tension is calibrated with words.
        Raises InvalidInputError when the ids or texts do not match the rows, or texts are missing.
        """
        import pandas as pd

        X = self._check(X)
        ids = list(reflection_ids) if reflection_ids is not None else list(range(X.shape[0]))
        if len(ids) != X.shape[0]:
            raise InvalidInputError(f"{len(ids)} reflection ids for {X.shape[0]} embeddings")
        texts = self._texts(texts, X.shape[0])
        parts = []
        for tid in self.tension_ids_:
            pos, inten = self.position_intensity(X, tid, texts)
            parts.append(pd.DataFrame({
                "reflection_id": ids, "tension_id": tid, "position": pos, "intensity": inten,
                "calibrated": tid in self.calibrations_,
            }))
        cols = ["reflection_id", "tension_id", "position", "intensity", "calibrated"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def score_columns(self, X: Any, reflection_ids: Sequence[str],
                      texts: Sequence[str] | None = None) -> tuple[list, list, np.ndarray, np.ndarray, list]:
        """`score_frame`'s rows as columns, without a DataFrame (for storing a few new rows cheaply):
        (reflection ids, tension ids, positions, intensities, calibrated flags), each n * n_tensions
        long in `score_frame`'s order. texts as in `score_frame`. Raises InvalidInputError when the
        ids or texts do not match the rows, or texts are missing."""
        X = self._check(X)
        ids = list(reflection_ids)
        if len(ids) != X.shape[0]:
            raise InvalidInputError(f"{len(ids)} reflection ids for {X.shape[0]} embeddings")
        texts = self._texts(texts, X.shape[0])
        pos, inten = [], []
        for tid in self.tension_ids_:
            p, i = self.position_intensity(X, tid, texts)
            pos.append(p)
            inten.append(i)
        tids = [tid for tid in self.tension_ids_ for _ in ids]
        flags = [tid in self.calibrations_ for tid in self.tension_ids_ for _ in ids]
        return (ids * len(self.tension_ids_), tids, np.concatenate(pos) if pos else np.zeros(0),
                np.concatenate(inten) if inten else np.zeros(0), flags)

    # -- calibration ---------------------------------------------------------------------------
    def calibrate(self, X: Any, y: Sequence[int], tension_id: str, *, unlabelled: Any = None,
                  texts: Sequence[str] | None = None, unlabelled_texts: Sequence[str] | None = None) -> dict:
        """Learn a tension's axis from labelled reflections (y: 0 = pole a, 1 = pole b) plus its anchors.

        Returns (and applies) the calibration dict: coef, intercept, n_labels, cv_auc (held-out ROC AUC
        of the calibrated axis, words view and lexicon included; the lexicon's weight is picked on
        the same out-of-fold logits), zero_shot_auc (of the uncalibrated one on the same rows), folds,
        `words` (the words view) when texts are given and `lexicon` ({a, b, weight}) when a seed
        tension's lexicon count helps.
        X: (n, d); y: (n,); unlabelled: (m, d) embeddings of the journal's reflections (labelled or
        not) whose principal components shape the prior and which teach the words view; default: X
        itself. texts: (n,) the labelled reflections' texts; unlabelled_texts: (m,) the unlabelled
        rows' texts (needed with texts and unlabelled). With texts the result does not depend on the
        order of the rows; deterministic for a given `random_state`. Raises InvalidInputError for an
        unknown tension, labels other than 0/1, a length mismatch, labels for only one pole or
        unlabelled rows of another width.
        """
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold

        X = self._check(X)
        if tension_id not in self.anchors_:
            raise InvalidInputError(f"unknown tension {tension_id!r}; known: {', '.join(self.tension_ids_)}")
        y = np.asarray(y).astype(int)
        if y.shape[0] != X.shape[0]:
            raise InvalidInputError(f"{y.shape[0]} labels for {X.shape[0]} embeddings")
        if not set(np.unique(y)) <= {0, 1}:
            raise InvalidInputError("labels must be 0 (pole a) or 1 (pole b)")
        n_a, n_b = int((y == 0).sum()), int((y == 1).sum())
        if min(n_a, n_b) < 1:
            raise InvalidInputError(f"calibration needs labels for both poles (got {n_a} for a, {n_b} for b)")
        pool = X if unlabelled is None else self._check(unlabelled)
        texts = None if texts is None else self._texts(texts, X.shape[0])
        words = texts is not None and float(self.words_weight) > 0
        if words:
            if unlabelled is None:
                pool_texts = texts
            elif unlabelled_texts is None:
                raise InvalidInputError("calibrating with texts needs the texts of the unlabelled reflections too")
            else:
                pool_texts = [str(t) for t in unlabelled_texts]
                if len(pool_texts) != pool.shape[0]:
                    raise InvalidInputError(f"{len(pool_texts)} texts for {pool.shape[0]} unlabelled embeddings")
            # one canonical order of the rows (by text, then label): the fit cannot depend on how they came
            o = sorted(range(len(y)), key=lambda i: (texts[i], int(y[i])))
            X, y, texts = X[o], y[o], [texts[i] for i in o]
            po = sorted(range(len(pool_texts)), key=pool_texts.__getitem__)
            pool, pool_texts = pool[po], [pool_texts[i] for i in po]
        P = self._prior_directions(pool if len(pool) else X)
        coef, prior_coef, intercept = self._fit_axis(X, y, tension_id, P)
        words_view = None
        if words:
            t = self.tensions_[self.tension_ids_.index(tension_id)]
            fitter = WordsFitter(pool_texts, t.phrases("a"), t.phrases("b"), max_terms=self.words_max_terms)
            pool_raw = self.raw_scores(pool, tension_id)[0]

            def words_for(c: np.ndarray, pc: float, b: float, rows: Any) -> dict | None:
                z = pool @ c + pc * pool_raw + b  # the axis's logits over the journal teach the words
                return fitter.fit(z, [texts[i] for i in rows], y[rows], float(np.std(z)), float(self.words_weight))

            words_view = words_for(coef, prior_coef, intercept, np.arange(len(y)))
        folds = min(self.cv, n_a, n_b)
        cv_auc = zero_auc = lexicon = None
        if folds >= 2:
            oof = np.zeros(len(y))
            skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            for tr, te in skf.split(X, y):
                c, pc, b = self._fit_axis(X[tr], y[tr], tension_id, P)
                oof[te] = X[te] @ c + pc * self.raw_scores(X[te], tension_id)[0] + b
                fold_view = words_for(c, pc, b, tr) if words_view is not None else None
                if fold_view is not None:
                    oof[te] += WordsView(fold_view).contribution([texts[i] for i in te])
            lex = self._lexicon(tension_id) if words_view is not None else None
            grid = sorted({float(w) for w in self.lexicon_weights or ()})
            if lex is not None and grid:
                f = lexicon_counts(texts, *lex)
                # out-of-fold choice; ties go to the smaller weight (0: no lexicon)
                w_lex = max(grid, key=lambda w: (round(float(roc_auc_score(y, oof + w * f)), 6), -w))
                if w_lex > 0:
                    oof = oof + w_lex * f
                    lexicon = {"a": lex[0], "b": lex[1], "weight": w_lex}
            cv_auc = float(roc_auc_score(y, oof))
            zero_auc = float(roc_auc_score(y, self.raw_scores(X, tension_id)[0]))
        cal = {
            "method": CALIBRATION_METHOD,
            "model": self.model_name_,
            "anchors": self.anchors_hash(tension_id),
            "coef": [float(v) for v in coef],
            "prior_coef": float(prior_coef),
            "intercept": float(intercept),
            "n_labels": int(len(y)),
            "n_a": n_a,
            "n_b": n_b,
            "cv_auc": cv_auc,
            "zero_shot_auc": zero_auc,
            "folds": folds,
            "anchor_weight": float(self.anchor_weight),
            "C": float(self.C),
            "prior_components": int(P.shape[1]),
            "prior_spread": float(self.prior_spread),
        }
        self.words_.pop(tension_id, None)
        if words_view is not None:
            cal["words"] = words_view
            self.words_[tension_id] = WordsView(words_view)
        if lexicon is not None:
            cal["lexicon"] = lexicon
        self.calibrations_[tension_id] = cal
        return cal

    def _lexicon(self, tension_id: str) -> tuple[list[str], list[str]] | None:
        """The seed lexicon of a tension, only while its poles are the seed's own (a tension redefined
        under a seed's id keeps none: the lists describe the seed's poles)."""
        lex = lexicon_for(tension_id)
        if lex is None:
            return None
        seed = next((s for s in seed_tensions() if s.id == tension_id), None)
        t = self.tensions_[self.tension_ids_.index(tension_id)]
        same = seed is not None and (seed.phrases("a"), seed.phrases("b")) == (t.phrases("a"), t.phrases("b"))
        return lex if same else None

    def _prior_directions(self, pool: np.ndarray) -> np.ndarray:
        """(d, k) top principal directions of `pool`, scaled by `prior_spread` (k <= prior_components).

        An eigendecomposition of the (d, d) covariance rather than an SVD of the rows: exact, so
        deterministic, and its cost hardly grows with the number of reflections.
        """
        k = min(int(self.prior_components), pool.shape[0] - 1, pool.shape[1])
        if k <= 0 or self.prior_spread <= 0:
            return np.zeros((pool.shape[1], 0), dtype=np.float32)
        Z = pool.astype(np.float64) - pool.mean(axis=0)
        _, vecs = np.linalg.eigh(Z.T @ Z)
        return (vecs[:, ::-1][:, :k] * float(self.prior_spread)).astype(np.float32)

    def _fit_axis(self, X: np.ndarray, y: np.ndarray, tension_id: str,
                  P: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Logistic regression on [embedding, embedding @ P, zero-shot score] over the labels plus the anchors.

        The copy of the embedding projected on P (the unlabelled reflections' principal directions)
        lets the weight grow along them at a smaller L2 cost; both parts fold back into one (d,)
        coefficient vector, so a calibration stays a linear axis plus the zero-shot score.
        """
        from sklearn.linear_model import LogisticRegression

        A, B = self.anchors_[tension_id]
        Xt = np.vstack([X, A, B])
        Ft = np.column_stack([Xt, Xt @ P, self.raw_scores(Xt, tension_id)[0]])
        yt = np.concatenate([y, np.zeros(len(A), int), np.ones(len(B), int)])
        w = np.concatenate([np.ones(len(y)), np.full(len(A) + len(B), float(self.anchor_weight))])
        lr = LogisticRegression(C=self.C, max_iter=5000, random_state=self.random_state)
        lr.fit(Ft, yt, sample_weight=w)
        d = X.shape[1]
        coef = lr.coef_[0][:d] + P @ lr.coef_[0][d:-1]
        return coef.astype(np.float32), float(lr.coef_[0][-1]), float(lr.intercept_[0])

    def anchors_hash(self, tension_id: str) -> str:
        """Fingerprint of a tension's anchor phrases: a calibration is only valid for the same ones."""
        from ..ids import content_hash

        t = self.tensions_[self.tension_ids_.index(tension_id)]
        return content_hash("\x1f".join(t.phrases("a")) + "\x1e" + "\x1f".join(t.phrases("b")))[:16]
