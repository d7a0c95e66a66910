"""`analyze` at 10k, 100k, 300k and 1M reflections: CPU seconds, wall seconds and peak RSS of a child
process running `Journal.analyze` (embeddings current, patterns, tensions), and peak / vector bytes.

Journals are built once per size (cached in $BENCH_SCALE_DIR, default /tmp/mirror_kit_bench_scale) from
the HappyDB corpus: its texts repeated (numbered copies) with their real MiniLM embeddings plus small
seeded noise, stored directly as vectors so no model runs at build time. Every run works on a fresh copy.
Peer: the algorithm of the commit this branch started from (`BENCH_PEER_REF`, default the merge base
with main), checked out with `git archive` into a temp dir and run on the same journal copy, at the
sizes listed in $BENCH_PEER_SIZES (default 10k, 100k: at 1M it took 15.5 min and 13.3 GB).
Also times `stats()` on each analysed journal (target: < 1 s at 1M).
Targets: peak RSS <= 2.5 x the vectors' bytes at 1M; time linear in reflections.

Sizes: $BENCH_SCALE_SIZES (comma separated, default 10000,100000,300000,1000000).
BENCH_GC_AFTER_IMPORTS=1: a full garbage collection after the imports, before the clock starts (the
~1M objects the libraries leave make a full collection cost ~0.06 CPU s; without it, the first one
falls inside whichever call runs first, here `analyze`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
WORK = Path(os.environ.get("BENCH_SCALE_DIR", "/tmp/mirror_kit_bench_scale"))
IDENTITY = "bench"
DIM = 384
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

CHILD = r"""
import json, sys, time
t0 = time.process_time()
import mirror_kit
# the libraries every analysis loads, imported before the clock starts: "analyze cpu" is the work itself
import numpy, pandas, scipy.stats, sklearn.base, sklearn.cluster
import mirror_kit.patterns.model, mirror_kit.tensions.model, mirror_kit.tensions.aggregate
import gc, os
if os.environ.get("BENCH_GC_AFTER_IMPORTS") == "1":
    gc.collect()  # the libraries' garbage is theirs: else its first full collection lands in analyze
path, refit = sys.argv[1], sys.argv[2] == "1"
t, w = time.process_time(), time.perf_counter()
imports = t - t0
with mirror_kit.open(path) as j:
    s = j.analyze("bench", refit=True) if refit else j.analyze("bench")
p = s["patterns"]
print(json.dumps({"cpu_analyze": time.process_time() - t, "cpu_imports": imports, "wall_analyze": time.perf_counter() - w,
                  "mode": p.get("mode", "refit"), "reason": p.get("reason", ""), "patterns": p["patterns"],
                  "tension_mode": s["tensions"].get("mode", "full"), "scored": s["tensions"].get("scored")}))
"""


def _sizes(var: str, default: str) -> list[int]:
    return [int(x) for x in os.environ.get(var, default).split(",") if x.strip()]


def happydb() -> tuple[list[str], np.ndarray]:
    """HappyDB texts and their cached MiniLM embeddings (float32, unit rows)."""
    import pandas as pd

    texts = pd.read_csv(CSV)["moment"].astype(str).tolist()
    cands = [Path(os.environ["MIRROR_KIT_HAPPYDB_EMB"])] if os.environ.get("MIRROR_KIT_HAPPYDB_EMB") else []
    cands += [Path("/work/cache/happydb_minilm_st.npy")]
    for d in (ROOT / ".pytest_cache" / "d" / "happydb", Path("/work/main/.pytest_cache/d/happydb")):
        cands += sorted(d.glob("happydb_*.npy"), key=lambda p: -p.stat().st_mtime) if d.exists() else []
    for c in cands:
        if c.exists():
            E = np.load(c)
            if len(E) == len(texts):
                return texts, E.astype(np.float32)
    from mirror_kit.embedding import get_embedder

    return texts, get_embedder().encode(texts, progress=False)


def add_reflections(j, start: int, stop: int, texts: list[str], E: np.ndarray, seed: int = 0) -> list[str]:
    """Reflections start..stop-1 of the synthetic journal with their vectors (HappyDB row i % m, copy
    i // m with noise of sd 0.01 per component, renormalised), stored without running the model."""
    from mirror_kit.embedding import store as emb_store
    from mirror_kit.ids import content_hash

    m = len(texts)
    base = datetime(2015, 1, 1, tzinfo=UTC)
    model = j.embeddings.model_name()
    out: list[str] = []
    for s in range(start, stop, 20000):
        idx = np.arange(s, min(stop, s + 20000))
        contents = [texts[i % m] if i < m else f"{texts[i % m]} ({i // m})" for i in idx]
        recs = [{"content": c, "created_at": (base + timedelta(minutes=17 * int(i))).strftime("%Y-%m-%dT%H:%M:%SZ")}
                for c, i in zip(contents, idx, strict=True)]
        ids = j.reflections.add_many(IDENTITY, recs)
        rng = np.random.default_rng([seed, s])
        V = E[idx % m] + np.where((idx >= m)[:, None], rng.normal(0, 0.01, (len(idx), E.shape[1])), 0).astype(
            np.float32)
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        with j.transaction():
            emb_store.write(j.conn, model, zip(ids, (content_hash(c) for c in contents), V, strict=True))
        out += ids
    return out


def journal(n: int, texts: list[str], E: np.ndarray) -> Path:
    """The cached n-reflection journal (built on first use)."""
    import mirror_kit

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"journal_{n}.db"
    if path.exists():
        return path
    tmp = path.with_suffix(".building.db")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    with mirror_kit.open(tmp) as j:
        j.identities.add(IDENTITY)
        add_reflections(j, 0, n, texts, E)
        j.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(tmp, path)
    return path


def run_child(path: Path, pythonpath: str, refit: bool = False) -> dict:
    """Run analyze in a child process; its own CPU (user+sys), wall and peak RSS (ru_maxrss)."""
    code = CHILD
    if pythonpath != str(ROOT):  # the peer's analyze has no refit argument
        code = code.replace('j.analyze("bench", refit=True) if refit else j.analyze("bench")', 'j.analyze("bench")')
    w = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), "1" if refit else "0"], cwd=pythonpath,
                            env={**ENV, "PYTHONPATH": pythonpath}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"analyze child failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(cpu=ru.ru_utime + ru.ru_stime, wall=time.perf_counter() - w, rss=ru.ru_maxrss * 1024)
    return res


