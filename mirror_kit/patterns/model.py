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

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

from ..estimators import require_fitted, reset_fitted, validated

GRANULARITIES = {"coarse": 0.6, "medium": 1.0, "fine": 1.6}
# An asked-for number of patterns must leave each pattern this many reflections on average: more
# patterns than that are mostly one-member clusters, which KMeans cannot even form when rows repeat.
MIN_PATTERN_SIZE = 3


def check_n_patterns(n_patterns: Any, n_rows: int, name: str = "n_patterns") -> None:
    """Refuse an asked-for number of patterns outside 2..max(2, n_rows // MIN_PATTERN_SIZE).

    n_rows: reflections (embedding rows) to be clustered; name: how the caller calls the parameter.
    Raises InvalidInputError naming `name`, the allowed range and the value given.
    """
    from ..errors import InvalidInputError

    hi = max(2, int(n_rows) // MIN_PATTERN_SIZE)
    if isinstance(n_patterns, bool) or not isinstance(n_patterns, int | np.integer) or not 2 <= n_patterns <= hi:
        raise InvalidInputError(
            f"{name} must be a whole number from 2 to {hi} for {n_rows} reflections "
            f"(at least {MIN_PATTERN_SIZE} per pattern on average), got {n_patterns!r}")


def canonical_order(X: np.ndarray, keys: list | None = None, chunk: int = 16384) -> np.ndarray:
    """A permutation (n,) that depends only on the rows' content (or the given keys), not their order.

    X: (n, d); rows are compared after rounding to 5 decimals; keys: (n,) ids, compared as text.
    Rows with equal content (or equal keys) keep their input order, as a stable sort does.
    """
    if keys is not None:
        # numpy compares text by code point, as Python does: the same order as sorted(key=str), in C
        return np.argsort(np.asarray([str(k) for k in keys]), kind="stable")
    # Content key: the rounded row (integers) times two fixed random integer vectors, wrapping modulo
    # 2**64 -- a 128-bit hash computed by vectorised arithmetic, so it costs two passes of integer
    # products instead of a digest per row; rows differing beyond the 5th decimal get the same key.
    n, d = X.shape
    W = np.random.default_rng(0x5EED).integers(1, 2 ** 62, size=(d, 2), dtype=np.int64)
    h = np.empty((n, 2), dtype=np.int64)
    with np.errstate(over="ignore"):
        for s in range(0, n, chunk):
            h[s:s + chunk] = np.rint(np.asarray(X[s:s + chunk], dtype=np.float64) * 1e5).astype(np.int64) @ W
    return np.lexsort((h[:, 1], h[:, 0]))


def _take(seq: Any, idx: np.ndarray) -> list:
    """seq[i] for i in idx; a sequence with a `take` method (pandas, numpy, a lazy reader) answers at once."""
    take = getattr(seq, "take", None)
    if callable(take):
        return list(take(np.asarray(idx, dtype=np.int64)))
    return [seq[int(i)] for i in idx]


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

    n_patterns: ask for this many clusters (before merging near-duplicates); None chooses. Must be
        2..n // MIN_PATTERN_SIZE for n rows (`check_n_patterns`), else InvalidInputError at fit.
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
    fit_sample: the structure (reducer, k, clusters, keywords) is learned on at most this many rows,
        drawn by content (canonical order), so the result does not depend on row order; every row is
        then assigned to the centroids in passes of `chunk_size` rows. Below it, every row is used.
    chunk_size: rows per pass when assigning and averaging (bounds the working memory).

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
        fit_sample: int = 50000,
        chunk_size: int = 16384,
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
        self.fit_sample = fit_sample
        self.chunk_size = chunk_size

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
        import warnings

        import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime so the limit below reaches it)
        from threadpoolctl import threadpool_limits

        # Many short KMeans runs: OpenMP/BLAS thread teams cost more than they give, and on a busy
        # machine their spin-waiting makes a 1 s fit take 30 s.
        reset_fitted(self)
        # scikit-learn/numpy warnings (a KMeans run finding fewer distinct clusters than asked when
        # rows repeat) are kept in info_["warnings"] rather than printed raw to whoever calls fit
        with threadpool_limits(limits=self.n_jobs), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._fit(X, texts, dates, ids)
        notes = sorted({str(w.message).splitlines()[0] for w in caught})
        if notes:
            self.info_["warnings"] = notes
        return self

    def _fit(self, embeddings, texts, dates, ids) -> PatternModel:
        from sklearn.metrics import adjusted_rand_score

        from ..errors import InvalidInputError

        # float32 is what is stored: such a matrix is used as it is (no whole copy); the arithmetic
        # runs in float64 on bounded pieces (the fit sample, one chunk of rows at a time).
        E = validated(self, embeddings, reset=True, dtype=np.float32)
        n, d = E.shape
        for name, seq in (("texts", texts), ("dates", dates), ("ids", ids)):
            if seq is not None and len(seq) != n:
                raise InvalidInputError(f"{name} has {len(seq)} items but embeddings have {n} rows")
        if self.n_patterns is not None and self.clusterer is None:
            check_n_patterns(self.n_patterns, n)
        order = canonical_order(E, ids)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        # The structure is learned on a bounded sample drawn in canonical order (every row when there
        # are few), so memory and time of this part do not grow with the journal.
        cap = max(4, int(self.fit_sample))
        if n > cap:
            fit_rows = order[np.sort(np.random.default_rng(self.random_state).choice(n, cap, replace=False))]
        else:
            fit_rows = order
        Ec = _normalize(E[fit_rows].astype(np.float64))
        info: dict[str, Any] = {"n": n}
        if n > cap:
            info["fit_sample"] = cap

        if len(Ec) < 4:
            labels = np.zeros(len(Ec), dtype=int)
            stability = np.ones(1)
        else:
            X = self._reduce_fit(Ec)
            if self.clusterer is not None:
                from sklearn.base import clone

                self.clusterer_ = clone(self.clusterer)
                labels = np.asarray(self.clusterer_.fit_predict(X), dtype=int)
                stability = None
            else:
                m = len(X)
                if self.n_patterns is not None:
                    k = int(min(self.n_patterns, m))
                else:
                    k, info["selection"] = self._choose_k(X)
                info["k"] = k
                fits = [self._kmeans(k, self.random_state + s, m).fit(X) for s in range(max(1, self.n_seeds))]
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
            del X
        labels, stability = self._relabel(labels, stability)
        k = int(labels.max()) + 1 if (labels >= 0).any() else 0

        # Centroids live in the ORIGINAL embedding space so they can be stored and matched later.
        C = _normalize(np.array([Ec[labels == c].mean(0) for c in range(k)]).reshape(k, d))
        del Ec
        step = max(1, int(self.chunk_size))
        nearest = np.empty(n, dtype=np.int64)
        best_sim = np.empty(n, dtype=np.float64)
        for s in range(0, n, step):
            S = _chunk_sims(E[s:s + step], C)
            nearest[s:s + len(S)] = S.argmax(1)
            best_sim[s:s + len(S)] = S.max(1)
        labels = nearest
        # no outliers: the lowest cosine there is (a finite number, because the threshold is stored
        # in JSON metadata, where -Infinity is not valid and the journal refuses the row)
        threshold = -1.0
        if self.outlier_mads is not None and n >= 20:
            med = float(np.median(best_sim))
            mad = float(np.median(np.abs(best_sim - med))) * 1.4826
            threshold = med - self.outlier_mads * mad
            labels[best_sim < threshold] = -1
        # Recompute centroids on the final members (cheap, keeps centroid == mean of members).
        sums = np.zeros((k, d))
        for s in range(0, n, step):
            lab = labels[s:s + step]
            keep = np.flatnonzero(lab >= 0)
            onehot = np.zeros((k, len(lab)))
            onehot[lab[keep], keep] = 1.0
            sums += onehot @ _normalize(np.asarray(E[s:s + step], dtype=np.float64))
        counts = np.bincount(labels[labels >= 0], minlength=k)
        C = _normalize(np.where(counts[:, None] > 0, sums, C))
        C32 = C.astype(np.float32)
        # final assignment with the stored (float32) centroids, as predict computes it, so
        # predict(training rows) == labels_
        Cf = C32.astype(np.float64)
        for s in range(0, n, step):
            S = _chunk_sims(E[s:s + step], Cf)
            lab = S.argmax(1)
            b = S[np.arange(len(S)), lab]
            lab[b < threshold] = -1
            labels[s:s + len(S)] = lab
            best_sim[s:s + len(S)] = b
        strength = np.clip(best_sim, 0.0, 1.0)
        strength[labels < 0] = 0.0

        self.n_features_in_ = d
        self.cluster_centers_ = C32
        self.outlier_threshold_ = float(threshold)
        self.labels_ = labels
        self.strengths_ = strength
        self.sample_index_ = np.sort(fit_rows)
        self.info_ = info
        self.n_patterns_ = k

        member = labels >= 0
        sizes = np.bincount(labels[member], minlength=k)
        cohesion = np.bincount(labels[member], weights=best_sim[member], minlength=k) / np.maximum(sizes, 1)
        grouped = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[grouped], np.arange(k + 1))
        # How far members reach: the 5th percentile of their similarity (the p95 radius in cosine
        # distance); new rows beyond it fit the pattern poorly (incremental drift detection).
        self.radius_ = np.array([float(np.percentile(best_sim[grouped[bounds[c]:bounds[c + 1]]], 5))
                                 if sizes[c] else 0.0 for c in range(k)])
        stab = stability if stability is not None else np.full(k, np.nan)
        confidence = np.where(np.isnan(stab), cohesion, 0.5 * stab + 0.5 * cohesion)
        self.patterns_ = self._describe(labels, best_sim, grouped, bounds, cohesion, stab, confidence, texts,
                                        dates, ids, rank, fit_rows)
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
        E = validated(self, X, reset=False, dtype=np.float32)
        return self._similarities(E)

    def _similarities(self, E: np.ndarray) -> np.ndarray:
        """Cosine similarity (n, k) of rows to the stored centroids, in float64 per chunk (the same
        arithmetic as in fit, so predict(training rows) == labels_)."""
        C = self.cluster_centers_.astype(np.float64)
        out = np.empty((E.shape[0], C.shape[0]), dtype=np.float64)
        step = max(1, int(self.chunk_size))
        for s in range(0, E.shape[0], step):
            out[s:s + step] = _chunk_sims(E[s:s + step], C)
        return out

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

    def _describe(self, labels, best_sim, grouped, bounds, cohesion, stab, confidence, texts, dates, ids, rank,
                  fit_rows):
        import pandas as pd

        from .keywords import class_keywords, make_label

        k = len(cohesion)
        # keywords from the fit sample (every row when there are few), in canonical order
        kw = (class_keywords(_take(texts, fit_rows), labels[fit_rows], k, top_n=self.n_keywords)
              if texts is not None else [[] for _ in range(k)])
        rows = []
        ts = pd.to_datetime(pd.Series(list(dates)), utc=True) if dates is not None else None
        for c in range(k):
            members = grouped[bounds[c]:bounds[c + 1]]
            # most similar first, ties in canonical order (independent of input order)
            top = members[np.lexsort((rank[members], -best_sim[members]))][: self.n_representatives]
            row = {
                "pattern": c,
                "label": make_label(kw[c]) if kw[c] else f"pattern {c + 1}",
                "keywords": [w for w, _ in kw[c]],
                "size": int(len(members)),
                "confidence": round(float(confidence[c]), 4),
                "cohesion": round(float(cohesion[c]), 4),
                "stability": None if np.isnan(stab[c]) else round(float(stab[c]), 4),
                "radius": round(float(self.radius_[c]), 5),
                "representatives": [ids[i] for i in top] if ids is not None else [int(i) for i in top],
                "representative_texts": _take(texts, top) if texts is not None else [],
            }
            if ts is not None and len(members):
                row["first_seen"] = ts.iloc[members].min()
                row["last_seen"] = ts.iloc[members].max()
            rows.append(row)
        return pd.DataFrame(rows)


def _chunk_sims(rows: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Cosine similarity (m, k) of a chunk of rows to unit centroids C (k, d), in float64."""
    return _normalize(np.asarray(rows, dtype=np.float64)) @ C.T
