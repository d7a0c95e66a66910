"""Cohort pipeline cost per stage and how it grows: build, embed, fit, refine, assign, aggregate, report.

    python -m bench cohort --sizes 10000,100000,1000000 [--per-file 500] [--embed-sample 2000]

Every stage runs in its own child process; CPU s is that process's user+system time (os.wait4),
peak RSS its max resident set, wall s its elapsed time. Participant journals are made from the
HappyDB moments in data/ (a number and a weekday appended, so no two texts are equal), `--per-file`
reflections per journal, so the number of shards grows with the size.

Embedding is MEASURED on `--embed-sample` reflections with the local engine and the Ray engine
and EXTRAPOLATED linearly to each size (2 shared cores cannot embed 1M texts in an hour). The
later stages then run at full size on SYNTHETIC vectors: the real embeddings of the HappyDB
moment each text was made from (pytest's cached .npy of the corpus), plus seeded Gaussian noise
(sd 0.02 per dimension), re-normalised. The table says which rows are measured, extrapolated or setup.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
NPY_DIRS = [ROOT / ".pytest_cache" / "d" / "happydb", Path("/work/main/.pytest_cache/d/happydb")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SECRET = "bench-cohort-secret"
NOISE = 0.02


def moments() -> list[str]:
    with open(CORPUS, encoding="utf-8") as fh:
        return [r["moment"] for r in csv.DictReader(fh)]


def corpus_vectors():
    """(10000, 384) float32 embeddings of the corpus cached by the test suite (tests/plugins/embedding.py)."""
    import numpy as np

    env = os.environ.get("MIRROR_KIT_HAPPYDB_NPY")
    cands = [Path(env)] if env else [p for d in NPY_DIRS if d.is_dir() for p in sorted(d.glob("happydb_*.npy"))]
    for p in cands:
        E = np.load(p, mmap_mode="r")
        if E.shape == (len(moments()), 384):
            return np.asarray(E, dtype=np.float32), p
    raise SystemExit("no cached HappyDB embeddings: run `pytest tests/test_embedding_happydb.py` once "
                     "(or set MIRROR_KIT_HAPPYDB_NPY)")


# -- child stages (each runs in its own process) ----------------------------------------------------
def make_journals(folder: Path, n: int, per_file: int) -> dict:
    """n reflections over ceil(n / per_file) journal files; one migrated template is copied per file
    and filled with the journal's own bulk insert."""
    import random

    import mirror_kit

    ms = moments()
    rng = random.Random(0)
    folder.mkdir(parents=True)
    template = folder.parent / "template.db"
    with mirror_kit.open(template) as j:
        j.identities.add("me")
    files = 0
    for f in range(0, n, per_file):
        p = folder / f"participant_{f // per_file:06d}.db"
        shutil.copyfile(template, p)
        with mirror_kit.open(p) as j:
            j.reflections.add_many("me", [
                {"content": f"{ms[rng.randrange(len(ms))]} ({i}, a {DAYS[rng.randrange(7)]})",
                 "created_at": f"{2023 + (i // 7) % 2}-{1 + i % 12:02d}-{1 + i % 28:02d} 08:00"}
                for i in range(f, min(n, f + per_file))])
        files += 1
    template.unlink()
    return {"files": files}


def build(study: Path, cohort: Path) -> dict:
    from mirror_kit.cohort import Cohort

    return Cohort(cohort, secret=SECRET).build([str(study / "*.db")], redact=True, names=["Alice", "Bob"],
                                               progress=False)


def embed(cohort: Path, engine: str) -> dict:
    from mirror_kit.cohort import Cohort

    if engine == "ray":
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    t0 = time.process_time()
    s = Cohort(cohort).embed(engine=engine, progress=False)
    s["cpu_in_process_s"] = round(time.process_time() - t0, 2)
    if engine == "ray":
        ray.shutdown()
    return s


