"""Import speed and memory: a 100k-row CSV and a 10k-entry jrnl JSON export.

First `mirror-kit import` against `sqlite-utils insert --csv` at 100k and 1M rows (whole processes,
alternating; CPU, wall and peak RSS of each process). BENCH_IMPORT_SIZES=100000 picks the sizes;
BENCH_IMPORT_IN_PROCESS=0 skips the in-process table below. BENCH_IMPORT_BASELINE=DIR adds a third
process per round, the same import run from another checkout of mirror_kit (e.g. `git worktree add DIR
main`), so a change is measured before/after in one run.

The peer, measured in the same run on the same rows: `pandas.read_csv` (or `json.load` for jrnl)
plus a raw `sqlite3.executemany` into a plain table. It does none of our work (validation, content
hashes, stable ids, dedupe against the journal, tags, all-or-nothing), so the ratio is the price of
that work. The jrnl export is generated in jrnl's JSON format by this script: producing 10k entries
with the real jrnl program (one process per entry, ~0.25 s each) would take ~40 minutes; the tests
use the real program.

Times are wall clock and process CPU without instrumentation; peak memory is tracemalloc's peak
in a second run.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

N_CSV = 100_000
N_JRNL = 10_000
WORDS = ["morning", "walk", "river", "calm", "tired", "work", "deadline", "friend", "family", "dinner", "quiet", "reading", "music", "rain", "sun", "coffee", "argument", "laugh", "worry", "hope", "plan", "garden", "city", "train", "sleep", "dream", "run", "lunch", "call", "mother", "brother", "child", "school", "office", "meeting", "project", "weekend", "trip", "sea", "mountain", "book", "film"]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_csv(path: Path, n: int) -> None:
    rng = random.Random(0)
    start = datetime(2015, 1, 1, 8, 0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "text", "tags", "mood"])
        for i in range(n):
            when = start + timedelta(minutes=97 * i)
            text = " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 4)))
            w.writerow([i + 1, when.strftime("%Y-%m-%d %H:%M"), text, "|".join(rng.sample(WORDS[:12], 2)),
                        rng.randint(1, 10)])


def make_jrnl_json(path: Path, n: int) -> None:
    """A file in `jrnl --format json` layout: {"tags": {...}, "entries": [{title, body, date, time, tags, starred}]}."""
    rng = random.Random(1)
    start = datetime(2018, 1, 1, 7, 0)
    entries, tags = [], {}
    for i in range(n):
        when = start + timedelta(minutes=233 * i)
        tag = f"@{rng.choice(WORDS[:12])}"
        tags[tag] = tags.get(tag, 0) + 1
        entries.append({"title": _sentence(rng, 5), "body": " ".join(_sentence(rng, 10) for _ in range(3)) + f" {tag}",
                        "date": when.strftime("%Y-%m-%d"), "time": when.strftime("%H:%M"), "tags": [tag],
                        "starred": i % 17 == 0})
    path.write_text(json.dumps({"tags": tags, "entries": entries}, indent=2), encoding="utf-8")


def ours(src: Path, db: Path) -> Callable[[], int]:
    def run() -> int:
        import mirror_kit

        with mirror_kit.open(db) as j:
            return j.imports.run(src, "bench", progress=False)["added"]

    return run


def ours_again(src: Path, db: Path) -> Callable[[], int]:
    """Re-import into a journal that already has every entry (the idempotency check's cost)."""

    def run() -> int:
        import mirror_kit

        with mirror_kit.open(db) as j:
            return j.imports.run(src, "bench", progress=False)["skipped"]

    return run


def _sqlite(db: Path, rows: list[tuple]) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, created_at TEXT, content TEXT, tags TEXT)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()


def peer_csv(src: Path, db: Path) -> Callable[[], int]:
    def run() -> int:
        import pandas as pd

        df = pd.read_csv(src)
        rows = list(zip(df["id"].astype(str), df["date"], df["text"], df["tags"], strict=True))
        _sqlite(db, rows)
        return len(rows)

    return run


