"""Embedding throughput vs sentence-transformers (same texts, same run, interleaved), and the cost of an
incremental `journal.embed` after adding 100 reflections to 10k.

Run: .venv/bin/python -m bench embed      (BENCH_EMBED_N=10560 for the whole corpus; default 3000)

The machine may be shared: the contenders run block by block in rotating order, so load changes hit
them alike, and the ratio is what to read.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
BLOCK = 500


def _texts() -> list[str]:
    import pandas as pd

    return pd.read_csv(CSV)["moment"].astype(str).tolist()


def throughput(texts: list[str]) -> None:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from mirror_kit.embedding import Embedder

    ours = Embedder(precision="auto")
    fp32 = Embedder(precision="fp32")
    st = SentenceTransformer(ours.location, device="cpu")
    contenders = {
        "sentence-transformers encode (peer)": lambda b: st.encode(b, normalize_embeddings=True, batch_size=32),
        "mirror_kit Embedder fp32": lambda b: fp32.encode(b, progress=False),
        f"mirror_kit Embedder auto ({ours.resolved_precision})": lambda b: ours.encode(b, progress=False),
    }
    for fn in contenders.values():  # warm-up: first calls allocate and pick kernels
        fn(texts[:64])
    wall = dict.fromkeys(contenders, 0.0)
    cpu = dict.fromkeys(contenders, 0.0)
    vecs: dict[str, list] = {k: [] for k in contenders}
    names = list(contenders)
    for b, start in enumerate(range(0, len(texts), BLOCK)):
        block = texts[start:start + BLOCK]
        for name in names[b % len(names):] + names[: b % len(names)]:
            t, c = time.perf_counter(), time.process_time()
            vecs[name].append(np.asarray(contenders[name](block), dtype=np.float32))
            wall[name] += time.perf_counter() - t
            cpu[name] += time.process_time() - c
    peer = names[0]
    ref = np.concatenate(vecs[peer])
    fits = np.asarray([len(ours.windows(t)) == 1 for t in texts])
    print(f"{len(texts)} HappyDB texts, blocks of {BLOCK} in rotating order; torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}; "
          f"{int((~fits).sum())} texts longer than the window ({ours.window}) are excluded from the cosine "
          "(sentence-transformers truncates them, we pool windows)\n")
    print(f"{'contender':<40} {'sent/s':>8} {'vs peer':>8} {'sent/cpu-s':>11} {'min cos':>9} {'mean cos':>9}")
    for name in names:
        v = np.concatenate(vecs[name])
        cos = (v * ref).sum(axis=1)[fits]
        rate = len(texts) / wall[name]
        print(f"{name:<40} {rate:>8.0f} {wall[peer] / wall[name]:>7.2f}x {len(texts) / cpu[name]:>11.0f} "
              f"{cos.min():>9.6f} {cos.mean():>9.6f}")


def incremental(texts: list[str]) -> None:
    import mirror_kit

    base, extra = texts[:10_000], texts[10_000:10_100]
    with tempfile.TemporaryDirectory() as d, mirror_kit.open(Path(d) / "bench.db") as j:
        j.identities.add("bench")
        j.reflections.add_many("bench", [
            {"content": t, "created_at": "2020-01-01T00:00:00Z", "source": "bench", "source_id": str(i)}
            for i, t in enumerate(base)
        ])
        full = j.embeddings.embed("bench", progress=False)
        j.reflections.add_many("bench", [
            {"content": t, "created_at": "2021-01-01T00:00:00Z", "source": "bench", "source_id": f"x{i}"}
            for i, t in enumerate(extra)
        ])
        inc = j.embeddings.embed("bench", progress=False)
        t = time.perf_counter()
        ids, matrix = j.embeddings.matrix("bench")
        read_s = time.perf_counter() - t
        noop = j.embeddings.embed("bench", progress=False)
    print(f"\n{'journal.embed run':<34} {'embedded':>9} {'cached':>7} {'seconds':>8} {'share of full':>14}")
    for label, r in (("full (10,000 reflections)", full), ("after adding 100", inc), ("nothing new", noop)):
        print(f"{label:<34} {r['embedded']:>9} {r['cached']:>7} {r['seconds']:>8.2f} "
              f"{r['seconds'] / full['seconds']:>13.2%}")
    print(f"journal.embeddings.matrix(): {len(ids)} x {matrix.shape[1]} read back in {read_s:.2f} s "
          "(target: adding 100 costs <= 2% of the full run)")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = _texts()
    n = int(os.environ.get("BENCH_EMBED_N", "3000"))
    throughput(texts[:n])
    incremental(texts)


if __name__ == "__main__":
    main()
