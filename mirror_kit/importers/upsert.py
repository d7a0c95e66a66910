"""Storing parsed entries: validation, deduplication, updates of edited entries, all-or-nothing writes.

An entry is identified by (identity, source, source_id) when its format has ids (Day One uuids, CSV
id columns, file paths, jrnl timestamps), else by its text and time. A known id whose content, title,
date, tags or metadata changed is updated in place; an identical one is skipped as a duplicate. An
entry whose key changed (a moved note, a renamed CSV, an older source name) is found under its old
key and keeps its reflection (`importers.adopt`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..bulkload import BulkLoad
from ..collections.identities import identity_id_for
from ..collections.reflections import fingerprint
from ..db import waiting_for_writers
from ..errors import InvalidInputError
from .adopt import NOTES_KIN, Adopter
from .common import MAX_ENTRY_CHARS, Entry, Rejection, Skipped, where_text
from .guard import check_dates, unrelated_to_stored, unrelated_update
from .seen import SeenIds
from .summary import ImportSummary

_CHUNK = 5000


def _blank(text: Any) -> bool:
    """`not str(text or "").strip()` without copying the text (isspace stops at the first letter)."""
    if type(text) is str:
        return not text or text.isspace()
    return not str(text or "").strip()


def _reject_entry(entry: Entry) -> str | None:
    content = entry.content
    # `type(...) is str` first: `_blank` only for text that is not plainly non-blank
    if (type(content) is not str or not content or content.isspace()) and (
            not isinstance(content, str) or _blank(content)):
        return "empty entry (no text)"
    if len(content) > MAX_ENTRY_CHARS:
        return f"entry is {len(content):,} characters, over the limit of {MAX_ENTRY_CHARS:,}"
    if "\x00" in content:
        return "entry contains NUL bytes (binary data?)"
    created = entry.created_at
    if type(created) is datetime and 1 < created.year < 9999 and (not entry.tz or created.tzinfo is not None):
        return None  # `check_dates`' own fast path: no offset can move it out of range, no zone skip it
    if created is None or created == "":
        return "no date (give one with --default-date)"
    return check_dates(entry)


def _progress(items: Iterable, progress: bool | None, desc: str) -> Iterable:
    if progress is False:
        return items
    from tqdm import tqdm

    # Automatic (None): only on a terminal (disable=None) and only for imports lasting over a second.
    auto = progress is None
    return tqdm(items, desc=desc, unit=" entries", disable=None if auto else False, delay=1.0 if auto else 0,
                leave=not auto, mininterval=0.5)


def store_entries(
    journal: Any,
    identity: str,
    items: Iterable[Entry | Rejection],
    summary: ImportSummary,
    *,
    source: str,
    skip_bad: bool = False,
    dry_run: bool = False,
    progress: bool | None = None,
) -> ImportSummary:
    """Validate, deduplicate and write `items` for `identity` (created when missing) in one transaction.

    skip_bad: store the good entries and list the bad ones in the summary (else any bad one aborts
    the whole import with its place and reason, and nothing is written).
    """
    name = (identity or "").strip()
    if not name:
        raise InvalidInputError("an identity name is required (--identity NAME)")
    by_sid: dict[str, tuple] = {}
    hashes: set[str] = set()
    new_rows: list[dict] = []
    updates: list[dict] = []
    # Source id -> where it was first seen: the line number alone when in the file most entries come
    # from (an int per entry, not the reader's dict), else the place; formatted only if repeated.
    seen_sids = SeenIds(journal.conn)
    seen_recent = seen_sids.recent  # the same dict for the whole import (cleared, never replaced)
    main_file: list = []
    # Timestamp keys (jrnl, Daylio) met in this import -> digests of their text (exact, and with
    # whitespace collapsed) and whether read from a lossy form: tells one journal's two forms apart
    # from two entries under one key.
    seen_text: dict[str, tuple[bytes, bytes, bool]] = {}
    held_elsewhere: dict[str, list] = {}  # source -> places of entries found stored under it
    held_kin: dict[str, list] = {}  # notes folder source -> places of notes found stored from it
    lossy_edits: list[dict] = []  # places of lossy entries whose words differ from the stored ones
    rejected: list[dict] = []
    writing = not dry_run
    # Index upkeep is deferred to the end of the transaction once an import fills a whole chunk.
    bulk = BulkLoad(journal.conn, journal.path, journal)

    def reject(where: dict, reason: str) -> None:
        nonlocal writing
        rejected.append({**where, "reason": reason})
        # All-or-nothing: stop writing (the transaction is rolled back below) but keep reading, so
        # the error can say how many entries are bad.
        writing = writing and skip_bad

    def flush(final: bool = False) -> None:
        for buf, write in ((new_rows, _insert), (updates, _apply_updates)):
            if not writing:
                buf.clear()
            elif buf and (final or len(buf) >= _CHUNK):
                # The identity is created with its first stored entry: an import that stores
                # nothing (all rejected, skipped or empty) leaves the journal as it was.
                journal.identities.add(name, exist_ok=True)
                if not final and write is _insert:
                    bulk.begin()
                if write is not _insert or not bulk.stage(buf):  # in bulk mode new rows wait for finish
                    write(journal, buf)
                buf.clear()

    with contextlib.ExitStack() as stack:
        stack.callback(seen_sids.close)  # after the transaction ends (callbacks run last-in first-out)
        if not dry_run:
            # Entries are written in chunks as they are read (memory stays flat), inside one transaction
            # that a bad entry or any error rolls back: the journal is never half-imported.
            with waiting_for_writers(journal.conn):
                stack.enter_context(journal.transaction())
            stack.callback(bulk.abort)  # on any error (after finish it does nothing)
        # What is already stored is read under the write lock (BEGIN IMMEDIATE above): a second
        # process importing the same file waits here, then sees the first one's rows as duplicates.
        existing_identity = journal.identities.find(name)
        # The store's id formula, so a dry run can compute ids without creating the identity.
        identity_id = existing_identity.id if existing_identity else identity_id_for(name)
        keyless: set[str] = set()  # ids of the entries without a source id, stored or read
        if existing_identity is not None:
            by_sid, hashes = journal.reflections.known(identity_id, source, keyless)
        adopter = Adopter(journal, identity_id, existing_identity is not None)
        # Entries of another source (jrnl journals inside a notes folder): their keys, per source.
        other_sources: dict[str, dict] = {}
        for item in _progress(items, progress, f"import {summary.format}"):
            summary.total += 1
            if isinstance(item, Rejection):
                reject(item.where, item.reason)
                continue
            if isinstance(item, Skipped) or _blank(item.content):
                summary.skipped_empty += 1
                continue
            reason = _reject_entry(item)
            if reason:
                reject(item.where, reason)
                continue
            sid = item.source_id
            src, src_sids, ns = source, by_sid, ""
            if item.source is not None and item.source != source:
                src, ns = item.source, item.source + "\x00"  # seen ids are kept apart per source
                if src not in other_sources:
                    other_sources[src] = (journal.reflections.known(identity_id, src)[0]
                                          if existing_identity is not None else {})
                src_sids = other_sources[src]
            seen_key = None if sid is None else ns + sid
            # The in-memory ids first (nearly every lookup ends there), the spilled ones only if any.
            first = None if sid is None else seen_sids.get(seen_key) if seen_sids.moved else seen_recent.get(seen_key)
            if first is not None:
                first = {"file": main_file[0], "line": first} if isinstance(first, int) else first
                held = seen_text.get(seen_key) if item.shared_key else None
                if held is not None:
                    # The same journal in two of its forms in one import (`default.md` beside
                    # `default.txt`): the same entry is a duplicate; a different one under the
                    # same key is a conflict, reported and not applied (the first one read stays).
                    if held[0] == _digest(item.content) or (
                            (item.lossy or held[2]) and held[1] == _digest(_squash(item.content))):
                        summary.skipped += 1
                    else:
                        summary.conflicts += 1
                        summary.warnings.append(
                            f"{where_text(item.where)}: conflict: key {sid!r} already read from "
                            f"{where_text(first)} with a different entry; not imported")
                    continue
                reject(item.where, f"duplicate id {sid!r} (first seen at {where_text(first)})")
                continue
            rec = {
                "content": item.content, "created_at": item.created_at, "tz": item.tz, "title": item.title,
                "tags": item.tags, "source": src, "source_id": sid, "metadata": item.metadata,
            }
            known = src_sids.get(sid) if sid is not None else None
            if known is not None:
                rec["id"] = known[0]
            try:
                row = journal.reflections.encode(identity_id, rec)
            except InvalidInputError as exc:
                reject(item.where, str(exc).removeprefix("reflection: "))
                continue
            adopted = None
            if known is None and sid is not None and (item.aliases or item.gone is not None or item.kin):
                # The key is new: the entry may be stored under its older key (see `importers.adopt`).
                adopted = adopter.find(item, src, sid, row, src_sids)
                kin_held = (adopted is None and item.kin and row["content_hash"] in hashes
                            and adopter.held_elsewhere(item, src, sid, row))
                if kin_held:
                    summary.skipped += 1
                    if item.kin == NOTES_KIN:
                        held_kin.setdefault(kin_held, []).append(item.where)
                    continue
                if adopted is not None:
                    rec["id"] = adopted[0]
                    row = journal.reflections.encode(identity_id, rec)
                    src_sids[sid] = (adopted[0], fingerprint(row))
                    if not item.lossy:  # a lossy form leaves the stored entry (and its key) as it is
                        if fingerprint(row) == adopted[1]:
                            summary.skipped += 1  # only its key changed
                        else:
                            summary.updated += 1
                        updates.append(row)
                        if len(updates) >= _CHUNK:
                            flush()
                    else:
                        summary.skipped += 1
                    seen_sids.add(ns + sid, item.where)
                    if item.shared_key and item.source is not None:
                        seen_text[ns + sid] = (_digest(item.content), _digest(_squash(item.content)), item.lossy)
                    continue
            # A timestamp key (jrnl, Daylio) either holds this entry already, or nothing, or an
            # unrelated entry: another journal's entry of the same minute.
            other = (known is not None and item.shared_key and fingerprint(row) != known[1]
                     and unrelated_to_stored(journal, known[0], row))
            held_in = ((other or (known is None and item.shared_key)) and row["content_hash"] in hashes
                       and _stored_elsewhere(journal, identity_id, row, item.peers))
            if held_in:
                # The same entry read before from a file of another name (`journal.txt`, then
                # its JSON export `export.json`): a duplicate, not a new entry. Not when it is
                # stored under another journal beside this one (`personal.txt`, `work.txt`):
                # two journals may hold the same words at the same minute. Said in a warning when
                # held under another source: the file may be a journal of its own.
                summary.skipped += 1
                if held_in != src:
                    held_elsewhere.setdefault(held_in, []).append(item.where)
                continue
            if item.lossy and (other or known is None) and _lossy_held(journal, identity_id, row, item.peers):
                # A lossy form (jrnl's XML) of an entry stored from a full form under another name.
                summary.skipped += 1
                continue
            if other:
                # Stored under (or found at, on a re-import) the next free `#n` key of its minute,
                # never in place of the other journal's entry.
                sid, known = _other_slot(src_sids, seen_sids, sid, fingerprint(row), ns)
                rec["source_id"] = sid
                rec.pop("id", None)
                if known is not None:
                    rec["id"] = known[0]
                row = journal.reflections.encode(identity_id, rec)
            if sid is not None:
                w = item.where
                if not main_file:
                    main_file.append(w.get("file"))
                plain = len(w) == 2 and w.get("file") == main_file[0] and type(w.get("line")) is int
                seen_sids.add(ns + sid, w["line"] if plain else w)
                if item.shared_key and item.source is not None:
                    # Only jrnl journals found in a folder can meet one journal in two forms (a file
                    # alone keys each minute once): a big single file keeps no text digests.
                    seen_text[ns + sid] = (_digest(item.content), _digest(_squash(item.content)), item.lossy)
            if known is not None and item.unknown and fingerprint(row) != known[1]:
                row = _keep_stored_meta(journal, identity_id, known[0], rec, item.unknown)
            if known is not None:
                if fingerprint(row) == known[1] or item.lossy:
                    # A lossy form never overwrites what is stored: it is held already.
                    summary.skipped += 1
                    if item.lossy and fingerprint(row) != known[1] and _lossy_edit(journal, known[0], row):
                        lossy_edits.append(item.where)
                elif unrelated_update(journal, known[0], row, item.where, summary):
                    continue
                else:
                    summary.updated += 1
                    updates.append(row)
                    if len(updates) >= _CHUNK:
                        flush()
                continue
            if sid is None:
                # Without an id an entry is its text at its time (what its id is made of): the same
                # words on another day are another entry, never merged into the first.
                if row["id"] in keyless or (row["content_hash"] in hashes and _held(journal, identity_id, row)):
                    summary.skipped += 1
                    continue
                keyless.add(row["id"])
            summary.added += 1
            new_rows.append(row)
            if len(new_rows) >= _CHUNK:
                flush()
        # Every entry is read: the ids met go now, not after the index builds of `finish` (the
        # import's memory peak, which they would otherwise raise by their dict).
        seen_sids.close()
        seen_text.clear()
        for held_in, places in held_elsewhere.items():
            n = len(places)
            summary.warnings.append(
                f"{where_text(places[0])}: {n} of {summary.total} entries have the same text and minute as "
                f"entries stored under {held_in} and are taken as those, not added (if this file is a journal "
                "of its own, name its journals in the jrnl config beside it)")
        for held_in, places in held_kin.items():
            summary.warnings.append(
                f"{len(places)} of {summary.total} notes have the same path, text and date as notes stored "
                f"from the folder {held_in.removeprefix(NOTES_KIN)!r} and are taken as those, not added")
        if lossy_edits:
            summary.warnings.append(
                f"{where_text(lossy_edits[0])}: {len(lossy_edits)} entr{'y' if len(lossy_edits) == 1 else 'ies'} "
                "differ from the stored text beyond what this output loses; not applied (a lossy output "
                "never overwrites: import the journal file or its JSON export to apply edits)")
        summary.rejected = rejected
        if rejected and not skip_bad:
            first = rejected[0]
            more = f" (and {len(rejected) - 1} more bad entries)" if len(rejected) > 1 else ""
            err = InvalidInputError(
                f"{where_text(first)}: {first['reason']}{more}; nothing was imported "
                "(use --skip-bad to import the good entries)"
            )
            err.rejected = rejected  # type: ignore[attr-defined]
            raise err
        flush(final=True)
        bulk.finish()
    return summary


def _other_slot(by_sid: dict, seen: SeenIds, sid: str, fp: tuple, ns: str = "") -> tuple[str, tuple | None]:
    """For a timestamp key held by an unrelated entry: the `#n` key of the same minute that already
    holds this very entry (and its stored (id, fingerprint)), else the first key free in the journal
    and in this import (and None). `ns` prefixes the keys of this import's entries of another source."""
    base = sid.split("#", 1)[0]
    free = None
    n = 1
    while True:
        cand = base if n == 1 else f"{base}#{n}"
        n += 1
        if cand == sid:
            continue
        stored = by_sid.get(cand)
        if stored is not None:
            if stored[1] == fp:
                return cand, stored
            continue
        if seen.get(ns + cand) is not None:
            continue
        if free is None:
            free = cand
        # Keys of one minute are dense (#2, #3, ...): past a free one and the next, nothing is stored.
        if cand != free:
            return free, None


