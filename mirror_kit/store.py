"""The journal's records: identities, reflections (single and bulk), tags, threads, mirrorbacks,
settings and analysis-run telemetry, over one SQLite connection."""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from . import db, limits, runrecovery, textnorm
from .errors import InvalidInputError, NotFoundError, UnknownIdentityError
from .ids import content_hash, normalize_text, random_id, stable_id
from .timeutil import bound_iso, format_utc, now_iso, parse_utc, to_utc

VISIBILITIES = ("private", "shared", "public")
_UPDATABLE = frozenset({
    "content", "created_at", "tz", "title", "tags", "source", "source_id", "visibility", "intensity",
    "metadata", "language",
})


@dataclass
class Identity:
    id: str
    name: str
    created_at: datetime
    metadata: dict = field(default_factory=dict)


@dataclass
class Reflection:
    id: str
    identity_id: str
    created_at: datetime
    content: str
    tz: str | None = None
    title: str | None = None
    source: str | None = None
    source_id: str | None = None
    content_hash: str = ""
    visibility: str = "private"
    intensity: float | None = None
    metadata: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    language: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["created_at"] = format_utc(self.created_at)
        d["updated_at"] = format_utc(self.updated_at) if self.updated_at else None
        return d


@dataclass
class Thread:
    id: str
    identity_id: str
    title: str
    created_at: datetime
    reflection_ids: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


@dataclass
class Mirrorback:
    id: str
    reflection_id: str
    content: str
    model: str
    created_at: datetime
    valid: bool | None = None
    validation: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


