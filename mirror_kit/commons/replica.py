"""The journal's replica of its Commons (table `commons_objects`, of which this is the only writer).

Every object is checked (hash, canonical form, signature) before it is stored and again when read, so
a damaged row is reported rather than trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MirrorKitError
from ..timeutil import now_iso
from .records import content_hash, open_object

if TYPE_CHECKING:
    from ..journal import Journal


class Replica:
    """Local copy of the Commons records: `add`, `records`, `unpushed`, `mark_pushed`."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def add(self, data: bytes, *, pushed: bool = False) -> bool:
        """Store one object's bytes after checking them; True when it was new (inside the caller's
        transaction when there is one)."""
        if self.journal.readonly:
            raise MirrorKitError(f"{self.journal.path} is open read-only; cannot store Commons records")
        name = content_hash(data)
        open_object(data, name)
        new = self.journal.execute("SELECT 1 FROM commons_objects WHERE hash = ?", (name,)).fetchone() is None
        self.journal.execute(
            "INSERT INTO commons_objects (hash, body, pushed, added_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(hash) DO UPDATE SET pushed = max(pushed, excluded.pushed)",
            (name, data, int(pushed), now_iso()))
        return new

    def names(self) -> set[str]:
        return {r[0] for r in self.journal.execute("SELECT hash FROM commons_objects")}

    def body(self, name: str) -> bytes:
        row = self.journal.execute("SELECT body FROM commons_objects WHERE hash = ?", (name,)).fetchone()
        if row is None:
            raise MirrorKitError(f"no Commons record {name}")
        return bytes(row[0])

    def records(self) -> dict[str, dict]:
        """Every stored record by hash, each checked again (CommonsIntegrityError on a damaged row)."""
        return {h: open_object(bytes(b), h) for h, b in self.journal.execute("SELECT hash, body FROM commons_objects")}

    def unpushed(self) -> list[str]:
        return [r[0] for r in self.journal.execute("SELECT hash FROM commons_objects WHERE pushed = 0 ORDER BY hash")]

    def mark_pushed(self, names: list[str]) -> None:
        with self.journal.transaction():
            self.journal.conn.executemany("UPDATE commons_objects SET pushed = 1 WHERE hash = ?",
                                          [(n,) for n in names])
