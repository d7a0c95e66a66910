"""The journal's first writing methods, `add_identity`, `add_reflection` and `add_reflections`, kept as
thin deprecated aliases of the collections that now own those tables.

Version 0.1.0's README taught them as the Python API, so scripts written from it still call them; each
alias warns once per call site (DeprecationWarning naming the new call) and forwards every argument
unchanged, so behaviour, errors and return values are the collections' own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import Identity, Reflection


def _deprecated(old: str, new: str) -> None:
    # stacklevel 3: the warning points at the user's line, not at this module
    warnings.warn(f"Journal.{old} is deprecated; use journal.{new}", DeprecationWarning, stacklevel=3)


class LegacyWriters:
    """Deprecated aliases mixed into `Journal`; new code uses `journal.identities` / `journal.reflections`."""

    def add_identity(self, name: str, metadata: dict | None = None, *, exist_ok: bool = False) -> Identity:
        """Deprecated alias of `journal.identities.add(name, metadata, exist_ok=...)`."""
        _deprecated("add_identity(name)", "identities.add(name)")
        return self.identities.add(name, metadata, exist_ok=exist_ok)  # type: ignore[attr-defined]

    def add_reflection(self, identity: Any, content: str, created_at: datetime | date | str | None = None,
                       **kw: Any) -> Reflection:
        """Deprecated alias of `journal.reflections.add(identity, content, created_at, **kw)`."""
        _deprecated("add_reflection(...)", "reflections.add(...)")
        return self.reflections.add(identity, content, created_at, **kw)  # type: ignore[attr-defined]

    def add_reflections(self, identity: Any, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Deprecated alias of `journal.reflections.add_many(identity, records)`."""
        _deprecated("add_reflections(...)", "reflections.add_many(...)")
        return self.reflections.add_many(identity, records)  # type: ignore[attr-defined]
