"""`journal.settings`: the journal's key/value settings (table `settings`), values stored as JSON."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..records import to_json
from ..secrets import is_secret_key, redact
from ..timeutil import now_iso
from ._base import Collection


def is_secret(key: str) -> bool:
    """True when a setting's key names a secret (see `mirror_kit.secrets`); such settings are never
    written into an export, report or log."""
    return is_secret_key(key)


class Settings(Collection):
    """Settings as a mapping: `settings["theme"]`, `settings.get(key, default)`, `settings.set(key, value)`."""

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value (InvalidInputError otherwise)."""
        self._writable()
        with self.journal.transaction():
            self._execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, to_json(value, f"setting {key!r}"), now_iso()),
            )

    def restore(self, key: str, value_json: str, updated_at: str) -> None:
        """Write one setting row as exported (used when importing a mirror_kit export)."""
        self._execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
            "SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value_json, updated_at),
        )

    def delete(self, key: str) -> None:
        self._writable()
        with self.journal.transaction():
            self._execute("DELETE FROM settings WHERE key = ?", (key,))

    def get(self, key: str, default: Any = None) -> Any:
        row = self._execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def __getitem__(self, key: str) -> Any:
        row = self._execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return json.loads(row[0])

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __contains__(self, key: object) -> bool:
        return self._execute("SELECT 1 FROM settings WHERE key = ?", (str(key),)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.all())

    def all(self, *, secrets: bool = True) -> dict[str, Any]:
        """Every setting as a dict; `secrets=False` leaves out keys that name a secret."""
        return {k: json.loads(v) for k, v in self._execute("SELECT key, value FROM settings ORDER BY key")
                if secrets or not is_secret(k)}


def scrub_secrets(db_file: Path) -> int:
    """Remove secrets (`mirror_kit.secrets.redact`) from the settings of a snapshot file, leaving no
    trace in its free pages (secure_delete, then VACUUM). Returns how many settings changed.

    A restored journal therefore lacks its API keys/tokens: set them again after a restore.
    """
    con = sqlite3.connect(db_file, isolation_level=None)
    try:
        con.execute("PRAGMA secure_delete = ON")
        changed = 0
        con.execute("BEGIN")
        for key, value in con.execute("SELECT key, value FROM settings").fetchall():
            if is_secret_key(key):
                con.execute("DELETE FROM settings WHERE key = ?", (key,))
                changed += 1
                continue
            clean = json.dumps(redact(json.loads(value)), ensure_ascii=False, separators=(",", ":"))
            if json.loads(clean) != json.loads(value):
                con.execute("UPDATE settings SET value = ? WHERE key = ?", (clean, key))
                changed += 1
        con.execute("COMMIT")
        if changed:
            con.execute("VACUUM")
    finally:
        con.close()
    return changed