def peer_jrnl(src: Path, db: Path) -> Callable[[], int]:
    def run() -> int:
        doc = json.loads(src.read_text(encoding="utf-8"))
        rows = [(f"{e['date']}T{e['time']}", f"{e['date']} {e['time']}", e["title"] + "\n" + e["body"],
                 ",".join(e["tags"])) for e in doc["entries"]]
        _sqlite(db, rows)
        return len(rows)

    return run


def measure(make: Callable[[Path], Callable[[], int]], tmp: Path, label: str) -> tuple[int, float, float, float]:
    """(rows, wall seconds, CPU seconds, peak MB): timed in one run, memory in a second run on a fresh
    database. CPU time is reported because the wall clock of a shared machine includes other load."""
    dbs = [tmp / f"{label}-{k}.db" for k in (1, 2)]
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    n = make(dbs[0])()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    tracemalloc.start()
    make(dbs[1])()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return n, secs, cpu, peak


def _child_run(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, peak RSS MB) of one whole child process (os.wait4: its own rusage,
    not the maximum over every child so far)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, cwd=cwd)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return ru.ru_utime + ru.ru_stime, time.perf_counter() - t0, ru.ru_maxrss / 1024


def vs_sqlite_utils(src: Path, tmp: Path, reps: int = 3, baseline: str | None = None) -> dict | None:
    """`mirror-kit import` against `sqlite-utils insert --csv` on the same CSV, whole processes,
    alternating in one run (medians). sqlite-utils does no validation, dedupe or search index.
    `baseline`: another checkout whose import runs too, alternating with ours (key "base")."""
    peer = shutil.which("sqlite-utils") or str(Path(sys.executable).with_name("sqlite-utils"))
    if not Path(peer).exists():
        print("\nsqlite-utils not installed: comparison skipped")
        return None

    def env_for(root: str) -> dict:
        return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}

    root = str(Path(__file__).resolve().parent.parent)
    runs: dict[str, list] = {"ours": [], "peer": []} | ({"base": []} if baseline else {})
    for k in range(reps):
        ours_db, peer_db, base_db = tmp / f"cli-{k}.db", tmp / f"su-{k}.db", tmp / f"base-{k}.db"
        ours_cmd = [sys.executable, "-c", "from mirror_kit.cli import run; run()", "--db", "DB", "import", str(src),
                    "-i", "bench"]
        # `python -c` puts the working directory first on sys.path: each checkout runs from its own root
        runs["ours"].append(_child_run([str(ours_db) if a == "DB" else a for a in ours_cmd], env_for(root), root))
        runs["peer"].append(_child_run([peer, "insert", str(peer_db), "t", str(src), "--csv"]))
        if baseline:
            runs["base"].append(_child_run([str(base_db) if a == "DB" else a for a in ours_cmd], env_for(baseline),
                                           baseline))
        for db in (ours_db, peer_db, base_db):  # keep the disk use of the 1M case to a few files
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
    out: dict = {"reps": reps, "mb": src.stat().st_size / 1e6}
    for name, got in runs.items():
        out[name] = tuple(statistics.median(x[i] for x in got) for i in (0, 1, 2))
    return out


