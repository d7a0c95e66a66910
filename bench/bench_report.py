"""The offline HTML report (`mirror-kit report`) at 10k and 100k reflections: time to write it and its
size, with the reflection map thinned (mirror_kit.viz.thinning, MAP_POINTS) against the previous
behaviour, every point on the map (MIRROR_KIT_REPORT_MAP_POINTS=0), alternating in the same run.

The journal is synthetic (no model): reflections over 5 years written with `add_many`, 20 patterns
covering them, the seed tensions observed on every reflection, and 32-dimensional vectors stored
as the journal's embeddings, drawn around 20 centres (one per pattern) plus 0.5 % far-off points,
so the map has dense clusters and outliers. Time is the wall clock of `build_report` (it runs a
Jupyter kernel in another process) and the CPU seconds of this process and its children.

Run: .venv/bin/python -m bench report   (BENCH_REPORT_SIZES=10000 for the small size only)

BENCH_REPORT_PEER_REF=<commit> compares with that commit's code instead (checked out with `git
archive`, as the analyze benches do): each report is then written by a child process running
`build_report` from one checkout (ours or the peer), alternating, timed as wall and CPU seconds of
the child and its kernel, on the same journal built by our code.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

SIZES = tuple(int(x) for x in os.environ.get("BENCH_REPORT_SIZES", "10000,100000").split(","))
REPS = 2
DIM = 32
WORDS = ["work", "walk", "river", "friend", "tired", "calm", "family", "deadline", "sleep", "coffee", "run",
         "rain", "garden", "call", "mother", "project", "music", "book", "alone", "together", "change", "plan"]


def build(path: Path, n: int) -> None:
    import numpy as np

    import mirror_kit
    from mirror_kit.embedding import store as emb_store

    rng = random.Random(0)
    nrng = np.random.default_rng(0)
    t0 = datetime(2020, 1, 1)
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        iid = j.identities.get("maya").id
        recs = [{"content": " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))),
                 "created_at": (t0 + timedelta(minutes=int(i * 5 * 365 * 24 * 60 / n))).isoformat(),
                 "tags": [rng.choice(("work", "home", "health"))]} for i in range(n)]
        ids = j.reflections.add_many("maya", recs)
        j.tensions._ensure_seed_tensions()
        seeds = [r[0] for r in j.execute("SELECT id FROM tensions WHERE is_seed = 1")]
        hashes = dict(j.execute("SELECT id, content_hash FROM reflections").fetchall())
        centres = nrng.standard_normal((20, DIM)) * 3
        theme = np.arange(n) % 20
        vecs = centres[theme] + nrng.standard_normal((n, DIM)) * 0.6
        far = nrng.random(n) < 0.005
        vecs[far] += nrng.standard_normal((int(far.sum()), DIM)) * 12
        now = "2025-01-01T00:00:00Z"
        model = j.embeddings.model_name()
        with j.transaction() as c:
            for k in range(20):
                c.execute("INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, first_seen, "
                          "last_seen, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (f"p_{k:016d}", iid, f"theme {k}", json.dumps(WORDS[k:k + 4]), 0.5 + k / 50, n // 20,
                           "2020-01-01T00:00:00Z", now, now, now))
            c.executemany("INSERT INTO pattern_occurrences VALUES (?, ?, ?)",
                          ((f"p_{theme[i]:016d}", rid, rng.random()) for i, rid in enumerate(ids)))
            c.executemany("INSERT INTO tension_observations VALUES (?, ?, ?, ?, 'synthetic', ?)",
                          ((t, rid, rng.uniform(-1, 1), rng.random(), now) for rid in ids for t in seeds))
            emb_store.write(c, model, ((rid, hashes[rid], vecs[i]) for i, rid in enumerate(ids)))


def _report(db: Path, out: Path, map_points: str | None) -> tuple[float, float, float]:
    """(wall s, CPU s of this process and its children, MB written) of one report."""
    import mirror_kit
    from mirror_kit.viz.report import build_report

    if map_points is None:
        os.environ.pop("MIRROR_KIT_REPORT_MAP_POINTS", None)
    else:
        os.environ["MIRROR_KIT_REPORT_MAP_POINTS"] = map_points
    try:
        r0, c0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
        t0 = time.perf_counter()
        with mirror_kit.open(db, readonly=True) as j:
            build_report(j, "maya", out)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0 + (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    finally:
        os.environ.pop("MIRROR_KIT_REPORT_MAP_POINTS", None)
    return wall, cpu, out.stat().st_size / 1e6


CHILD = r"""
import sys
import mirror_kit
from mirror_kit.viz.report import build_report
with mirror_kit.open(sys.argv[1], readonly=True) as j:
    build_report(j, "maya", sys.argv[2])
