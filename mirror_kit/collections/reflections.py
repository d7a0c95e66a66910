"""`journal.reflections`: journal entries (table `reflections`) and the one codec every writer uses.

Every path that stores reflections (`add`, `add_many`, imports of other tools, imports of mirror_kit
exports) encodes rows with `encode` and writes them with `insert_rows`/`update_rows`, so validation,
ids and tag handling are the same everywhere.
"""

from __future__ import annotations

import json
import numbers
import operator
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..ids import hash_normalized, normalize_text, stable_id
from ..limits import check_controls, check_tags, check_title
from ..records import Identity, Reflection, to_json
from ..search_index import insert_indexed
from ..textnorm import clean_tags, tag_key
from ..timeutil import UTC_ALIASES, bound_range, format_utc, now_iso, parse_utc, resolve_tz, to_utc, tz_name
from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd

VISIBILITIES = ("private", "shared", "public")
UPDATABLE = frozenset({
    "content", "created_at", "tz", "title", "tags", "source", "source_id", "visibility", "intensity",
    "metadata", "language",
})
_CHUNK = 5000


def reflection_id_for(identity_id: str, source: str | None, source_id: str | None, created_iso: str,
                      chash: str) -> str:
    """The stable id of a reflection: from its source's own id when it has one, else from time and text."""
    if type(identity_id) is str and type(source) is str and type(source_id) is str and source_id:
        # What `stable_id` hashes for these parts, joined without its per-part conversion (imports
        # compute one id per row).
        return "r_" + sha256(f"{identity_id}\x1f{source}\x1f{source_id}\x1f\x1f".encode()).hexdigest()[:16]
    return stable_id("r", identity_id, source, source_id,
                     None if source_id else created_iso, None if source_id else chash)


def fingerprint(row: Mapping[str, Any]) -> tuple:
    """What must be equal for a re-imported entry to count as unchanged."""
    return (row["content_hash"], row["title"], row["created_at"], _zone_key(row["tz"]), row["metadata"],
            tuple(sorted(tag_key(t) for t in row["_tags"])))


def _zone_key(tz: str | None) -> str | None:
    """A stored zone for comparison: UTC written as `+00:00` by earlier versions is the same `UTC`."""
    return "UTC" if tz in _UTC_SPELLINGS or tz in UTC_ALIASES else tz


_UTC_SPELLINGS = frozenset({"+00:00", "-00:00", "+0000", "Z"})


def _bad_field(tz: Any, exc: Exception) -> str:
    """`tz` when the zone itself cannot be used (an unknown name), else `created_at`."""
    if tz is None or tz == "":
        return "created_at"
    if not isinstance(tz, str):
        return "tz"
    try:
        resolve_tz(tz)
    except (InvalidInputError, TypeError):
        return "tz"
    return "created_at"


