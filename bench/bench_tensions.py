"""Tension scoring quality on HappyDB (ROC AUC against the human `agency` and `social` labels) and speed.

Quality rows, all measured in this run on the same embeddings:
- naive axis: three plain phrases per pole, position = projection on (mean B - mean A);
- ours zero-shot: `TensionScorer` with the seed anchors;
- logistic regression on 200 labelled rows (the plain few-shot peer), and on 2,000 for reference;
- ours calibrated on 200 rows (anchors + zero-shot prior + labels).
Few-shot rows are averaged over 20 random 200-row draws and scored on the held-out rest.
Speed: scoring all rows on the five seeds against the naive projection (the cheapest possible peer).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
CACHE = Path("/work/cache/happydb_minilm_st.npy")  # precomputed for benchmarks when present
DRAWS = 20  # 200-row draws are noisy (sd ~0.003 AUC): 5 draws gave 0.9398 for social, 20 give 0.9408

NAIVE = {
    "surrender_agency": (["It happened to me.", "I was lucky.", "Someone did something for me."],
                         ["I did it myself.", "I made a decision.", "I achieved my goal."]),
    "solitude_connection": (["I was alone.", "I spent time by myself.", "I enjoyed solitude."],
                            ["I was with friends.", "I spent time with my family.", "I felt close to others."]),
}
CASES = [("surrender_agency", "agency"), ("solitude_connection", "social")]


def _embeddings(emb, texts: list[str]) -> np.ndarray:
    if CACHE.exists():
        E = np.load(CACHE)
        if E.shape[0] == len(texts):
            return E
    return emb.encode(texts)


def main() -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from mirror_kit.embedding import get_embedder
    from mirror_kit.tensions.model import TensionScorer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    df = pd.read_csv(CSV)
    emb = get_embedder()
    E = _embeddings(emb, df["moment"].astype(str).tolist())
    print(f"HappyDB: {len(df)} rows, embeddings {E.shape}, model {emb.model_name}\n")

    scorer = TensionScorer(embedder=emb).fit()
    results: dict[str, dict[str, float]] = {}
    for tid, label in CASES:
        y = (df[label] == "yes").to_numpy().astype(int)
        A, B = (emb.encode(p) for p in NAIVE[tid])
        r = results.setdefault(f"{tid} vs {label}", {})
        r["naive axis (3 phrases/pole)"] = roc_auc_score(y, E @ (B.mean(0) - A.mean(0)))
        r["ours zero-shot"] = roc_auc_score(y, scorer.position_intensity(E, tid)[0])
        lr200, lr2000, ours = [], [], []
        for seed in range(DRAWS):
            idx = np.random.default_rng(seed).permutation(len(y))
            tr, te = idx[:200], idx[200:]
            lr200.append(roc_auc_score(y[te], LogisticRegression(max_iter=3000).fit(E[tr], y[tr])
                                       .decision_function(E[te])))
            tr2, te2 = idx[:2000], idx[2000:]
            lr2000.append(roc_auc_score(y[te2], LogisticRegression(max_iter=3000).fit(E[tr2], y[tr2])
                                        .decision_function(E[te2])))
            s = TensionScorer(embedder=emb).fit()
            s.calibrate(E[tr], y[tr], tid)
            ours.append(roc_auc_score(y[te], s.decision(E[te], tid)))
        r["logistic regression, 200 rows"] = float(np.mean(lr200))
        r["ours calibrated, 200 rows"] = float(np.mean(ours))
        r["logistic regression, 2000 rows (ref.)"] = float(np.mean(lr2000))

    methods = list(next(iter(results.values())))
    cols = list(results)
    print(f"{'ROC AUC (mean of ' + str(DRAWS) + ' draws for few-shot)':42s}" + "".join(f"{c:>36s}" for c in cols))
    for m in methods:
        print(f"{m:42s}" + "".join(f"{results[c][m]:>36.4f}" for c in cols))
    for c in cols:
        r = results[c]
        print(f"\n{c}: calibrated - plain LR (200) = {r['ours calibrated, 200 rows'] - r['logistic regression, 200 rows']:+.4f};"
              f" zero-shot - naive = {r['ours zero-shot'] - r['naive axis (3 phrases/pole)']:+.4f}")

    # Speed: score every row on all five seeds vs the naive projection on one axis per seed.
    axes = np.stack([B.mean(0) - A.mean(0) for A, B in scorer.anchors_.values()], axis=1)
    reps = 3
    t0 = time.perf_counter()
    for _ in range(reps):
        scorer.transform(E)
    ours_t = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        np.tanh(E @ axes)
    naive_t = (time.perf_counter() - t0) / reps
    print(f"\n{'speed (5 tensions, ' + str(len(E)) + ' rows)':42s}{'seconds':>12s}{'rows/s':>14s}")
    print(f"{'ours (position + intensity)':42s}{ours_t:>12.4f}{len(E) / ours_t:>14.0f}")
    print(f"{'naive projection (position only)':42s}{naive_t:>12.4f}{len(E) / naive_t:>14.0f}")
    print(f"ratio ours/naive: {ours_t / naive_t:.1f}x")


if __name__ == "__main__":
    main()