def vectors(cohort: Path) -> dict:
    """Synthetic vectors for every shard (see the module docstring); one shard in memory at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mirror_kit.cohort.embed import DONE, model_slug, shards
    from mirror_kit.embedding.model import resolve_model

    E, src = corpus_vectors()
    index = {m: i for i, m in enumerate(moments())}
    emb_root = cohort / "embeddings" / model_slug(resolve_model(None)[0])
    rng = np.random.default_rng(0)
    rows = 0
    for key, part, entry in shards(cohort):
        t = pq.read_table(part, columns=["reflection", "content"])
        texts = t.column("content").to_pylist()
        # the moment a text was made from; a redacted one falls back to a fixed row of its own
        idx = np.array([index.get(c.rsplit(" (", 1)[0], zlib.crc32(c.encode()) % len(E)) for c in texts])
        X = E[idx] + rng.normal(0, NOISE, (len(idx), E.shape[1])).astype(np.float32)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        d = emb_root / f"source={key}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"reflection": t.column("reflection"), "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(X.astype(np.float32).reshape(-1)), E.shape[1])}), d / "part-0.parquet")
        (d / DONE).write_text(json.dumps({"digest": entry["digest"], "rows": entry["rows"], "synthetic": True}))
        rows += len(idx)
    return {"rows": rows, "source": str(src)}


def analyze(cohort: Path, sample_size: int) -> dict:
    from mirror_kit.cohort import Cohort

    r = Cohort(cohort).analyze(sample_size=sample_size)
    return r["summary"]


def report(cohort: Path) -> dict:
    from mirror_kit.cohort import Cohort

    out = Cohort(cohort).report(cohort.parent / "cohort.html")
    return {"bytes": out.stat().st_size}


def child(stage: str, args: list[str]) -> None:
    fns = {"journals": lambda: make_journals(Path(args[0]), int(args[1]), int(args[2])),
           "build": lambda: build(Path(args[0]), Path(args[1])),
           "embed": lambda: embed(Path(args[0]), args[1]),
           "vectors": lambda: vectors(Path(args[0])),
           "analyze": lambda: analyze(Path(args[0]), int(args[1])),
           "report": lambda: report(Path(args[0]))}
    out = fns[stage]()
    print("\n@@" + json.dumps(out, default=str))


# -- parent -----------------------------------------------------------------------------------------
def run(stage: str, *args: object) -> dict:
    """Run one stage in a child process: its result plus cpu_s, wall_s and peak_rss_mb of that process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        proc = subprocess.Popen([sys.executable, "-m", "bench.bench_cohort", "--child", stage, *map(str, args)],
                                stdout=fo, stderr=fe, env=env, cwd=ROOT, text=True)
        _, status, ru = os.wait4(proc.pid, 0)  # reaped here, so its own rusage is ours to read
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        fo.seek(0), fe.seek(0)
        out, err = fo.read(), fe.read()
    if proc.returncode != 0 or "\n@@" not in out:
        raise SystemExit(f"stage {stage} failed:\n{err[-3000:]}")
    res = json.loads(out.rsplit("\n@@", 1)[1])
    res.update(cpu_s=round(ru.ru_utime + ru.ru_stime, 2), wall_s=round(wall, 2),
               peak_rss_mb=round(ru.ru_maxrss / 1024, 1))
    return res


def fmt_row(cells: list[object], widths: list[int]) -> str:
    return " | ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                  strict=True)))


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench cohort", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated reflection counts")
    ap.add_argument("--per-file", type=int, default=500, help="reflections per participant journal (shard)")
    ap.add_argument("--embed-sample", type=int, default=2000)
    ap.add_argument("--sample-size", type=int, default=20_000, help="reflections the patterns are fitted on")
    ap.add_argument("--engines", default="local,ray")
    ap.add_argument("--json", help="also write every measurement to this file")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    rows: _Rows = _Rows()
    measured: dict = {"sizes": sizes, "per_file": a.per_file, "embed": {}, "stages": rows}
    with tempfile.TemporaryDirectory(prefix="bench_cohort_") as tmp:
        t = Path(tmp)
        # embed throughput on a sample: the same journals, one cohort per engine
        run("journals", t / "es" / "study", a.embed_sample, a.per_file)
        for engine in [e for e in a.engines.split(",") if e]:
            run("build", t / "es" / "study", t / "es" / engine)
            try:
                r = run("embed", t / "es" / engine, engine)
            except SystemExit as exc:  # e.g. Ray cannot start here: the local rate still stands
                print(f"embed {engine}: not measured ({str(exc).splitlines()[-1]})", flush=True)
                continue
            r["texts_per_wall_s"] = round(r["rows"] / r["seconds"], 1)
            # per core: texts per CPU second of the embedding call in this process (the Ray engine's
            # actors are other processes, so only its wall rate is measured)
            if engine == "local":
                r["texts_per_cpu_s"] = round(r["rows"] / max(r["cpu_in_process_s"], 1e-9), 1)
            measured["embed"][engine] = r
            print(f"embed {engine}: {r['rows']} texts in {r['seconds']} s wall "
                  f"({r['texts_per_wall_s']} texts/s on this machine"
                  + (f", {r['texts_per_cpu_s']} texts per CPU-second)" if engine == "local" else ")"), flush=True)
        loc = measured["embed"].get("local")
        for n in sizes:
            base = t / f"n{n}"
            j = run("journals", base / "study", n, a.per_file)
            rows.append({"stage": "journals (setup)", "n": n, "shards": j["files"], **j})
            b = run("build", base / "study", base / "cohort")
            rows.append({"stage": "build", "n": n, "shards": b["sources"], **b})
            shutil.rmtree(base / "study")  # the journals are no longer needed: keep the disk small
            if loc:
                rows.append({"stage": "embed (extrapolated)", "n": n, "shards": b["sources"],
                             "cpu_s": round(n / loc["texts_per_cpu_s"], 1),
                             "wall_s": round(n / loc["texts_per_wall_s"], 1), "peak_rss_mb": loc["peak_rss_mb"]})
            v = run("vectors", base / "cohort")
            rows.append({"stage": "vectors (setup, synthetic)", "n": n, "shards": b["sources"], **v})
            an = run("analyze", base / "cohort", a.sample_size)
            for ph in ("fit", "refine", "assign", "aggregate"):
                p = an["phases"][ph]
                rows.append({"stage": ph + (" (sample)" if ph == "fit" else ""), "n": n, "shards": b["sources"],
                             "cpu_s": p["cpu_s"], "wall_s": p["wall_s"], "peak_rss_mb": p["peak_rss_mb"]})
            rows.append({"stage": "analyze (whole process)", "n": n, "shards": b["sources"],
                         "cpu_s": an["cpu_s"], "wall_s": an["wall_s"], "peak_rss_mb": an["peak_rss_mb"]})
            rp = run("report", base / "cohort")
            rows.append({"stage": "report", "n": n, "shards": b["sources"], **rp})
            shutil.rmtree(base)
            print(f"n={n}: done", flush=True)
    print_table(rows, sizes)
    if loc:
        print_estimate(rows, loc, sizes)
    if a.json:
        Path(a.json).write_text(json.dumps(measured, indent=1, default=str))


