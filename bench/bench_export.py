"""Export, backup and import at 1,000 and 100,000 reflections: time and peak memory.

Each measurement runs in a fresh child process; "peak MB" is the growth of its peak RSS during the
operation (VmHWM, reset just before) over its RSS after imports and opening the journal.
Peers, measured in the same run on the same file:
- JSON export: the naive design, a fully materialised dict (`journal.reflections.rows()` etc.) written
  with one `json.dump`;
- Markdown export: materialised reflections, one mirrorback query per reflection (N+1), the whole
  document built as one string;
- ZIP backup: SQLite backup API copy + naive JSON export + `zipfile` at the default level 6;
- import: `json.load` + `journal.add_reflections` of the reflections only (does less than ours:
  no mirrorbacks, patterns, tensions, conflict checks).
The earlier design's figures (1,000 reflections) are printed as the reference column.

Run: .venv/bin/python -m bench export
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
SIZES = tuple(int(s) for s in os.environ.get("BENCH_EXPORT_SIZES", "1000,100000").split(","))
EARLIER_MS = {"json export": 500, "markdown export": 1200, "zip backup": 800}


def build(path: Path, n: int) -> None:
    """A journal of n HappyDB-based reflections (~300 chars, 2 tags), 10% with a mirrorback, 8
    patterns covering every reflection and one tension observation per reflection."""
    import mirror_kit

    with CORPUS.open(newline="", encoding="utf-8") as fh:
        rows = [(r["moment"].strip(), (r["concepts"] or "misc").split("|")) for r in csv.DictReader(fh)]
    recs, k = [], 0
    start = datetime(2020, 1, 1, 7, 0)
    for i in range(n):
        parts: list[str] = []
        tags: list[str] = []
        while sum(len(p) + 1 for p in parts) < 280:
            moment, concepts = rows[k % len(rows)]
            parts.append(moment)
            tags.extend(concepts)
            k += 1
        recs.append({"content": " ".join(parts), "created_at": start + timedelta(minutes=26 * i),
                     "tz": "Europe/Paris", "title": parts[0][:40], "tags": tags[:2], "source": "bench",
                     "source_id": str(i)})
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        ids = j.reflections.add_many("maya", recs)
        iid = j.identities.get("maya").id
        now = "2024-01-01T00:00:00Z"
        with j.transaction():
            j.conn.executemany(
                "INSERT INTO mirrorbacks (id, reflection_id, content, model, created_at) VALUES (?, ?, ?, 'bench', ?)",
                [(f"m_{i}", rid, "It sounds like this mattered to you.", now) for i, rid in enumerate(ids) if i % 10 == 0])
            for p in range(8):
                j.conn.execute(
                    "INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, created_at, updated_at) "
                    "VALUES (?, ?, ?, '[\"a\", \"b\"]', 0.7, ?, ?, ?)", (f"p_{p}", iid, f"pattern {p}", n // 8, now, now))
            j.conn.executemany("INSERT INTO pattern_occurrences VALUES (?, ?, ?)",
                               [(f"p_{i % 8}", rid, 0.5 + (i % 50) / 100) for i, rid in enumerate(ids)])
            j.conn.execute("INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, is_seed, created_at, "
                           "updated_at) VALUES ('being_doing', NULL, 'Being / doing', 'being', 'doing', 1, ?, ?)",
                           (now, now))
            j.conn.executemany("INSERT INTO tension_observations VALUES ('being_doing', ?, ?, ?, 'bench', ?)",
                               [(rid, ((i % 21) - 10) / 10, (i % 11) / 10, now) for i, rid in enumerate(ids)])


# -- the operations (run inside a child) -------------------------------------------------------------
def _naive_doc(j) -> dict:
    doc: dict = {"format": "mirror_os_export_v1", "exported_at": "", "identities": [], "settings": j.settings.all()}
    for ident in j.identities.rows():
        refl = [r.as_dict() for r in j.reflections.rows(ident.name)]
        mbs = [m.__dict__ for m in j.mirrorbacks.rows(identity=ident.name)]
        pats = [dict(r) for r in j.conn.execute("SELECT * FROM patterns WHERE identity_id = ?", (ident.id,))]
        for p in pats:
            p.pop("centroid", None)
            p["occurrences"] = [dict(o) for o in j.conn.execute(
                "SELECT reflection_id, strength FROM pattern_occurrences WHERE pattern_id = ?", (p["id"],))]
        tens = [dict(r) for r in j.conn.execute("SELECT * FROM tensions")]
        for t in tens:
            t["observations"] = [dict(o) for o in j.conn.execute(
                "SELECT o.* FROM tension_observations o JOIN reflections r ON r.id = o.reflection_id "
                "WHERE o.tension_id = ? AND r.identity_id = ?", (t["id"], ident.id))]
        doc["identities"].append({"id": ident.id, "name": ident.name, "reflections": refl, "mirrorbacks": mbs,
                                  "threads": [], "patterns": pats, "tensions": tens, "analysis_runs": j.runs.rows()})
    return doc


def op_json(j, work: Path) -> None:
    j.exports.json(work / "out.json")


def op_json_peer(j, work: Path) -> None:
    with open(work / "peer.json", "w", encoding="utf-8") as fh:
        json.dump(_naive_doc(j), fh, ensure_ascii=False, default=str)


def op_markdown(j, work: Path) -> None:
    j.exports.markdown(work / "md")


def op_markdown_peer(j, work: Path) -> None:
    for ident in j.identities.rows():
        parts = [f"# Reflections of {ident.name}\n"]
        for r in j.reflections.rows(ident.name):
            parts.append(f"\n## {r.created_at:%Y-%m-%d %H:%M} {r.title or ''}\n\n{r.content}\n")
            if r.tags:
                parts.append("Tags: " + ", ".join(r.tags) + "\n")
            for m in j.mirrorbacks.rows(reflection_id=r.id):
                parts.append(f"\n> {m.content}\n")
        d = work / "mdpeer" / ident.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "reflections.md").write_text("".join(parts), encoding="utf-8")


def op_backup(j, work: Path) -> None:
    j.exports.backup(work / "b.zip")


def op_backup_peer(j, work: Path) -> None:
    copy = work / "copy.db"
    dst = sqlite3.connect(copy)
    j.conn.backup(dst)
    dst.close()
    op_json_peer(j, work)
    with zipfile.ZipFile(work / "peer.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(copy, "journal.db")
        zf.write(work / "peer.json", "export.json")


def op_verify(j, work: Path) -> None:
    from mirror_kit.export import verify_backup

    verify_backup(work / "b.zip")


def op_restore(j, work: Path) -> None:
    from mirror_kit.export import restore

    restore(work / "b.zip", work / "restored.db", force=True)


def _empty(work: Path):
    import mirror_kit

    target = work / "import.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return mirror_kit.open(target)


def op_import(j, work: Path) -> None:
    from mirror_kit.export.importer import import_export_file

    with _empty(work) as t:
        import_export_file(t, work / "out.json")


def op_import_peer(j, work: Path) -> None:
    with _empty(work) as t:
        doc = json.loads((work / "out.json").read_text(encoding="utf-8"))
        for ident in doc["identities"]:
            t.identities.add(ident["name"])
            t.reflections.add_many(ident["name"], ident["reflections"])


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def child(op: str, db: str, work: str, reps: int) -> None:
    import mirror_kit

    fn = globals()[f"op_{op}"]
    times, cpu = [], []
    with mirror_kit.open(db, readonly=op.startswith(("json", "markdown"))) as j:
        # ru_maxrss would carry the parent's high-water mark over fork/exec: reset the kernel's
        # peak-RSS counter instead (Linux: `5` > /proc/self/clear_refs) and read VmHWM afterwards
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        base = _status_kb("VmRSS")
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(j, Path(work))
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        peak = _status_kb("VmHWM")
    print(json.dumps({"ms": statistics.median(times) * 1000, "cpu_ms": statistics.median(cpu) * 1000,
                      "peak_mb": (peak - base) / 1024, "rss_mb": peak / 1024, "base_mb": base / 1024}))


def measure(op: str, db: Path, work: Path, reps: int) -> dict:
    code = f"from bench.bench_export import child; child({op!r}, {str(db)!r}, {str(work)!r}, {reps})"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as d:
        for n in SIZES:
            work = Path(d) / str(n)
            work.mkdir()
            db = work / "journal.db"
            t0 = time.perf_counter()
            build(db, n)
            print(f"built {n:,} reflections in {time.perf_counter() - t0:.1f} s "
                  f"({db.stat().st_size / 2**20:.1f} MiB)", flush=True)
            reps = 5 if n <= 1000 else 1
            for label, ours, peer in (("json export", "json", "json_peer"),
                                      ("markdown export", "markdown", "markdown_peer"),
                                      ("zip backup", "backup", "backup_peer"),
                                      ("backup verify", "verify", None),
                                      ("restore", "restore", None),
                                      ("import (empty journal)", "import", "import_peer")):
                a = measure(ours, db, work, reps)
                b = measure(peer, db, work, reps) if peer else None
                ref = EARLIER_MS.get(label) if n == 1000 else None
                rows.append((label, n, a, b, ref))
                print(f"  {label}: {a['ms']:.0f} ms" + (f" (peer {b['ms']:.0f} ms)" if b else ""), flush=True)
            sizes = {p.name: p.stat().st_size for p in work.iterdir() if p.is_file()}
            print(f"  sizes: journal {sizes['journal.db'] / 2**20:.1f} MiB, json {sizes['out.json'] / 2**20:.1f} MiB, "
                  f"zip {sizes['b.zip'] / 2**20:.1f} MiB", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    print()
    head = ("operation", "n", "ours ms", "ours CPU ms", "peer ms", "peer CPU ms", "peer/ours (CPU)", "earlier ms",
            "earlier/ours (wall)", "earlier/ours (CPU)", "ours peak MB", "peer peak MB", "ours max RSS MB",
            "peer max RSS MB")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for label, n, a, b, ref in rows:
        print(" | ".join([
            label, f"{n:,}", f"{a['ms']:.0f}", f"{a['cpu_ms']:.0f}", f"{b['ms']:.0f}" if b else "-",
            f"{b['cpu_ms']:.0f}" if b else "-", f"{b['cpu_ms'] / max(a['cpu_ms'], 1e-3):.1f}x" if b else "-",
            f"{ref}" if ref else "-", f"{ref / a['ms']:.1f}x" if ref else "-",
            f"{ref / max(a['cpu_ms'], 1e-3):.1f}x" if ref else "-", f"{a['peak_mb']:.1f}",
            f"{b['peak_mb']:.1f}" if b else "-", f"{a['rss_mb']:.0f}", f"{b['rss_mb']:.0f}" if b else "-",
        ]))
    print("\npeak MB: the child's peak RSS during the operation minus its RSS just before (imports done, journal "
          "open); max RSS MB: that peak, absolute (kernel VmHWM, reset before the operation).")
    print(f"ms: median wall time; CPU ms: this process's CPU time (the machine is shared: load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end of the run).")


if __name__ == "__main__":
    main()
