"""Helpers the route modules share: the success envelope, DataFrames as JSON, cursors, error docs."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from ..errors import InvalidInputError
from .schemas import ErrorEnvelope

# Documented on every route so clients (and schema checks) know each error's shape.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "A bad parameter or body (wrong type, out of range, not "
                                                 "JSON) or input the journal cannot take"},
    401: {"model": ErrorEnvelope, "description": "No, unknown, expired or revoked token"},
    403: {"model": ErrorEnvelope, "description": "A read-scope token tried to write"},
    404: {"model": ErrorEnvelope, "description": "No such record, or one of another identity"},
    413: {"model": ErrorEnvelope, "description": "Request body over the size limit"},
    429: {"model": ErrorEnvelope, "description": "Rate limit of this token reached (see Retry-After)"},
    503: {"model": ErrorEnvelope, "description": "The journal is busy with another writer (see Retry-After)"},
}


def ok(data: Any, message: str | None = None) -> dict:
    return {"status": "success", "data": data, "message": message}


def cached(request: Any, key: tuple, compute: Any) -> Any:
    """`compute()`, reused until the journal file changes (see `server.results`); the value is shared
    between requests, so callers build new lists around it and never change it in place."""
    return request.app.state.mirror.results.get(key, compute)


def records(df: Any) -> list[dict]:
    """A DataFrame as JSON-ready dicts (NaN -> null, timestamps -> ISO strings)."""
    if df is None or len(df) == 0:
        return []
    return json.loads(df.to_json(orient="records", date_format="iso"))


def plain(value: Any) -> Any:
    """numpy scalars, NaN, timestamps and DataFrames inside dicts and lists made JSON-ready."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "to_json") and hasattr(value, "columns"):
        return records(value)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type) -> Any:
    """The value inside a cursor, checked to be of `kind`; InvalidInputError for a damaged cursor."""
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 0)):
        raise InvalidInputError(f"cursor: not a cursor this API returned ({cursor[:40]!r})")
    return value


def page_of(items: list, cursor: str | None, limit: int) -> dict:
    """Offset paging over a computed list: {items, next_cursor, total}."""
    start = decode_cursor(cursor, int) or 0
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return {"items": chunk, "next_cursor": encode_cursor(start + limit) if more else None, "total": len(items)}
