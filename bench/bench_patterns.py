"""Pattern quality and speed on HappyDB: PatternModel vs BERTopic (defaults + seeded UMAP) and KMeans
given the true k=15, all on the same precomputed embeddings, fit on all 10,560 rows and scored on the
8,407 single-theme rows. Also a 100k-row scale run of PatternModel (HappyDB tiled with small noise).

Target: NMI >= 0.50, ARI >= 0.38, unassigned <= 10%, fit time <= 1/5 of BERTopic's.
Embeddings: /work/cache/happydb_minilm_st.npy when present (sentence-transformers MiniLM), else our
Embedder (same model) computed here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
SEEDS = (0, 10, 20)
CACHE = Path(os.environ.get("MIRROR_KIT_HAPPYDB_EMB", "/work/cache/happydb_minilm_st.npy"))


def _embeddings(texts: list[str]) -> tuple[np.ndarray, str]:
    if CACHE.exists():
        E = np.load(CACHE)
        if len(E) == len(texts):
            return E.astype(np.float32), str(CACHE)
    from mirror_kit.embedding import get_embedder

    return get_embedder().encode(texts, progress=False), "mirror_kit Embedder"


def _scores(truth, labels, single) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    pred = np.asarray(labels)[single]
    return normalized_mutual_info_score(truth, pred), adjusted_rand_score(truth, pred)


def main() -> None:
    import pandas as pd
    from sklearn.cluster import KMeans

    from mirror_kit.patterns.model import PatternModel

    df = pd.read_csv(CSV)
    texts = df["moment"].astype(str).tolist()
    E, source = _embeddings(texts)
    single = (~df["concepts"].str.contains("|", regex=False)).to_numpy()
    truth = df.loc[single, "concepts"].to_numpy()
    print(f"HappyDB: {len(df)} rows fit, {single.sum()} single-theme rows scored; embeddings: {source}\n")

    rows = []

    def add(name, seconds, labels, k, note=""):
        nmi, ari = _scores(truth, labels, single)
        rows.append({"method": name, "fit_s": seconds, "k": k, "NMI": nmi, "ARI": ari,
                     "unassigned": float((np.asarray(labels) < 0).mean()), "note": note})

    ours_times = []
    for seed in SEEDS:
        t0 = time.perf_counter()
        m = PatternModel(random_state=seed).fit(E, texts=texts)
        ours_times.append(time.perf_counter() - t0)
        add(f"PatternModel seed={seed}", ours_times[-1], m.labels_, m.n_patterns_, "k chosen, incl. keywords")

    for seed in SEEDS:
        t0 = time.perf_counter()
        lab = KMeans(15, n_init=1, random_state=seed).fit_predict(E)
        add(f"KMeans true k=15 seed={seed}", time.perf_counter() - t0, lab, 15, "told k; reference")

    bert_time = None
    try:
        from bertopic import BERTopic
        from umap import UMAP

        t0 = time.perf_counter()
        umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
        topics, _ = BERTopic(umap_model=umap).fit_transform(texts, embeddings=E)
        bert_time = time.perf_counter() - t0
        topics = np.asarray(topics)
        add("BERTopic 0.17 (defaults, UMAP seed 42)", bert_time, topics, int(len(set(topics)) - (-1 in topics)),
            "outliers = -1")
    except ImportError as exc:  # pragma: no cover
        print(f"(BERTopic not available: {exc})")

    print(f"{'method':42s} {'fit s':>7s} {'k':>4s} {'NMI':>6s} {'ARI':>6s} {'unassigned':>10s}  note")
    for r in rows:
        print(f"{r['method']:42s} {r['fit_s']:7.2f} {r['k']:4d} {r['NMI']:6.3f} {r['ARI']:6.3f} "
              f"{r['unassigned']:10.1%}  {r['note']}")
    for prefix in ("PatternModel", "KMeans"):
        sel = [r for r in rows if r["method"].startswith(prefix)]
        print(f"mean {prefix:37s} {np.mean([r['fit_s'] for r in sel]):7.2f}      "
              f"{np.mean([r['NMI'] for r in sel]):6.3f} {np.mean([r['ARI'] for r in sel]):6.3f}")
    ours = rows[0]
    print(f"\nours (seed 0): NMI {ours['NMI']:.3f} (>= 0.50), ARI {ours['ARI']:.3f} (>= 0.38), "
          f"unassigned {ours['unassigned']:.1%} (<= 10%)")
    if bert_time:
        ratio = float(np.median(ours_times)) / bert_time
        print(f"fit time ratio ours (median of 3) / BERTopic = {ratio:.3f} (target <= 0.2)")

    # Scale: the same call on 105,600 rows (HappyDB x10 with small noise), MiniBatch KMeans inside.
    rng = np.random.default_rng(0)
    big = np.vstack([E + rng.normal(0, 0.01, E.shape).astype(np.float32) for _ in range(10)])
    big_texts = texts * 10
    t0 = time.perf_counter()
    mb = PatternModel(random_state=0).fit(big, texts=big_texts)
    t_big = time.perf_counter() - t0
    nmi, ari = _scores(np.tile(truth, 10), mb.labels_, np.tile(single, 10))
    print(f"\nscale: {len(big)} rows in {t_big:.1f} s, k={mb.n_patterns_}, NMI {nmi:.3f}, ARI {ari:.3f}, "
          f"unassigned {(mb.labels_ < 0).mean():.1%} (peer not run at this size)")


if __name__ == "__main__":
    main()