class Reflections(Collection):
    """Reflections: `add`, `add_many`, `get`, `rows`, `frame`, `update`, `delete`."""

    @property
    def columns(self) -> set[str]:
        """Columns of `reflections` at the current schema version (it changes with migrations)."""
        return {r[1] for r in self.conn.execute("PRAGMA table_info(reflections)")}

    # -- codec ---------------------------------------------------------------------------------
    def encode(self, identity_id: str, rec: Mapping[str, Any], where: str = "reflection") -> dict:
        """Validate one record and turn it into a row (with `_tags`); InvalidInputError names `where`."""
        content = rec.get("content")
        normalized = normalize_text(content) if isinstance(content, str) else ""
        if not normalized:
            raise InvalidInputError(f"{where}: field 'content' is missing or empty")
        check_controls(content, "content", where)
        created = rec.get("created_at")
        if created is not None and not isinstance(created, str | date):
            raise InvalidInputError(
                f"{where}: field 'created_at' must be a datetime, date or string, got {type(created).__name__}"
            )
        tz = rec.get("tz")
        if tz is not None and not isinstance(tz, str):
            raise InvalidInputError(f"{where}: field 'tz' must be a time zone name such as 'Europe/Paris', "
                                    f"got {type(tz).__name__}")
        if type(created) is datetime and created.tzinfo is None and not tz and created.year >= 1000:
            # Naive and no zone (most imported rows): UTC as it stands, `format_utc` of `to_utc`
            # without building the aware datetime.
            created_iso, tz = created.isoformat()[:19] + "Z", None
        else:
            try:
                created_dt, tz = to_utc(created if created is not None else parse_utc(now_iso()), tz)
            except InvalidInputError as exc:
                raise InvalidInputError(f"{where}: field {_bad_field(tz, exc)!r}: {exc}") from exc
            created_iso = format_utc(created_dt)
        visibility = rec.get("visibility") or "private"
        if visibility not in VISIBILITIES:
            raise InvalidInputError(f"{where}: field 'visibility' must be one of {VISIBILITIES}, got {visibility!r}")
        intensity = rec.get("intensity")
        if intensity is not None and (not isinstance(intensity, numbers.Real) or isinstance(intensity, bool)):
            raise InvalidInputError(f"{where}: field 'intensity' must be a number between 0 and 1, got {intensity!r}")
        if intensity is not None and not (0 <= float(intensity) <= 1):
            raise InvalidInputError(f"{where}: field 'intensity' must be between 0 and 1, got {intensity!r}")
        chash = hash_normalized(normalized)
        source_id = None if rec.get("source_id") is None else str(rec.get("source_id"))
        rid = rec.get("id") or reflection_id_for(identity_id, rec.get("source"), source_id, created_iso, chash)
        try:
            updated = rec.get("updated_at") and format_utc(to_utc(rec["updated_at"])[0]) or now_iso()
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: field 'updated_at': {exc}") from exc
        return {
            "id": rid,
            "identity_id": identity_id,
            "created_at": created_iso,
            "tz": tz,
            "title": check_title(rec.get("title"), where),
            "content": content,
            "source": rec.get("source"),
            "source_id": source_id,
            "content_hash": chash,
            "visibility": visibility,
            "intensity": None if intensity is None else float(intensity),
            "metadata": to_json(rec.get("metadata") or {}, f"{where}: field 'metadata'"),
            "updated_at": updated,
            "language": rec.get("language"),
            "_tags": check_tags(clean_tags(rec.get("tags")), where),
        }

    def decode(self, r: sqlite3.Row, tags: list[str]) -> Reflection:
        keys = r.keys()
        return Reflection(
            id=r["id"], identity_id=r["identity_id"], created_at=parse_utc(r["created_at"]),
            content=r["content"], tz=r["tz"], title=r["title"], source=r["source"],
            source_id=r["source_id"], content_hash=r["content_hash"], visibility=r["visibility"],
            intensity=r["intensity"], metadata=json.loads(r["metadata"]), tags=tags,
            updated_at=parse_utc(r["updated_at"]) if "updated_at" in keys and r["updated_at"] else None,
            language=r["language"] if "language" in keys else None,
        )

    # -- bulk writers (inside the caller's transaction) ----------------------------------------
    def insert_rows(self, rows: list[dict], first_index: int | None = None) -> None:
        """Insert encoded rows and their tags; a collision raises InvalidInputError naming the record."""
        if not rows:
            return
        cols = [c for c in rows[0] if not c.startswith("_") and c in self.columns]
        sql = f"INSERT INTO reflections ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        # A savepoint undoes the rows of this chunk written before a conflict, so the diagnosis below
        # sees only what was stored before.
        self.conn.execute("SAVEPOINT insert_rows")
        try:
            pick = operator.itemgetter(*cols)  # a C call per row instead of a generator
            values = [pick(r) for r in rows] if len(cols) > 1 else [(r[cols[0]],) for r in rows]
            insert_indexed(self.conn, lambda: self.conn.executemany(sql, values), [r["id"] for r in rows])
        except sqlite3.IntegrityError as exc:
            self.conn.execute("ROLLBACK TO insert_rows")
            self.conn.execute("RELEASE insert_rows")
            raise InvalidInputError(self._explain_conflict(rows, first_index, exc)) from exc
        self.conn.execute("RELEASE insert_rows")
        self.journal.tags.attach((r["id"], t) for r in rows for t in r["_tags"])

    def insert_staged(self, table: str, cols: list[str], consts: Mapping[str, Any] | None = None) -> None:
        """Insert the encoded rows held in a scratch table (see `mirror_kit.bulkload`) in id order, so
        the id index grows at its end instead of at a random page per row (ids are hashes); tags are
        left to the caller. `consts`: columns with one value for every row, not in the table.
        A collision raises InvalidInputError naming a colliding record."""
        consts = dict(consts or {})
        names = ", ".join(cols + list(consts))
        staged = f"(SELECT {', '.join(cols + [f'? AS {c}' for c in consts])} FROM {table})"
        params = list(consts.values())
        try:
            self.conn.execute(f"INSERT INTO reflections ({names}) SELECT {names} FROM {staged} ORDER BY id", params)
        except sqlite3.IntegrityError as exc:
            # The failed statement left no row behind: what collides is stored from before.
            raise InvalidInputError(self._explain_staged_conflict(staged, params, exc)) from exc

    def _explain_staged_conflict(self, staged: str, params: list, exc: sqlite3.Error) -> str:
        row = self.conn.execute(
            f"SELECT s.source, s.source_id FROM {staged} s JOIN reflections r ON r.identity_id = s.identity_id "
            "AND r.source = s.source AND r.source_id = s.source_id LIMIT 1", params).fetchone()
        if row is not None:
            return f"reflection: source {row[0]!r} source_id {row[1]!r} is already stored; nothing was stored"
        row = self.conn.execute(f"SELECT s.id FROM {staged} s JOIN reflections r ON r.id = s.id LIMIT 1",
                                params).fetchone()
        if row is not None:
            return f"reflection: already stored as {row[0]} (same identity, time and content); nothing was stored"
        return f"cannot store reflections: {exc}; nothing was stored"

    def update_rows(self, rows: list[dict], *, tags: bool = True) -> None:
        """Overwrite stored reflections with encoded rows (ids kept); `tags` replaces their tags too."""
        if not rows:
            return
        cols = [c for c in rows[0] if not c.startswith("_") and c not in ("id", "identity_id") and c in self.columns]
        try:
            self.conn.executemany(
                f"UPDATE reflections SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                [[r[c] for c in cols] + [r["id"]] for r in rows],
            )
        except sqlite3.IntegrityError as exc:
            raise InvalidInputError(f"{self.journal.path}: {exc}") from exc
        if tags:
            self.journal.tags.replace({r["id"]: r["_tags"] for r in rows})

    def delete_rows(self, where: str, params: Iterable[Any]) -> int:
        """Delete the reflections matching a WHERE clause (derived rows go with them by cascade)."""
        return self.conn.execute(f"DELETE FROM reflections WHERE {where}", list(params)).rowcount

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

    def known(self, identity_id: str, source: str,
              keyless: set[str] | None = None) -> tuple[dict[str, tuple[str, tuple]], set[str]]:
        """What an import needs to de-duplicate: {source_id: (id, fingerprint)} of `source`'s entries,
        and the content hashes of every reflection of the identity; `keyless` (when given) receives
        the ids of `source`'s entries without a source id."""
        tags: dict[str, list[str]] = {}
        for rid, tag in self.conn.execute(
            "SELECT rt.reflection_id, t.name FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id "
            "JOIN reflections r ON r.id = rt.reflection_id WHERE r.identity_id = ? AND r.source = ?",
            (identity_id, source),
        ):
            tags.setdefault(rid, []).append(tag)
        by_sid: dict[str, tuple[str, tuple]] = {}
        hashes: set[str] = set()
        for r in self.conn.execute(
            "SELECT id, source, source_id, content_hash, title, created_at, tz, metadata, content FROM reflections "
            "WHERE identity_id = ?",
            (identity_id,),
        ):
            hashes.add(r["content_hash"])
            if keyless is not None and r["source_id"] is None and r["source"] == source:
                keyless.add(r["id"])
            if r["source"] == source and r["source_id"] is not None:
                row = dict(r)
                row["_tags"] = tags.get(r["id"], [])
                by_sid[r["source_id"]] = (r["id"], fingerprint(row))
        return by_sid, hashes

    # -- one record ----------------------------------------------------------------------------
    def add(
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
        """Store one reflection; `created_at` defaults to now, naive times are read in `tz`.

        A time with its own offset (`2024-03-05T10:00+05:30`, an aware datetime) records that offset
        as its zone, unless `tz` gives that offset at that instant (then `tz` is recorded); UTC
        written in any way is recorded as `UTC`. Raises UnknownIdentityError, InvalidInputError (bad field, or already stored).
        """
        self._writable()
        ident = self.journal.identities.get(identity)
        row = self.encode(ident.id, {
            "content": content, "created_at": created_at, "tz": tz, "title": title, "tags": tags,
            "source": source, "source_id": source_id, "visibility": visibility, "intensity": intensity,
            "metadata": metadata, "id": id,
        })
        with self.journal.transaction():
            self.insert_rows([row])
        return self.get(row["id"])

    def add_many(self, identity: str | Identity, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Store many reflections in one transaction (all or none); returns their ids in order.

        Each record is a mapping with the keyword arguments of `add` (`content` required).
        Raises InvalidInputError naming the record (`reflection #i`) and nothing is stored.
        """
        self._writable()
        ident = self.journal.identities.get(identity)
        rows = []
        seen: dict[object, int] = {}
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise InvalidInputError(f"reflection #{i}: expected a mapping of fields, got {type(rec).__name__}")
            row = self.encode(ident.id, rec, f"reflection #{i}")
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
        with self.journal.transaction():
            for start in range(0, len(rows), _CHUNK):
                self.insert_rows(rows[start:start + _CHUNK], start)
        return [r["id"] for r in rows]

    def get(self, reflection_id: str) -> Reflection:
        """One reflection by id (NotFoundError if there is none)."""
        r = self._execute("SELECT * FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no reflection with id {reflection_id!r}")
        return self.decode(r, self.journal.tags.of([reflection_id])[reflection_id])

    def __contains__(self, reflection_id: object) -> bool:
        return self._execute("SELECT 1 FROM reflections WHERE id = ?", (str(reflection_id),)).fetchone() is not None

    def __len__(self) -> int:
        return self._execute("SELECT count(*) FROM reflections").fetchone()[0]

    def rows(
        self,
        identity: str | Identity | None = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        *,
        tag: str | None = None,
        limit: int | None = None,
    ) -> list[Reflection]:
        """Reflections as typed objects in chronological order, filtered by identity, time range and tag.

        A bare date `until` covers that whole day. For analysis prefer `frame` (a DataFrame).
        """
        where, params = self._filters(identity, since, until, tag)
        sql = "SELECT r.* FROM reflections r"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.created_at, r.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._execute(sql, params).fetchall()
        tags = self.journal.tags.of([r["id"] for r in rows])
        return [self.decode(r, tags[r["id"]]) for r in rows]

    def _filters(self, identity: Any, since: Any, until: Any, tag: str | None) -> tuple[list[str], list]:
        """WHERE conditions (on alias `r`) and parameters for the usual reflection filters."""
        where, params = [], []
        if identity is not None:
            where.append("r.identity_id = ?")
            params.append(self.journal.identities.get(identity).id)
        lo, hi = bound_range(since, until)  # a reversed range is refused, not answered with nothing
        if lo is not None:
            where.append("r.created_at >= ?")
            params.append(lo)
        if hi is not None:
            where.append("r.created_at <= ?")
            params.append(hi)
        if tag is not None:
            # every stored spelling of the tag (`@work` kept from an older journal and `work` are one tag)
            tag_ids = self.journal.tags.ids_of(tag)
            where.append("r.id IN (SELECT rt.reflection_id FROM reflection_tags rt WHERE rt.tag_id IN "
                         f"({','.join('?' * len(tag_ids)) or 'NULL'}))")
            params += tag_ids
        return where, params

    def __iter__(self) -> Iterator[Reflection]:
        return iter(self.rows())

    def frame(self, identity: Any = None, since: Any = None, until: Any = None) -> pd.DataFrame:
        """DataFrame, one row per reflection: tz-aware UTC timestamps, identity name, tags as lists."""
        return self.journal.frame("reflections", identity, since, until)

    def update(self, reflection_id: str, **fields: Any) -> Reflection:
        """Change fields of a reflection (content, title, tags, created_at, tz, visibility, ...).

        The id stays the same even when content or time change (links and analyses keep pointing at it).
        Raises NotFoundError, InvalidInputError (unknown or invalid field).
        """
        unknown = sorted(set(fields) - UPDATABLE)
        if unknown:
            raise InvalidInputError(
                f"cannot update field(s) {', '.join(unknown)} of reflection {reflection_id!r}; "
                f"updatable: {', '.join(sorted(UPDATABLE))}"
            )
        self._writable()
        cur = self.get(reflection_id)
        merged = cur.as_dict()
        merged.update(fields)
        merged["updated_at"] = None
        merged["id"] = reflection_id
        row = self.encode(cur.identity_id, merged)
        if "created_at" not in fields:
            # The stored instant (in UTC) keeps its zone, or takes the one given: its UTC offset is
            # not a written offset that would win over the zone.
            tz = fields.get("tz", cur.tz)
            row["tz"] = cur.tz if "tz" not in fields else tz and tz_name(resolve_tz(tz), cur.created_at)
        with self.journal.transaction():
            self.update_rows([row], tags="tags" in fields)
        return self.get(reflection_id)

    def delete(self, reflection_id: str) -> None:
        """Delete a reflection and everything derived from it (tag links, embeddings, observations...)."""
        self._writable()
        with self.journal.transaction():
            n = self.delete_rows("id = ?", [reflection_id])
        if not n:
            raise NotFoundError(f"no reflection with id {reflection_id!r}")

    def search(
        self,
        identity: str | Identity | None = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        *,
        tag: str | None = None,
        text: str | None = None,
        limit: int = 50,
        after: tuple[str, str] | None = None,
    ) -> list[Reflection]:
        """One page of reflections in chronological order, for paging through a large journal.

        text: words every reflection must hold in its title or content, by the rule of
        `journal.search` (`mirror_kit.search_words.RULE`); None or "" is no filter, a text of no word
        (blanks, only punctuation) or over MAX_QUERY_CHARS raises InvalidInputError, as `journal.search`.
        since after until raises InvalidInputError. after: the (created_at, id) of the last
        reflection of the previous page (keyset paging: each page costs the same however deep).
        """
        where, params = self._filters(identity, since, until, tag)
        if text is not None and text != "":  # "" is no filter; blanks or no word are refused
            from ..search_words import check_query, fts_match

            match = fts_match(check_query(text))
            if self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'reflections_fts'").fetchone():
                where.append("r.id IN (SELECT d.reflection_id FROM reflections_fts JOIN search_docs d "
                             "ON d.rowid = reflections_fts.rowid WHERE reflections_fts MATCH ?)")
                params.append(match)
            else:
                from ..errors import MirrorKitError

                raise MirrorKitError(f"{self.journal.path}: this journal has no full-text index yet "
                                        "(run `mirror-kit migrate up`)")
        if after is not None:
            where.append("(r.created_at > ? OR (r.created_at = ? AND r.id > ?))")
            params += [after[0], after[0], after[1]]
        sql = "SELECT r.* FROM reflections r"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY r.created_at, r.id LIMIT {max(0, int(limit))}"
        rows = self._execute(sql, params).fetchall()
        tags = self.journal.tags.of([r["id"] for r in rows])
        return [self.decode(r, tags[r["id"]]) for r in rows]
