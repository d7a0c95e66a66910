"""The `mirror_os_export_v1` JSON format: streaming writer and the canonical form of every record.

The writer never holds more than one record in memory: each record is `json.dumps`ed on its own and
written, and nested lists (tags, a pattern's occurrences, a tension's observations) are merged from
cursors ordered the same way. Ordering is fully deterministic (identities by name, reflections by
created_at then id, ...), keys are sorted, so export -> import -> export gives the same bytes apart
from `exported_at`.

Key choices (documented in the schema too): a reflection's time zone is under `tz` (IANA name,
`UTC` or `+HH:MM`) and `created_at` is UTC `YYYY-MM-DDTHH:MM:SSZ`; tensions shared by every identity
(the seeds) appear in each identity with `"shared": true` and only that identity's observations;
embeddings are not exported (they are recomputed from the text; the ZIP backup keeps them).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from ..secrets import redact_settings

FORMAT = "mirror_os_export_v1"
FORMAT_PREFIX = "mirror_os_export_v"
FORMAT_VERSION = 1
TOP_LEVEL_KEYS = ("format", "exported_at", "identities", "settings")
KINDS = ("reflections", "mirrorbacks", "threads", "patterns", "tensions", "analysis_runs")


dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, allow_nan=False).encode  # built once: ~30% faster
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def nocase(tag: str) -> str:
    """Sort key equal to SQLite's NOCASE collation (ASCII case folded, then code point order)."""
    return tag.translate(_ASCII_LOWER)


def _j(text: str | None, default: Any) -> Any:
    return default if text is None else json.loads(text)


# -- canonical records (also what the importer compares against) ------------------------------------
def identity_record(r: sqlite3.Row) -> dict:
    return {"id": r["id"], "name": r["name"], "created_at": r["created_at"], "metadata": _j(r["metadata"], {})}


def reflection_record(r: sqlite3.Row, tags: list[str]) -> dict:
    keys = r.keys()
    return {
        "id": r["id"], "created_at": r["created_at"], "tz": r["tz"], "title": r["title"], "content": r["content"],
        "tags": tags, "source": r["source"], "source_id": r["source_id"], "metadata": _j(r["metadata"], {}),
        "visibility": r["visibility"], "intensity": r["intensity"],
        "language": r["language"] if "language" in keys else None,
        "updated_at": r["updated_at"] if "updated_at" in keys else None,
    }


def mirrorback_record(r: sqlite3.Row) -> dict:
    return {
        "id": r["id"], "reflection_id": r["reflection_id"], "content": r["content"], "model": r["model"],
        "created_at": r["created_at"], "valid": None if r["valid"] is None else bool(r["valid"]),
        "validation": _j(r["validation"], {}), "metadata": _j(r["metadata"], {}),
    }


def thread_record(r: sqlite3.Row, reflection_ids: list[str]) -> dict:
    return {"id": r["id"], "title": r["title"], "created_at": r["created_at"], "metadata": _j(r["metadata"], {}),
            "reflection_ids": reflection_ids}


def pattern_record(r: sqlite3.Row) -> dict:
    """A pattern without its `occurrences` (streamed separately)."""
    return {
        "id": r["id"], "label": r["label"], "keywords": _j(r["keywords"], []), "confidence": r["confidence"],
        "size": r["size"], "status": r["status"], "first_seen": r["first_seen"], "last_seen": r["last_seen"],
        "centroid": None if r["centroid"] is None else base64.b64encode(r["centroid"]).decode("ascii"),
        "representatives": _j(r["representatives"], []), "created_at": r["created_at"],
        "updated_at": r["updated_at"], "metadata": _j(r["metadata"], {}),
    }


def occurrence_record(r: sqlite3.Row) -> dict:
    return {"reflection_id": r["reflection_id"], "strength": r["strength"]}


def tension_record(r: sqlite3.Row) -> dict:
    """A tension without its `observations` (streamed separately)."""
    return {
        "id": r["id"], "name": r["name"], "axis_a": r["axis_a"], "axis_b": r["axis_b"],
        "definition": _j(r["definition"], {}), "calibration": _j(r["calibration"], None),
        "is_seed": bool(r["is_seed"]), "shared": r["identity_id"] is None,
        "created_at": r["created_at"], "updated_at": r["updated_at"],
    }


