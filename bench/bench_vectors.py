"""Vector storage: on-disk size and read time of stored embeddings, WITHOUT ROWID layout (0001 to
0006) against the rowid layout (0007), both built in the same run from the same vectors.

For each size the journal is built at schema 0006 (vectors as a WITHOUT ROWID table), copied, and the
copy migrated to 0007 then vacuumed; the old file is vacuumed too, so both hold the same rows densely.
- size: bytes the embeddings table and its indexes add to the file (file with vectors minus the same
  file without them), against the raw float32 payload (n * dim * 4);
- read: `Embeddings.stored` (every current vector as one float32 matrix), CPU seconds, median of
  alternating runs; the old layout is read with the query the earlier code used (a lookup per
  reflection in chronological order), the new one with today's single pass.

Run: .venv/bin/python -m bench vectors          (MIRROR_KIT_BENCH_VECTORS=10000,100000 to pick sizes)
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
PAGE_SIZE = int(os.environ.get("MIRROR_KIT_BENCH_PAGE_SIZE", "4096"))  # SQLite's default; try 16384


def _old_read(conn: sqlite3.Connection, model: str) -> tuple[list[str], list]:
    """The read the code did before 0007: vectors joined to reflections in chronological order."""
    rows = conn.execute(
        "SELECT r.id, r.content_hash, e.content_hash, e.dim, e.vector FROM reflections r "
        "LEFT JOIN embeddings e ON e.reflection_id = r.id AND e.model = ? ORDER BY r.created_at, r.id",
        [model]).fetchall()
    return [r[0] for r in rows], [(r[2], r[3], r[4]) for r in rows]


def build(path: Path, n: int) -> int:
    """A journal at 0006 with n reflections; returns its size before vectors (bytes)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    Migrator(conn).up(6)
    conn.execute("INSERT INTO identities (id, name, created_at) VALUES ('i1', 'maya', '2024-01-01T00:00:00Z')")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO reflections (id, identity_id, created_at, content, content_hash, updated_at) "
        "VALUES (?, 'i1', ?, ?, ?, ?)",
        [(f"ref_{(i * 7919) % n:010x}{i:06x}", f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z",
          f"entry {i}", f"{i:064x}", "2024-01-01T00:00:00Z") for i in range(n)])
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    before = path.stat().st_size
    rng = np.random.default_rng(0)
    ids = [r[0] for r in conn.execute("SELECT id, content_hash FROM reflections")]
    hashes = {r[0]: r[1] for r in conn.execute("SELECT id, content_hash FROM reflections")}
    conn.execute("BEGIN")
    for start in range(0, n, 10_000):
        part = ids[start:start + 10_000]
        vecs = rng.standard_normal((len(part), DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        emb_store.write(conn, MODEL, ((rid, hashes[rid], v) for rid, v in zip(part, vecs, strict=True)))
    conn.execute("COMMIT")
    conn.close()
    return before


def table_share(path: Path) -> tuple[int, int]:
    """(bytes of the embeddings table, bytes of its indexes), from SQLite's dbstat."""
    conn = sqlite3.connect(path)
    rows = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    idx = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'embeddings' "
                                      "AND type = 'index'")]
    conn.close()
    return rows.get("embeddings", 0), sum(rows.get(i, 0) for i in idx)


def cpu(fn) -> tuple[float, object]:
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main() -> None:
    print(f"page size {PAGE_SIZE} bytes\n")
    print("| vectors | payload (n x 384 x 4) | old: WITHOUT ROWID | old / payload | new: rowid | new / payload "
          "| migrate 0007 up | read old (CPU s) | read new (CPU s) | old/new read |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            old, new = Path(tmp, "old.db"), Path(tmp, "new.db")
            base = build(old, n)
            shutil.copyfile(old, new)
            conn = sqlite3.connect(old, isolation_level=None)
            conn.execute("VACUUM")
            conn.close()
            conn = sqlite3.connect(new, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            t0 = time.perf_counter()
            Migrator(conn).up()
            t_mig = time.perf_counter() - t0
            conn.execute("VACUUM")
            conn.close()
            payload = n * DIM * 4
            size_old, size_new = old.stat().st_size - base, new.stat().st_size - base
            shares = {"old": table_share(old), "new": table_share(new)}

            j_old = sqlite3.connect(old, isolation_level=None)
            j_new = mirror_kit.open(new, readonly=True)
            reads_old, reads_new = [], []
            for _ in range(REPS):  # alternate so both see the same machine load
                t, (ids_o, stored) = cpu(lambda c=j_old: _old_read(c, MODEL))
                t2, m_old = cpu(lambda st=stored: emb_store.from_blobs([s[2] for s in st], DIM))
                reads_old.append(t + t2)
                t, (ids_n, m_new) = cpu(lambda jn=j_new: jn.embeddings.stored(model=MODEL))
                reads_new.append(t)
            assert ids_o == ids_n and np.array_equal(m_old, m_new), "the two layouts disagree"
            j_old.close()
            j_new.close()
            ro, rn = statistics.median(reads_old), statistics.median(reads_new)
            mb = 1 / 1e6
            print(f"| {n:,} | {payload * mb:.1f} MB | {size_old * mb:.1f} MB | {size_old / payload:.2f}x "
                  f"| {size_new * mb:.1f} MB | {size_new / payload:.2f}x | {t_mig:.2f} s | {ro:.3f} | {rn:.3f} "
                  f"| {ro / rn:.1f}x |", flush=True)
            for k, (t, i) in shares.items():
                print(f"|   {k}: table {t / payload:.2f}x, indexes {i / payload:.2f}x of the payload |", flush=True)
    print("\nSizes include the table's indexes (unique key, model, covering current-hash index).")


if __name__ == "__main__":
    main()