def _keep_stored_meta(journal: Any, identity_id: str, reflection_id: str, rec: dict, keys: tuple) -> dict:
    """`rec` encoded with the stored reflection's values for the metadata `keys` its form cannot carry."""
    import json

    found = journal.conn.execute("SELECT metadata FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
    stored = json.loads(found[0] or "{}") if found else {}
    meta = {**(rec.get("metadata") or {}), **{k: stored[k] for k in keys if k in stored}}
    rec["metadata"] = meta
    return journal.reflections.encode(identity_id, rec)


def _lossy_edit(journal: Any, reflection_id: str, row: dict) -> bool:
    """True when a lossy entry's text differs from the stored one by more than whitespace."""
    found = journal.conn.execute("SELECT content FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
    return found is not None and _squash(found[0] or "") != _squash(row["content"])


def _digest(text: str) -> bytes:
    import hashlib

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _squash(text: str) -> str:
    """`text` with every run of whitespace one space: what jrnl's lossy forms keep of an entry."""
    return " ".join(text.split())


def _held(journal: Any, identity_id: str, row: dict) -> bool:
    """True when the identity holds this text at this time (under any source)."""
    return journal.conn.execute(
        "SELECT 1 FROM reflections WHERE identity_id = ? AND content_hash = ? AND created_at = ? LIMIT 1",
        (identity_id, row["content_hash"], row["created_at"])).fetchone() is not None


def _stored_elsewhere(journal: Any, identity_id: str, row: dict, peers: frozenset = frozenset()) -> str | None:
    """The source under which the identity already holds this text at this time (any source or key
    but the `peers`: other journals; its own source first), or None."""
    found = [src for (src,) in journal.conn.execute(
        "SELECT source FROM reflections WHERE identity_id = ? AND content_hash = ? AND created_at = ?",
        (identity_id, row["content_hash"], row["created_at"]),
    ) if src not in peers]
    if not found:
        return None
    return row["source"] if row["source"] in found else found[0] or "no source (added directly)"


def _lossy_held(journal: Any, identity_id: str, row: dict, peers: frozenset = frozenset()) -> bool:
    """True when the identity holds an entry at this time whose text, whitespace collapsed, is this
    lossy entry's (its title and body joined, or lines re-wrapped), under any source but `peers`."""
    want = _squash(row["content"])
    return any(src not in peers and _squash(content or "") == want for src, content in journal.conn.execute(
        "SELECT source, content FROM reflections WHERE identity_id = ? AND created_at = ?",
        (identity_id, row["created_at"]),
    ))


def _insert(journal: Any, rows: list[dict]) -> None:
    journal.reflections.insert_rows(rows)


def _apply_updates(journal: Any, rows: list[dict]) -> None:
    journal.reflections.update_rows(rows)
