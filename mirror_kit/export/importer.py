"""Importing a `mirror_os_export_v1` file into a journal: merge or replace, all-or-nothing, dry-run.

Policy (also in `--help` and the README):

- merge: what is new is added; a record whose id exists with identical content is skipped
  (`unchanged`); a record whose id exists with different content is a conflict. With
  `on_conflict="ours"` (default) the journal's version is kept and the conflict is reported (kind, id,
  reason); with `on_conflict="theirs"` the file's version replaces it (`updated`). A new reflection
  whose (source, source_id) already belongs to another reflection is a conflict too and is skipped,
  with the records that point at it.
- replace: the identity's reflections, threads, patterns, own tensions and analysis runs (and what
  hangs off them: tags links, mirrorbacks, occurrences, observations, embeddings) are deleted and the
  file's are inserted. Tensions shared by all identities (the seeds) and settings are never deleted:
  they are merged with the conflict policy above, except that a shared tension nobody has observed
  yet takes the file's definition.
- Everything happens in one transaction: any error leaves the journal exactly as it was; `dry_run`
  does all the work, reports the counts and rolls back.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import sqlite3
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ..db import waiting_for_writers
from ..errors import InvalidInputError, UnknownIdentityError
from ..ids import content_hash
from ..limits import check_depth, json_lines_hint
from ..textnorm import clean_tags as _clean_tags
from ..textnorm import tag_key
from ..timeutil import now_iso, resolve_tz
from . import crypto
from .jsonfmt import (
    FORMAT,
    FORMAT_PREFIX,
    FORMAT_VERSION,
    identity_record,
    mirrorback_record,
    nocase,
    observation_record,
    occurrence_record,
    pattern_record,
    reflection_record,
    run_record,
    tension_record,
    thread_record,
)
from .validation import validate

MODES = ("merge", "replace")
POLICIES = ("ours", "theirs")
_CHUNK = 900
_MAX_DETAILS = 100


class _DryRun(Exception):
    pass


# -- reading and checking the file --------------------------------------------------------------------
def load_document(path: str | Path, passphrase: str | None = None) -> dict:
    """Read, decrypt, parse and check an export file; every problem names the file and the field."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such file")
    raw = p.read_bytes()
    if crypto.is_encrypted(raw[:8]):
        if not passphrase and p.suffix.lower() == ".zip":
            raise InvalidInputError(f"{p} looks like an encrypted mirror_kit backup: restore it with "
                                    f"`mirror-kit restore {p} --to NEW.db --ask-passphrase`")
        raw = crypto.decrypt(io.BytesIO(raw), passphrase, name=str(p))
        if raw[:4] == b"PK\x03\x04":
            raise InvalidInputError(f"{p} is an encrypted mirror_kit backup, not an export: restore it with "
                                    f"`mirror-kit restore {p} --to NEW.db --ask-passphrase`")
    elif passphrase:
        raise crypto.not_encrypted_error(str(p))
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    if json.detect_encoding(raw[:4]) != "utf-8":
        raise InvalidInputError(f"{p}: not UTF-8 text (it looks like UTF-16/32 or binary); exports are UTF-8")
    try:
        doc = json.loads(raw)  # from bytes: no second (str) copy of a large file
        del raw
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(
            f"{p}: line {line}: invalid utf-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "is it damaged, encrypted or binary?") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{p}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg}){json_lines_hint(exc)}") from exc
    except RecursionError as exc:
        raise InvalidInputError(f"{p}: JSON nested too deeply; refusing it") from exc
    check_depth(doc, str(p))
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{p}: not a {FORMAT} export (the top level is not an object)")
    fmt = doc.get("format")
    if fmt != FORMAT:
        version = fmt[len(FORMAT_PREFIX):] if isinstance(fmt, str) and fmt.startswith(FORMAT_PREFIX) else ""
        if version.isdigit() and int(version) > FORMAT_VERSION:
            raise InvalidInputError(
                f"{p}: format {fmt!r} was written by a newer mirror_kit; this version reads {FORMAT!r} (upgrade)")
        raise InvalidInputError(f"{p}: not a {FORMAT} export (field 'format' is {fmt!r})")
    validate(doc, source=str(p))
    _check_semantics(doc, p)
    return doc


