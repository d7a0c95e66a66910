"""Does int8 change what the analysis finds? Our int8 vectors against fp32 (and sentence-transformers) on
HappyDB: cosine (min / p1 / mean), tension ROC AUC against the human `agency`/`social` labels, pattern
NMI/ARI on the single-theme rows, each with the same random_state for every precision.

Rows: fp32 (ours, the default), fp32-torch (our torch path: cosine ~0.99999 to the ONNX fp32 vectors,
a control for how much the scores move under a change far smaller than int8's), int8 (ours, as built: only the nodes that keep cosine >= 0.999), and
int8-all (every weight quantized: the fast graph the build refuses), so the cost of the cosine rule is
visible. Targets for int8 to qualify as the default: min cosine >= 0.999 to sentence-transformers over
the first BENCH_INT8_N texts (default 1000), AUC within 0.005, NMI/ARI within 0.01 of fp32, and >= 3x
sentence-transformers' texts per CPU-second (speed: `python -m bench embed`).

Run: .venv/bin/python -m bench int8      (scores on all 10,560 rows; BENCH_INT8_ROWS to use fewer)
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
CASES = (("surrender_agency", "agency"), ("solitude_connection", "social"))
CAL_DRAWS = 5


def int8_all_embedder(tmp: Path):
    """An int8 Embedder whose graph (`tmp`/int8_all.onnx) has every weight quantized (what the build tries
    first and refuses)."""
    import onnx

    from mirror_kit.embedding import Embedder, quantized
    from mirror_kit.embedding.onnx_backend import OnnxEncoder

    emb = Embedder(precision="int8")
    fp32 = Embedder()._onnx
    graph = onnx.load(str(fp32.path))
    path = tmp / "int8_all.onnx"
    quantized.quantize(graph, path, quantized._candidates(graph.graph)[0], reduce_range=not quantized.has_vnni())
    emb._onnx = OnnxEncoder(path, emb._threads())
    return emb


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.float64) * b).sum(1)


def main() -> None:
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score

    from mirror_kit.embedding import Embedder
    from mirror_kit.patterns.model import PatternModel
    from mirror_kit.tensions.model import TensionScorer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    n_cos = int(os.environ.get("BENCH_INT8_N", "1000"))
    df = pd.read_csv(CSV)
    df = df.iloc[: int(os.environ.get("BENCH_INT8_ROWS", len(df)))]
    texts = df["moment"].astype(str).tolist()
    single = (~df["concepts"].str.contains("|", regex=False)).to_numpy()
    truth = df.loc[single, "concepts"].to_numpy()

    from sentence_transformers import SentenceTransformer

    from mirror_kit.embedding.model import default_model_dir

    st = SentenceTransformer(str(default_model_dir()), device="cpu")
    ref = st.encode(texts[:n_cos], normalize_embeddings=True, batch_size=32)
    with tempfile.TemporaryDirectory() as d:
        embedders = {"fp32": Embedder(), "fp32-torch": Embedder(backend="torch"), "int8": Embedder(precision="int8"), "int8-all": int8_all_embedder(Path(d))}
        vecs, cpu = {}, {}
        for name, emb in embedders.items():
            t0 = time.process_time()
            vecs[name] = emb.encode(texts, progress=False)
            cpu[name] = time.process_time() - t0
        rows = {}
        for name, emb in embedders.items():
            E = vecs[name]
            c_st, c_fp = _cos(E[:n_cos], ref), _cos(E, vecs["fp32"])
            r = rows[name] = {"min": c_st.min(), "p1": np.percentile(c_st, 1), "mean": c_st.mean(),
                              "min_fp32_all": c_fp.min(), "texts/cpu-s": len(texts) / cpu[name]}
            for tid, lab in CASES:
                y = (df[lab] == "yes").to_numpy().astype(int)
                scorer = TensionScorer(embedder=emb).fit()  # anchors embedded at the same precision
                r[f"AUC {lab} zero-shot"] = roc_auc_score(y, scorer.position_intensity(E, tid)[0])
                cal = []
                for seed in range(CAL_DRAWS):
                    idx = np.random.default_rng(seed).permutation(len(y))
                    tr, te = idx[:200], idx[200:]
                    s = TensionScorer(embedder=emb).fit()
                    s.calibrate(E[tr], y[tr], tid)
                    cal.append(roc_auc_score(y[te], s.decision(E[te], tid)))
                r[f"AUC {lab} cal.200"] = float(np.mean(cal))
            for seed in (0, 1):
                m = PatternModel(random_state=seed).fit(E, texts=texts)
                lab_ = np.asarray(m.labels_)[single]
                r[f"NMI rs={seed}"] = normalized_mutual_info_score(truth, lab_)
                r[f"ARI rs={seed}"] = adjusted_rand_score(truth, lab_)
                r[f"k rs={seed}"] = int(m.n_patterns_)
    print(f"HappyDB: cosine to sentence-transformers over the first {n_cos} texts; scores on {len(texts)} rows "
          f"({int(single.sum())} single-theme for NMI/ARI); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs\n")
    keys = list(rows["fp32"])
    print(f"{'':24s}" + "".join(f"{n:>14s}" for n in rows))
    for k in keys:
        vals = [rows[n][k] for n in rows]
        fmt = "{:>14.0f}" if k == "texts/cpu-s" or k.startswith("k ") else "{:>14.4f}" if k.startswith(("AUC", "NMI", "ARI")) else "{:>14.6f}"
        print(f"{k:24s}" + "".join(fmt.format(v) for v in vals))
    print("\nchange vs fp32 (targets: AUC within 0.005, NMI/ARI within 0.01):")
    for n in rows:
        if n == "fp32":
            continue
        moved = {k: rows[n][k] - rows["fp32"][k] for k in keys if k.startswith(("AUC", "NMI", "ARI"))}
        worst = max(moved.items(), key=lambda kv: abs(kv[1]))
        print(f"  {n:10s} " + ", ".join(f"{k} {v:+.4f}" for k, v in moved.items()) +
              f"  (largest: {worst[0]} {worst[1]:+.4f})")


if __name__ == "__main__":
    main()
