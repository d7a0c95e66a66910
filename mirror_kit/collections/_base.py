"""What every collection shares: the journal it belongs to and SQL with errors turned into messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import MirrorKitError

if TYPE_CHECKING:
    from ..journal import Journal


class Collection:
    """Base of the journal's collections; each is the only code that writes its tables."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    @property
    def conn(self) -> sqlite3.Connection:
        return self.journal.conn

    def _execute(self, sql: str, params: Sequence | Mapping = ()) -> sqlite3.Cursor:
        return self.journal.execute(sql, params)

    def _writable(self) -> None:
        if self.journal.readonly:
            raise MirrorKitError(f"{self.journal.path} is open read-only; cannot write to it")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.journal.path}>"
