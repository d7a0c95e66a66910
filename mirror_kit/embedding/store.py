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
        # One lookup per reflection in the unique key; the row's hash is read from its leaf page
        # without decoding the vector after it (migrations/0009 dropped the covering index).
        "SELECT r.id, r.content, r.content_hash FROM reflections r "
        "LEFT JOIN embeddings e ON e.reflection_id = r.id AND e.model = ?"
        + where +
        " ORDER BY r.created_at, r.id"
    )
    return [(a, b, c) for a, b, c in conn.execute(sql, [model, *params])]


def count(conn: sqlite3.Connection, identity_id: str | None) -> int:
    where, params = _scope(identity_id)
    return conn.execute("SELECT count(*) FROM reflections r" + where, params).fetchone()[0]


def write(conn: sqlite3.Connection, model: str, rows: Iterable[tuple[str, str, Any]]) -> int:
    """Store (reflection_id, content_hash, vector) rows, replacing a reflection's earlier vector of the
    model; the caller holds the transaction."""
    now = now_iso()
    data = [(rid, model, h, int(len(v)), to_blob(v), now) for rid, h, v in rows]
    # REPLACE, not an in-place upsert: a rewritten vector gets a new, higher rowid, so `changed_since`
    # finds edits by rowid exactly instead of by a whole-second time stamp.
    conn.executemany(
        "INSERT OR REPLACE INTO embeddings (reflection_id, model, content_hash, dim, vector, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        data,
    )
    return len(data)


def _vectors_query(identity_id: str | None, model: str) -> tuple[str, list]:
    """The one-pass read of a model's vectors (storage order), optionally of one identity."""
    sql = ("SELECT reflection_id, content_hash, dim, vector FROM embeddings INDEXED BY idx_embeddings_model "
           "WHERE model = ?")
    params: list = [model]
    if identity_id is not None:
        sql += " AND reflection_id IN (SELECT id FROM reflections WHERE identity_id = ?)"
        params.append(identity_id)
    return sql, params


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
    sql, vparams = _vectors_query(identity_id, model)
    found = {rid: (eh, dim, blob) for rid, eh, dim, blob in conn.execute(sql, vparams)}
    return ids, hashes, [found.get(rid) for rid in ids]


def contents(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(ids), 900):
        chunk = list(ids[start:start + 900])
        q = f"SELECT id, content FROM reflections WHERE id IN ({','.join('?' * len(chunk))})"
        out.update((a, b) for a, b in conn.execute(q, chunk))
    return out


def read_matrix(conn: sqlite3.Connection, identity_id: str | None, model: str,
                chunk: int = 4096, storage_order: list[int] | None = None) -> tuple[list[str], Any, list[int]]:
    """(ids in chronological order, (n, dim) float32 matrix, positions without a current vector).

    Vectors are fetched `chunk` rows at a time and copied straight into one preallocated array, so the
    peak is the matrix itself (not a list of every blob plus the matrix). Rows without a current vector
    are zeros. The matrix is (n, 0) when no vector is stored. `storage_order`, when given, receives the
    matrix positions of the current vectors in the order `iter_current` yields them.
    """
    import numpy as np

    where, params = _scope(identity_id)
    ids: list[str] = []
    pos: dict[str, tuple[int, str]] = {}
    for rid, h in conn.execute("SELECT r.id, r.content_hash FROM reflections r" + where +
                               " ORDER BY r.created_at, r.id", params):
        pos[rid] = (len(ids), h)
        ids.append(rid)
    sql, vparams = _vectors_query(identity_id, model)
    out = None
    have = np.zeros(len(ids), dtype=bool)
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples
    cur.execute(sql, vparams)
    while rows := cur.fetchmany(chunk):
        for rid, eh, dim, blob in rows:
            p = pos.get(rid)
            if p is None or p[1] != eh:
                continue
            if out is None:
                out = np.zeros((len(ids), dim), dtype=np.float32)
            out[p[0]] = np.frombuffer(blob, dtype="<f4")  # ValueError on a wrong length, as a reshape would
            have[p[0]] = True
            if storage_order is not None:
                storage_order.append(p[0])
    if out is None:
        out = np.zeros((len(ids), 0), dtype=np.float32)
    return ids, out, np.flatnonzero(~have).tolist()


def iter_current(conn: sqlite3.Connection, identity_id: str, model: str, chunk: int = 4096,
                 only: Sequence[str] | None = None) -> Any:
    """Yield (reflection ids, (m, dim) float32 matrix) blocks of the identity's current vectors of
    `model`, in storage order, at most `chunk` rows each; `only` restricts to these reflection ids."""
    if only is not None:
        only = list(only)
        for start in range(0, len(only), 900):
            part = only[start:start + 900]
            rows = conn.execute(
                "SELECT e.reflection_id, e.dim, e.vector FROM embeddings e JOIN reflections r "
                "ON r.id = e.reflection_id AND e.content_hash = r.content_hash WHERE e.model = ? AND "
                f"r.identity_id = ? AND e.reflection_id IN ({','.join('?' * len(part))})",
                [model, identity_id, *part]).fetchall()
            if rows:
                yield [r[0] for r in rows], from_blobs([r[2] for r in rows], rows[0][1])
        return
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(
        "SELECT e.reflection_id, e.dim, e.vector FROM embeddings e INDEXED BY idx_embeddings_model "
        "JOIN reflections r ON r.id = e.reflection_id AND e.content_hash = r.content_hash "
        "WHERE e.model = ? AND r.identity_id = ?", (model, identity_id))
    while rows := cur.fetchmany(chunk):
        yield [r[0] for r in rows], from_blobs([r[2] for r in rows], rows[0][1])


def changed_since(conn: sqlite3.Connection, identity_id: str, model: str, rowid: int, at: str) -> list[str]:
    """Reflection ids of the identity whose current vector of `model` was stored after a mark: a row
    stored after `rowid` (new reflections, and edited ones: `write` replaces a vector with a new row)
    or after the time `at` (whole seconds; it covers rowids renumbered by a VACUUM since the mark)."""
    return [r[0] for r in changed_rows(conn, identity_id, model, rowid, at)]


def changed_rows(conn: sqlite3.Connection, identity_id: str, model: str, rowid: int,
                 at: str) -> list[tuple[str, int, str]]:
    """`changed_since` as (reflection_id, rowid, created_at) of each vector, so that a later mark's
    answer can be picked from them (`changed_after`) instead of read again."""
    return [(a, b, c) for a, b, c in conn.execute(
        "SELECT e.reflection_id, e.rowid, e.created_at FROM embeddings e JOIN reflections r "
        "ON r.id = e.reflection_id AND e.content_hash = r.content_hash WHERE e.model = ? AND r.identity_id = ? "
        "AND (e.rowid > ? OR e.created_at > ?)", (model, identity_id, rowid, at))]


def changed_after(rows: list[tuple[str, int, str]], rowid: int, at: str) -> list[str]:
    """The reflection ids of `changed_rows` output stored after a mark (rowid, at) no earlier than
    the one they were read for: the rows `changed_since` gives for it, in the same order."""
    return [rid for rid, r, c in rows if r > rowid or c > at]


def mark(conn: sqlite3.Connection) -> dict:
    """The current mark of the embeddings table: highest rowid and the time (see `changed_since`)."""
    return {"rowid": int(conn.execute("SELECT coalesce(max(rowid), 0) FROM embeddings").fetchone()[0]),
            "at": now_iso()}
