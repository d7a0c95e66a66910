"""Checking a document against the shipped JSON Schema without a runtime dependency.

Implements the subset of JSON Schema the export schema uses (type, const, enum, required,
properties, additionalProperties: false, items, minLength/maxLength, minimum/maximum, pattern, local
$ref), and reports the first problem with its path (`identities[0].reflections[12].content`). The
tests check exports against the same file with the full `jsonschema` library.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "mirror_os_export_v1.schema.json"
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


@cache
def export_schema() -> dict:
    """The JSON Schema of `mirror_os_export_v1` (shipped with the package)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _pattern(p: str) -> re.Pattern:
    return re.compile(p)


def _where(path: list) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "document"


def validate(doc: Any, schema: dict | None = None, *, source: str = "") -> None:
    """Raise InvalidInputError naming the source and the path of the first violation."""
    root = schema or export_schema()
    prefix = f"{source}: " if source else ""

    def fail(path: list, msg: str) -> None:
        raise InvalidInputError(f"{prefix}{_where(path)}: {msg}")

    def check(v: Any, s: dict, path: list) -> None:
        while "$ref" in s:
            s = root["$defs"][s["$ref"].rsplit("/", 1)[1]]
        if "const" in s and v != s["const"]:
            fail(path, f"must be {s['const']!r}, got {v!r}")
        if "enum" in s and v not in s["enum"]:
            fail(path, f"must be one of {s['enum']}, got {v!r}")
        t = s.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if not any(_TYPES[x](v) for x in types):
                fail(path, f"must be {' or '.join(types)}, got {type(v).__name__}")
        if isinstance(v, str):
            if len(v) < s.get("minLength", 0):
                fail(path, "must not be empty" if s["minLength"] == 1 else f"shorter than {s['minLength']}")
            if "maxLength" in s and len(v) > s["maxLength"]:
                fail(path, f"longer than {s['maxLength']} characters")
            if "pattern" in s and not _pattern(s["pattern"]).search(v):
                fail(path, f"{v[:40]!r} does not match the expected form (UTC 'YYYY-MM-DDTHH:MM:SSZ')")
        elif _TYPES["number"](v):
            if "minimum" in s and v < s["minimum"]:
                fail(path, f"must be >= {s['minimum']}, got {v}")
            if "maximum" in s and v > s["maximum"]:
                fail(path, f"must be <= {s['maximum']}, got {v}")
        elif isinstance(v, dict):
            for k in s.get("required", ()):
                if k not in v:
                    fail(path, f"required field {k!r} is missing")
            props = s.get("properties", {})
            if s.get("additionalProperties") is False:
                extra = sorted(set(v) - set(props))
                if extra:
                    fail(path, f"unexpected field(s) {', '.join(map(repr, extra))}")
            for k, sub in props.items():
                if k in v:
                    check(v[k], sub, [*path, k])
        elif isinstance(v, list) and "items" in s:
            items = s["items"]
            for i, x in enumerate(v):
                check(x, items, [*path, i])

    check(doc, root, [])
