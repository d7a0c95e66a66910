"""The `embeddings` table: one float32 vector per (reflection, model), valid while the reflection's
content hash is unchanged."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ..timeutil import now_iso


def to_blob(vector: Any) -> bytes:
    import numpy as np

    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> Any:
    """(n, dim) float32 matrix from stored vectors, copied straight into one array (no joined copy).

    Raises ValueError when a blob is not `dim` float32 values.
    """
    import numpy as np

    out = np.empty((len(blobs), dim), dtype="<f4")
    if not blobs:
        return out.astype(np.float32, copy=False)
    flat = memoryview(out).cast("B")
    step = dim * 4
    for i, blob in enumerate(blobs):
        flat[i * step:(i + 1) * step] = blob  # ValueError on a wrong length, as a reshape would
    return out.astype(np.float32, copy=False)


def _scope(identity_id: str | None) -> tuple[str, list]:
    if identity_id is None:
        return "", []
    return " WHERE r.identity_id = ?", [identity_id]


def stale(conn: sqlite3.Connection, identity_id: str | None, model: str) -> list[tuple[str, str, str]]:
    """(reflection_id, content, content_hash) of reflections without a current vector for `model`."""
    where, params = _scope(identity_id)
    cond = "(e.reflection_id IS NULL OR e.content_hash != r.content_hash)"
    where = f"{where} AND {cond}" if where else f" WHERE {cond}"
    sql = (
        # INDEXED BY: the planner prefers the unique key index, whose lookups then read each whole row
        # (vector included); the covering index answers from the index alone (migrations/0008).
        "SELECT r.id, r.content, r.content_hash FROM reflections r "
        "LEFT JOIN embeddings e INDEXED BY idx_embeddings_current ON e.reflection_id = r.id AND e.model = ?"
        + where +
        " ORDER BY r.created_at, r.id"
    )
    return [(a, b, c) for a, b, c in conn.execute(sql, [model, *params])]


def count(conn: sqlite3.Connection, identity_id: str | None) -> int:
    where, params = _scope(identity_id)
    return conn.execute("SELECT count(*) FROM reflections r" + where, params).fetchone()[0]


def write(conn: sqlite3.Connection, model: str, rows: Iterable[tuple[str, str, Any]]) -> int:
    """Upsert (reflection_id, content_hash, vector) rows; the caller holds the transaction."""
    now = now_iso()
    data = [(rid, model, h, int(len(v)), to_blob(v), now) for rid, h, v in rows]
    conn.executemany(
        "INSERT INTO embeddings (reflection_id, model, content_hash, dim, vector, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(reflection_id, model) DO UPDATE SET "
        "content_hash = excluded.content_hash, dim = excluded.dim, vector = excluded.vector, "
        "created_at = excluded.created_at",
        data,
    )
    return len(data)


def read(conn: sqlite3.Connection, identity_id: str | None, model: str) -> tuple[list[str], list[str], list]:
    """(ids, content hashes of the reflections, stored (hash, dim, blob) or None) in chronological order."""
    where, params = _scope(identity_id)
    ids: list[str] = []
    hashes: list[str] = []
    for rid, h in conn.execute("SELECT r.id, r.content_hash FROM reflections r" + where +
                               " ORDER BY r.created_at, r.id", params):
        ids.append(rid)
        hashes.append(h)
    # Vectors in one pass in storage (rowid) order: the model index lists a model's rows by rowid, so
    # pages are read front to back once, where a lookup per reflection in chronological order jumps
    # around the file and reads pages repeatedly.
    sql = ("SELECT reflection_id, content_hash, dim, vector FROM embeddings INDEXED BY idx_embeddings_model "
           "WHERE model = ?")
    vparams: list = [model]
    if identity_id is not None:
        sql += " AND reflection_id IN (SELECT id FROM reflections WHERE identity_id = ?)"
        vparams.append(identity_id)
    found = {rid: (eh, dim, blob) for rid, eh, dim, blob in conn.execute(sql, vparams)}
    return ids, hashes, [found.get(rid) for rid in ids]


def contents(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(ids), 900):
        chunk = list(ids[start:start + 900])
        q = f"SELECT id, content FROM reflections WHERE id IN ({','.join('?' * len(chunk))})"
        out.update((a, b) for a, b in conn.execute(q, chunk))
    return out
