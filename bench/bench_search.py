"""Search quality and latency on HappyDB (CL-Aff 2019): precision@10 of a query naming each of the 15
human themes (a result counts when the theme is among its human labels), for hybrid search (BM25 +
embeddings fused by reciprocal rank fusion) vs FTS5 BM25 alone vs embeddings alone, same journal and
same run; then median query latency at 10k and at 100k reflections (HappyDB tiled, vectors jittered).

Data: argument 1, else $MIRROR_KIT_HAPPYDB, else /work/shared/data/claff_happydb_labeled_10k.csv.
Run: python -m bench.bench_search [CSV] [--no-100k]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT = Path("/work/shared/data/claff_happydb_labeled_10k.csv")
MODES = ("hybrid", "text", "meaning")


def _csv() -> Path:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    p = Path(args[0] if args else os.environ.get("MIRROR_KIT_HAPPYDB", DEFAULT))
    if not p.exists():
        sys.exit(f"HappyDB CSV not found at {p}: pass its path or set MIRROR_KIT_HAPPYDB")
    return p


def build(path: Path, texts: list[str], E: np.ndarray, copies: int = 1):
    """A journal with `copies` x the texts (copy i > 0 gets a marker so its hash differs) and their vectors."""
    import mirror_kit
    from mirror_kit.embedding import store as emb_store

    j = mirror_kit.open(path)
    j.identities.add("h")
    n = len(texts)
    rng = np.random.default_rng(0)
    model = j.embeddings.model_name()
    for c in range(copies):
        recs = [{"content": t if c == 0 else f"{t} ({c})", "created_at": "2020-01-01T00:00:00Z",
                 "source": "happydb", "source_id": f"{c}-{i}"} for i, t in enumerate(texts)]
        ids = j.reflections.add_many("h", recs)
        V = E if c == 0 else E + rng.normal(0, 0.01, E.shape).astype(np.float32)
        V = V / np.linalg.norm(V, axis=1, keepdims=True)
        hashes = dict(j.execute(f"SELECT id, content_hash FROM reflections WHERE source_id LIKE '{c}-%'").fetchall())
        with j.transaction():
            emb_store.write(j.conn, model, ((rid, hashes[rid], V[i]) for i, rid in enumerate(ids)))
    return j, [f"0-{i}" for i in range(n)]


def main() -> None:
    import pandas as pd

    from mirror_kit.embedding import get_embedder

    df = pd.read_csv(_csv())
    texts = df["moment"].astype(str).tolist()
    concepts = [set(str(c).split("|")) for c in df["concepts"]]
    themes = sorted({c for cs in concepts for c in cs if c != "nan"})
    t0 = time.perf_counter()
    E = get_embedder().encode(texts, progress=False)
    print(f"HappyDB: {len(texts)} rows, embedded in {time.perf_counter() - t0:.0f} s; queries: the 15 theme names\n")
    with tempfile.TemporaryDirectory() as tmp:
        j, _ = build(Path(tmp) / "10k.db", texts, E)
        src = {r[0]: int(r[1].split("-")[1]) for r in j.execute("SELECT id, source_id FROM reflections")}
        prec = {m: [] for m in MODES}
        lat = {m: [] for m in MODES}
        j.search("warm up", identity="h", k=10)  # loads the model and the vector cache once
        for theme in themes:
            for m in MODES:
                t = time.perf_counter()
                res = j.search(theme, identity="h", k=10, mode=m)
                lat[m].append(time.perf_counter() - t)
                prec[m].append(np.mean([theme in concepts[src[r]] for r in res["reflection_id"]]) if len(res) else 0.0)
        print("| theme | " + " | ".join(MODES) + " |")
        print("| --- | --- | --- | --- |")
        for i, theme in enumerate(themes):
            print(f"| {theme} | " + " | ".join(f"{prec[m][i]:.1f}" for m in MODES) + " |")
        print("| **mean P@10** | " + " | ".join(f"**{np.mean(prec[m]):.3f}**" for m in MODES) + " |")
        print("| median latency 10k (ms) | " + " | ".join(f"{1000 * statistics.median(lat[m]):.0f}" for m in MODES)
              + " |")
        j.close()
        if "--no-100k" in sys.argv:
            return
        t0 = time.perf_counter()
        j, _ = build(Path(tmp) / "100k.db", texts, E, copies=10)
        n = j.execute("SELECT count(*) FROM reflections").fetchone()[0]
        print(f"\n100k journal: {n} reflections built in {time.perf_counter() - t0:.0f} s")
        t = time.perf_counter()
        j.search("warm up", identity="h", k=10)
        print(f"first query (reads {n} vectors): {1000 * (time.perf_counter() - t):.0f} ms")
        lat = {m: [] for m in MODES}
        for theme in themes:
            for m in MODES:
                t = time.perf_counter()
                j.search(theme, identity="h", k=10, mode=m)
                lat[m].append(time.perf_counter() - t)
        print("| median latency 100k (ms) | " + " | ".join(f"{1000 * statistics.median(lat[m]):.0f}" for m in MODES)
              + " |")
        j.close()


if __name__ == "__main__":
    main()