def _json(value: Any, what: str) -> str:
    """JSON text SQLite's json_valid() accepts: NaN/inf (which it rejects) become null."""
    try:
        return json.dumps(_finite(value if value is not None else {}), ensure_ascii=False, sort_keys=True,
                          default=str, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{what} is not JSON-serialisable: {exc}") from exc


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _clean_tags(tags: Iterable[str] | None) -> list[str]:
    return textnorm.clean_tags(tags)  # one tag-identity rule for the whole package


class Store:
    """Record-level API of a journal; `Journal` adds the analysis on top."""

    conn: sqlite3.Connection
    path: Path

    # -- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together or not at all."""
        with db.transaction(self.conn) as c:
            yield c

    def _execute(self, sql: str, params: Sequence | Mapping = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise InvalidInputError(f"{self.path}: {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise db.translate(exc, self.path) from exc

    @property
    def schema_columns(self) -> set[str]:
        """Columns of `reflections` at the current schema version (it changes with migrations)."""
        return {r[1] for r in self.conn.execute("PRAGMA table_info(reflections)")}

    # -- identities ----------------------------------------------------------------------------
    def add_identity(self, name: str, metadata: dict | None = None, *, exist_ok: bool = False) -> Identity:
        """Create an identity (a person whose journal this is); `exist_ok` returns the existing one."""
        name = (name or "").strip()
        if not name:
            raise InvalidInputError("identity name must not be empty")
        existing = self._find_identity(name)
        if existing is not None:
            if exist_ok:
                return existing
            raise InvalidInputError(f"identity {name!r} already exists")
        ident = Identity(stable_id("i", name, length=12), name, parse_utc(now_iso()), metadata or {})
        with self.transaction():
            self._execute(
                "INSERT INTO identities (id, name, created_at, metadata) VALUES (?, ?, ?, ?)",
                (ident.id, ident.name, format_utc(ident.created_at), _json(ident.metadata, "metadata")),
            )
        return ident

    def _find_identity(self, name_or_id: str) -> Identity | None:
        row = self._execute(
            "SELECT * FROM identities WHERE name = ? OR id = ? ORDER BY name = ? DESC LIMIT 1",
            (name_or_id, name_or_id, name_or_id),
        ).fetchone()
        if row is None:
            return None
        return Identity(row["id"], row["name"], parse_utc(row["created_at"]), json.loads(row["metadata"]))

    def identity(self, name_or_id: str | Identity) -> Identity:
        """The identity with this name or id (UnknownIdentityError lists the known ones)."""
        if isinstance(name_or_id, Identity):
            return name_or_id
        found = self._find_identity(str(name_or_id))
        if found is None:
            known = ", ".join(i.name for i in self.identities()) or "none yet"
            raise UnknownIdentityError(f"unknown identity {name_or_id!r} (known: {known})")
        return found

    def identities(self) -> list[Identity]:
        rows = self._execute("SELECT * FROM identities ORDER BY name").fetchall()
        return [Identity(r["id"], r["name"], parse_utc(r["created_at"]), json.loads(r["metadata"])) for r in rows]

    def _identity_id(self, identity: str | Identity | None) -> str | None:
        return None if identity is None else self.identity(identity).id

    # -- reflections ---------------------------------------------------------------------------
    def _reflection_row(self, identity_id: str, rec: Mapping[str, Any], index: int | None = None) -> dict:
        where = f"reflection #{index}" if index is not None else "reflection"
        content = rec.get("content")
        if not isinstance(content, str) or not normalize_text(content):
            raise InvalidInputError(f"{where}: field 'content' is missing or empty")
        created = rec.get("created_at")
        if created is not None and not isinstance(created, str | date):
            raise InvalidInputError(
                f"{where}: field 'created_at' must be a datetime, date or string, got {type(created).__name__}"
            )
        try:
            created_dt, tz = to_utc(created if created is not None else parse_utc(now_iso()), rec.get("tz"))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: field 'created_at': {exc}") from exc
        visibility = rec.get("visibility") or "private"
        if visibility not in VISIBILITIES:
            raise InvalidInputError(f"{where}: field 'visibility' must be one of {VISIBILITIES}, got {visibility!r}")
        intensity = rec.get("intensity")
        if intensity is not None and (not isinstance(intensity, numbers.Real) or isinstance(intensity, bool)):
            raise InvalidInputError(f"{where}: field 'intensity' must be a number between 0 and 1, got {intensity!r}")
        if intensity is not None and not (0 <= float(intensity) <= 1):
            raise InvalidInputError(f"{where}: field 'intensity' must be between 0 and 1, got {intensity!r}")
        chash = content_hash(content)
        created_iso = format_utc(created_dt)
        rid = rec.get("id") or stable_id(
            "r", identity_id, rec.get("source"), rec.get("source_id"),
            None if rec.get("source_id") else created_iso, None if rec.get("source_id") else chash,
        )
        return {
            "id": rid,
            "identity_id": identity_id,
            "created_at": created_iso,
            "tz": tz,
            "title": limits.check_title(rec.get("title"), where),
            "content": content,
            "source": rec.get("source"),
            "source_id": None if rec.get("source_id") is None else str(rec.get("source_id")),
            "content_hash": chash,
            "visibility": visibility,
            "intensity": None if intensity is None else float(intensity),
            "metadata": _json(rec.get("metadata") or {}, f"{where}: field 'metadata'"),
            "updated_at": rec.get("updated_at") and format_utc(to_utc(rec["updated_at"])[0]) or now_iso(),
            "language": rec.get("language"),
            "_tags": limits.check_tags(_clean_tags(rec.get("tags")), where),
        }

    def _insert_rows(self, rows: list[dict], first_index: int | None = None) -> None:
        cols = [c for c in rows[0] if not c.startswith("_") and c in self.schema_columns]
        sql = f"INSERT INTO reflections ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        # A savepoint undoes the rows of this chunk written before a conflict, so the diagnosis below
        # sees only what was stored before.
        self.conn.execute("SAVEPOINT insert_rows")
        try:
            self.conn.executemany(sql, [tuple(r[c] for c in cols) for r in rows])
        except sqlite3.IntegrityError as exc:
            self.conn.execute("ROLLBACK TO insert_rows")
            self.conn.execute("RELEASE insert_rows")
            raise InvalidInputError(self._explain_conflict(rows, first_index, exc)) from exc
        self.conn.execute("RELEASE insert_rows")
        tag_pairs = [(r["id"], t) for r in rows for t in r["_tags"]]
        if tag_pairs:
            self._attach_tags(tag_pairs)

    def _explain_conflict(self, rows: list[dict], first_index: int | None, exc: sqlite3.Error) -> str:
        """Which record collides with one already stored (same id, or same source and source_id)."""
        for k, r in enumerate(rows):
            where = "reflection" if first_index is None else f"reflection #{first_index + k}"
            if r["source"] is not None and r["source_id"] is not None and self.conn.execute(
                "SELECT 1 FROM reflections WHERE identity_id = ? AND source = ? AND source_id = ?",
                (r["identity_id"], r["source"], r["source_id"]),
            ).fetchone():
                return (f"{where}: source {r['source']!r} source_id {r['source_id']!r} is already stored; "
                        "nothing was stored")
            if self.conn.execute("SELECT 1 FROM reflections WHERE id = ?", (r["id"],)).fetchone():
                return (f"{where}: already stored as {r['id']} (same identity, time and content); "
                        "nothing was stored")
        return f"cannot store reflections: {exc}; nothing was stored"

    def _attach_tags(self, pairs: list[tuple[str, str]]) -> None:
        textnorm.attach_tags(self.conn, pairs)

    def add_reflection(
        self,
        identity: str | Identity,
        content: str,
        created_at: datetime | date | str | None = None,
        *,
        tz: str | None = None,
        title: str | None = None,
        tags: Iterable[str] | None = None,
        source: str | None = None,
        source_id: str | None = None,
        visibility: str = "private",
        intensity: float | None = None,
        metadata: dict | None = None,
        id: str | None = None,
    ) -> Reflection:
        """Store one reflection; `created_at` defaults to now, naive times are read in `tz`."""
        ident = self.identity(identity)
        row = self._reflection_row(ident.id, {
            "content": content, "created_at": created_at, "tz": tz, "title": title, "tags": tags,
            "source": source, "source_id": source_id, "visibility": visibility, "intensity": intensity,
            "metadata": metadata, "id": id,
        })
        with self.transaction():
            self._insert_rows([row])
        return self.reflection(row["id"])

    def add_reflections(self, identity: str | Identity, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Store many reflections in one transaction (all or none); returns their ids in order.

        Each record is a mapping with the keyword arguments of `add_reflection` (`content` required).
        """
        ident = self.identity(identity)
        rows = []
        seen: dict[object, int] = {}
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise InvalidInputError(f"reflection #{i}: expected a mapping of fields, got {type(rec).__name__}")
            row = self._reflection_row(ident.id, rec, i)
            keys = [("id", row["id"])]
            if row["source"] is not None and row["source_id"] is not None:
                keys.append(("source", row["source"], row["source_id"]))
            for key in keys:
                if key in seen:
                    raise InvalidInputError(
                        f"reflection #{i}: duplicate of reflection #{seen[key]} in the same batch "
                        f"({'same id' if key[0] == 'id' else 'same source and source_id'}); nothing was stored"
                    )
                seen[key] = i
            rows.append(row)
        if not rows:
            return []
        with self.transaction():
            for start in range(0, len(rows), 5000):
                self._insert_rows(rows[start:start + 5000], start)
        return [r["id"] for r in rows]

    def _row_to_reflection(self, r: sqlite3.Row, tags: list[str]) -> Reflection:
        keys = r.keys()
        return Reflection(
            id=r["id"], identity_id=r["identity_id"], created_at=parse_utc(r["created_at"]),
            content=r["content"], tz=r["tz"], title=r["title"], source=r["source"],
            source_id=r["source_id"], content_hash=r["content_hash"], visibility=r["visibility"],
            intensity=r["intensity"], metadata=json.loads(r["metadata"]), tags=tags,
            updated_at=parse_utc(r["updated_at"]) if "updated_at" in keys and r["updated_at"] else None,
            language=r["language"] if "language" in keys else None,
        )

    def _tags_for(self, ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {i: [] for i in ids}
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            q = (
                "SELECT rt.reflection_id, t.name FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id "
                f"WHERE rt.reflection_id IN ({','.join('?' * len(chunk))}) ORDER BY t.name"
            )
            for rid, name in self.conn.execute(q, chunk):
                out[rid].append(name)
        return out

    def reflection(self, reflection_id: str) -> Reflection:
        r = self._execute("SELECT * FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no reflection with id {reflection_id!r}")
        return self._row_to_reflection(r, self._tags_for([reflection_id])[reflection_id])

    def reflections(
        self,
        identity: str | Identity | None = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        *,
        tag: str | None = None,
        limit: int | None = None,
    ) -> list[Reflection]:
        """Reflections in chronological order, filtered by identity, time range and tag."""
        where, params = [], []
        if identity is not None:
            where.append("r.identity_id = ?")
            params.append(self.identity(identity).id)
        if since is not None:
            where.append("r.created_at >= ?")
            params.append(bound_iso(since))
        if until is not None:
            where.append("r.created_at <= ?")
            params.append(bound_iso(until, end=True))
        if tag is not None:
            where.append(
                "r.id IN (SELECT rt.reflection_id FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id "
                "WHERE t.id = ?)"
            )
            params.append(next(iter(textnorm.tag_ids(self.conn, [tag], create=False).values()), -1))
        sql = "SELECT r.* FROM reflections r"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.created_at, r.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._execute(sql, params).fetchall()
        tags = self._tags_for([r["id"] for r in rows])
        return [self._row_to_reflection(r, tags[r["id"]]) for r in rows]

    def update_reflection(self, reflection_id: str, **fields: Any) -> Reflection:
        """Change fields of a reflection (content, title, tags, created_at, tz, visibility, ...).

        The id stays the same even when content or time change (links and analyses keep pointing at it).
        """
        unknown = sorted(set(fields) - _UPDATABLE)
        if unknown:
            raise InvalidInputError(
                f"cannot update field(s) {', '.join(unknown)} of reflection {reflection_id!r}; "
                f"updatable: {', '.join(sorted(_UPDATABLE))}"
            )
        cur = self.reflection(reflection_id)
        merged = cur.as_dict()
        merged.update(fields)
        merged["updated_at"] = None
        row = self._reflection_row(cur.identity_id, merged)
        cols = [c for c in row if not c.startswith("_") and c not in ("id", "identity_id") and c in self.schema_columns]
        with self.transaction():
            self._execute(
                f"UPDATE reflections SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                [row[c] for c in cols] + [reflection_id],
            )
            if "tags" in fields:
                self._execute("DELETE FROM reflection_tags WHERE reflection_id = ?", (reflection_id,))
                if row["_tags"]:
                    self._attach_tags([(reflection_id, t) for t in row["_tags"]])
        return self.reflection(reflection_id)

    def delete_reflection(self, reflection_id: str) -> None:
        """Delete a reflection and everything derived from it (tags links, embeddings, observations...)."""
        with self.transaction():
            n = self._execute("DELETE FROM reflections WHERE id = ?", (reflection_id,)).rowcount
        if not n:
            raise NotFoundError(f"no reflection with id {reflection_id!r}")

    # -- tags ----------------------------------------------------------------------------------
    def tag(self, reflection_id: str, *tags: str) -> list[str]:
        """Add tags to a reflection; returns its tags."""
        self.reflection(reflection_id)
        clean = _clean_tags(tags)
        with self.transaction():
            self._attach_tags([(reflection_id, t) for t in clean])
        return self.reflection(reflection_id).tags

    def untag(self, reflection_id: str, *tags: str) -> list[str]:
        with self.transaction():
            for t in _clean_tags(tags):
                self._execute(
                    "DELETE FROM reflection_tags WHERE reflection_id = ? AND tag_id = ?",
                    (reflection_id, next(iter(textnorm.tag_ids(self.conn, [t], create=False).values()), -1)),
                )
        return self.reflection(reflection_id).tags

    def tags(self, identity: str | Identity | None = None) -> list[tuple[str, int]]:
        """(tag, number of reflections) pairs, most used first."""
        sql = (
            "SELECT t.name, count(*) AS n FROM tags t JOIN reflection_tags rt ON rt.tag_id = t.id "
            "JOIN reflections r ON r.id = rt.reflection_id"
        )
        params: list = []
        if identity is not None:
            sql += " WHERE r.identity_id = ?"
            params.append(self.identity(identity).id)
        sql += " GROUP BY t.name ORDER BY n DESC, t.name"
        return [(r[0], r[1]) for r in self._execute(sql, params)]

    # -- threads -------------------------------------------------------------------------------
    def add_thread(
        self, identity: str | Identity, title: str, reflection_ids: Iterable[str] = (), metadata: dict | None = None
    ) -> Thread:
        """A named, ordered collection of reflections (a conversation with oneself over time)."""
        ident = self.identity(identity)
        tid = random_id("t")
        with self.transaction():
            self._execute(
                "INSERT INTO threads (id, identity_id, title, created_at, metadata) VALUES (?, ?, ?, ?, ?)",
                (tid, ident.id, title, now_iso(), _json(metadata, "metadata")),
            )
            self._add_to_thread(tid, list(reflection_ids))
        return self.thread(tid)

    def _add_to_thread(self, thread_id: str, reflection_ids: list[str]) -> None:
        start = self._execute(
            "SELECT coalesce(max(position), -1) + 1 FROM thread_reflections WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]
        for i, rid in enumerate(reflection_ids):
            try:
                self.conn.execute(
                    "INSERT INTO thread_reflections (thread_id, reflection_id, position) VALUES (?, ?, ?)",
                    (thread_id, rid, start + i),
                )
            except sqlite3.IntegrityError as exc:
                raise InvalidInputError(f"cannot add reflection {rid!r} to thread {thread_id!r}: {exc}") from exc

    def add_to_thread(self, thread_id: str, *reflection_ids: str) -> Thread:
        self.thread(thread_id)
        with self.transaction():
            self._add_to_thread(thread_id, list(reflection_ids))
        return self.thread(thread_id)

    def thread(self, thread_id: str) -> Thread:
        r = self._execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no thread with id {thread_id!r}")
        ids = [x[0] for x in self._execute(
            "SELECT reflection_id FROM thread_reflections WHERE thread_id = ? ORDER BY position", (thread_id,)
        )]
        return Thread(r["id"], r["identity_id"], r["title"], parse_utc(r["created_at"]), ids, json.loads(r["metadata"]))

    def threads(self, identity: str | Identity | None = None) -> list[Thread]:
        sql, params = "SELECT id FROM threads", []
        if identity is not None:
            sql += " WHERE identity_id = ?"
            params.append(self.identity(identity).id)
        return [self.thread(r[0]) for r in self._execute(sql + " ORDER BY created_at, rowid", params).fetchall()]

    # -- mirrorbacks ---------------------------------------------------------------------------
    def add_mirrorback(
        self,
        reflection_id: str,
        content: str,
        model: str,
        *,
        valid: bool | None = None,
        validation: dict | None = None,
        metadata: dict | None = None,
        created_at: datetime | str | None = None,
        id: str | None = None,
    ) -> Mirrorback:
        """Store a generated reply to a reflection with its validation result."""
        self.reflection(reflection_id)
        mid = id or random_id("m")
        created = format_utc(to_utc(created_at)[0]) if created_at else now_iso()
        with self.transaction():
            self._execute(
                "INSERT INTO mirrorbacks (id, reflection_id, content, model, created_at, valid, validation, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (mid, reflection_id, content, model, created, None if valid is None else int(valid),
                 _json(validation, "validation"), _json(metadata, "metadata")),
            )
        return self.mirrorbacks(reflection_id=reflection_id, _id=mid)[0]

    def mirrorbacks(
        self, reflection_id: str | None = None, identity: str | Identity | None = None, *, _id: str | None = None
    ) -> list[Mirrorback]:
        sql = "SELECT m.* FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id"
        where, params = [], []
        if reflection_id is not None:
            where.append("m.reflection_id = ?")
            params.append(reflection_id)
        if identity is not None:
            where.append("r.identity_id = ?")
            params.append(self.identity(identity).id)
        if _id is not None:
            where.append("m.id = ?")
            params.append(_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._execute(sql + " ORDER BY m.created_at, m.rowid", params).fetchall()
        return [
            Mirrorback(r["id"], r["reflection_id"], r["content"], r["model"], parse_utc(r["created_at"]),
                       None if r["valid"] is None else bool(r["valid"]), json.loads(r["validation"]),
                       json.loads(r["metadata"]))
            for r in rows
        ]

    # -- settings ------------------------------------------------------------------------------
    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, _json(value, f"setting {key!r}"), now_iso()),
            )

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self._execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._execute("SELECT key, value FROM settings ORDER BY key")}

    # -- analysis runs -------------------------------------------------------------------------
    @contextlib.contextmanager
    def run(self, kind: str, identity: str | Identity | None = None, parameters: dict | None = None) -> Iterator[dict]:
        """Record an analysis run: yields a dict whose `counts`/`metadata` the caller fills in;
        duration and status (ok/failed, with the error) are stored when the block ends.

        Used inside an outer `transaction()`, the run row shares its fate: a failure that rolls the
        outer transaction back takes the run row with it.
        """
        rid = random_id("run")
        ident_id = self._identity_id(identity)
        info: dict = {"id": rid, "counts": {}, "metadata": {}}
        started = now_iso()
        t0 = time.perf_counter()
        outer = self.conn.in_transaction
        with self.transaction():
            self._execute(
                "INSERT INTO analysis_runs (id, identity_id, kind, parameters, started_at, status, metadata) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (rid, ident_id, kind, _json(parameters, "parameters"), started, runrecovery.owner_metadata()),
            )
        status, error = "ok", None
        try:
            yield info
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            # A failed block may have left its own BEGIN open; the run row must still land.
            if not outer and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            try:
                counts, meta = _json(info.get("counts"), "counts"), _json(info.get("metadata"), "metadata")
            except InvalidInputError as exc:
                counts, meta = "{}", "{}"
                if status == "ok":
                    status, error = "failed", str(exc)
            with self.transaction():
                self._execute(
                    "UPDATE analysis_runs SET duration_ms = ?, counts = ?, status = ?, error = ?, metadata = ? "
                    "WHERE id = ?",
                    ((time.perf_counter() - t0) * 1000, counts, status, error, meta, rid),
                )

    def runs(self, kind: str | None = None, identity: str | Identity | None = None) -> list[dict]:
        sql, where, params = "SELECT * FROM analysis_runs", [], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if identity is not None:
            where.append("identity_id = ?")
            params.append(self.identity(identity).id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        out = []
        for r in self._execute(sql + " ORDER BY started_at, rowid", params):
            d = dict(r)
            for k in ("parameters", "counts", "metadata"):
                d[k] = json.loads(d[k])
            out.append(d)
        return out

    # -- overview ------------------------------------------------------------------------------
    def stats(self) -> list[dict]:
        """Per identity: reflections, first and last date, tags, patterns, tensions observed, mirrorbacks."""
        rows = self._execute(
            """
            SELECT i.name, i.id,
                   (SELECT count(*) FROM reflections r WHERE r.identity_id = i.id) AS reflections,
                   (SELECT min(created_at) FROM reflections r WHERE r.identity_id = i.id) AS first,
                   (SELECT max(created_at) FROM reflections r WHERE r.identity_id = i.id) AS last,
                   (SELECT count(DISTINCT rt.tag_id) FROM reflection_tags rt JOIN reflections r
                        ON r.id = rt.reflection_id WHERE r.identity_id = i.id) AS tags,
                   (SELECT count(*) FROM patterns p WHERE p.identity_id = i.id) AS patterns,
                   (SELECT count(DISTINCT o.tension_id) FROM tension_observations o JOIN reflections r
                        ON r.id = o.reflection_id WHERE r.identity_id = i.id) AS tensions,
                   (SELECT count(*) FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id
                        WHERE r.identity_id = i.id) AS mirrorbacks
            FROM identities i ORDER BY i.name
            """
        ).fetchall()
        return [dict(r) for r in rows]
