"""What every collection shares: the journal it belongs to and SQL with errors turned into messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .. import db
from ..errors import InvalidInputError, MirrorKitError

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
        try:
            return self.conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise InvalidInputError(f"{self.journal.path}: {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise db.translate(exc, self.journal.path) from exc

    def _writable(self) -> None:
        if self.journal.readonly:
            raise MirrorKitError(f"{self.journal.path} is open read-only; cannot write to it")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.journal.path}>"
