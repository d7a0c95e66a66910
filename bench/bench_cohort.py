"""Cohort pipeline cost per stage: build, embed (measured on a sample, extrapolated), fit+assign, report.

Journals are made from the HappyDB moments in data/ repeated with variation (a number and a weekday
appended, so no two texts are equal), split into participant files of `--per-file` reflections.
Embedding is timed on `--embed-sample` reflections and extrapolated linearly to the full size (and
to 1M): the rest of the pipeline then runs on vectors copied from the sample with small noise, so
fit/assign/aggregate are measured at full size. Peak memory is the process's max RSS after each stage.

    python -m bench.bench_cohort --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import tempfile
import time
from pathlib import Path

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_journals(folder: Path, n: int, per_file: int) -> None:
    import mirror_kit

    src = Path(__file__).resolve().parents[1] / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
    with open(src, encoding="utf-8") as fh:
        moments = [r["moment"] for r in csv.DictReader(fh)]
    rng = random.Random(0)
    folder.mkdir(parents=True)
    for f in range(0, n, per_file):
        name = f"participant_{f // per_file:05d}"
        j = mirror_kit.open(folder / f"{name}.db")
        j.identities.add(name)
        j.reflections.add_many(name, [
            {"content": f"{rng.choice(moments)} ({i}, a {rng.choice(DAYS)})",
             "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 08:00"}
            for i in range(f, min(n, f + per_file))])
        j.close()


def fake_embeddings(root: Path, sample_vecs, seed: int = 0) -> None:
    """Vectors for every shard: sample vectors plus noise (the embed stage is extrapolated, not run)."""
    import json as _json

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mirror_kit.cohort.embed import DONE, shards

    rng = np.random.default_rng(seed)
    emb_root = root / "embeddings" / "sentence-transformers_all-MiniLM-L6-v2"
    for key, part, entry in shards(root):
        ids = pq.read_table(part, columns=["reflection"]).column("reflection")
        X = sample_vecs[rng.integers(0, len(sample_vecs), len(ids))] + rng.normal(0, 0.02, (len(ids), 384))
        X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
        d = emb_root / f"source={key}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"reflection": ids, "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(X.reshape(-1)), 384)}), d / "part-0.parquet")
        (d / DONE).write_text(_json.dumps({"digest": entry["digest"], "rows": entry["rows"]}))


def run(n: int, per_file: int, embed_sample: int) -> dict:
    import numpy as np

    from mirror_kit.cohort import Cohort
    from mirror_kit.embedding import get_embedder

    out: dict = {"reflections": n}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        t0 = time.perf_counter()
        make_journals(t / "study", n, per_file)
        out["make_journals_s"] = round(time.perf_counter() - t0, 1)
        c = Cohort(t / "cohort", secret="bench-secret-key")
        t0 = time.perf_counter()
        c.build([str(t / "study" / "*.db")], redact=True, names=["Alice", "Bob"], progress=False)
        out["build_s"], out["build_rss_mb"] = round(time.perf_counter() - t0, 2), round(rss_mb())
        texts = c.reflections()["content"].head(embed_sample).tolist()
        emb = get_embedder(precision="fp32")
        emb.encode(texts[:32])  # load and warm up
        t0 = time.perf_counter()
        vecs = emb.encode(texts)
        secs = time.perf_counter() - t0
        rate = len(texts) / secs
        out["embed_rate_per_s"] = round(rate, 1)
        out["embed_s_extrapolated"] = round(n / rate, 1)
        out["embed_1M_h_extrapolated"] = round(1e6 / rate / 3600, 2)
        fake_embeddings(t / "cohort", np.asarray(vecs))
        t0 = time.perf_counter()
        r = c.analyze(sample_size=20_000)
        out["analyze_s"], out["analyze_rss_mb"] = round(time.perf_counter() - t0, 2), round(rss_mb())
        out["patterns"] = r["summary"]["patterns_found"]
        t0 = time.perf_counter()
        c.report(t / "r.html")
        out["report_s"] = round(time.perf_counter() - t0, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--per-file", type=int, default=500)
    ap.add_argument("--embed-sample", type=int, default=2000)
    a = ap.parse_args()
    for n in a.sizes:
        print(json.dumps(run(n, a.per_file, a.embed_sample)), flush=True)


if __name__ == "__main__":
    main()