def _check_semantics(doc: dict, p: Path) -> None:
    """What a schema cannot say: unique ids, references inside the identity, real dates and zones."""
    seen_names: set[str] = set()
    seen_reflections: set[str] = set()
    zones: dict[str, bool] = {}

    def fail(where: str, msg: str) -> None:
        raise InvalidInputError(f"{p}: {where}: {msg}")

    def date_ok(where: str, value: str | None) -> None:
        if value is not None:
            try:
                datetime.fromisoformat(value)  # the schema already checked the shape; this checks the calendar
            except ValueError:
                fail(where, f"{value!r} is not a valid date")

    for i, ident in enumerate(doc["identities"]):
        base = f"identities[{i}]"
        if ident["name"] in seen_names:
            fail(base, f"identity {ident['name']!r} appears twice")
        seen_names.add(ident["name"])
        date_ok(f"{base}.created_at", ident.get("created_at"))
        own: set[str] = set()
        sources: set[tuple] = set()
        for j, r in enumerate(ident["reflections"]):
            where = f"{base}.reflections[{j}]"
            if r["id"] in seen_reflections:
                fail(f"{where}.id", f"duplicate reflection id {r['id']!r}")
            seen_reflections.add(r["id"])
            own.add(r["id"])
            if not r["content"].strip():  # what normalize_text would leave empty
                fail(f"{where}.content", "is empty (only whitespace)")
            date_ok(f"{where}.created_at", r["created_at"])
            tz = r.get("tz")
            if tz and tz not in zones:
                try:
                    resolve_tz(tz)
                    zones[tz] = True
                except InvalidInputError:
                    fail(f"{where}.tz", f"unknown time zone {tz!r}")
            if r.get("source") is not None and r.get("source_id") is not None:
                key = (r["source"], r["source_id"])
                if key in sources:
                    fail(where, f"source {r['source']!r} / source_id {r['source_id']!r} appears twice")
                sources.add(key)

        _check_links(ident, base, own, fail)


def _check_links(ident: dict, base: str, own: set[str], fail) -> None:
    """Unique ids per kind and references that stay inside the identity."""
    for kind in ("mirrorbacks", "threads", "patterns", "tensions", "analysis_runs"):
        ids: set[str] = set()
        for j, x in enumerate(ident[kind]):
            if x["id"] in ids:
                fail(f"{base}.{kind}[{j}].id", f"duplicate id {x['id']!r}")
            ids.add(x["id"])
    refs: list[tuple[str, str]] = [(f"{base}.mirrorbacks[{j}]", m["reflection_id"])
                                   for j, m in enumerate(ident["mirrorbacks"])]
    for j, t in enumerate(ident["threads"]):
        refs += [(f"{base}.threads[{j}].reflection_ids[{k}]", rid) for k, rid in enumerate(t["reflection_ids"])]
        if len(set(t["reflection_ids"])) != len(t["reflection_ids"]):
            fail(f"{base}.threads[{j}]", "a reflection appears twice in the thread")
    for j, pat in enumerate(ident["patterns"]):
        refs += [(f"{base}.patterns[{j}].occurrences[{k}]", o["reflection_id"]) for k, o in enumerate(pat["occurrences"])]
        if pat.get("centroid") is not None:
            try:
                base64.b64decode(pat["centroid"], validate=True)
            except (binascii.Error, ValueError):
                fail(f"{base}.patterns[{j}].centroid", "is not base64")
    for j, t in enumerate(ident["tensions"]):
        refs += [(f"{base}.tensions[{j}].observations[{k}]", o["reflection_id"]) for k, o in enumerate(t["observations"])]
    for where, rid in refs:
        if rid not in own:
            fail(where, f"reflection_id {rid!r} is not a reflection of identity {ident['name']!r}")


# -- canonical forms (same shape as the exporter writes, so equal content compares equal) -----------
def _tagkey(tags: list[str]) -> list[str]:
    return sorted(tags, key=nocase)


def _by_tag_key(record: dict) -> dict:
    """The record with its tags compared by identity (textnorm.tag_key), not spelling."""
    return {**record, "tags": sorted(tag_key(t) for t in record.get("tags") or [])}


