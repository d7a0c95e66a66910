"""The journal's record types (one typed object per stored row) and the JSON codec of their columns."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .errors import InvalidInputError
from .timeutil import format_utc


@dataclass
class Identity:
    """A person whose reflections the journal holds."""

    id: str
    name: str
    created_at: datetime
    metadata: dict = field(default_factory=dict)


@dataclass
class Reflection:
    """One journal entry; `created_at` is UTC, `tz` the writer's time zone when known."""

    id: str
    identity_id: str
    created_at: datetime
    content: str
    tz: str | None = None
    title: str | None = None
    source: str | None = None
    source_id: str | None = None
    content_hash: str = ""
    visibility: str = "private"
    intensity: float | None = None
    metadata: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    language: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["created_at"] = format_utc(self.created_at)
        d["updated_at"] = format_utc(self.updated_at) if self.updated_at else None
        return d


@dataclass
class Thread:
    """A named, ordered collection of reflections."""

    id: str
    identity_id: str
    title: str
    created_at: datetime
    reflection_ids: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


@dataclass
class Mirrorback:
    """A generated reply to one reflection, with the result of checking it against the constitution."""

    id: str
    reflection_id: str
    content: str
    model: str
    created_at: datetime
    valid: bool | None = None
    validation: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


# One encoder for every call (json.dumps builds a new one per call when given options).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str, allow_nan=False)
_quote = json.encoder.encode_basestring  # how that encoder writes a string (ensure_ascii=False)


def to_json(value: Any, what: str) -> str:
    """JSON text SQLite's json_valid() accepts: NaN/inf (which it rejects) become null.

    Raises InvalidInputError naming `what` when the value cannot be serialised.
    """
    value = value if value is not None else {}
    try:
        if type(value) is dict and len(value) == 1:
            # One metadata column (the common CSV shape): the flat form below, without sorting.
            ((k, v),) = value.items()
            if type(k) is str and type(v) is str:
                return "{" + _quote(k) + ": " + _quote(v) + "}"
        if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
            # Flat text metadata (CSV columns): nothing to make finite, and the encoder's own output
            # (sorted keys, ", " and ": ") written directly, without building an encoder per call.
            return "{" + ", ".join([_quote(k) + ": " + _quote(v) for k, v in sorted(value.items())]) + "}"
        return _ENCODER.encode(_finite(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{what} is not JSON-serialisable: {exc}") from exc


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
