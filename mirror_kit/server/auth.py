"""Who is calling: bearer-token authentication, identity scoping, write permission and rate limits.

Each request opens its own SQLite connection (read-only for reads), so requests never share a
connection across threads; WAL lets many readers work while one writer commits.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from .. import db
from ..collections.tokens import Token
from ..errors import NotFoundError
from ..journal import Journal
from ..migrate import Migrator
from .results import ResultCache

if TYPE_CHECKING:
    from ..records import Identity
    from .jobs import Jobs

WRITE_BUSY_TIMEOUT_MS = 15000  # a writer waits this long for another one (an analysis committing) before 503


class RateLimiter:
    """Token bucket per API token: `per_minute` requests a minute, bursts up to the same number."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait before the next request."""
        if not self.per_minute:
            return 0.0
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate


@dataclass
class ServerState:
    """What every request shares: the journal file, its migrator, the rate limiter and the runs."""

    path: Path
    migrator: Migrator
    limiter: RateLimiter
    jobs: Jobs = field(default=None)  # type: ignore[assignment]
    llm: object = None
    results: ResultCache = field(default=None)  # type: ignore[assignment]

    def open(self, *, readonly: bool) -> Journal:
        """A new connection to the journal (read-only for reads); the schema was checked at start."""
        conn = db.connect(self.path, create=False, readonly=readonly,
                          busy_timeout_ms=None if readonly else WRITE_BUSY_TIMEOUT_MS)
        m = copy.copy(self.migrator)
        m.conn = conn
        return Journal(conn, self.path, m, readonly)


def _unknown_identity(name: str) -> NotFoundError:
    # The same words whether the identity exists elsewhere or not: names of others never leak.
    return NotFoundError(f"unknown identity {name!r}")


@dataclass
class Access:
    """An authenticated request: its journal connection and its token."""

    journal: Journal
    token: Token

    @property
    def owner(self) -> bool:
        return self.token.identity_id is None

    def identity(self, name_or_id: str) -> Identity:
        """The identity with this name or id if the token may see it, else NotFoundError (404)."""
        ident = self.journal.identities.find(name_or_id)
        if ident is None or not self.allows(ident.id):
            raise _unknown_identity(name_or_id)
        return ident

    def allows(self, identity_id: str | None) -> bool:
        return self.owner or identity_id == self.token.identity_id

    def check(self, identity_id: str | None, not_found: str) -> None:
        """404 with the same message as a missing record when the record is another identity's."""
        if not self.allows(identity_id):
            raise NotFoundError(not_found)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    return value.strip()


def _authenticate(request: Request, readonly: bool) -> Iterator[Access]:
    state: ServerState = request.app.state.mirror
    secret = _bearer(request)
    j = state.open(readonly=readonly)
    try:
        token = j.tokens.verify(secret)
        if token is None:
            raise HTTPException(401, "invalid, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
        wait = state.limiter.take(token.id)
        if wait > 0:
            raise HTTPException(429, "too many requests for this token; slow down",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if not readonly and token.scope != "write":
            raise HTTPException(403, "this token has read scope; writing needs a token with --scope write")
        yield Access(j, token)
    finally:
        j.close()


def reader(request: Request) -> Iterator[Access]:
    """Dependency of read routes: any valid token, a read-only connection."""
    yield from _authenticate(request, readonly=True)


def writer(request: Request) -> Iterator[Access]:
    """Dependency of write routes: a token with write scope, a writable connection."""
    yield from _authenticate(request, readonly=False)