def whole_process_table(tmp: Path, sizes: tuple[int, ...]) -> None:
    """Ours vs sqlite-utils at each size: CPU, wall, peak RSS and their ratios, one row per size."""
    results = []
    baseline = os.environ.get("BENCH_IMPORT_BASELINE") or None
    load_before = os.getloadavg()
    for n in sizes:
        src = tmp / f"rows-{n}.csv"
        make_csv(src, n)
        r = vs_sqlite_utils(src, tmp, reps=3 if n <= 200_000 else 2, baseline=baseline)
        src.unlink()
        if r is None:
            return
        results.append((n, r))
    print("mirror-kit import vs sqlite-utils insert --csv, whole processes, alternating (medians):\n")
    print("| rows | CSV MB | runs | ours CPU s | peer CPU s | CPU ratio | ours wall s | peer wall s | wall ratio "
          "| ours peak RSS MB | peer peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results:
        (oc, ow, om), (pc, pw, pm) = r["ours"], r["peer"]
        print(f"| {n:,} | {r['mb']:.0f} | {r['reps']} | {oc:.2f} | {pc:.2f} | {oc / pc:.2f}x | {ow:.2f} | {pw:.2f} "
              f"| {ow / pw:.2f}x | {om:.0f} | {pm:.0f} |")
    if baseline:
        print(f"\nbaseline {baseline} in the same run (alternating ours, sqlite-utils, baseline):\n")
        print("| rows | base CPU s | ours CPU s | peer CPU s | base CPU ratio | ours CPU ratio | base peak RSS MB "
              "| ours peak RSS MB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, r in results:
            (bc, _, bm), (oc, _, om), (pc, _, _) = r["base"], r["ours"], r["peer"]
            print(f"| {n:,} | {bc:.2f} | {oc:.2f} | {pc:.2f} | {bc / pc:.2f}x | {oc / pc:.2f}x | {bm:.0f} | {om:.0f} |")
    if len(results) > 1:
        (n0, r0), (n1, r1) = results[0], results[-1]
        print(f"\npeak RSS from {n0:,} to {n1:,} rows: ours x{r1['ours'][2] / r0['ours'][2]:.2f}, "
              f"sqlite-utils x{r1['peer'][2] / r0['peer'][2]:.2f}")
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f}".format(
        *load_before, *os.getloadavg()))


def main() -> None:
    import pandas  # noqa: F401

    import mirror_kit  # noqa: F401  (import cost outside the timings)

    sizes = tuple(int(x) for x in os.environ.get("BENCH_IMPORT_SIZES", "100000,1000000").split(","))
    with tempfile.TemporaryDirectory() as d:
        whole_process_table(Path(d), sizes)
    if os.environ.get("BENCH_IMPORT_IN_PROCESS", "1") == "0":
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print()
        csv_src, jrnl_src = tmp / "big.csv", tmp / "jrnl_export.json"
        make_csv(csv_src, N_CSV)
        make_jrnl_json(jrnl_src, N_JRNL)
        print(f"inputs: {csv_src.name} {csv_src.stat().st_size / 1e6:.1f} MB ({N_CSV:,} rows), "
              f"{jrnl_src.name} {jrnl_src.stat().st_size / 1e6:.1f} MB ({N_JRNL:,} entries)\n")
        cases = [
            ("csv 100k", csv_src, peer_csv, "pandas.read_csv + executemany"),
            ("jrnl json 10k", jrnl_src, peer_jrnl, "json.load + executemany"),
        ]
        header = (f"{'case':<14} {'rows':>7} {'ours s':>7} {'cpu s':>6} {'ours rows/s':>11} {'ours MB':>7} "
                  f"{'peer s':>7} {'cpu s':>6} {'peer rows/s':>11} {'peer MB':>7} {'ratio':>6} {'cpu ratio':>9}  peer")
        print(header)
        print("-" * len(header))
        for label, src, peer, peer_name in cases:
            n, t, c, m = measure(lambda db, src=src: ours(src, db), tmp, f"ours-{label}")
            pn, pt, pc, pm = measure(lambda db, src=src, peer=peer: peer(src, db), tmp, f"peer-{label}")
            print(f"{label:<14} {n:>7,} {t:>7.2f} {c:>6.2f} {n / t:>11,.0f} {m:>7.1f} {pt:>7.2f} {pc:>6.2f} "
                  f"{pn / pt:>11,.0f} {pm:>7.1f} {t / pt:>5.1f}x {c / pc:>8.1f}x  {peer_name}")
        print("(rows/s from wall time; ratio = ours / peer time, higher is slower)")
        # Re-importing the same CSV into the journal that has it: everything is skipped.
        db = tmp / "ours-csv 100k-1.db"
        t0, c0 = time.perf_counter(), time.process_time()
        skipped = ours_again(csv_src, db)()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        print(f"\nre-import of the 100k CSV (all {skipped:,} skipped as duplicates): {t:.2f} s "
              f"({c:.2f} s CPU), {skipped / t:,.0f} rows/s")


if __name__ == "__main__":
    main()