"""


def _report_child(code: str, db: Path, out: Path) -> tuple[float, float, float]:
    """(wall s, CPU s of the child and its kernel, MB written) of one report by the code in `code`."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MIRROR_KIT_REPORT_MAP_POINTS"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(out)], cwd=code,
                            env={**env, "PYTHONPATH": code}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.stdout.read(), proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"report child failed: {err.strip().splitlines()[-1:]}")
    return wall, ru.ru_utime + ru.ru_stime, out.stat().st_size / 1e6


def main_peer_code(ref: str) -> None:
    """Ours against the code of commit `ref`, each in its own child process, alternating."""
    import shutil

    from .bench_analyze_scale import ROOT, peer_checkout

    os.environ["BENCH_PEER_REF"] = ref
    peer = peer_checkout()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            for n, db in _journals(tmp):
                ours, theirs = [], []
                for k in range(REPS):  # alternating
                    ours.append(_report_child(str(ROOT), db, tmp / f"ours-{n}-{k}.html"))
                    theirs.append(_report_child(peer, db, tmp / f"peer-{n}-{k}.html"))
                    print(f"  run {k}: ours {ours[-1][0]:.1f} s wall / {ours[-1][1]:.1f} CPU s, "
                          f"peer {theirs[-1][0]:.1f} s wall / {theirs[-1][1]:.1f} CPU s", flush=True)
                rows.append((n, [statistics.median(x[i] for x in ours) for i in range(3)],
                             [statistics.median(x[i] for x in theirs) for i in range(3)]))
    finally:
        shutil.rmtree(peer, ignore_errors=True)
    print(f"\nreport: ours vs the code of {ref} (peer), {REPS} alternating runs each (medians)\n")
    print("| reflections | ours wall s | peer wall s | ours CPU s | peer CPU s | ours MB | peer MB | CPU ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, (ow, oc, om), (pw, pc, pm) in rows:
        print(f"| {n:,} | {ow:.1f} | {pw:.1f} | {oc:.1f} | {pc:.1f} | {om:.2f} | {pm:.2f} | {oc / pc:.2f}x |")
    print("\ntarget at 100k: under 30 s wall")


def _journals(tmp: Path):
    """(n, path) of a built journal per size in SIZES, saying how long each build took."""
    for n in SIZES:
        db = tmp / f"j{n}.db"
        t = time.perf_counter()
        build(db, n)
        print(f"journal of {n:,} reflections built in {time.perf_counter() - t:.0f} s", flush=True)
        yield n, db


def main() -> None:
    from mirror_kit.viz.report import MAP_POINTS

    if os.environ.get("BENCH_REPORT_PEER_REF"):
        main_peer_code(os.environ["BENCH_REPORT_PEER_REF"])
        return

    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for n, db in _journals(tmp):
            ours, peer = [], []
            for k in range(REPS):  # alternating
                ours.append(_report(db, tmp / f"ours-{n}-{k}.html", None))
                try:
                    peer.append(_report(db, tmp / f"peer-{n}-{k}.html", "0"))
                except Exception as exc:  # the previous behaviour may fail outright at this size: say so
                    print(f"peer at {n:,}: failed: {str(exc).splitlines()[0][:160]}", flush=True)
                    peer.append((float("nan"), float("nan"), float("nan")))
            shown = _map_points_in(tmp / f"ours-{n}-0.html")
            rows.append((n, shown, [statistics.median(x[i] for x in ours) for i in range(3)],
                         [statistics.median(x[i] for x in peer) for i in range(3)]))
    print(f"\nreport: map thinned to about {MAP_POINTS:,} points (ours) vs every point (peer, the previous "
          f"behaviour), {REPS} alternating runs each (medians)\n")
    print("| reflections | map points (ours) | ours wall s | peer wall s | ours CPU s | peer CPU s | ours MB "
          "| peer MB | size ratio | wall ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, shown, (ow, oc, om), (pw, pc, pm) in rows:
        print(f"| {n:,} | {shown} | {ow:.1f} | {pw:.1f} | {oc:.1f} | {pc:.1f} | {om:.2f} | {pm:.2f} "
              f"| {om / pm:.2f}x | {ow / pw:.2f}x |")
    print("\ntargets at 100k: under 30 s and under 8 MB")


def _map_points_in(html_path: Path) -> str:
    """The map's title says how many points it shows when it was thinned."""
    import re

    text = html_path.read_text(encoding="utf-8")
    m = re.search(r"showing ([\d,]+) of ([\d,]+)", text)
    return f"{m.group(1)} of {m.group(2)}" if m else "all"


if __name__ == "__main__":
    main()
