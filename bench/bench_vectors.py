"""Vector storage: on-disk size and read cost of stored embeddings, the old layout (schema 0008 on 4 KB
pages: three indexes) against ours (schema 0009 on 16 KB pages: the covering index dropped), both
built in the same run from the same vectors.

The old journal is built at schema 0008 with SQLite's default 4 KB pages and vacuumed (rows dense); a
copy becomes ours the way an existing journal does: opened (migration 0009 applies) and
`Journal.compact()` (16 KB pages). A journal made today gets 16 KB pages from the start.
- size: bytes of the embeddings table and its indexes (SQLite's dbstat) and the growth of the file
  they cause (file with vectors minus the same file without them, each at its own page size),
  against the raw float32 payload (n * dim * 4);
- read: `read_matrix` (what `analyze` reads: every current vector in one pass in storage order),
  `stale` ("which reflections lack a current vector", run by every analyze step before reading) and
  `count_current`; CPU seconds, median of alternating runs in this process.
Both layouts must give bit-identical matrices and identical stale lists (asserted).

Run: .venv/bin/python -m bench vectors          (MIRROR_KIT_BENCH_VECTORS=10000,100000 to pick sizes,
     MIRROR_KIT_BENCH_VECTORS_ORDER=shuffled to store the vectors in an order unrelated to time)
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import mirror_kit
from mirror_kit.embedding import store as emb_store
from mirror_kit.migrate import Migrator

SIZES = tuple(int(x) for x in os.environ.get("MIRROR_KIT_BENCH_VECTORS", "100000").split(","))
DIM = 384
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
REPS = 3
OLD_SCHEMA, OLD_PAGE = 8, 4096
ORDER = os.environ.get("MIRROR_KIT_BENCH_VECTORS_ORDER", "time")  # storage order: "time" or "shuffled"


def build(path: Path, n: int) -> Path:
    """A journal at schema 0008 on 4 KB pages with n reflections and their vectors; returns a copy of it
    taken before the vectors (to measure what they add)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA page_size = {OLD_PAGE}")
    conn.execute("PRAGMA journal_mode = WAL")
    Migrator(conn).up(OLD_SCHEMA)
    conn.execute("INSERT INTO identities (id, name, created_at) VALUES ('i1', 'maya', '2024-01-01T00:00:00Z')")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO reflections (id, identity_id, created_at, content, content_hash, updated_at) "
        "VALUES (?, 'i1', ?, ?, ?, ?)",
        [(f"ref_{(i * 7919) % n:010x}{i:06x}", f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z",
          f"entry {i}", f"{i:064x}", "2024-01-01T00:00:00Z") for i in range(n)])
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    base = path.with_name(path.stem + ".base.db")
    shutil.copyfile(path, base)
    rng = np.random.default_rng(0)
    # written the way `embed` writes them: 1024 per transaction, in the order `stale` lists them
    # (chronological), so storage order follows time as in a journal embedded as it grows; "shuffled"
    # writes them in an order unrelated to time (older entries imported after embedding, at worst)
    order = "" if ORDER == "shuffled" else " ORDER BY created_at, id"
    rows = conn.execute("SELECT id, content_hash FROM reflections" + order).fetchall()
    for start in range(0, n, 1024):
        part = rows[start:start + 1024]
        vecs = rng.standard_normal((len(part), DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        conn.execute("BEGIN")
        emb_store.write(conn, MODEL, ((r[0], r[1], v) for r, v in zip(part, vecs, strict=True)))
        conn.execute("COMMIT")
    # a tenth edited afterwards: their stored vector is out of date (what `stale` must find)
    conn.execute("UPDATE reflections SET content_hash = 'edited' || substr(content_hash, 7) WHERE rowid % 10 = 0")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return base


def shares(path: Path) -> tuple[int, dict[str, int]]:
    """(bytes of the embeddings table, {index: bytes}), from SQLite's dbstat."""
    conn = sqlite3.connect(path)
    rows = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    idx = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'embeddings' "
                                      "AND type = 'index'")]
    conn.close()
    return rows.get("embeddings", 0), {i: rows.get(i, 0) for i in idx}


def cpu(fn) -> tuple[float, object]:
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def vectors_dump(path: Path) -> list:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = conn.execute("SELECT reflection_id, model, content_hash, dim, vector, created_at FROM embeddings "
                        "ORDER BY reflection_id, model").fetchall()
    conn.close()
    return rows


def _old_stale(conn: sqlite3.Connection, model: str) -> list[tuple[str, str, str]]:
    """`stale` as the code ran it on the old layout: through the covering index (0008)."""
    return [tuple(r) for r in conn.execute(
        "SELECT r.id, r.content, r.content_hash FROM reflections r "
        "LEFT JOIN embeddings e INDEXED BY idx_embeddings_current ON e.reflection_id = r.id AND e.model = ? "
        "WHERE r.identity_id = ? AND (e.reflection_id IS NULL OR e.content_hash != r.content_hash) "
        "ORDER BY r.created_at, r.id", [model, "i1"])]