def _canon_reflection(r: dict) -> dict:
    return {
        "id": r["id"], "created_at": r["created_at"], "tz": r.get("tz"), "title": r.get("title"),
        "content": r["content"], "tags": _tagkey(_clean_tags(r.get("tags"))), "source": r.get("source"),
        "source_id": r.get("source_id"), "metadata": r.get("metadata") or {},
        "visibility": r.get("visibility") or "private", "intensity": r.get("intensity"),
        "language": r.get("language"), "updated_at": r.get("updated_at") or r["created_at"],
    }


def _canon_mirrorback(m: dict) -> dict:
    return {"id": m["id"], "reflection_id": m["reflection_id"], "content": m["content"], "model": m["model"],
            "created_at": m["created_at"], "valid": m.get("valid"), "validation": m.get("validation") or {},
            "metadata": m.get("metadata") or {}}


def _canon_thread(t: dict, now: str) -> dict:
    return {"id": t["id"], "title": t["title"], "created_at": t["created_at"] or now,
            "metadata": t.get("metadata") or {}, "reflection_ids": list(t["reflection_ids"])}


def _canon_pattern(x: dict, now: str) -> dict:
    return {
        "id": x["id"], "label": x["label"], "keywords": x["keywords"], "confidence": x["confidence"],
        "size": x.get("size", len(x["occurrences"])), "status": x.get("status") or "active",
        "first_seen": x.get("first_seen"), "last_seen": x.get("last_seen"), "centroid": x.get("centroid"),
        "representatives": x.get("representatives") or [], "created_at": x.get("created_at") or now,
        "updated_at": x.get("updated_at") or now, "metadata": x.get("metadata") or {},
        "occurrences": sorted(({"reflection_id": o["reflection_id"], "strength": o["strength"]}
                               for o in x["occurrences"]), key=lambda o: o["reflection_id"]),
    }


def _canon_tension(x: dict, now: str) -> dict:
    return {
        "id": x["id"], "name": x["name"], "axis_a": x["axis_a"], "axis_b": x["axis_b"],
        "definition": x["definition"], "calibration": x.get("calibration"), "is_seed": bool(x.get("is_seed")),
        "shared": bool(x.get("shared")), "created_at": x.get("created_at") or now,
        "updated_at": x.get("updated_at") or now,
    }


def _same_tension(have: dict, t: dict) -> bool:
    """Equal content; a shared seed's timestamps only say when a journal first stored it, so they do not count."""
    if t["shared"]:
        skip = ("created_at", "updated_at")
        return {k: v for k, v in have.items() if k not in skip} == {k: v for k, v in t.items() if k not in skip}
    return have == t


def _canon_observation(o: dict, now: str) -> dict:
    return {"reflection_id": o["reflection_id"], "position": o["position"], "intensity": o["intensity"],
            "model": o.get("model"), "created_at": o.get("created_at") or now}


def _canon_run(x: dict) -> dict:
    return {"id": x["id"], "kind": x["kind"], "parameters": x.get("parameters") or {},
            "started_at": x["started_at"], "duration_ms": x.get("duration_ms"), "counts": x.get("counts") or {},
            "status": x["status"], "error": x.get("error"), "metadata": x.get("metadata") or {}}


