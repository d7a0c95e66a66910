"""Checks made on every parsed entry before it is stored: dates that fit the store, and "updates"
that are really another entry under the same key."""

from __future__ import annotations

import re
from typing import Any

from .common import Entry, where_text
from .dates import check_instant

# Below this token overlap (Jaccard) an "edited" entry shares almost nothing with the stored one:
# most likely two different entries given the same key, so it is reported, not applied.
MIN_UPDATE_OVERLAP = 0.1
_TOKEN = re.compile(r"\w+")


def check_dates(entry: Entry) -> str | None:
    """Why the entry's date cannot be stored (outside years 1..9999 once in UTC, or a local time
    its zone skips), naming the field it was read from; None when it can."""
    reason = check_instant(entry.created_at, entry.tz)
    return f"{entry.date_field}: {reason}" if reason else None


def token_overlap(a: str, b: str) -> float:
    """Jaccard similarity of the lower-cased word sets of two texts (1.0 for two empty texts)."""
    ta, tb = set(_TOKEN.findall(a.lower())), set(_TOKEN.findall(b.lower()))
    if not ta and not tb:
        return 1.0
    return len(ta & tb) / len(ta | tb)


def unrelated_update(journal: Any, reflection_id: str, row: dict, where: dict, summary: Any) -> bool:
    """True (and a conflict recorded in `summary`) when the new text of a known key has almost
    nothing in common with the stored text; such an update is not applied."""
    found = journal.conn.execute("SELECT content FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
    if found is None:
        return False
    old = found[0] or ""
    if old == row["content"] or token_overlap(old, row["content"]) >= MIN_UPDATE_OVERLAP:
        return False
    summary.conflicts += 1
    summary.warnings.append(
        f"{where_text(where)}: conflict: key {row.get('source_id')!r} already holds a different entry "
        f"({old[:40]!r}...); not updated"
    )
    return True


def unrelated_to_stored(journal: Any, reflection_id: str, row: dict) -> bool:
    """True when the stored reflection's text has almost nothing in common with `row`'s (a different
    entry under the same key, not an edit of it)."""
    found = journal.conn.execute("SELECT content FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
    if found is None:
        return False
    old = found[0] or ""
    return old != row["content"] and token_overlap(old, row["content"]) < MIN_UPDATE_OVERLAP
