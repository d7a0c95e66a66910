"""`journal.identities`: the people whose reflections a journal holds (table `identities`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, UnknownIdentityError
from ..ids import stable_id
from ..records import Identity, to_json
from ..timeutil import format_utc, now_iso, parse_utc
from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd


def identity_id_for(name: str) -> str:
    """The id an identity named `name` gets (stable: the same name gives the same id in every journal)."""
    return stable_id("i", name, length=12)


def _decode(row: Any) -> Identity:
    return Identity(row["id"], row["name"], parse_utc(row["created_at"]), json.loads(row["metadata"]))


class Identities(Collection):
    """Identities by name or id: `add`, `get`, `find`, iteration, `frame`."""

    def add(self, name: str, metadata: dict | None = None, *, exist_ok: bool = False) -> Identity:
        """Create an identity; `exist_ok` returns the existing one instead of raising InvalidInputError."""
        name = (name or "").strip()
        if not name:
            raise InvalidInputError("identity name must not be empty")
        existing = self.find(name)
        if existing is not None:
            if exist_ok:
                return existing
            raise InvalidInputError(f"identity {name!r} already exists")
        self._writable()
        ident = Identity(identity_id_for(name), name, parse_utc(now_iso()), metadata or {})
        with self.journal.transaction():
            self._execute(
                "INSERT INTO identities (id, name, created_at, metadata) VALUES (?, ?, ?, ?)",
                (ident.id, ident.name, format_utc(ident.created_at), to_json(ident.metadata, "metadata")),
            )
        return ident

    def restore(self, id: str, name: str, created_at: str, metadata: dict) -> None:
        """Insert or refresh an identity row exactly as given (used when importing a mirror_kit export)."""
        if self.conn.execute("SELECT 1 FROM identities WHERE id = ?", (id,)).fetchone():
            self._execute("UPDATE identities SET created_at = ?, metadata = ? WHERE id = ?",
                          (created_at, to_json(metadata, "metadata"), id))
        else:
            self._execute("INSERT INTO identities (id, name, created_at, metadata) VALUES (?, ?, ?, ?)",
                          (id, name, created_at, to_json(metadata, "metadata")))

    def find(self, name_or_id: str) -> Identity | None:
        """The identity with this name (preferred) or id, else None."""
        row = self._execute(
            "SELECT * FROM identities WHERE name = ? OR id = ? ORDER BY name = ? DESC LIMIT 1",
            (name_or_id, name_or_id, name_or_id),
        ).fetchone()
        return None if row is None else _decode(row)

    def get(self, name_or_id: str | Identity) -> Identity:
        """The identity with this name or id; UnknownIdentityError lists the known ones."""
        if isinstance(name_or_id, Identity):
            return name_or_id
        found = self.find(str(name_or_id))
        if found is None:
            known = ", ".join(i.name for i in self) or "none yet"
            raise UnknownIdentityError(f"unknown identity {name_or_id!r} (known: {known})")
        return found

    def id_of(self, identity: str | Identity | None) -> str | None:
        """The id of an identity given by name, id or object; None stays None (every identity)."""
        return None if identity is None else self.get(identity).id

    def rows(self) -> list[Identity]:
        """Every identity, by name."""
        return [_decode(r) for r in self._execute("SELECT * FROM identities ORDER BY name").fetchall()]

    def __iter__(self) -> Iterator[Identity]:
        return iter(self.rows())

    def __len__(self) -> int:
        return self._execute("SELECT count(*) FROM identities").fetchone()[0]

    def __contains__(self, name_or_id: object) -> bool:
        return isinstance(name_or_id, str) and self.find(name_or_id) is not None

    def frame(self) -> pd.DataFrame:
        """DataFrame of identities: id, name, created_at (UTC), metadata."""
        return self.journal.frame("identities")