def _js(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


# -- the import ----------------------------------------------------------------------------------------
class _Report:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(
            lambda: {"added": 0, "unchanged": 0, "updated": 0, "conflicts": 0, "deleted": 0})
        self.details: list[dict] = []

    def add(self, kind: str, what: str, n: int = 1) -> None:
        self.counts[kind][what] += n

    def conflict(self, kind: str, rid: str, identity: str | None, reason: str) -> None:
        self.counts[kind]["conflicts"] += 1
        if len(self.details) < _MAX_DETAILS:
            self.details.append({"kind": kind, "id": rid, "identity": identity, "reason": reason})


class _Importer:
    def __init__(self, journal: Any, mode: str, on_conflict: str, report: _Report):
        self.j, self.conn = journal, journal.conn
        self.mode, self.theirs, self.r = mode, on_conflict == "theirs", report
        self.now = now_iso()
        self.cols = journal.reflections.columns

    def _existing(self, table: str, ids: list[str], cols: str = "id, identity_id") -> dict[str, sqlite3.Row]:
        out: dict[str, sqlite3.Row] = {}
        for s in range(0, len(ids), _CHUNK):
            chunk = ids[s:s + _CHUNK]
            q = f"SELECT {cols} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})"
            out.update((row["id"], row) for row in self.conn.execute(q, chunk))
        return out

    def _owned(self, kind: str, existing: dict, iid: str, name: str) -> None:
        for rid, row in existing.items():
            if row["identity_id"] != iid:
                raise InvalidInputError(
                    f"{kind[:-1]} id {rid!r} already exists in this journal under another identity; "
                    f"cannot import it for {name!r}")

    # identities --------------------------------------------------------------------------------------
    def identity(self, ident: dict) -> str:
        row = self.conn.execute("SELECT * FROM identities WHERE name = ?", (ident["name"],)).fetchone()
        incoming = {"created_at": ident.get("created_at") or self.now, "metadata": ident.get("metadata") or {}}
        if row is None:
            other = self.conn.execute("SELECT name FROM identities WHERE id = ?", (ident["id"],)).fetchone()
            if other is not None:
                raise InvalidInputError(
                    f"identity id {ident['id']!r} belongs to {other['name']!r} in this journal, "
                    f"but to {ident['name']!r} in the file")
            self.j.identities.restore(ident["id"], ident["name"], incoming["created_at"], incoming["metadata"])
            self.r.add("identities", "added")
            return ident["id"]
        have = identity_record(row)
        # matched by name; when only created_at differs (the same person set up in two journals) the
        # journal's stays, silently: it is bookkeeping, not content
        if have["metadata"] == incoming["metadata"] and (self.mode == "merge" or have["created_at"] == incoming["created_at"]):
            self.r.add("identities", "unchanged")
        elif self.theirs or self.mode == "replace":
            self.j.identities.restore(row["id"], row["name"], incoming["created_at"], incoming["metadata"])
            self.r.add("identities", "updated")
        else:
            self.r.conflict("identities", row["id"], ident["name"], "metadata differs (kept the journal's)")
        return row["id"]

    def clear(self, iid: str) -> None:
        """Replace mode: remove the identity's data (shared tensions and settings stay)."""
        c = self.conn
        q = {
            "reflections": "SELECT count(*) FROM reflections WHERE identity_id = ?",
            "mirrorbacks": "SELECT count(*) FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id "
                           "WHERE r.identity_id = ?",
            "threads": "SELECT count(*) FROM threads WHERE identity_id = ?",
            "patterns": "SELECT count(*) FROM patterns WHERE identity_id = ?",
            "tensions": "SELECT count(*) FROM tensions WHERE identity_id = ?",
            "tension_observations": "SELECT count(*) FROM tension_observations o JOIN reflections r "
                                    "ON r.id = o.reflection_id WHERE r.identity_id = ?",
            "analysis_runs": "SELECT count(*) FROM analysis_runs WHERE identity_id = ?",
        }
        for kind, sql in q.items():
            self.r.add(kind, "deleted", c.execute(sql, (iid,)).fetchone()[0])
        self.j.reflections.delete_rows("identity_id = ?", [iid])
        self.j.threads.delete_rows("identity_id = ?", [iid])
        self.j.patterns.delete_rows("identity_id = ?", [iid])
        self.j.tensions.delete_definitions("identity_id = ?", [iid])
        self.j.runs.delete_rows("identity_id = ?", [iid])

    # reflections -------------------------------------------------------------------------------------
    def reflections(self, iid: str, name: str, items: list[dict]) -> set[str]:
        """Returns the ids that were skipped (their dependants are skipped too). Works in chunks so
        only one chunk of canonical copies exists at a time."""
        skipped: set[str] = set()
        for start in range(0, len(items), 2000):
            self._reflection_chunk(iid, name, [_canon_reflection(x) for x in items[start:start + 2000]], skipped)
        return skipped

    def _taken_source_keys(self, iid: str, new: list[dict]) -> dict[str, str]:
        """New reflection id -> id of the existing reflection that already has its (source, source_id)."""
        by_source: dict[str, dict[str, str]] = defaultdict(dict)
        for x in new:
            if x["source"] is not None and x["source_id"] is not None:
                by_source[x["source"]][x["source_id"]] = x["id"]
        taken: dict[str, str] = {}
        for source, ids in by_source.items():
            keys = list(ids)
            for s in range(0, len(keys), _CHUNK):
                chunk = keys[s:s + _CHUNK]
                for sid, other in self.conn.execute(
                        "SELECT source_id, id FROM reflections WHERE identity_id = ? AND source = ? AND source_id IN "
                        f"({','.join('?' * len(chunk))})", [iid, source, *chunk]):
                    if other != ids[sid]:
                        taken[ids[sid]] = other
        return taken

    def _reflection_chunk(self, iid: str, name: str, incoming: list[dict], skipped: set[str]) -> None:
        existing = self._existing("reflections", [x["id"] for x in incoming])
        self._owned("reflections", existing, iid, name)
        new, changed = [], []
        for x in incoming:
            if x["id"] not in existing:
                new.append(x)
                continue
            row = self.conn.execute("SELECT * FROM reflections WHERE id = ?", (x["id"],)).fetchone()
            tags = [t for (t,) in self.conn.execute(
                "SELECT t.name FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id WHERE rt.reflection_id = ?",
                (x["id"],))]
            have = reflection_record(row, _tagkey(tags))
            if _by_tag_key(have) == _by_tag_key(x):
                self.r.add("reflections", "unchanged")
            elif self.theirs:
                changed.append(x)
            else:
                self.r.conflict("reflections", x["id"], name, "same id, different content (kept the journal's)")
        # a new id whose (source, source_id) is already taken would violate the unique index
        taken = self._taken_source_keys(iid, new)
        for rid, other in taken.items():
            skipped.add(rid)
            self.r.conflict("reflections", rid, name, f"same source/source_id as existing reflection {other!r}")
        new = [x for x in new if x["id"] not in taken]
        if new:
            self._insert_reflections(iid, new)
            self.r.add("reflections", "added", len(new))
        for x in changed:
            self._update_reflection(x)
        self.r.add("reflections", "updated", len(changed))

    def _row(self, iid: str, x: dict) -> dict:
        return {
            "id": x["id"], "identity_id": iid, "created_at": x["created_at"], "tz": x["tz"], "title": x["title"],
            "content": x["content"], "source": x["source"], "source_id": x["source_id"],
            "content_hash": content_hash(x["content"]), "visibility": x["visibility"], "intensity": x["intensity"],
            "metadata": _js(x["metadata"]), "updated_at": x["updated_at"], "language": x["language"],
        }

    def _insert_reflections(self, iid: str, new: list[dict]) -> None:
        for s in range(0, len(new), 5000):
            self.j.reflections.insert_rows([{**self._row(iid, x), "_tags": x["tags"]} for x in new[s:s + 5000]])

    def _update_reflection(self, x: dict) -> None:
        self.j.reflections.update_rows([{**self._row("", x), "_tags": x["tags"]}])

    # the rest ----------------------------------------------------------------------------------------
    def _merge(self, kind: str, table: str, name: str, iid: str | None, incoming: list[dict], have_of,
               insert, remove, owned: bool = True) -> None:
        existing = self._existing(table, [x["id"] for x in incoming],
                                  "id, identity_id" if owned else "id")
        if owned:
            self._owned(kind, existing, iid, name)
        for x in incoming:
            if x["id"] not in existing:
                insert(x)
                self.r.add(kind, "added")
            elif have_of(x["id"]) == x:
                self.r.add(kind, "unchanged")
            elif self.theirs:
                remove(x["id"])
                insert(x)
                self.r.add(kind, "updated")
            else:
                self.r.conflict(kind, x["id"], name, "same id, different content (kept the journal's)")

    def mirrorbacks(self, name: str, items: list[dict], skipped: set[str]) -> None:
        incoming = []
        for m in items:
            if m["reflection_id"] in skipped:
                self.r.conflict("mirrorbacks", m["id"], name, "its reflection was skipped")
            else:
                incoming.append(_canon_mirrorback(m))

        def have(mid: str) -> dict:
            return mirrorback_record(self.conn.execute("SELECT * FROM mirrorbacks WHERE id = ?", (mid,)).fetchone())

        self._merge("mirrorbacks", "mirrorbacks", name, None, incoming, have, self.j.mirrorbacks.restore,
                    lambda mid: self.j.mirrorbacks.delete_rows("id = ?", [mid]), owned=False)

    def threads(self, iid: str, name: str, items: list[dict], skipped: set[str]) -> None:
        incoming = []
        for t in items:
            c = _canon_thread(t, self.now)
            c["reflection_ids"] = [r for r in c["reflection_ids"] if r not in skipped]
            incoming.append(c)

        def have(tid: str) -> dict:
            row = self.conn.execute("SELECT * FROM threads WHERE id = ?", (tid,)).fetchone()
            ids = [r for (r,) in self.conn.execute(
                "SELECT reflection_id FROM thread_reflections WHERE thread_id = ? ORDER BY position", (tid,))]
            return thread_record(row, ids)

        def insert(t: dict) -> None:
            self.j.threads.restore(t["id"], iid, t["title"], t["created_at"], t["metadata"], t["reflection_ids"])

        self._merge("threads", "threads", name, iid, incoming, have, insert,
                    lambda tid: self.j.threads.delete_rows("id = ?", [tid]))

    def patterns(self, iid: str, name: str, items: list[dict], skipped: set[str]) -> None:
        incoming = []
        for x in items:
            c = _canon_pattern(x, self.now)
            c["occurrences"] = [o for o in c["occurrences"] if o["reflection_id"] not in skipped]
            incoming.append(c)

        def have(pid: str) -> dict:
            d = pattern_record(self.conn.execute("SELECT * FROM patterns WHERE id = ?", (pid,)).fetchone())
            d["occurrences"] = [occurrence_record(o) for o in self.conn.execute(
                "SELECT * FROM pattern_occurrences WHERE pattern_id = ? ORDER BY reflection_id", (pid,))]
            return d

        def insert(x: dict) -> None:
            self.j.patterns.restore(iid, {
                **x, "keywords": _js(x["keywords"]), "representatives": _js(x["representatives"]),
                "metadata": _js(x["metadata"]),
                "centroid": None if x["centroid"] is None else base64.b64decode(x["centroid"])})

        self._merge("patterns", "patterns", name, iid, incoming, have, insert,
                    lambda pid: self.j.patterns.delete_rows("id = ?", [pid]))

    def tensions(self, iid: str, name: str, items: list[dict], skipped: set[str]) -> None:
        for x in items:
            t = _canon_tension(x, self.now)
            owner = None if t["shared"] else iid
            row = self.conn.execute("SELECT * FROM tensions WHERE id = ?", (t["id"],)).fetchone()
            if row is None:
                self.j.tensions.restore_definition({
                    **t, "identity_id": owner, "definition": _js(t["definition"]),
                    "calibration": None if t["calibration"] is None else _js(t["calibration"])})
                self.r.add("tensions", "added")
            elif row["identity_id"] != owner:
                raise InvalidInputError(
                    f"tension id {t['id']!r} belongs to another identity (or is shared) in this journal; "
                    f"cannot import it for {name!r}")
            elif _same_tension(tension_record(row), t):
                self.r.add("tensions", "unchanged")
            else:
                unused = owner is None and self.conn.execute(
                    "SELECT 1 FROM tension_observations WHERE tension_id = ? LIMIT 1", (t["id"],)).fetchone() is None
                if self.theirs or unused:
                    self.j.tensions.restore_definition({
                        **t, "identity_id": owner, "definition": _js(t["definition"]),
                        "calibration": None if t["calibration"] is None else _js(t["calibration"])}, update=True)
                    self.r.add("tensions", "updated")
                else:
                    self.r.conflict("tensions", t["id"], name, "same id, different definition (kept the journal's)")
            self._observations(t["id"], name, x["observations"], skipped)

    def _observations(self, tid: str, name: str, items: list[dict], skipped: set[str]) -> None:
        have = {o["reflection_id"]: observation_record(o) for o in self.conn.execute(
            "SELECT * FROM tension_observations WHERE tension_id = ?", (tid,))}
        add = []
        for o in items:
            c = _canon_observation(o, self.now)
            rid = c["reflection_id"]
            if rid in skipped:
                self.r.conflict("tension_observations", f"{tid}/{rid}", name, "its reflection was skipped")
            elif rid not in have:
                add.append(c)
            elif have[rid] == c:
                self.r.add("tension_observations", "unchanged")
            elif self.theirs:
                self.j.tensions.delete_observations("tension_id = ? AND reflection_id = ?", [tid, rid])
                add.append(c)
                self.r.add("tension_observations", "updated", 1)
                self.r.add("tension_observations", "added", -1)
            else:
                self.r.conflict("tension_observations", f"{tid}/{rid}", name, "different position or intensity")
        self.j.tensions.restore_observations(
            [(tid, c["reflection_id"], c["position"], c["intensity"], c["model"], c["created_at"]) for c in add])
        self.r.add("tension_observations", "added", len(add))

    def runs(self, iid: str, name: str, items: list[dict]) -> None:
        incoming = [_canon_run(x) for x in items]

        def have(rid: str) -> dict:
            return run_record(self.conn.execute("SELECT * FROM analysis_runs WHERE id = ?", (rid,)).fetchone())

        def insert(x: dict) -> None:
            self.j.runs.restore({**x, "identity_id": iid, "parameters": _js(x["parameters"]),
                                 "counts": _js(x["counts"]), "metadata": _js(x["metadata"])})

        self._merge("analysis_runs", "analysis_runs", name, iid, incoming, have, insert,
                    lambda rid: self.j.runs.delete_rows("id = ?", [rid]))

    def settings(self, settings: dict) -> None:
        for key in sorted(settings):
            row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            value = _js(settings[key])
            if row is None or (row[0] != value and self.theirs):
                self.j.settings.restore(key, value, self.now)
                self.r.add("settings", "added" if row is None else "updated")
            elif json.loads(row[0]) == settings[key]:
                self.r.add("settings", "unchanged")
            else:
                self.r.conflict("settings", key, None, "different value (kept the journal's)")


def import_export_file(
    journal: Any,
    path: str | Path,
    *,
    mode: str = "merge",
    identity: str | None = None,
    dry_run: bool = False,
    passphrase: str | None = None,
    on_conflict: str = "ours",
) -> dict:
    """Import a `mirror_os_export_v1` file (plain or encrypted) into `journal`, all or nothing.

    mode: `merge` (add new, skip identical, conflicts per `on_conflict`) or `replace` (swap the
        identity's data for the file's).
    identity: import only this identity of the file (name or id); default all of them.
    on_conflict: `ours` keeps the journal's version of a record whose id exists with different
        content and reports it; `theirs` takes the file's version.
    dry_run: do everything, report the counts, change nothing.
    Returns the counts per kind (added, unchanged, updated, conflicts, deleted) and conflict details.
    """
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {MODES}, got {mode!r}")
    if on_conflict not in POLICIES:
        raise InvalidInputError(f"on_conflict must be one of {POLICIES}, got {on_conflict!r}")
    if getattr(journal, "readonly", False):
        raise InvalidInputError(f"{journal.path} is open read-only; cannot import into it")
    doc = load_document(path, passphrase)
    idents = doc["identities"]
    if identity is not None:
        idents = [i for i in idents if identity in (i["name"], i["id"])]
        if not idents:
            known = ", ".join(i["name"] for i in doc["identities"]) or "none"
            raise UnknownIdentityError(f"{path}: no identity {identity!r} in the file (it has: {known})")
    report = _Report()
    imp = _Importer(journal, mode, on_conflict, report)
    try:
        with waiting_for_writers(journal.conn), journal.transaction():
            for ident in idents:
                iid = imp.identity(ident)
                name = ident["name"]
                if mode == "replace":
                    imp.clear(iid)
                skipped = imp.reflections(iid, name, ident["reflections"])
                imp.mirrorbacks(name, ident["mirrorbacks"], skipped)
                imp.threads(iid, name, ident["threads"], skipped)
                imp.patterns(iid, name, ident["patterns"], skipped)
                imp.tensions(iid, name, ident["tensions"], skipped)
                imp.runs(iid, name, ident["analysis_runs"])
            imp.settings(doc["settings"])
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except sqlite3.IntegrityError as exc:
        raise InvalidInputError(f"{path}: cannot import: {exc}; nothing was changed") from exc
    counts = {k: dict(v) for k, v in sorted(report.counts.items())}
    totals = {w: sum(v[w] for v in counts.values()) for w in ("added", "unchanged", "updated", "conflicts", "deleted")}
    return {
        "path": str(path), "format": FORMAT, "mode": mode, "on_conflict": on_conflict, "dry_run": dry_run,
        "identities": [i["name"] for i in idents], "counts": counts, **totals,
        "conflict_details": report.details,
        # the keys the generic `mirror-kit import` summary prints
        "identity": ", ".join(i["name"] for i in idents), "skipped": totals["unchanged"], "rejected": [],
        "warnings": [f"conflict: {d['kind']} {d['id']}: {d['reason']}" for d in report.details],
    }