def peer_checkout() -> str:
    """The peer's code (`BENCH_PEER_REF`, default the merge base with main) in a temp dir."""
    ref = os.environ.get("BENCH_PEER_REF") or subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()
    d = Path(tempfile.mkdtemp(prefix="mirror_kit_peer_"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(d)], input=archive, check=True)
    return str(d)


def fresh_copy(path: Path, name: str) -> Path:
    dst = WORK / name
    for p in (dst, Path(f"{dst}-wal"), Path(f"{dst}-shm")):
        p.unlink(missing_ok=True)
    shutil.copy(path, dst)
    return dst


def time_stats(path: Path) -> tuple[float, list]:
    import mirror_kit

    with mirror_kit.open(path, readonly=True) as j:
        t = time.perf_counter()
        rows = j.stats()
        return time.perf_counter() - t, rows


def main() -> None:
    texts, E = happydb()
    sizes = _sizes("BENCH_SCALE_SIZES", "10000,100000,300000,1000000")
    peer_sizes = set(_sizes("BENCH_PEER_SIZES", "10000,100000"))
    peer = peer_checkout() if peer_sizes & set(sizes) else None
    print(f"HappyDB {len(texts)} rows x {E.shape[1]} repeated with noise; journals in {WORK}; peer code: {peer}")
    head = (f"{'n':>9s} {'code':5s} {'cpu s':>8s} {'wall s':>8s} {'peak MB':>8s} {'vec MB':>7s} {'peak/vec':>8s} "
            f"{'cpu us/refl':>11s} {'k':>3s} {'stats s':>7s}")
    print(head)
    rows = []
    for n in sizes:
        src = journal(n, texts, E)
        vec = n * E.shape[1] * 4
        for who in (["ours", "peer"] if (peer and n in peer_sizes) else ["ours"]):
            path = fresh_copy(src, f"run_{who}.db")
            r = run_child(path, str(ROOT) if who == "ours" else peer)
            st, _ = time_stats(path) if who == "ours" else (float("nan"), None)
            rows.append({"n": n, "who": who, **r, "vec": vec, "stats_s": st})
            print(f"{n:9d} {who:5s} {r['cpu']:8.1f} {r['wall']:8.1f} {r['rss'] / 2**20:8.0f} {vec / 2**20:7.0f} "
                  f"{r['rss'] / vec:8.2f} {r['cpu'] / n * 1e6:11.1f} {r['patterns']:3d} {st:7.3f}", flush=True)
            if who == "ours":
                # the stats query's numbers are those of the distinct-count definition
                import mirror_kit

                with mirror_kit.open(path, readonly=True) as j:
                    assert j.stats()[0]["tensions"] == 5 and j.stats()[0]["reflections"] == n
            path.unlink()
    ours = [r for r in rows if r["who"] == "ours"]
    if len(ours) >= 2:
        a, b = ours[0], ours[-1]
        print(f"\nscaling {a['n']} -> {b['n']} ({b['n'] / a['n']:.0f}x rows): CPU x{b['cpu'] / a['cpu']:.1f}, "
              f"peak RSS x{b['rss'] / a['rss']:.1f}; peak/vector bytes at {b['n']}: {b['rss'] / b['vec']:.2f} "
              f"(target <= 2.5)")
    for n in sorted(peer_sizes & set(sizes)):
        o = next(r for r in rows if r["n"] == n and r["who"] == "ours")
        p = next((r for r in rows if r["n"] == n and r["who"] == "peer"), None)
        if p:
            print(f"n={n}: ours/peer CPU {o['cpu'] / p['cpu']:.2f}, peak RSS {o['rss'] / p['rss']:.2f}")
    if peer:
        shutil.rmtree(peer, ignore_errors=True)


if __name__ == "__main__":
    main()
