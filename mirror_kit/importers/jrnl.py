"""jrnl (jrnl.sh): its JSON export (`jrnl --format json`) and its plain-text journal file.

jrnl has no entry ids; an entry is keyed by its timestamp to the minute (what both forms share),
with `#2`, `#3` for entries written in the same minute, so the JSON export and the text file of the
same journal deduplicate against each other and an edited entry updates its reflection. The text is
`title` + newline + `body`; `@tags`/`#tags` become tags (lower case, without the symbol).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from ..errors import InvalidInputError
from .common import Context, Entry, Rejection, decode_bytes, load_entries_json, read_bytes

SOURCE = "jrnl"
_DATE_BLOB = re.compile(r"(?:^|\n)\[([^\]\n]+)\] ")
_TAG = re.compile(r"(?<!\S)([#@][-+*#/\w]+)")


def _parse_stamp(blob: str) -> datetime | None:
    """A jrnl entry timestamp (any `timeformat`: it always has a date and a time); `[1] ` or `[see]`
    at the start of a body line is not one."""
    if not (re.search(r"\d{1,2}:\d{2}", blob) and re.search(r"\d{4}|\d{1,2}[/.-]\d{1,2}", blob)):
        return None
    from dateutil import parser as du

    try:
        return du.parse(blob)
    except (ValueError, OverflowError):
        return None


def looks_like_text_journal(text: str) -> bool:
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    m = re.match(r"^\[([^\]]+)\] ", first)
    return bool(m and _parse_stamp(m.group(1)))


def _tags(text: str) -> list[str]:
    return [t[1:] for t in _TAG.findall(text)]  # spelling kept; tag identity is textnorm.tag_key


class _Keys:
    """`2024-03-01T09:00`, then `2024-03-01T09:00#2` for a second entry in the same minute."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, when: datetime) -> str:
        key = when.strftime("%Y-%m-%dT%H:%M")
        n = self.seen.get(key, 0) + 1
        self.seen[key] = n
        return key if n == 1 else f"{key}#{n}"


def _entry(title: str, body: str, when: datetime, starred: bool, where: dict, keys: _Keys, tz) -> Entry:
    title, body = title.strip(), body.strip("\n").rstrip()
    content = title + ("\n" + body if body else "")
    when = when.replace(second=0, microsecond=0)
    return Entry(
        content=content, created_at=when, where=where, title=title or None, tags=_tags(content),
        source_id=keys(when), tz=tz, metadata={"starred": bool(starred)},
    )


def read_jrnl(path: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    """Entries of a jrnl JSON export or plain-text journal file (told apart by content)."""
    name = path.name
    try:
        text, _ = decode_bytes(read_bytes(path), name, ctx.opt("encoding"))
    except InvalidInputError as exc:
        if "binary" not in str(exc):
            raise
        raise InvalidInputError(f"{exc} (an encrypted jrnl journal? export it with `jrnl --format json`)") from exc
    ctx.source = SOURCE
    if text.lstrip().startswith("{"):
        return _from_json(text, name, ctx)
    if looks_like_text_journal(text):
        return _from_text(text, name, ctx)
    raise InvalidInputError(
        f"{name}: not a jrnl JSON export or jrnl journal file (expected '{{\"entries\": ...}}' "
        "or lines like '[2024-03-01 09:00:00 AM] Title.')"
    )


def _from_json(text: str, name: str, ctx: Context) -> Iterator[Entry | Rejection]:
    data = load_entries_json(text, name, "jrnl JSON export")
    return _json_entries(data["entries"], name, ctx.opt("tz"))


def _json_entries(entries: list, name: str, tz) -> Iterator[Entry | Rejection]:
    keys = _Keys()
    for i, e in enumerate(entries, 1):
        where = {"file": name, "entry": i}
        if not isinstance(e, dict):
            yield Rejection(where, "entry is not a JSON object")
            continue
        missing = [k for k in ("date", "title") if k not in e]
        if missing:
            yield Rejection(where, f"missing field(s) {', '.join(missing)}")
            continue
        stamp = f"{e.get('date')} {e.get('time') or '00:00'}"
        try:
            when = datetime.strptime(stamp, "%Y-%m-%d %H:%M")
        except (TypeError, ValueError):
            yield Rejection(where, f"cannot read date {stamp!r}")
            continue
        yield _entry(str(e.get("title") or ""), str(e.get("body") or ""), when, bool(e.get("starred")),
                     where, keys, tz)


def _from_text(text: str, name: str, ctx: Context) -> Iterator[Entry | Rejection]:
    text = text.replace("\r\n", "\n")
    starts = []
    for m in _DATE_BLOB.finditer(text):
        when = _parse_stamp(m.group(1))
        if when is not None:
            starts.append((m, when))
    return _text_entries(text, starts, name, ctx.opt("tz"))


def _text_entries(text: str, starts: list, name: str, tz) -> Iterator[Entry | Rejection]:
    keys = _Keys()
    head = text[: starts[0][0].start()] if starts else text
    if head.strip():
        yield Rejection({"file": name, "line": 1}, "text before the first '[date] title' line")
    for i, (m, when) in enumerate(starts):
        end = starts[i + 1][0].start() if i + 1 < len(starts) else len(text)
        raw = text[m.end():end]
        line = text.count("\n", 0, m.start()) + (1 if m.group(0).startswith("\n") else 0) + 1
        first, _, body = raw.partition("\n")
        starred = first.strip().endswith("*")
        if starred:
            first = first.strip("\n *")
        yield _entry(first, body, when, starred, {"file": name, "line": line}, keys, tz)