def observation_record(r: sqlite3.Row) -> dict:
    return {"reflection_id": r["reflection_id"], "position": r["position"], "intensity": r["intensity"],
            "model": r["model"], "created_at": r["created_at"]}


def run_record(r: sqlite3.Row) -> dict:
    return {
        "id": r["id"], "kind": r["kind"], "parameters": _j(r["parameters"], {}), "started_at": r["started_at"],
        "duration_ms": r["duration_ms"], "counts": _j(r["counts"], {}), "status": r["status"],
        "error": r["error"], "metadata": _j(r["metadata"], {}),
    }


# -- queries shared by the JSON writer, the Markdown writer and the importer -------------------------
REFLECTIONS_SQL = "SELECT * FROM reflections WHERE identity_id = ? ORDER BY created_at, id"
TAGS_SQL = (
    "SELECT rt.reflection_id, t.name FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id "
    "JOIN reflections r ON r.id = rt.reflection_id WHERE r.identity_id = ? ORDER BY r.created_at, r.id, t.name"
)
MIRRORBACKS_SQL = (
    "SELECT m.* FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id WHERE r.identity_id = ? "
    "ORDER BY m.created_at, m.id"
)
THREADS_SQL = "SELECT * FROM threads WHERE identity_id = ? ORDER BY created_at, id"
THREAD_ITEMS_SQL = (
    "SELECT tr.thread_id, tr.reflection_id FROM thread_reflections tr JOIN threads t ON t.id = tr.thread_id "
    "WHERE t.identity_id = ? ORDER BY t.created_at, t.id, tr.position"
)
PATTERNS_SQL = "SELECT * FROM patterns WHERE identity_id = ? ORDER BY id"
OCCURRENCES_SQL = "SELECT * FROM pattern_occurrences WHERE pattern_id = ? ORDER BY reflection_id"
TENSIONS_SQL = "SELECT * FROM tensions WHERE identity_id = ? OR identity_id IS NULL ORDER BY id"
OBSERVATIONS_SQL = (
    "SELECT o.* FROM tension_observations o JOIN reflections r ON r.id = o.reflection_id "
    "WHERE o.tension_id = ? AND r.identity_id = ? ORDER BY o.reflection_id"
)
RUNS_SQL = "SELECT * FROM analysis_runs WHERE identity_id = ? ORDER BY started_at, id"


def grouped(parents: Iterable[sqlite3.Row], children: Iterable[tuple], make: Callable) -> Iterator[Any]:
    """Pair each parent row with its children (both iterables sorted the same way, child[0] = parent id)."""
    it = iter(children)
    pending = next(it, None)
    for p in parents:
        pid = p["id"]
        kids: list = []
        while pending is not None and pending[0] == pid:
            kids.append(pending[1])
            pending = next(it, None)
        yield make(p, kids)


def _sorted_tags(tags: list[str]) -> list[str]:
    return tags if len(tags) < 2 else sorted(tags, key=nocase)


