"""jrnl (jrnl.sh): its JSON export (`jrnl --format json`) and its plain-text journal file.

jrnl has no entry ids; an entry is keyed by its journal (the file name without extension, or the
folder name of a folder journal: source `jrnl:<name>`) and its timestamp to the minute (what both
forms share), with `#2`, `#3` for entries written in the same minute. So the JSON export and the
text file of the same journal deduplicate against each other, an edited entry updates its
reflection, and two journals (`personal`, `work`) never overwrite each other. Under one file name
too (`journal.txt`, `export.json`): an unrelated entry in a minute another journal holds takes that
minute's next free `#n` key, and an entry already stored with the same text and time (read from the
other form under another name) is a duplicate. The text is
`title` + newline + `body`; `@tags`/`#tags` become tags (lower case, without the symbol).

A folder journal (`YYYY/MM/DD.txt` files, several entries per file) is read file by file. The
timestamps of one file, or of all day files of a folder journal, are read in one day/month order
(proved by a value, by a stamp naming its day file's date, else `dayfirst=` / `date_format=`). Encrypted journals (v2: Fernet text starting `gAAAAA`; v3: binary starting
`JRNLv3`) are refused with the hint to export them with `jrnl --format json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from ..errors import InvalidInputError
from .common import Context, Entry, Rejection, decode_bytes, load_entries_json, read_bytes
from .dates import DateColumn

SOURCE = "jrnl"
ENCRYPTED_HINT = ("an encrypted jrnl journal; mirror_kit cannot read it: export it in clear with "
                  "`jrnl <journal> --format json --file export.json` and import that file")
_FOLDER_FILE = re.compile(r"^\d{4}/\d{2}/\d{2}\.txt$")


def encrypted_kind(head: bytes) -> str | None:
    """'v2' or 'v3' when the bytes start like an encrypted jrnl journal, else None."""
    if head.startswith(b"JRNLv"):
        return "v3"
    if head.lstrip().startswith(b"gAAAAA") and re.fullmatch(rb"[A-Za-z0-9_=\-\s]+", head[:4096]):
        return "v2"
    return None


def folder_journal_files(path: Path) -> list[Path]:
    """The day files of a jrnl folder journal (`YYYY/MM/DD.txt`), or [] when `path` is not one."""
    if not path.is_dir():
        return []
    from .walk import walk_files

    files, _ = walk_files(path)
    days = [f for f in files if _FOLDER_FILE.match(f.relative_to(path).as_posix())]
    if not days or len(days) != len([f for f in files if f.suffix.lower() in (".txt", ".md")]):
        return []
    try:
        head = days[0].read_bytes()[:4096].decode("utf-8", "replace")
    except OSError:
        return []
    return days if looks_like_text_journal(head) else []
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
    """One jrnl entry (seconds dropped: the key is the minute both jrnl forms share)."""
    title, body = title.strip(), body.strip("\n").rstrip()
    content = title + ("\n" + body if body else "")
    when = when.replace(second=0, microsecond=0)
    return Entry(
        content=content, created_at=when, where=where, title=title or None, tags=_tags(content),
        source_id=keys(when), tz=tz, metadata={"starred": bool(starred)}, shared_key=True,
        date_field="timestamp",
    )


def read_jrnl(path: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    """Entries of a jrnl JSON export or plain-text journal file (told apart by content)."""
    name = path.name
    if path.is_dir():
        days = folder_journal_files(path)
        if not days:
            raise InvalidInputError(f"{path}: not a jrnl folder journal (expected YYYY/MM/DD.txt day files)")
        ctx.source = f"{SOURCE}:{path.resolve().name}"
        return _folder_entries(path, days, ctx)
    data = read_bytes(path)
    kind = encrypted_kind(data[:4096])
    if kind:
        raise InvalidInputError(f"{name}: {ENCRYPTED_HINT} (jrnl {kind} encryption)")
    try:
        text, _ = decode_bytes(data, name, ctx.opt("encoding"))
    except InvalidInputError as exc:
        if "binary" not in str(exc):
            raise
        raise InvalidInputError(f"{exc} (if this is {ENCRYPTED_HINT})") from exc
    ctx.source = f"{SOURCE}:{path.stem}"
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


def _line_of(text: str, m: re.Match) -> int:
    """The line of a `[date] title` match (its pattern starts with the newline before the line)."""
    return text.count("\n", 0, m.start()) + (1 if m.group(0).startswith("\n") else 0) + 1


def _folder_entries(root: Path, days: list[Path], ctx: Context) -> Iterator[Entry | Rejection]:
    # One jrnl config wrote every day file: their timestamps share one day/month order, proved by
    # any stamp of any file, or by a stamp naming its file's `YYYY/MM/DD` day.
    column = DateColumn(f"{root.name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format"), "timestamp")
    texts = []
    for f in days:
        rel = f.relative_to(root).as_posix()
        text, _ = decode_bytes(read_bytes(f), rel, ctx.opt("encoding"))
        texts.append((rel, text))
        _, month, day = (int(p) for p in rel[:-len(".txt")].split("/"))
        for m in _DATE_BLOB.finditer(text):
            if _parse_stamp(m.group(1)) is not None:
                place = f"{rel}: line {_line_of(text, m)}"
                column.prove_by_day(m.group(1), day, month, place)
                column.observe(m.group(1), place)
    keys = _Keys()
    for rel, text in texts:
        yield from _from_text(text, rel, ctx, keys, column)


def _from_text(text: str, name: str, ctx: Context, keys: _Keys | None = None,
               column: DateColumn | None = None) -> Iterator[Entry | Rejection]:
    """Entries of one jrnl text file; its timestamps share one day/month order (with the other
    files of a folder journal when `column` is given)."""
    text = text.replace("\r\n", "\n")
    found = [m for m in _DATE_BLOB.finditer(text) if _parse_stamp(m.group(1)) is not None]
    where = f"{name}: " if column is not None else ""  # a folder's column is named after the folder
    column = column or DateColumn(f"{name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format"), "timestamp")
    undecided = None
    for m in found:
        line = _line_of(text, m)
        if not column.observe(m.group(1), f"{where}line {line}") and undecided is None:
            undecided = (m.group(1), line)
    if undecided and column.order is None:
        raise column.unresolved(len(found), f"{where}line {undecided[1]} ({undecided[0]!r})")
    starts: list = []
    for m in found:
        try:
            starts.append((m, column.parse(m.group(1))))
        except InvalidInputError as exc:
            starts.append((m, exc))
    return _text_entries(text, starts, name, ctx.opt("tz"), keys or _Keys())


def _text_entries(text: str, starts: list, name: str, tz, keys: _Keys) -> Iterator[Entry | Rejection]:
    head = text[: starts[0][0].start()] if starts else text
    if head.strip():
        yield Rejection({"file": name, "line": 1}, "text before the first '[date] title' line")
    for i, (m, when) in enumerate(starts):
        end = starts[i + 1][0].start() if i + 1 < len(starts) else len(text)
        raw = text[m.end():end]
        line = text.count("\n", 0, m.start()) + (1 if m.group(0).startswith("\n") else 0) + 1
        if isinstance(when, InvalidInputError):
            yield Rejection({"file": name, "line": line}, str(when))
            continue
        first, _, body = raw.partition("\n")
        starred = first.strip().endswith("*")
        if starred:
            first = first.strip("\n *")
        yield _entry(first, body, when, starred, {"file": name, "line": line}, keys, tz)
