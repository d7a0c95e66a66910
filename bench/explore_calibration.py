"""Exploration: does a second view (the reflections' words, or the journal's neighbourhood graph) help calibration?

Same discipline as bench_generalise: 3 splits of HappyDB into halves A/B, 5 draws of 200 labels from A,
A's reflections are the unlabelled journal, every choice (fusion weight, C, blend) is made by
cross-validation inside the 200 labels; B is only scored. Prints, per approach, ROC AUC on A minus
the 200 labelled rows ("dev") and on B ("held-out"), mean over draws, worst split and mean over splits.
Run: python -m bench.explore_calibration [approach ...]  (no names: one of each kind, `MAIN`; about 2.5 CPU-min)
Labels per draw: $MIRROR_KIT_EXPLORE_LABELS (default 200).

Measured (all-MiniLM-L6-v2, 200 labels; dev = worst split of A-minus-labels, held = worst split of B,
each the mean over 5 draws; CPU-s = one calibration with its CV, pool of 5,280):

| approach                                               | agency dev | agency held | social dev | social held | CPU-s |
| ------------------------------------------------------ | ---------- | ----------- | ---------- | ----------- | ----- |
| baseline: current estimator (anchors + labels + PCs)   | 0.8500     | 0.8483      | 0.9478     | 0.9399      | 0.02  |
| lex_only: TF-IDF word+bigram LR on the 200 labels      | 0.7501     | 0.7542      | 0.8572     | 0.8510      | 0.22  |
| lex_fused: baseline + lex_only, weight by CV in labels | 0.8547     | 0.8542      | 0.9458     | 0.9413      | 0.10  |
| lex_cotrain: words taught by the axis on the pool      | 0.8587     | 0.8585      | 0.9517     | 0.9465      | 0.21  |
| lex_anchor: lex_cotrain + anchor phrases as texts      | 0.8597     | 0.8594      | 0.9519     | 0.9470      | 0.41  |
| la_w1: lex_anchor, equal weights (w picked on dev)     | 0.8637     | 0.8644      | 0.9532     | 0.9474      | 0.39  |
| cot_round2: words re-taught by the fused axis          | 0.8586     | 0.8579      | 0.9503     | 0.9452      | 0.40  |
| cotrain2: + axis re-taught by the words (3 views)      | 0.8572     | 0.8570      | 0.9513     | 0.9463      | 0.48  |
| cotrain2_fixed: same, equal weights                    | 0.8587     | 0.8600      | 0.9530     | 0.9474      | 0.61  |
| joint_lex3: one LR on [embedding, 3 x words]           | 0.8550     | 0.8572      | 0.9518     | 0.9452      | 0.80  |
| three_views: la_w1 + character 2-5-gram view           | 0.8619     | 0.8599      | 0.9523     | 0.9462      | 1.58  |
| nb_cotrain: naive Bayes words taught by the axis       | 0.8508     | 0.8506      | 0.9471     | 0.9419      | 0.27  |
| knn_smooth: blend with mean of 10 pool neighbours      | 0.8497     | 0.8492      | 0.9461     | 0.9399      | 0.65  |
| rbf_blend: Nystroem RBF LR on labels, blended by CV    | 0.8477     | 0.8472      | 0.9469     | 0.9385      | 0.15  |
| la_bag: mean of la_w1 and its 5 CV fold models         | 0.8641     | 0.8648      | 0.9532     | 0.9474      | +0.01 |
| la_raw: la_w1 + w * zero-shot lean, w by CV            | 0.8618     | 0.8636      | 0.9523     | 0.9472      | +0.03 |
| la_cl: confident learning, drop flagged labels, refit  | 0.8617     | 0.8621      | 0.9518     | 0.9462      | 1.80  |
| la_cl5: same, only the 5% most confident disagreements | 0.8620     | 0.8622      | 0.9510     | 0.9457      | 1.76  |
| la_lex: general lexicon as extra words-view anchors    | 0.8637     | 0.8648      | 0.9530     | 0.9470      | 0.86  |
| la_lex1 / la_lex10: lexicon anchor weight 1 / 10       | 0.8637     | 0.8646      | 0.9532     | 0.9473      | 0.87  |
| hp_*: axis C 0.5/2, anchor_weight 2/8, prior_spread 1, | 0.8600-    | 0.8615-     | 0.9518-    | 0.9465-     | ~0.8  |
|   64 PCs, words C 0.5/2, label weight 20, keep 70%     | 0.8647     | 0.8654      | 0.9539     | 0.9477      |       |
| vec_bin: words view on binary presence, no idf/norm    | 0.8544     | 0.8555      | 0.9528     | 0.9474      | 0.48  |
| vec_nonorm: words view tf-idf without L2 row norm      | 0.8505     | 0.8500      | 0.9505     | 0.9455      | 0.47  |
| lex_count: la_w1 + w * lexicon count (b - a), w by CV  | 0.8628     | 0.8624      | 0.9565     | 0.9501      | +0.02 |
| lex_count_wide: same, grid up to 1.6                   | 0.8628     | 0.8624      | 0.9564     | 0.9500      | +0.02 |

("+": on top of la_w1's fits, cached in the same run.) Round 3 (la_w1 in the same runs: 0.8637 / 0.8644
/ 0.9532 / 0.9474, held mean over splits 0.8671 / 0.9497): label-noise handling (confident learning,
Northcutt et al. 2021), bagging, blending the zero-shot lean, the lexicon as words-view anchors and every
hyperparameter variant stay within +-0.001 of la_w1 on social: a flat optimum. Only the lexicon as a
count feature moves social: lex_count, a general-English lexicon per pole (people and kin nouns, first-
person plural and third-person pronouns, social verbs; acting/deciding verbs for agency; `LEXICON`)
counted once per entry whatever the text's length (the words view normalises by length), weighted by
CV inside the labels from (0, 0.1, 0.2, 0.4, 0.8). Chosen on dev (social dev worst +0.0033, agency dev
-0.0009), it is the first estimator at >= 0.95 held-out on every split: social held worst 0.9501,
mean 0.9534; agency held worst 0.8624 (mean 0.8664), above 0.85. The wider grid did not help on dev.
Now in mirror_kit/tensions/lexicon.py (`TensionScorer(lexicon_weights=...)`); there (its own fold
assignment and row order) `python -m bench generalise` gives social held worst 0.9499 (0.9476 without
the lexicon, same draws), mean 0.9532 (0.9498); agency 0.8627 (0.8650), mean 0.8663 (0.8674).

With 400 labels: baseline 0.8563 / 0.9425 held, la_w1 0.8740 / 0.9494 held (agency / social).
The worst held-out split is split 0 throughout (the half no earlier decision saw). The words view
taught by the embedding axis on the unlabelled journal (co-training) is the only idea that moved
both labels; agency passes 0.85, social stays below 0.95 at 200 and at 400 labels.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial

import numpy as np

from .bench_generalise import CASES, CSV, SPLITS, _embeddings, _halves

DRAWS = 5
N_LABELS = int(os.environ.get("MIRROR_KIT_EXPLORE_LABELS", "200"))
W_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def _auc(y, s):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def _folds(y, seed=0, k=5):
    from sklearn.model_selection import StratifiedKFold

    k = min(k, int((y == 0).sum()), int((y == 1).sum()))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


class Ctx:
    """One split/draw/tension: the data every approach sees (pool = half A, unlabelled)."""

    def __init__(self, scorer, tid, E, texts, y, A, B, tr):
        self.scorer, self.tid, self.E, self.texts, self.y = scorer, tid, E, texts, y
        self.A, self.B, self.tr = A, B, tr
        self.dev = np.setdiff1d(A, tr)
        self.P = scorer._prior_directions(E[A])
        self.raw = scorer.raw_scores(E, tid)[0]

    def emb_fit(self, idx):
        c, pc, b = self.scorer._fit_axis(self.E[idx], self.y[idx], self.tid, self.P)
        return self.E @ c + pc * self.raw + b  # (n,) logits for every row

    def emb_all(self):
        if not hasattr(self, "_z"):
            self._z = self.emb_fit(self.tr)
        return self._z

    def emb_oof_models(self):
        """Per fold of the labels: (train idx, test idx, logits for all rows from that fold's model)."""
        if not hasattr(self, "_oof"):
            self._oof = [(self.tr[a], self.tr[b], self.emb_fit(self.tr[a])) for a, b in _folds(self.y[self.tr])]
        return self._oof


def lexical_features(ctx, **kw):
    from sklearn.feature_extraction.text import TfidfVectorizer

    key = tuple(sorted(kw.items()))
    cache = ctx.__dict__.setdefault("_tfidf", {})
    if key not in cache:
        opts = dict(ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode")
        opts.update(kw)
        vec = TfidfVectorizer(**opts).fit(ctx.texts[ctx.A])
        cache[key] = vec.transform(ctx.texts)
    return cache[key]


def _lr(X, y, C, w=None):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000).fit(X, y, sample_weight=w)


def _pick_w(y, a, b, grid=W_GRID):
    """Fusion weight of view b added to view a's logits, by out-of-fold AUC (ties -> smaller weight)."""
    best = max(grid, key=lambda w: (round(_auc(y, a + w * b), 6), -w))
    return best


def ap_baseline(ctx):
    return ctx.emb_all(), {}


def _lex_logits(ctx, X, idx, C):
    m = _lr(X[idx], ctx.y[idx], C)
    return m.decision_function(X)


def ap_lex_only(ctx, C=4.0):
    X = lexical_features(ctx)
    return _lex_logits(ctx, X, ctx.tr, C), {}


def _fuse(ctx, other_all, other_fold, grid=W_GRID, standardise=True):
    """Embedding logits + w * other view's logits, w by out-of-fold AUC inside the labels."""
    ytr = ctx.y
    oof_a, oof_b, idx = [], [], []
    for trf, tef, z in ctx.emb_oof_models():
        o = other_fold(trf)
        oof_a.append(z[tef])
        oof_b.append(o[tef])
        idx.append(tef)
    a, b = np.concatenate(oof_a), np.concatenate(oof_b)
    yy = ytr[np.concatenate(idx)]
    za, zb = ctx.emb_all(), other_all
    if standardise:  # put the second view on the first's scale (spread over the pool) so w is comparable
        sa, sb = np.std(za[ctx.A]), max(np.std(zb[ctx.A]), 1e-9)
        b = b * sa / sb
        zb = zb * sa / sb
    w = _pick_w(yy, a, b, grid)
    return za + w * zb, {"w": w}


def ap_lex_fused(ctx, C=4.0):
    X = lexical_features(ctx)
    return _fuse(ctx, _lex_logits(ctx, X, ctx.tr, C), lambda idx: _lex_logits(ctx, X, idx, C))


def _lex_cotrain(ctx, X, idx, z, C, label_weight, keep=1.0, soft=False):
    """Lexical LR on the pool with the embedding model's labels (top/bottom by its logits, at the
    labelled prevalence) plus the true labels weighted up: the words learn from the whole journal."""
    pool = np.setdiff1d(ctx.A, idx)
    prev = ctx.y[idx].mean()
    thr = np.quantile(z[pool], 1 - prev)
    if keep < 1.0:  # only the pool rows the embedding model is surest of, on both sides of the cut
        m = np.abs(z[pool] - thr)
        pool = pool[m >= np.quantile(m, 1 - keep)]
    ypool = (z[pool] > thr).astype(int)
    wpool = np.ones(len(pool))
    if soft:  # each pool row as both classes, weighted by the embedding model's probability
        p = 1 / (1 + np.exp(-(z[pool] - thr)))
        pool = np.concatenate([pool, pool])
        ypool = np.concatenate([np.ones(len(p), int), np.zeros(len(p), int)])
        wpool = np.concatenate([p, 1 - p])
    rows = np.concatenate([pool, idx])
    yy = np.concatenate([ypool, ctx.y[idx]])
    w = np.concatenate([wpool, np.full(len(idx), label_weight)])
    return _lr(X[rows], yy, C, w).decision_function(X)


def ap_lex_cotrain(ctx, C=1.0, label_weight=10.0, keep=1.0, soft=False, grid=W_GRID, rounds=1):
    X = lexical_features(ctx)
    zall = ctx.emb_all()
    folds = {tuple(trf): z for trf, _, z in ctx.emb_oof_models()}
    kw = dict(C=C, label_weight=label_weight, keep=keep, soft=soft)
    out = _fuse(ctx, _lex_cotrain(ctx, X, ctx.tr, zall, **kw),
                lambda idx: _lex_cotrain(ctx, X, idx, folds[tuple(idx)], **kw), grid)
    return out


def _knn(ctx, k):
    """(n, k) indices into A of each row's k nearest pool reflections (cosine), self excluded."""
    cache = ctx.__dict__.setdefault("_knn", {})
    if k not in cache:
        EA = ctx.E[ctx.A]
        out = np.empty((len(ctx.E), k), dtype=np.int64)
        for s in range(0, len(ctx.E), 2048):
            S = ctx.E[s:s + 2048] @ EA.T
            rows = np.arange(s, min(s + 2048, len(ctx.E)))
            # a pool row is not its own neighbour
            pos = np.searchsorted(ctx.A, rows)
            hit = (pos < len(ctx.A)) & (ctx.A[np.minimum(pos, len(ctx.A) - 1)] == rows)
            S[np.nonzero(hit)[0], pos[hit]] = -np.inf
            out[s:s + len(rows)] = np.argpartition(-S, k, axis=1)[:, :k]
        cache[k] = ctx.A[out]
    return cache[k]


def ap_knn_smooth(ctx, k=10):
    nb = _knn(ctx, k)

    def smooth(z):
        return z[nb].mean(axis=1)

    return _fuse(ctx, smooth(ctx.emb_all()), lambda idx: smooth(next(z for trf, _, z in ctx.emb_oof_models()
                                                                     if np.array_equal(trf, idx))),
                 standardise=False)


APPROACHES = {
    "baseline": ap_baseline,
    "lex_only": ap_lex_only,
    "lex_fused": ap_lex_fused,
    "lex_cotrain": ap_lex_cotrain,
    "cot_grid": partial(ap_lex_cotrain, grid=W_GRID + (3.0, 4.0, 6.0)),
    "cot_C4": partial(ap_lex_cotrain, C=4.0),
    "cot_C025": partial(ap_lex_cotrain, C=0.25),
    "cot_lw3": partial(ap_lex_cotrain, label_weight=3.0),
    "cot_lw30": partial(ap_lex_cotrain, label_weight=30.0),
    "cot_keep50": partial(ap_lex_cotrain, keep=0.5),
    "cot_soft": partial(ap_lex_cotrain, soft=True),
    "knn_smooth": ap_knn_smooth,
}


def main() -> None:
    import pandas as pd

    from mirror_kit.embedding import get_embedder
    from mirror_kit.tensions.model import TensionScorer
    from mirror_kit.tensions.service import _CachingEncoder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    chosen = [a for a in sys.argv[1:] if not a.startswith("-")] or list(MAIN)
    df = pd.read_csv(CSV)
    emb = _CachingEncoder(get_embedder())
    E, _ = _embeddings(df, emb.emb)
    texts = df["moment"].astype(str).to_numpy()
    scorer = TensionScorer(embedder=emb).fit()
    rows = []
    for split in SPLITS:
        A, B = _halves(len(df), split)
        for tid, lab in CASES:
            y = (df[lab] == "yes").to_numpy().astype(int)
            for d in range(DRAWS):
                tr = np.random.default_rng(1000 * split + d).choice(A, N_LABELS, replace=False)
                ctx = Ctx(scorer, tid, E, texts, y, A, B, tr)
                for name in chosen:
                    t0 = time.process_time()
                    z, info = APPROACHES[name](ctx)
                    rows.append({"split": split, "label": lab, "draw": d, "approach": name,
                                 "dev": _auc(y[ctx.dev], z[ctx.dev]), "held": _auc(y[B], z[B]),
                                 "cpu": time.process_time() - t0, "info": str(info)})
        print(f"split {split} done", file=sys.stderr, flush=True)
    t = pd.DataFrame(rows)
    g = t.groupby(["approach", "label", "split"])[["dev", "held", "cpu"]].mean().reset_index()
    out = g.groupby(["approach", "label"]).agg(dev_worst=("dev", "min"), dev_mean=("dev", "mean"),
                                               held_worst=("held", "min"), held_mean=("held", "mean"),
                                               cpu=("cpu", "mean")).reset_index()
    pd.set_option("display.width", 200)
    print(out.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(g.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    infos = t.groupby(["approach", "label"])["info"].agg(lambda s: ", ".join(sorted(set(s))[:6]))
    print(infos.to_string())


def _pseudo_lr(ctx, F, idx, z, C, label_weight):
    """LR on features F over the pool labelled by z (cut at the labelled prevalence) plus the labels."""
    pool = np.setdiff1d(ctx.A, idx)
    thr = np.quantile(z[pool], 1 - ctx.y[idx].mean())
    rows = np.concatenate([pool, idx])
    yy = np.concatenate([(z[pool] > thr).astype(int), ctx.y[idx]])
    w = np.concatenate([np.ones(len(pool)), np.full(len(idx), label_weight)])
    return _lr(F[rows], yy, C, w).decision_function(F)


def ap_cotrain2(ctx, C_lex=1.0, C_emb=1.0, label_weight=10.0, lex_kw=None, grid=W_GRID):
    """Two-view co-training: words learn from the embedding axis's pool labels, then the embedding
    learns from the words' pool labels; the three logits are summed with weights picked by CV."""
    X = lexical_features(ctx, **(lex_kw or {}))
    F = ctx.E

    def pipeline(idx, z_e):
        z_l = _pseudo_lr(ctx, X, idx, z_e, C_lex, label_weight)
        z_e2 = _pseudo_lr(ctx, F, idx, z_l, C_emb, label_weight)
        return [z_e, z_l, z_e2]

    full = pipeline(ctx.tr, ctx.emb_all())
    parts, ys = [], []
    for trf, tef, z in ctx.emb_oof_models():
        parts.append(np.column_stack([v[tef] for v in pipeline(trf, z)]))
        ys.append(ctx.y[tef])
    oof, yy = np.vstack(parts), np.concatenate(ys)
    sd = np.array([np.std(v[ctx.A]) for v in full])
    scale = sd[0] / np.maximum(sd, 1e-9)
    oof = oof * scale
    best = max(((w1, w2) for w1 in grid for w2 in grid),
               key=lambda w: (round(_auc(yy, oof[:, 0] + w[0] * oof[:, 1] + w[1] * oof[:, 2]), 6), -sum(w)))
    z = full[0] * scale[0] + best[0] * full[1] * scale[1] + best[1] * full[2] * scale[2]
    return z, {"w": best}


APPROACHES.update({
    "cotrain2": ap_cotrain2,
    "cotrain2_char": partial(ap_cotrain2, lex_kw={"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 3}),
})


def _ap_char(ctx):
    X = lexical_features(ctx, analyzer="char_wb", ngram_range=(2, 5), min_df=3)
    zall = ctx.emb_all()
    folds = {tuple(trf): z for trf, _, z in ctx.emb_oof_models()}
    return _fuse(ctx, _pseudo_lr(ctx, X, ctx.tr, zall, 1.0, 10.0),
                 lambda idx: _pseudo_lr(ctx, X, idx, folds[tuple(idx)], 1.0, 10.0))


APPROACHES["cot_char"] = _ap_char

def ap_cot_fused_round(ctx, rounds=2):
    """Words relearn from the fused axis's pool labels, `rounds` times; fusion weight by CV each time."""
    X = lexical_features(ctx)
    folds = {tuple(trf): z for trf, _, z in ctx.emb_oof_models()}
    teach_full, teach = ctx.emb_all(), dict(folds)
    for _ in range(rounds):
        zl_full = _pseudo_lr(ctx, X, ctx.tr, teach_full, 1.0, 10.0)
        zl = {k: _pseudo_lr(ctx, X, np.array(k), teach[k], 1.0, 10.0) for k in folds}
        z, info = _fuse(ctx, zl_full, lambda idx, zl=zl: zl[tuple(idx)])
        w = info["w"] * np.std(ctx.emb_all()[ctx.A]) / max(np.std(zl_full[ctx.A]), 1e-9)
        teach_full = ctx.emb_all() + w * zl_full
        teach = {k: folds[k] + w * zl[k] for k in folds}
    return z, info


def ap_joint(ctx, C=1.0, label_weight=10.0, lex_scale=1.0):
    """One LR on [embedding, words] over pool pseudo-labels from the embedding axis plus the labels."""
    from scipy import sparse

    X = sparse.hstack([sparse.csr_matrix(ctx.E), lexical_features(ctx) * lex_scale]).tocsr()
    folds = {tuple(trf): z for trf, _, z in ctx.emb_oof_models()}
    return _fuse(ctx, _pseudo_lr(ctx, X, ctx.tr, ctx.emb_all(), C, label_weight),
                 lambda idx: _pseudo_lr(ctx, X, idx, folds[tuple(idx)], C, label_weight))


def ap_lex_anchor(ctx, anchor_weight=4.0, C=1.0, label_weight=10.0, vec_kw=None, grid=W_GRID):
    """Words learn from the pool's pseudo-labels, the labels and the anchor phrases themselves."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    t = ctx.scorer.tensions_[ctx.scorer.tension_ids_.index(ctx.tid)]
    pa, pb = t.phrases("a"), t.phrases("b")
    opts = dict(ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode")
    opts.update(vec_kw or {})
    vec = TfidfVectorizer(**opts)
    vec.fit(ctx.texts[ctx.A])
    X = vec.transform(ctx.texts)
    Xa = vec.transform(pa + pb)
    ya = np.r_[np.zeros(len(pa), int), np.ones(len(pb), int)]
    from scipy import sparse

    def fit(idx, z):
        pool = np.setdiff1d(ctx.A, idx)
        thr = np.quantile(z[pool], 1 - ctx.y[idx].mean())
        F = sparse.vstack([X[pool], X[idx], Xa])
        yy = np.concatenate([(z[pool] > thr).astype(int), ctx.y[idx], ya])
        w = np.concatenate([np.ones(len(pool)), np.full(len(idx), label_weight), np.full(len(ya), anchor_weight)])
        return _lr(F, yy, C, w).decision_function(X)

    folds = {tuple(trf): z for trf, _, z in ctx.emb_oof_models()}
    return _fuse(ctx, fit(ctx.tr, ctx.emb_all()), lambda idx: fit(idx, folds[tuple(idx)]), grid)


APPROACHES.update({"cot_round2": ap_cot_fused_round, "joint": ap_joint, "lex_anchor": ap_lex_anchor,
                   "joint_lex3": partial(ap_joint, lex_scale=3.0),
                   "la_aw10": partial(ap_lex_anchor, anchor_weight=10.0),
                   "la_C2": partial(ap_lex_anchor, C=2.0),
                   "la_uni": partial(ap_lex_anchor, vec_kw={"ngram_range": (1, 1)}),
                   "la_tri_df1": partial(ap_lex_anchor, vec_kw={"ngram_range": (1, 3), "min_df": 1})})

def ap_rbf_blend(ctx, n_components=300, C=1.0):
    """Nonlinear view: RBF features (Nystroem, fitted on the pool) with an LR on the labels, fused by CV."""
    from sklearn.kernel_approximation import Nystroem

    ny = Nystroem(gamma=1.0, n_components=n_components, random_state=0).fit(ctx.E[ctx.A])
    R = ny.transform(ctx.E)
    return _fuse(ctx, _lr(R[ctx.tr], ctx.y[ctx.tr], C).decision_function(R),
                 lambda idx: _lr(R[idx], ctx.y[idx], C).decision_function(R))


APPROACHES["rbf_blend"] = ap_rbf_blend


def ap_nb_cotrain(ctx, alpha=0.5, label_weight=10.0):
    """Words as a naive Bayes over binary word/bigram counts, taught by the embedding axis on the pool."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    X = CountVectorizer(ngram_range=(1, 2), min_df=2, binary=True, strip_accents="unicode").fit(
        ctx.texts[ctx.A]).transform(ctx.texts)

    def fit(idx, z):
        pool = np.setdiff1d(ctx.A, idx)
        thr = np.quantile(z[pool], 1 - ctx.y[idx].mean())
        rows = np.concatenate([pool, idx])
        yy = np.concatenate([(z[pool] > thr).astype(int), ctx.y[idx]])
        w = np.concatenate([np.ones(len(pool)), np.full(len(idx), label_weight)])
        lp = MultinomialNB(alpha=alpha).fit(X[rows], yy, sample_weight=w).predict_log_proba(X)
        return lp[:, 1] - lp[:, 0]

    folds = {tuple(trf): z for trf, _, z in ctx.emb_oof_models()}
    return _fuse(ctx, fit(ctx.tr, ctx.emb_all()), lambda idx: fit(idx, folds[tuple(idx)]))


def ap_lex_anchor_fixed(ctx, w=1.0):
    """lex_anchor with a fixed fusion weight (after scaling) instead of one picked inside the labels."""
    return ap_lex_anchor(ctx, grid=(w,))


def ap_three_views(ctx):
    """Embedding axis + word view (with anchors) + character view, each scaled to the axis's spread, equal weights."""
    z_e = ctx.emb_all()
    z_w, _ = ap_lex_anchor(ctx, grid=(1.0,))
    Xc = lexical_features(ctx, analyzer="char_wb", ngram_range=(2, 5), min_df=3)
    z_c = _pseudo_lr(ctx, Xc, ctx.tr, z_e, 1.0, 10.0)
    return z_w + z_c * np.std(z_e[ctx.A]) / max(np.std(z_c[ctx.A]), 1e-9), {}


APPROACHES.update({"nb_cotrain": ap_nb_cotrain, "three_views": ap_three_views,
                   "cotrain2_fixed": partial(ap_cotrain2, grid=(1.0,)),
                   "la_w05": partial(ap_lex_anchor_fixed, w=0.5), "la_w1": partial(ap_lex_anchor_fixed, w=1.0),
                   "la_w15": partial(ap_lex_anchor_fixed, w=1.5), "la_w2": partial(ap_lex_anchor_fixed, w=2.0)})

# -- round 3: label noise, general lexicons, bagging, zero-shot blend ---------------------------------
# General-English lexicons (any journal, nothing corpus-specific): people and kin nouns, first-person
# plural, social verbs for connection; being alone for solitude; acting/deciding verbs for agency and
# receiving/happening for surrender. Each entry is one short pseudo-text for the words view.
LEXICON = {
    "solitude_connection": (
        ["alone", "by myself", "myself", "just me", "me time", "solitude", "quiet time",
         "for myself", "to myself", "my own", "no one", "nobody", "independently", "in peace"],
        ["we", "us", "our", "together", "friend", "friends", "my friend", "my friends", "family", "my family",
         "wife", "my wife", "husband", "my husband", "boyfriend", "girlfriend", "partner", "my partner",
         "son", "my son", "daughter", "my daughter", "kids", "my kids", "children", "baby", "mom", "my mom",
         "mother", "dad", "my dad", "father", "parents", "brother", "sister", "cousin", "grandma", "grandpa",
         "grandmother", "grandfather", "aunt", "uncle", "nephew", "niece", "girlfriend", "fiance", "coworker",
         "colleague", "colleagues", "neighbor", "neighbour", "roommate", "boss", "team", "classmates",
         "people", "everyone", "someone", "he", "she", "they", "him", "her", "them", "his", "their",
         "met", "visited", "talked", "talked to", "called", "called me", "hugged", "celebrated", "party",
         "dinner with", "lunch with", "hang out", "hung out", "spent time with", "with my", "with friends",
         "reunion", "wedding", "birthday", "date", "chatted", "texted", "played with", "surprised me",
         "gave me", "told me", "came over", "got together", "invited", "married", "kissed", "laughed with"],
    ),
    "surrender_agency": (
        ["happened", "happened to me", "luck", "lucky", "got lucky", "surprised me", "gave me", "was given",
         "received", "got a gift", "someone", "the weather", "it rained", "sunny", "finally arrived",
         "unexpected", "out of the blue", "let go", "accepted", "it turned out", "was told", "was invited",
         "they", "he", "she", "called me", "told me", "sent me", "bought me", "took me"],
        ["decided", "chose", "managed to", "achieved", "finished", "completed", "made", "built", "won",
         "earned", "passed", "fixed", "started", "learned", "planned", "worked hard", "did it", "my goal",
         "goal", "accomplished"],
    ),
}


def _views(ctx, key="plain", lexicon=False, lex_weight=4.0, label_w=None):
    """Full and per-fold (axis logits, words logits rescaled to the axis's spread over the pool) for the
    la_w1 words view (optionally with the general lexicon as extra anchor texts; `label_w`: optional
    (n,) weights of the labelled rows, 0 drops a row). Cached per ctx and key."""
    cache = ctx.__dict__.setdefault("_views", {})
    if key in cache:
        return cache[key]
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    t = ctx.scorer.tensions_[ctx.scorer.tension_ids_.index(ctx.tid)]
    pa, pb = t.phrases("a"), t.phrases("b")
    anchor_w = 4.0
    wa = [anchor_w] * (len(pa) + len(pb))
    if lexicon:
        la, lb = LEXICON[ctx.tid]
        pa, pb = pa + la, pb + lb
        wa = [anchor_w] * len(t.phrases("a")) + [lex_weight] * len(la)
        wa += [anchor_w] * len(t.phrases("b")) + [lex_weight] * len(lb)
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode")
    vec.fit(ctx.texts[ctx.A])
    X = vec.transform(ctx.texts)
    Xa = vec.transform(pa + pb)
    ya = np.r_[np.zeros(len(pa), int), np.ones(len(pb), int)]
    wa = np.asarray(wa, dtype=float)

    def words(idx, z):
        lw = np.full(len(idx), 10.0) if label_w is None else 10.0 * label_w[idx]
        keep = lw > 0
        idx_k, lw = idx[keep], lw[keep]
        pool = np.setdiff1d(ctx.A, idx)
        thr = np.quantile(z[pool], 1 - ctx.y[idx_k].mean())
        F = sparse.vstack([X[pool], X[idx_k], Xa])
        yy = np.concatenate([(z[pool] > thr).astype(int), ctx.y[idx_k], ya])
        w = np.concatenate([np.ones(len(pool)), lw, wa])
        zw = _lr(F, yy, 1.0, w).decision_function(X)
        return zw * np.std(z[ctx.A]) / max(np.std(zw[ctx.A]), 1e-9)

    def axis(idx):
        if label_w is None:
            return ctx.emb_fit(idx)
        return ctx.emb_fit(idx[label_w[idx] > 0])

    full = (axis(ctx.tr) if label_w is not None else ctx.emb_all())
    full = (full, words(ctx.tr, full))
    folds = []
    for trf, tef, z in ctx.emb_oof_models():
        z = axis(trf) if label_w is not None else z
        folds.append((trf, tef, z, words(trf, z)))
    cache[key] = (full, folds)
    return cache[key]


def _oof(ctx, folds, combine):
    parts, ys = [], []
    for _trf, tef, z, zw in folds:
        parts.append(combine(z, zw)[tef])
        ys.append(ctx.y[tef])
    return np.concatenate(parts), np.concatenate(ys), np.concatenate([f[1] for f in folds])


def ap_la_ref(ctx):
    """la_w1 rebuilt from `_views` (per-model rescaling as in the package): the reference of this round."""
    (z, zw), _ = _views(ctx)
    return z + zw, {}


def ap_la_bag(ctx):
    """Bagging for free: mean of the full la_w1 model and its cross-validation fold models."""
    (z, zw), folds = _views(ctx)
    return (z + zw + sum(f[2] + f[3] for f in folds)) / (1 + len(folds)), {}


def ap_la_raw(ctx, grid=(0.0, 0.25, 0.5, 1.0, 2.0)):
    """la_w1 + w * zero-shot lean (rescaled to the fused spread), w by out-of-fold AUC in the labels."""
    (z, zw), folds = _views(ctx)
    r = ctx.raw * np.std((z + zw)[ctx.A]) / np.std(ctx.raw[ctx.A])
    oof, yy, te = _oof(ctx, folds, lambda a, b: a + b)
    rr = r[te]
    w = max(grid, key=lambda v: (round(_auc(yy, oof + v * rr), 6), -v))
    return z + zw + w * r, {"w": w}


def _noisy(ctx, frac=None):
    """Labelled rows (bool over all rows) whose label confidently disagrees with la_w1's out-of-fold
    prediction (confident learning, Northcutt et al. 2021: per-class thresholds on Platt-scaled
    out-of-fold probabilities); `frac`: instead only the most confident share of disagreements."""
    from sklearn.linear_model import LogisticRegression

    _, folds = _views(ctx)
    oof, yy, te = _oof(ctx, folds, lambda a, b: a + b)
    p = LogisticRegression(C=100.0).fit(oof[:, None], yy).predict_proba(oof[:, None])[:, 1]
    t1, t0 = p[yy == 1].mean(), (1 - p[yy == 0]).mean()
    bad = ((yy == 1) & (1 - p >= t0)) | ((yy == 0) & (p >= t1))
    if frac is not None:
        margin = np.where(yy == 1, 1 - p, p)
        k = int(round(frac * len(yy)))
        order = np.argsort(-margin)
        bad = np.zeros(len(yy), bool)
        bad[order[:k]] = margin[order[:k]] > 0.5
    mask = np.zeros(len(ctx.y), bool)
    mask[te[bad]] = True
    return mask


def ap_la_cl(ctx, frac=None, weight=0.0):
    """Confident learning: refit la_w1 without (or with down-weighted) labels flagged by `_noisy`."""
    bad = _noisy(ctx, frac)
    if not bad.any():
        return ap_la_ref(ctx)[0], {"dropped": 0}
    lw = np.ones(len(ctx.y))
    lw[bad] = weight  # weight > 0: down-weighted in the words view only (the axis keeps the row)
    (z, zw), _ = _views(ctx, key=f"cl{frac}{weight}", label_w=lw)
    return z + zw, {"dropped": int(bad.sum())}


def ap_la_lex(ctx, lex_weight=4.0):
    """la_w1 whose words view also learns from a general lexicon of each pole (short pseudo-texts)."""
    (z, zw), _ = _views(ctx, key=f"lex{lex_weight}", lexicon=True, lex_weight=lex_weight)
    return z + zw, {}


APPROACHES.update({"la_ref": ap_la_ref, "la_bag": ap_la_bag, "la_raw": ap_la_raw, "la_cl": ap_la_cl,
                   "la_cl5": partial(ap_la_cl, frac=0.05), "la_lex": ap_la_lex,
                   "la_lex1": partial(ap_la_lex, lex_weight=1.0), "la_lex10": partial(ap_la_lex, lex_weight=10.0)})

_SCORERS: dict = {}


def ap_la_hp(ctx, words_C=1.0, label_weight=10.0, keep=1.0, **axis_kw):
    """la_w1 with other settings of the axis (TensionScorer C, anchor_weight, prior_*) and of the words
    view (its C, the labels' weight, `keep`: only that share of the pool rows farthest from the cut)."""
    from scipy import sparse

    from mirror_kit.tensions.model import TensionScorer

    key = tuple(sorted(axis_kw.items()))
    if key not in _SCORERS:
        _SCORERS[key] = TensionScorer(embedder=ctx.scorer.embedder, **axis_kw).fit()
    c = Ctx(_SCORERS[key], ctx.tid, ctx.E, ctx.texts, ctx.y, ctx.A, ctx.B, ctx.tr) if axis_kw else ctx
    t = c.scorer.tensions_[c.scorer.tension_ids_.index(c.tid)]
    pa, pb = t.phrases("a"), t.phrases("b")
    X = lexical_features(ctx)
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode").fit(
        ctx.texts[ctx.A])
    Xa = vec.transform(pa + pb)
    ya = np.r_[np.zeros(len(pa), int), np.ones(len(pb), int)]

    def words(idx, z):
        pool = np.setdiff1d(ctx.A, idx)
        thr = np.quantile(z[pool], 1 - ctx.y[idx].mean())
        if keep < 1.0:
            m = np.abs(z[pool] - thr)
            pool = pool[m >= np.quantile(m, 1 - keep)]
        F = sparse.vstack([X[pool], X[idx], Xa])
        yy = np.concatenate([(z[pool] > thr).astype(int), ctx.y[idx], ya])
        w = np.concatenate([np.ones(len(pool)), np.full(len(idx), label_weight), np.full(len(ya), 4.0)])
        zw = _lr(F, yy, words_C, w).decision_function(X)
        return zw * np.std(z[ctx.A]) / max(np.std(zw[ctx.A]), 1e-9)

    z = c.emb_all()
    return z + words(ctx.tr, z), {}


APPROACHES.update({
    "hp_axC2": partial(ap_la_hp, C=2.0), "hp_axC05": partial(ap_la_hp, C=0.5),
    "hp_aw2": partial(ap_la_hp, anchor_weight=2.0), "hp_aw8": partial(ap_la_hp, anchor_weight=8.0),
    "hp_spread1": partial(ap_la_hp, prior_spread=1.0), "hp_pc64": partial(ap_la_hp, prior_components=64),
    "hp_wC2": partial(ap_la_hp, words_C=2.0), "hp_wC05": partial(ap_la_hp, words_C=0.5),
    "hp_lw20": partial(ap_la_hp, label_weight=20.0), "hp_keep70": partial(ap_la_hp, keep=0.7),
})

def ap_la_vec(ctx, **vec_kw):
    """la_w1 whose words view uses other term weights (e.g. binary presence, no length normalisation)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    t = ctx.scorer.tensions_[ctx.scorer.tension_ids_.index(ctx.tid)]
    pa, pb = t.phrases("a"), t.phrases("b")
    opts = dict(ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode")
    opts.update(vec_kw)
    vec = TfidfVectorizer(**opts).fit(ctx.texts[ctx.A])
    X, Xa = vec.transform(ctx.texts), vec.transform(pa + pb)
    ya = np.r_[np.zeros(len(pa), int), np.ones(len(pb), int)]
    z, idx = ctx.emb_all(), ctx.tr
    pool = np.setdiff1d(ctx.A, idx)
    thr = np.quantile(z[pool], 1 - ctx.y[idx].mean())
    F = sparse.vstack([X[pool], X[idx], Xa])
    yy = np.concatenate([(z[pool] > thr).astype(int), ctx.y[idx], ya])
    w = np.concatenate([np.ones(len(pool)), np.full(len(idx), 10.0), np.full(len(ya), 4.0)])
    zw = _lr(F, yy, 1.0, w).decision_function(X)
    return z + zw * np.std(z[ctx.A]) / max(np.std(zw[ctx.A]), 1e-9), {}


def ap_lex_count(ctx, grid=(0.0, 0.1, 0.2, 0.4, 0.8)):
    """la_w1 + w * (pole-b lexicon terms present - pole-a ones), w by out-of-fold AUC in the labels."""
    from mirror_kit.tensions.words import terms

    cache = ctx.__dict__.setdefault("_lexc", {})
    if "f" not in cache:
        la, lb = (set(v) for v in LEXICON[ctx.tid])
        ts = [set(terms(x)) for x in ctx.texts]
        cache["f"] = np.array([len(t & lb) - len(t & la) for t in ts], dtype=float)
    f = cache["f"]
    (z, zw), folds = _views(ctx)
    oof, yy, te = _oof(ctx, folds, lambda a, b: a + b)
    w = max(grid, key=lambda v: (round(_auc(yy, oof + v * f[te]), 6), -v))
    return z + zw + w * f, {"w": w}


APPROACHES.update({
    "vec_bin": partial(ap_la_vec, binary=True, use_idf=False, norm=None, sublinear_tf=False),
    "vec_bin_idf": partial(ap_la_vec, binary=True, norm=None, sublinear_tf=False),
    "vec_nonorm": partial(ap_la_vec, norm=None),
    "lex_count": ap_lex_count,
    "lex_count_wide": partial(ap_lex_count, grid=(0.0, 0.1, 0.2, 0.4, 0.8, 1.2, 1.6)),
})

# one of each kind (the others are parameter variants of these)
MAIN = ("baseline", "lex_only", "lex_fused", "lex_cotrain", "lex_anchor", "la_w1", "cot_round2", "cotrain2", "joint_lex3",
        "knn_smooth", "rbf_blend", "la_bag", "la_raw", "la_cl", "la_lex", "vec_bin", "lex_count")

if __name__ == "__main__":
    main()
