"""`journal.frame("reflections")` and `journal.sql(...).df()` on 100k reflections vs `pandas.read_sql` of the
same table: time and peak memory, each measurement in a fresh subprocess, contenders interleaved.

Run: .venv/bin/python -m bench frames      (BENCH_FRAMES_N to change the 100,000)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
REPEATS = 3

# Each contender runs alone in a new interpreter. Peak memory is VmHWM (the RSS high-water mark of this
# process image): ru_maxrss would carry over the parent's peak across fork+exec.
CHILD = r"""
import json, sqlite3, sys, time
import duckdb, pandas as pd
import mirror_kit
def hwm_kb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
path, which = sys.argv[1], sys.argv[2]
j = mirror_kit.open(path)
if which == "sql":
    j.sql("SELECT 1").fetchall()  # the DuckDB connection is made outside the measurement
elif which == "sql-scanner":
    j.frames.sql("SELECT 1", scanner=True).fetchall()  # connect + load the extension outside it
base = hwm_kb()
t = time.perf_counter()
if which == "peer":
    con = sqlite3.connect(path)
    df = pd.read_sql("SELECT * FROM reflections", con)
elif which == "frame":
    df = j.frame("reflections")
elif which == "sql":
    df = j.sql("SELECT * FROM reflections").df()
elif which == "sql-count":
    df = j.sql("SELECT count(*) FROM reflections").df()  # a second query: the copy is reused
    t = time.perf_counter()
    df = j.sql("SELECT identity_id, count(*) FROM reflections GROUP BY 1").df()
elif which == "sql-scanner":
    df = j.frames.sql("SELECT * FROM reflections", scanner=True).df()
seconds = time.perf_counter() - t
peak = hwm_kb()
print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024, "rows": len(df), "cols": df.shape[1]}))
"""

LABELS = {
    "peer": "pandas.read_sql('SELECT * FROM reflections') (peer)",
    "frame": "journal.frame('reflections')",
    "sql": "journal.sql('SELECT * FROM reflections').df()",
    "sql-count": "journal.sql(...) again, copy reused",
    "sql-scanner": "journal.frames.sql(..., scanner=True).df()",
}


def build(path: Path, n: int) -> None:
    import pandas as pd

    import mirror_kit

    texts = pd.read_csv(CSV)["moment"].astype(str).tolist()
    with mirror_kit.open(path) as j:
        j.identities.add("bench")
        j.reflections.add_many("bench", (
            {"content": f"{texts[i % len(texts)]} ({i})", "created_at": f"{2000 + i // 20000}-01-01T00:00:00Z",
             "source": "bench", "source_id": str(i), "tags": [f"t{i % 7}"] if i % 3 == 0 else [],
             "metadata": {"i": i}}
            for i in range(n)
        ))
        j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def measure(path: Path, which: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), which], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(os.environ.get("BENCH_FRAMES_N", "100000"))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "frames.db"
        t = time.perf_counter()
        build(path, n)
        print(f"{n} reflections written in {time.perf_counter() - t:.1f} s "
              f"({path.stat().st_size / 2**20:.0f} MB file); {REPEATS} runs each, rotating order, "
              f"load average {os.getloadavg()[0]:.1f}\n")
        names = list(LABELS)
        results: dict[str, list[dict]] = {k: [] for k in names}
        for r in range(REPEATS):
            for which in names[r % len(names):] + names[: r % len(names)]:
                results[which].append(measure(path, which))
    peer_s = statistics.median(x["seconds"] for x in results["peer"])
    peer_mb = max(x["peak_mb"] for x in results["peer"])
    print(f"{'contender':<50} {'rows':>7} {'cols':>5} {'median s':>9} {'vs peer':>8} {'peak MB':>8} {'vs peer':>8}")
    for which in names:
        s = statistics.median(x["seconds"] for x in results[which])
        mb = max(x["peak_mb"] for x in results[which])
        first = results[which][0]
        print(f"{LABELS[which]:<50} {first['rows']:>7} {first['cols']:>5} {s:>9.2f} {peer_s / s:>7.2f}x "
              f"{mb:>8.0f} {mb / peer_mb:>7.2f}x")
    print("\n(vs peer: >1x time means faster than the peer; memory ratio <1x means less peak memory. "
          "journal.frame also parses timestamps, JSON and attaches tags.)")


if __name__ == "__main__":
    main()
