"""`PatternModel`: embedding clustering that picks its own number of patterns, deterministically.

Pipeline (every stage deterministic given `random_state`, and independent of input order because
rows are put in a canonical order inside `fit`):

1. reduce: PCA to <= 50 dims with half-whitening (divide each component by the 4th root of its
   variance): sentence embeddings put most variance in a few generic directions (tense, length,
   sentiment); flattening them lets the topical directions drive the clustering.
2. choose k: spherical KMeans over a grid of k on a subsample, read off the silhouette curve
   (patterns.selection: the silhouette keeps creeping up as big themes split, so its maximum over-splits).
3. consensus: KMeans with the chosen k from several seeds; keep the lowest-inertia partition.
   Per-cluster stability = mean best Jaccard match of the cluster in the other seeds' partitions.
4. merge: clusters whose centroids are as similar as their members are to them are one theme.
5. assign: every point to its nearest centroid; points whose similarity is far below the typical
   similarity (median - 4 MAD, calibrated on the data) stay unassigned (-1).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

from ..estimators import require_fitted, reset_fitted, validated

GRANULARITIES = {"coarse": 0.6, "medium": 1.0, "fine": 1.6}


def canonical_order(X: np.ndarray, keys: list | None = None) -> np.ndarray:
    """A permutation (n,) that depends only on the rows' content (or the given keys), not their order.

    X: (n, d); rows are compared after rounding to 5 decimals (BLAKE2b digests); keys: (n,) ids.
    """
    if keys is not None:
        return np.array(sorted(range(len(keys)), key=lambda i: str(keys[i])), dtype=int)
    rounded = np.round(np.asarray(X, dtype=np.float64), 5)
    digests = [hashlib.blake2b(row.tobytes(), digest_size=12).hexdigest() for row in rounded]
    return np.array(sorted(range(len(digests)), key=lambda i: digests[i]), dtype=int)


def _normalize(X: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(X, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return X / n


def cosine_silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette with cosine distance for L2-normalised rows, in O(n k d) via cluster sums.

    X: (n, d) unit rows; labels: (n,) ints. Returns a float in [-1, 1] (-1.0 with fewer than 2
    clusters). Source: Rousseeuw (1987); same value as sklearn.metrics.silhouette_score(metric="cosine").

    Mean similarity of x to a cluster is x . sum(cluster) / size (minus x itself for its own).
    Singletons score 0, as in scikit-learn.
    """
    ks, lab = np.unique(labels, return_inverse=True)
    if len(ks) < 2:
        return -1.0
    sums = np.zeros((len(ks), X.shape[1]))
    np.add.at(sums, lab, X)
    sizes = np.bincount(lab).astype(float)
    sim = X @ sums.T
    rows = np.arange(len(X))
    own = sim[rows, lab]
    self_sim = np.einsum("ij,ij->i", X, X)
    n_own = sizes[lab]
    a = 1.0 - (own - self_sim) / np.maximum(n_own - 1, 1)
    other = 1.0 - sim / sizes[None, :]
    other[rows, lab] = np.inf
    b = other.min(1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[n_own <= 1] = 0.0
    return float(s.mean())


class PatternModel(ClusterMixin, TransformerMixin, BaseEstimator):
    """Cluster reflection embeddings into patterns: a scikit-learn clusterer and transformer.

    Input: an (n, d) float matrix of embeddings (any d; cosine geometry, rows are L2-normalised).
    Learned: labels_ (n,) int, -1 unassigned; strengths_ (n,) in [0, 1]; cluster_centers_
    (n_patterns_, d) unit vectors in the input space; patterns_ DataFrame; pca_/scale_ of the
    reducer; outlier_threshold_ (cosine); info_ dict. `transform` gives cosine similarities
    (n, n_patterns_). Sources: silhouette (Rousseeuw 1987), Kneedle knee (Satopaa et al. 2011),
    consensus/stability by Jaccard matching (Hennig 2007), class-based TF-IDF keywords (BERTopic).

    n_patterns: ask for this many clusters (before merging near-duplicates); None chooses.
    granularity: "coarse", "medium" or "fine" (or a float multiplier) scaling the chosen number.
    reducer: None for the built-in PCA(50, half-whitened), "none" to cluster the raw embeddings,
        or any object with fit_transform/transform (e.g. a UMAP instance).
    clusterer: None for the built-in consensus KMeans; or an sklearn clusterer with fit_predict
        (its labels are used as they are, -1 meaning unassigned).
    n_seeds: KMeans runs (the best is kept; the others measure stability, which needs >= 2). 24
        rather than 8: the lowest-inertia partition of more runs varies less between random states.
    merge_threshold: merge clusters whose normalised centroid similarity exceeds this (None: never).
    outlier_mads: a point is unassigned when its similarity to its centroid is this many MADs below
        the median similarity (None: assign every point).
    max_patterns: upper end of the searched k.
    k_rule: how the silhouette curve over k is read, "plateau" or "knee" (see patterns.selection).
    plateau: fraction of the silhouette's rise that the "plateau" rule asks for.
    n_jobs: threads for the numeric libraries during fit (None: their default).

    Raises InvalidInputError for empty/NaN/non-2-D input or mismatched texts/dates/ids lengths, and
    ModelNotFittedError (an sklearn NotFittedError) when transform/predict run before fit.
    """

    def __init__(
        self,
        n_patterns: int | None = None,
        *,
        granularity: str | float = "medium",
        reducer: Any = None,
        clusterer: Any = None,
        random_state: int = 0,
        n_seeds: int = 24,
        n_components: int = 50,
        merge_threshold: float | None = 0.5,
        outlier_mads: float | None = 4.0,
        max_patterns: int = 40,
        selection_sample: int = 3000,
        k_rule: str = "plateau",
        plateau: float = 0.7,
        n_keywords: int = 8,
        n_representatives: int = 3,
        n_jobs: int | None = 1,
    ):
        self.n_patterns = n_patterns
        self.granularity = granularity
        self.reducer = reducer
        self.clusterer = clusterer
        self.random_state = random_state
        self.n_seeds = n_seeds
        self.n_components = n_components
        self.merge_threshold = merge_threshold
        self.outlier_mads = outlier_mads
        self.max_patterns = max_patterns
        self.selection_sample = selection_sample
        self.k_rule = k_rule
        self.plateau = plateau
        self.n_keywords = n_keywords
        self.n_representatives = n_representatives
        self.n_jobs = n_jobs

    # -- stages ---------------------------------------------------------------------------------
    def _reduce_fit(self, E: np.ndarray) -> np.ndarray:
        if self.reducer == "none":
            return _normalize(E)
        if self.reducer is not None:
            # Fit a clone: the reducer given as a parameter stays unfitted (scikit-learn convention).
            from sklearn.base import clone

            self.reducer_ = clone(self.reducer)
            return _normalize(np.asarray(self.reducer_.fit_transform(E), dtype=np.float64))
        from sklearn.decomposition import PCA

        d = int(min(self.n_components, E.shape[1], max(E.shape[0] - 1, 1)))
        pca = PCA(n_components=d, svd_solver="full" if E.shape[0] <= 20000 else "randomized",
                  random_state=self.random_state)
        Z = pca.fit_transform(E)
        scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-12)) ** 0.5
        self.pca_, self.scale_ = pca, scale
        return _normalize(Z / scale)

    def _reduce(self, E: np.ndarray) -> np.ndarray:
        if self.reducer == "none":
            return _normalize(E)
        if self.reducer is not None:
            return _normalize(np.asarray(self.reducer_.transform(E), dtype=np.float64))
        return _normalize(self.pca_.transform(E) / self.scale_)

    def _kmeans(self, k: int, seed: int, n: int):
        from sklearn.cluster import KMeans, MiniBatchKMeans

        if n > 50000:
            return MiniBatchKMeans(k, random_state=seed, n_init=1, batch_size=4096, max_no_improvement=20)
        return KMeans(k, random_state=seed, n_init=1, max_iter=200)

    def _choose_k(self, X: np.ndarray) -> tuple[int, dict]:
        from .selection import choose_k

        n = len(X)
        rng = np.random.default_rng(self.random_state)
        S = X if n <= self.selection_sample else X[np.sort(rng.choice(n, self.selection_sample, replace=False))]
        # Small corpora: the silhouette is noisy, average it over a few seeds.
        seeds = [self.random_state + i for i in range(3 if len(S) <= 5000 else 1)]
        k, info = choose_k(S, lambda k, seed: self._kmeans(k, seed, len(S)), cosine_silhouette, n=n,
                           max_patterns=self.max_patterns, seeds=seeds, rule=self.k_rule, plateau=self.plateau)
        g = GRANULARITIES.get(self.granularity, self.granularity) if isinstance(self.granularity, str) else float(
            self.granularity)
        k = int(min(max(2, round(k * float(g))), max(2, n - 1)))
        return k, info

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, texts: list[str] | None = None, dates: Any = None,
            ids: list | None = None) -> PatternModel:
        """Learn patterns from an (n, d) embedding matrix X; returns self. y is ignored.

        texts (n,) give keywords/labels; dates (n,) first/last seen; ids (n,) stable row ids (their
        order defines the canonical order). Everything learned by an earlier fit is discarded first.
        Raises InvalidInputError for bad shapes/values.
        """
        import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime so the limit below reaches it)
        from threadpoolctl import threadpool_limits

        # Many short KMeans runs: OpenMP/BLAS thread teams cost more than they give, and on a busy
        # machine their spin-waiting makes a 1 s fit take 30 s.
        reset_fitted(self)
        with threadpool_limits(limits=self.n_jobs):
            return self._fit(X, texts, dates, ids)

    def _fit(self, embeddings, texts, dates, ids) -> PatternModel:
        from sklearn.metrics import adjusted_rand_score

        from ..errors import InvalidInputError

        E = validated(self, embeddings, reset=True)
        n = E.shape[0]
        for name, seq in (("texts", texts), ("dates", dates), ("ids", ids)):
            if seq is not None and len(seq) != n:
                raise InvalidInputError(f"{name} has {len(seq)} items but embeddings have {n} rows")
        order = canonical_order(E, ids)
        inv = np.empty(n, dtype=int)
        inv[order] = np.arange(n)
        Ec = _normalize(E[order])
        info: dict[str, Any] = {"n": n}

        if n < 4:
            labels = np.zeros(n, dtype=int)
            stability = np.ones(1)
            X = Ec
        else:
            X = self._reduce_fit(Ec)
            if self.clusterer is not None:
                from sklearn.base import clone

                self.clusterer_ = clone(self.clusterer)
                labels = np.asarray(self.clusterer_.fit_predict(X), dtype=int)
                stability = None
            else:
                if self.n_patterns is not None:
                    k = int(min(max(1, self.n_patterns), n))
                else:
                    k, info["selection"] = self._choose_k(X)
                info["k"] = k
                fits = [self._kmeans(k, self.random_state + s, n).fit(X) for s in range(max(1, self.n_seeds))]
                runs = [f.labels_ for f in fits]
                # The lowest-inertia run (KMeans' own n_init rule: small themes survive in the best
                # optima and get absorbed in poorer ones); the others measure each cluster's stability.
                best = int(np.argmin([f.inertia_ for f in fits]))
                if len(runs) > 1:
                    agree = [adjusted_rand_score(runs[best], r) for i, r in enumerate(runs) if i != best]
                    info["consensus_ari"] = round(float(np.mean(agree)), 4)
                labels = runs[best]
                stability = self._stability(labels, [r for i, r in enumerate(runs) if i != best])
                if self.merge_threshold is not None and self.n_patterns is None:
                    labels, stability, info["merged"] = self._merge(X, labels, stability)
        labels, stability = self._relabel(labels, stability)
        k = int(labels.max()) + 1 if (labels >= 0).any() else 0

        # Centroids live in the ORIGINAL embedding space so they can be stored and matched later.
        C = _normalize(np.array([Ec[labels == c].mean(0) for c in range(k)]))
        sims = Ec @ C.T
        nearest = sims.argmax(1)
        best_sim = sims[np.arange(n), nearest]
        labels = nearest.copy()
        threshold = -np.inf
        if self.outlier_mads is not None and n >= 20:
            med = float(np.median(best_sim))
            mad = float(np.median(np.abs(best_sim - med))) * 1.4826
            threshold = med - self.outlier_mads * mad
            labels[best_sim < threshold] = -1
        # Recompute centroids on the final members (cheap, keeps centroid == mean of members).
        C = _normalize(np.array([Ec[labels == c].mean(0) if (labels == c).any() else C[c] for c in range(k)]))
        sims = Ec @ C.T
        # final assignment with the final centroids, so predict(training rows) == labels_
        labels = sims.argmax(1)
        labels[sims[np.arange(n), labels] < threshold] = -1
        strength = np.clip(sims[np.arange(n), np.maximum(labels, 0)], 0.0, 1.0)
        strength[labels < 0] = 0.0

        self.n_features_in_ = E.shape[1]
        self.cluster_centers_ = C.astype(np.float32)
        self.outlier_threshold_ = float(threshold)
        self.labels_ = labels[inv]
        self.strengths_ = strength[inv]
        self.info_ = info
        self.n_patterns_ = k

        cohesion = np.array([float(sims[labels == c, c].mean()) if (labels == c).any() else 0.0 for c in range(k)])
        stab = stability if stability is not None else np.full(k, np.nan)
        confidence = np.where(np.isnan(stab), cohesion, 0.5 * stab + 0.5 * cohesion)
        self.patterns_ = self._describe(Ec, labels, sims, cohesion, stab, confidence,
                                        None if texts is None else [texts[i] for i in order],
                                        None if dates is None else [dates[i] for i in order],
                                        [ids[i] for i in order] if ids is not None else [int(i) for i in order])
        return self

    def fit_predict(self, X: Any, y: Any = None, texts: list[str] | None = None, dates: Any = None,
                    ids: list | None = None) -> np.ndarray:
        """Fit and return labels_ (n,), -1 for unassigned rows."""
        return self.fit(X, texts=texts, dates=dates, ids=ids).labels_

    def transform(self, X: Any) -> np.ndarray:
        """Cosine similarity of each row to each pattern centroid, shape (n, n_patterns_).

        Raises ModelNotFittedError before fit, InvalidInputError for a width other than fit's.
        """
        require_fitted(self, "cluster_centers_")
        E = _normalize(validated(self, X, reset=False))
        return E @ self.cluster_centers_.T.astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Nearest pattern (n,) for new rows, -1 when below the outlier threshold learned in fit."""
        S = self.transform(X)
        if S.shape[1] == 0:
            return np.full(S.shape[0], -1)
        lab = S.argmax(1)
        lab[S.max(1) < self.outlier_threshold_] = -1
        return lab

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _stability(labels: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
        k = int(labels.max()) + 1
        if not others:
            return np.full(k, np.nan)
        out = np.zeros(k)
        for o in others:
            ko = int(o.max()) + 1
            M = np.zeros((k, ko))
            np.add.at(M, (labels, o), 1)
            sa, sb = M.sum(1, keepdims=True), M.sum(0, keepdims=True)
            J = M / np.maximum(sa + sb - M, 1)
            out += J.max(1)
        return out / len(others)

    def _merge(self, X, labels, stability):
        """Agglomerate clusters whose centroids are about as similar as their members are to them."""
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        k = int(labels.max()) + 1
        if k < 3:
            return labels, stability, 0
        C = _normalize(np.array([X[labels == c].mean(0) for c in range(k)]))
        coh = np.array([max(float((X[labels == c] @ C[c]).mean()), 1e-6) for c in range(k)])
        R = (C @ C.T) / np.sqrt(np.outer(coh, coh))
        D = np.maximum(1 - R, 0)
        np.fill_diagonal(D, 0)
        Z = linkage(squareform(D, checks=False), "average")
        groups = fcluster(Z, 1 - self.merge_threshold, "distance") - 1
        if groups.max() + 1 == k:
            return labels, stability, 0
        sizes = np.bincount(labels, minlength=k)
        new_stab = np.array([np.average(stability[groups == g], weights=sizes[groups == g])
                             for g in range(groups.max() + 1)])
        return groups[labels], new_stab, int(k - (groups.max() + 1))

    @staticmethod
    def _relabel(labels, stability):
        """Number clusters by size (largest first, ties by first member) so labels do not depend on seeds' numbering."""
        ks = [c for c in np.unique(labels) if c >= 0]
        sizes = {c: int((labels == c).sum()) for c in ks}
        first = {c: int(np.argmax(labels == c)) for c in ks}
        order = sorted(ks, key=lambda c: (-sizes[c], first[c]))
        mapping = {c: i for i, c in enumerate(order)}
        new = np.array([mapping.get(c, -1) for c in labels], dtype=int)
        stab = None
        if stability is not None:
            stab = np.array([stability[c] for c in order], dtype=float)
        return new, stab

    def _describe(self, Ec, labels, sims, cohesion, stab, confidence, texts, dates, ids):
        import pandas as pd

        from .keywords import class_keywords, make_label

        k = sims.shape[1]
        kw = class_keywords(texts, labels, k, top_n=self.n_keywords) if texts is not None else [[] for _ in range(k)]
        rows = []
        ts = pd.to_datetime(pd.Series(dates), utc=True) if dates is not None else None
        for c in range(k):
            members = np.flatnonzero(labels == c)
            top = members[np.argsort(-sims[members, c], kind="stable")][: self.n_representatives]
            row = {
                "pattern": c,
                "label": make_label(kw[c]) if kw[c] else f"pattern {c + 1}",
                "keywords": [w for w, _ in kw[c]],
                "size": int(len(members)),
                "confidence": round(float(confidence[c]), 4),
                "cohesion": round(float(cohesion[c]), 4),
                "stability": None if np.isnan(stab[c]) else round(float(stab[c]), 4),
                "representatives": [ids[i] for i in top],
                "representative_texts": [texts[i] for i in top] if texts is not None else [],
            }
            if ts is not None and len(members):
                row["first_seen"] = ts.iloc[members].min()
                row["last_seen"] = ts.iloc[members].max()
            rows.append(row)
        return pd.DataFrame(rows)
