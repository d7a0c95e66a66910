"""`journal.tokens`: bearer tokens of the local HTTP API (table `api_tokens`).

A token is `mk_<id>_<secret>`; only the SHA-256 of the whole token is stored, so the journal file never
holds a usable credential. `verify` finds the row by id and compares hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..records import Identity
from ..timeutil import format_utc, now_iso, parse_utc
from ._base import Collection

SCOPES = ("read", "write")
_TOKEN_RE = re.compile(r"^mk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str | timedelta | None) -> timedelta | None:
    """'30d', '12h', '45m', '2w', '90s' -> timedelta; None stays None. Raises InvalidInputError."""
    if text is None or isinstance(text, timedelta):
        return text
    m = _DURATION_RE.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise InvalidInputError(f"expires: expected a positive duration like 30d, 12h, 45m or 2w, got {text!r}")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Token:
    """A stored token (never the secret): id, identity (name, None for every identity), scope, label,
    created_at, expires_at (UTC ISO or None), revoked_at, and whether it is usable now (`active`)."""

    id: str
    identity_id: str | None
    identity: str | None
    scope: str
    label: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    @property
    def active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or parse_utc(self.expires_at) > datetime.now(UTC)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


class Tokens(Collection):
    """API tokens: `create` (returns the secret once), `rows`, `get`, `revoke`, `verify`."""

    def create(self, identity: str | Identity | None, scope: str = "read", *,
               expires: str | timedelta | None = None, label: str | None = None) -> tuple[str, Token]:
        """Make a token for one identity (None: every identity); returns (secret token, stored record).

        scope: read (GET routes only) or write. expires: a duration ('30d') or None for no expiry.
        The secret is not stored and cannot be shown again. Raises InvalidInputError, UnknownIdentityError.
        """
        if scope not in SCOPES:
            raise InvalidInputError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        life = parse_duration(expires)
        self._writable()
        ident_id = self.journal.identities.id_of(identity)
        tid = secrets.token_hex(8)
        token = f"mk_{tid}_{secrets.token_urlsafe(32)}"
        now = now_iso()
        exp = None if life is None else format_utc(parse_utc(now) + life)
        with self.journal.transaction():
            self._execute(
                "INSERT INTO api_tokens (id, token_hash, identity_id, scope, label, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tid, hash_token(token), ident_id, scope, label, now, exp),
            )
        return token, self.get(tid)

    def _select(self, where: str = "", params: tuple = ()) -> list[Token]:
        rows = self._execute(
            "SELECT t.*, i.name AS identity FROM api_tokens t LEFT JOIN identities i ON i.id = t.identity_id "
            f"{where} ORDER BY t.created_at, t.id", params).fetchall()
        return [Token(r["id"], r["identity_id"], r["identity"], r["scope"], r["label"], r["created_at"],
                      r["expires_at"], r["revoked_at"]) for r in rows]

    def rows(self) -> list[Token]:
        """Every token (active, expired and revoked), oldest first."""
        return self._select()

    def get(self, token_id: str) -> Token:
        """One token by id (NotFoundError if there is none)."""
        found = self._select("WHERE t.id = ?", (token_id,))
        if not found:
            raise NotFoundError(f"no token with id {token_id!r}")
        return found[0]

    def revoke(self, token_id: str) -> Token:
        """Make a token unusable from now on (kept in the list as revoked). Raises NotFoundError."""
        self._writable()
        self.get(token_id)
        with self.journal.transaction():
            self._execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                          (now_iso(), token_id))
        return self.get(token_id)

    def verify(self, token: str) -> Token | None:
        """The active token record this secret belongs to, else None (unknown, wrong, expired, revoked).

        Reads only, so it works on a read-only journal.
        """
        m = _TOKEN_RE.match(token or "")
        if not m:
            return None
        row = self._execute("SELECT token_hash FROM api_tokens WHERE id = ?", (m.group(1),)).fetchone()
        # Compare even when the id is unknown, so timing does not tell which ids exist.
        stored = row["token_hash"] if row is not None else "0" * 64
        if not hmac.compare_digest(stored, hash_token(token)) or row is None:
            return None
        rec = self.get(m.group(1))
        return rec if rec.active else None
