"""Storing analysis results (embeddings, patterns, tension observations) computed from a journal that
another process may change meanwhile.

An analysis reads reflections, computes for seconds or minutes, then writes rows that point at those
reflections. If a replace-import or a delete removed some of them in between, SQLite's foreign keys
refuse the write and the transaction rolls back: nothing half-written is kept. The user sees one line
saying what happened and what to do, never an IntegrityError.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

from .errors import MirrorKitError


class JournalChangedError(MirrorKitError):
    """Reflections an analysis was computed from were deleted or replaced before its results were stored."""


def _is_foreign_key_failure(exc: BaseException) -> bool:
    # Journal.execute turns sqlite3.IntegrityError into InvalidInputError: look at the cause as well
    for e in (exc, exc.__cause__):
        if isinstance(e, sqlite3.IntegrityError) and "FOREIGN KEY" in str(e):
            return True
    return False


@contextlib.contextmanager
def analysis_transaction(journal: Any, what: str) -> Iterator[None]:
    """`journal.transaction()` for analysis results: a foreign-key failure (the reflections were
    changed by another process since they were read) becomes JournalChangedError, after the rollback.

    what: the step, as the message names it ("pattern analysis", "embedding", ...).
    Raises JournalChangedError; other errors pass through unchanged.
    """
    try:
        with journal.transaction():
            yield
    except (sqlite3.IntegrityError, MirrorKitError) as exc:
        if isinstance(exc, JournalChangedError) or not _is_foreign_key_failure(exc):
            raise
        raise JournalChangedError(
            f"{journal.path}: the journal changed during the {what} (reflections were deleted or replaced by "
            "another process); nothing of it was stored: run it again") from exc


def check_still_there(journal: Any, reflection_ids: list[str], what: str) -> None:
    """Inside the write transaction: raise JournalChangedError unless every id is still stored.

    Counts what is missing, so the message can say how much changed (the foreign keys alone only
    say that something did).
    """
    missing = 0
    for start in range(0, len(reflection_ids), 900):
        chunk = reflection_ids[start:start + 900]
        found = journal.conn.execute(
            f"SELECT count(*) FROM reflections WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchone()[0]
        missing += len(chunk) - found
    if missing:
        raise JournalChangedError(
            f"{journal.path}: the journal changed during the {what} ({missing} of its reflections were deleted "
            "or replaced by another process); nothing of it was stored: run it again")