def _old_count(conn: sqlite3.Connection, model: str) -> int:
    """`count_current` as the code ran it on the old layout (covering index)."""
    return conn.execute(
        "SELECT count(*) FROM embeddings e INDEXED BY idx_embeddings_current JOIN reflections r "
        "ON r.id = e.reflection_id AND e.content_hash = r.content_hash "
        "WHERE e.model = ? AND r.identity_id = ?", (model, "i1")).fetchone()[0]


QUERIES = {  # (stale, count_current) of a journal handle
    "old": (lambda j, m: _old_stale(j.conn, m), lambda j, m: _old_count(j.conn, m)),
    "ours": (lambda j, m: emb_store.stale(j.conn, "i1", m), lambda j, m: j.embeddings.count_current("i1", model=m)),
}


def main() -> None:
    mb = 1 / 1e6
    print("old: schema 0008 on 4 KB pages (indexes: unique key, model, covering current-hash); "
          f"ours: schema 0009 + `compact` (16 KB pages; unique key, model); vectors stored in {ORDER} order\n")
    print("| vectors | payload (n x 384 x 4) | layout | page | table + indexes | / payload | file growth "
          "| / payload | read_matrix (CPU s) | stale (CPU s) | count_current (CPU s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            old, new = Path(tmp, "old.db"), Path(tmp, "new.db")
            base_old = build(old, n)
            shutil.copyfile(old, new)
            base_new = Path(tmp, "new.base.db")
            shutil.copyfile(base_old, base_new)
            t_up = {}
            for p in (new, base_new):
                t0 = time.perf_counter()
                with mirror_kit.open(p) as j:  # migration 0009 applies on open
                    t1 = time.perf_counter()
                    j.compact()
                t_up[p] = (t1 - t0, time.perf_counter() - t1)
            assert vectors_dump(old) == vectors_dump(new), "compaction changed a stored row"
            payload = n * DIM * 4
            res = {}
            for name, p, base in (("old", old, base_old), ("ours", new, base_new)):
                t, idx = shares(p)
                conn = sqlite3.connect(p)
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + emb_store._vectors_query(None, MODEL)[0],
                                                   [MODEL])]
                conn.close()
                res[name] = {"table": t, "idx": idx, "page": page, "plan": plan,
                             "growth": p.stat().st_size - base.stat().st_size, "reads": [], "stale": [], "count": []}
            handles = {"old": mirror_kit.open(old, readonly=True), "ours": mirror_kit.open(new, readonly=True)}
            outs = {}
            for _ in range(REPS):  # alternate so both see the same machine load
                for name, j in handles.items():
                    t, m = cpu(lambda j=j: emb_store.read_matrix(j.conn, "i1", MODEL))
                    res[name]["reads"].append(t)
                    stale, count = QUERIES[name]
                    t, s = cpu(lambda j=j, f=stale: f(j, MODEL))
                    res[name]["stale"].append(t)
                    t, c = cpu(lambda j=j, f=count: f(j, MODEL))
                    res[name]["count"].append(t)
                    outs[name] = (m, s, c)
            for j in handles.values():
                j.close()
            (m_o, s_o, c_o), (m_n, s_n, c_n) = outs["old"], outs["ours"]
            assert m_o[0] == m_n[0] and m_o[2] == m_n[2] and np.array_equal(m_o[1], m_n[1]), "matrices differ"
            assert s_o == s_n and c_o == c_n and len(s_o) == n // 10, "stale lists differ"
            for name, r in res.items():
                size = r["table"] + sum(r["idx"].values())
                print(f"| {n:,} | {payload * mb:.1f} MB | {name} | {r['page'] // 1024} KB | {size * mb:.1f} MB "
                      f"| **{size / payload:.3f}x** | {r['growth'] * mb:.1f} MB | {r['growth'] / payload:.3f}x "
                      f"| {statistics.median(r['reads']):.3f} | {statistics.median(r['stale']):.3f} "
                      f"| {statistics.median(r['count']):.3f} |", flush=True)
            for name, r in res.items():
                parts = ", ".join(f"{k.removeprefix('idx_embeddings_')} {v / payload:.3f}x" for k, v in r["idx"].items())
                print(f"|   {name}: table {r['table'] / payload:.3f}x; indexes: {parts}; vector read plan: "
                      f"{' / '.join(r['plan'])} |", flush=True)
            mig, comp = t_up[new]
            print(f"|   ours from old: migration 0009 {mig:.2f} s, compact {comp:.2f} s (wall) |", flush=True)
    print("\nread_matrix returns the same (bit-identical) float32 matrix from both layouts; stale the same list.")


if __name__ == "__main__":
    main()