class _Rows(list):
    """The measurements; each one is printed as a JSON line when it is added (a stopped run still says them)."""

    def append(self, r: dict) -> None:
        super().append(r)
        print("row " + json.dumps({k: r[k] for k in ("stage", "n", "shards", "cpu_s", "wall_s", "peak_rss_mb")}),
              flush=True)


def print_table(rows: list[dict], sizes: list[int]) -> None:
    cols = ["stage", "n", "shards", "CPU s", "wall s", "peak RSS MB", "CPU ms/1k", "vs smallest"]
    widths = [26, 9, 6, 9, 9, 11, 9, 11]
    print("\n" + fmt_row(cols, widths))
    print("-+-".join("-" * w for w in widths))
    first: dict[str, float] = {}
    for r in sorted(rows, key=lambda r: (ORDER.index(r["stage"]) if r["stage"] in ORDER else 99, r["n"])):
        per_k = 1000 * r["cpu_s"] / r["n"] * 1000
        first.setdefault(r["stage"], per_k)
        ratio = per_k / first[r["stage"]] if first[r["stage"]] else float("nan")
        print(fmt_row([r["stage"], r["n"], r["shards"], f"{r['cpu_s']:.1f}", f"{r['wall_s']:.1f}",
                       f"{r['peak_rss_mb']:.0f}", f"{per_k:.1f}", f"{ratio:.2f}x"], widths))
    print("\nCPU ms/1k: CPU milliseconds per 1,000 reflections (flat = linear in reflections); 'vs smallest':"
          " that cost relative to the smallest size. fit (sample) works on a fixed-size sample, so its"
          " per-1k cost falls as n grows. Peak RSS is per child process (flat = memory does not grow with shards).")


ORDER = ["journals (setup)", "build", "embed (extrapolated)", "vectors (setup, synthetic)", "fit (sample)",
         "refine", "assign", "aggregate", "analyze (whole process)", "report"]


def print_estimate(rows: list[dict], loc: dict, sizes: list[int]) -> None:
    """Paper estimate for 100M reflections: marginal per-reflection CPU cost between the two largest
    sizes (fixed costs such as imports and the sample fit drop out), times 100M."""
    target = 100_000_000
    big = sorted(sizes)[-2:]
    by = {(r["stage"], r["n"]): r["cpu_s"] for r in rows}

    def per_row(stage: str) -> float:
        if len(big) == 1:
            return by[(stage, big[0])] / big[0]
        return max(by[(stage, big[1])] - by[(stage, big[0])], 0.0) / (big[1] - big[0])

    embed_core_h = target / loc["texts_per_cpu_s"] / 3600
    other = {s: per_row(s) * target / 3600 for s in ("build", "refine", "assign", "aggregate", "report")
             if (s, big[-1]) in by}
    print(f"\n100M reflections on paper (marginal CPU cost per reflection between n={big[0]} and n={big[-1]}):")
    print(f"  embed: {embed_core_h:,.0f} core-hours ({loc['texts_per_cpu_s']} texts per CPU-second measured; "
          "fp32 all-MiniLM-L6-v2 on this machine's CPU)")
    for s, h in other.items():
        print(f"  {s}: {h:,.1f} core-hours")
    par = embed_core_h + other.get("build", 0)
    seq = sum(v for k, v in other.items() if k != "build")
    for nodes, cores in ((10, 32), (25, 32), (50, 32)):
        # embed and build parallelise over shards (Ray actors / one build per shard group); refine is
        # one sequential mini-batch pass and assign/aggregate run in one process today
        print(f"  {nodes} nodes x {cores} cores: embed+build {par / (nodes * cores) / 0.8:.1f} h at 80% "
              f"efficiency, then refine+assign+aggregate+report {seq:.1f} h in one process")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
