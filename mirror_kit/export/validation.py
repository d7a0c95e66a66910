"""Checking a document against the shipped JSON Schema without a runtime dependency.

Implements the subset of JSON Schema the export schema uses (type, const, enum, required,
properties, additionalProperties: false, items, minLength/maxLength, minimum/maximum, pattern, local
$ref), and reports the first problem with its path (`identities[0].reflections[12].content`). The
tests check exports against the same file with the full `jsonschema` library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "mirror_os_export_v1.schema.json"
_TYPES = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,), "number": (int, float),
    "boolean": (bool,), "null": (type(None),),
}


class _Fail(Exception):
    """A violation; containers prepend their key to `path` as it propagates (free when all is well)."""

    def __init__(self, msg: str):
        self.msg, self.path = msg, []


@cache
def export_schema() -> dict:
    """The JSON Schema of `mirror_os_export_v1` (shipped with the package)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _where(path: list) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "document"


def _compile(s: dict, root: dict, refs: dict) -> Callable[[Any], None]:
    """One checking function per schema node (built once; json.loads yields exact builtin types)."""
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[1]
        if name not in refs:
            refs[name] = None  # placeholder against cycles
            refs[name] = _compile(root["$defs"][name], root, refs)
        return refs[name]
    t = s.get("type")
    names = (t if isinstance(t, list) else [t]) if t else []
    types = tuple(x for n in names for x in _TYPES[n])
    has_const, const = "const" in s, s.get("const")
    enum = s.get("enum")
    min_len, max_len = s.get("minLength", 0), s.get("maxLength")
    pattern = re.compile(s["pattern"]) if "pattern" in s else None
    lo, hi = s.get("minimum"), s.get("maximum")
    required = tuple(s.get("required", ()))
    props = {k: _compile(v, root, refs) for k, v in s.get("properties", {}).items()}
    closed = s.get("additionalProperties") is False
    items = _compile(s["items"], root, refs) if "items" in s else None

    def check(v: Any) -> None:
        if types and type(v) not in types:
            raise _Fail(f"must be {' or '.join(names)}, got {type(v).__name__}")
        if has_const and v != const:
            raise _Fail(f"must be {const!r}, got {v!r}")
        if enum is not None and v not in enum:
            raise _Fail(f"must be one of {enum}, got {v!r}")
        tv = type(v)
        if tv is str:
            if len(v) < min_len:
                raise _Fail("must not be empty" if min_len == 1 else f"shorter than {min_len}")
            if max_len is not None and len(v) > max_len:
                raise _Fail(f"longer than {max_len} characters")
            if pattern is not None and not pattern.search(v):
                raise _Fail(f"{v[:40]!r} does not match the expected form (UTC 'YYYY-MM-DDTHH:MM:SSZ')")
        elif tv is int or tv is float:
            if lo is not None and v < lo:
                raise _Fail(f"must be >= {lo}, got {v}")
            if hi is not None and v > hi:
                raise _Fail(f"must be <= {hi}, got {v}")
        elif tv is dict:
            for k in required:
                if k not in v:
                    raise _Fail(f"required field {k!r} is missing")
            if closed:
                extra = sorted(set(v) - set(props))
                if extra:
                    raise _Fail(f"unexpected field(s) {', '.join(map(repr, extra))}")
            for k, sub in props.items():
                if k in v:
                    try:
                        sub(v[k])
                    except _Fail as exc:
                        exc.path.insert(0, k)
                        raise
        elif tv is list and items is not None:
            for i, x in enumerate(v):
                try:
                    items(x)
                except _Fail as exc:
                    exc.path.insert(0, i)
                    raise

    return check


@cache
def _export_checker() -> Callable[[Any], None]:
    return _compile(export_schema(), export_schema(), {})


def validate(doc: Any, schema: dict | None = None, *, source: str = "") -> None:
    """Raise InvalidInputError naming the source and the path of the first violation."""
    check = _export_checker() if schema is None else _compile(schema, schema, {})
    try:
        check(doc)
    except _Fail as exc:
        prefix = f"{source}: " if source else ""
        raise InvalidInputError(f"{prefix}{_where(exc.path)}: {exc.msg}") from None