def iter_reflections(conn: sqlite3.Connection, identity_id: str) -> Iterator[dict]:
    """The identity's reflections in export order, tags included (one query, tuples: the hot loop)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(reflections)")}
    extra = ", ".join(c if c in have else f"NULL AS {c}" for c in ("language", "updated_at"))
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(
        "SELECT r.id, r.created_at, r.tz, r.title, r.content, r.source, r.source_id, r.metadata, r.visibility, "
        f"r.intensity, {extra}, (SELECT json_group_array(t.name) FROM reflection_tags rt JOIN tags t "
        "ON t.id = rt.tag_id WHERE rt.reflection_id = r.id) FROM reflections r WHERE r.identity_id = ? "
        "ORDER BY r.created_at, r.id", (identity_id,))
    loads = json.loads
    for rid, created, tz, title, content, source, source_id, meta, vis, inten, lang, updated, tags in cur:
        yield {
            "id": rid, "created_at": created, "tz": tz, "title": title, "content": content,
            "tags": [] if tags == "[]" else _sorted_tags(loads(tags)), "source": source,
            "source_id": source_id, "metadata": loads(meta) if meta != "{}" else {}, "visibility": vis,
            "intensity": inten, "language": lang, "updated_at": updated,
        }


def iter_threads(conn: sqlite3.Connection, identity_id: str) -> Iterator[dict]:
    yield from grouped(conn.execute(THREADS_SQL, (identity_id,)), conn.execute(THREAD_ITEMS_SQL, (identity_id,)),
                       thread_record)


def identity_rows(conn: sqlite3.Connection, identity_id: str | None) -> list[sqlite3.Row]:
    if identity_id is None:
        return conn.execute("SELECT * FROM identities ORDER BY name, id").fetchall()
    return conn.execute("SELECT * FROM identities WHERE id = ?", (identity_id,)).fetchall()


# -- the writer ----------------------------------------------------------------------------------------
class BufferedWriter:
    """Batches small string writes (one syscall per ~256 KiB) into a binary or text sink."""

    def __init__(self, sink: IO, binary: bool):
        self.sink, self.binary, self.parts, self.size = sink, binary, [], 0

    def __call__(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)
        if self.size > 1 << 18:
            self.flush()

    def flush(self) -> None:
        data = "".join(self.parts)
        self.sink.write(data.encode("utf-8") if self.binary else data)
        self.parts, self.size = [], 0


def _write_list(w: BufferedWriter, key: str, items: Iterable[str | Iterable[str]], first: bool = False) -> int:
    """A JSON list under `key`; an item is a string or, for records with long nested lists, an
    iterable of string pieces written as they come (a tension with 100k observations stays small)."""
    w(("" if first else ", ") + f'"{key}": [')
    n = 0
    for item in items:
        w("\n" if n == 0 else ",\n")
        if isinstance(item, str):
            w(item)
        else:
            for piece in item:
                w(piece)
        n += 1
    w("\n]" if n else "]")
    return n


def _with_children(record: dict, key: str, children: Iterable[dict]) -> Iterator[str]:
    """`record` with a streamed list under `key` (its key lands last; JSON objects are unordered)."""
    head = dumps(record)
    yield head[:-1] + (", " if len(head) > 2 else "") + f'"{key}": ['
    sep = ""
    for c in children:
        yield sep + dumps(c)
        sep = ", "
    yield "]}"


def write_export(conn: sqlite3.Connection, sink: IO, *, identity_id: str | None, exported_at: str,
                 binary: bool = True) -> dict:
    """Stream the export of one identity (or all) to `sink`; returns counts per kind."""
    w = BufferedWriter(sink, binary)
    counts = {k: 0 for k in KINDS}
    counts["identities"] = 0
    w(f'{{"format": "{FORMAT}", "exported_at": {dumps(exported_at)}, "identities": [')
    for n_ident, ident in enumerate(identity_rows(conn, identity_id)):
        iid = ident["id"]
        counts["identities"] += 1
        head = dumps(identity_record(ident))
        w(("\n" if n_ident == 0 else ",\n") + head[:-1] + ", ")
        counts["reflections"] += _write_list(w, "reflections", (dumps(r) for r in iter_reflections(conn, iid)),
                                             first=True)
        counts["mirrorbacks"] += _write_list(
            w, "mirrorbacks", (dumps(mirrorback_record(r)) for r in conn.execute(MIRRORBACKS_SQL, (iid,))))
        counts["threads"] += _write_list(w, "threads", (dumps(t) for t in iter_threads(conn, iid)))
        counts["patterns"] += _write_list(w, "patterns", (
            _with_children(pattern_record(p), "occurrences",
                           (occurrence_record(o) for o in conn.execute(OCCURRENCES_SQL, (p["id"],))))
            for p in conn.execute(PATTERNS_SQL, (iid,))
        ))
        counts["tensions"] += _write_list(w, "tensions", (
            _with_children(tension_record(t), "observations",
                           (observation_record(o) for o in conn.execute(OBSERVATIONS_SQL, (t["id"], iid))))
            for t in conn.execute(TENSIONS_SQL, (iid,))
        ))
        counts["analysis_runs"] += _write_list(
            w, "analysis_runs", (dumps(run_record(r)) for r in conn.execute(RUNS_SQL, (iid,))))
        w("}")
    settings = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings ORDER BY key")}
    w(f'\n], "settings": {dumps(redact_settings(settings))}}}\n')  # never API keys, tokens, passwords
    w.flush()
    return counts
