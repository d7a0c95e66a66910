"""Storing parsed entries: validation, deduplication, updates of edited entries, all-or-nothing writes.

An entry is identified by (identity, source, source_id) when its format has ids (Day One uuids, CSV
id columns, file paths, jrnl timestamps), else by its content hash. A known id whose content, title,
date, tags or metadata changed is updated in place; an identical one is skipped as a duplicate.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidInputError
from ..ids import stable_id
from ..textnorm import attach_tags, tag_key
from .common import MAX_ENTRY_CHARS, Entry, Rejection, where_text
from .summary import ImportSummary

_CHUNK = 5000


def _reject_entry(entry: Entry) -> str | None:
    if not isinstance(entry.content, str) or not entry.content.strip():
        return "empty entry (no text)"
    if len(entry.content) > MAX_ENTRY_CHARS:
        return f"entry is {len(entry.content):,} characters, over the limit of {MAX_ENTRY_CHARS:,}"
    if "\x00" in entry.content:
        return "entry contains NUL bytes (binary data?)"
    if entry.created_at is None or entry.created_at == "":
        return "no date (give one with --default-date)"
    return None


def _fingerprint(row: dict) -> tuple:
    return (
        row["content_hash"], row["title"], row["created_at"], row["tz"], row["metadata"],
        tuple(sorted(tag_key(t) for t in row["_tags"])),
    )


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
    existing_identity = journal._find_identity(name)
    # Same id formula as Store.add_identity, so a dry run can compute ids without creating the identity.
    identity_id = existing_identity.id if existing_identity else stable_id("i", name, length=12)

    by_sid: dict[str, tuple] = {}
    hashes: set[str] = set()
    if existing_identity is not None:
        tags: dict[str, list[str]] = {}
        for rid, tag in journal.conn.execute(
            "SELECT rt.reflection_id, t.name FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id "
            "JOIN reflections r ON r.id = rt.reflection_id WHERE r.identity_id = ? AND r.source = ?",
            (identity_id, source),
        ):
            tags.setdefault(rid, []).append(tag)
        for r in journal.conn.execute(
            "SELECT id, source, source_id, content_hash, title, created_at, tz, metadata FROM reflections "
            "WHERE identity_id = ?",
            (identity_id,),
        ):
            hashes.add(r["content_hash"])
            if r["source"] == source and r["source_id"] is not None:
                fp = (r["content_hash"], r["title"], r["created_at"], r["tz"], r["metadata"],
                      tuple(sorted(tag_key(t) for t in tags.get(r["id"], []))))
                by_sid[r["source_id"]] = (r["id"], fp)

    new_rows: list[dict] = []
    updates: list[dict] = []
    seen_sids: dict[str, str] = {}
    rejected: list[dict] = []
    writing = not dry_run

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
                write(journal, buf)
                buf.clear()

    with contextlib.ExitStack() as stack:
        if not dry_run:
            # Entries are written in chunks as they are read (memory stays flat), inside one transaction
            # that a bad entry or any error rolls back: the journal is never half-imported.
            stack.enter_context(journal.transaction())
            journal.add_identity(name, exist_ok=True)
        for item in _progress(items, progress, f"import {summary.format}"):
            summary.total += 1
            if isinstance(item, Rejection):
                reject(item.where, item.reason)
                continue
            reason = _reject_entry(item)
            if reason:
                reject(item.where, reason)
                continue
            sid = item.source_id
            if sid is not None and sid in seen_sids:
                reject(item.where, f"duplicate id {sid!r} (first seen at {seen_sids[sid]})")
                continue
            rec = {
                "content": item.content, "created_at": item.created_at, "tz": item.tz, "title": item.title,
                "tags": item.tags, "source": source, "source_id": sid, "metadata": item.metadata,
            }
            known = by_sid.get(sid) if sid is not None else None
            if known is not None:
                rec["id"] = known[0]
            try:
                row = journal._reflection_row(identity_id, rec)
            except InvalidInputError as exc:
                reject(item.where, str(exc).removeprefix("reflection: "))
                continue
            if sid is not None:
                seen_sids[sid] = where_text(item.where)
            if known is not None:
                if _fingerprint(row) == known[1]:
                    summary.skipped += 1
                else:
                    summary.updated += 1
                    updates.append(row)
                    flush()
                continue
            if sid is None:
                if row["content_hash"] in hashes:
                    summary.skipped += 1
                    continue
                hashes.add(row["content_hash"])
            summary.added += 1
            new_rows.append(row)
            flush()
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
    return summary


def _insert(journal: Any, rows: list[dict]) -> None:
    """Store's column handling, with tags attached by id in one pass (the per-pair subquery of
    `Store._attach_tags` dominated large imports)."""
    cols = [c for c in rows[0] if not c.startswith("_") and c in journal.schema_columns]
    sql = f"INSERT INTO reflections ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    try:
        journal.conn.executemany(sql, [tuple(r[c] for c in cols) for r in rows])
    except sqlite3.IntegrityError as exc:
        raise InvalidInputError(journal._explain_conflict(rows, None, exc)) from exc
    _attach_tags(journal, [(r["id"], t) for r in rows for t in r["_tags"]])


def _attach_tags(journal: Any, pairs: list[tuple[str, str]]) -> None:
    attach_tags(journal.conn, pairs)


def _apply_updates(journal: Any, rows: list[dict]) -> None:
    cols = [c for c in rows[0] if not c.startswith("_") and c not in ("id", "identity_id")
            and c in journal.schema_columns]
    journal.conn.executemany(
        f"UPDATE reflections SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
        [[r[c] for c in cols] + [r["id"]] for r in rows],
    )
    journal.conn.executemany("DELETE FROM reflection_tags WHERE reflection_id = ?", [(r["id"],) for r in rows])
    _attach_tags(journal, [(r["id"], t) for r in rows for t in r["_tags"]])

