"""Text and Markdown folders: one entry per `.txt`/`.md` file (Obsidian vaults, daily-note folders).

The date comes from YAML front matter (`date:`), else the file name (`2025-03-14.md`,
`2025-03-14 evening.md`, `20250314.md`), else the file's modification time (with a warning).
Tags come from front matter `tags:` and `#tags` in the text; the title from front matter `title:` or
a first `# heading`. The file's path inside the folder is its source id, so an edited file updates
its reflection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from ..errors import InvalidInputError
from .common import Context, Entry, Rejection, decode_bytes

EXTENSIONS = (".txt", ".md", ".markdown")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?:[ T_-]+(\d{2})[:.hH-]?(\d{2}))?(?!\d)")
# `#tag` but not `# heading`, `##`, URL fragments (`/#x`), HTML entities (`&#39;`) or `C#`.
_HASHTAG = re.compile(r"(?<![\w#&/])#([^\W\d_][\w/-]*)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
DATE_KEYS = ("date", "created", "created_at", "datetime", "creation_date")
TAG_KEYS = ("tags", "tag", "keywords")


def list_files(root: Path) -> list[Path]:
    """Journal files under root (sorted, hidden folders such as `.obsidian` and `.git` skipped)."""
    if root.is_file():
        return [root]
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in EXTENSIONS:
            out.append(p)
    return out


def split_front_matter(text: str, name: str) -> tuple[dict, str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    from ..limits import safe_yaml_load

    data = safe_yaml_load(m.group(1) or "", "front matter") or {}
    if not isinstance(data, dict):
        raise InvalidInputError("front matter is not a YAML mapping")
    return data, text[m.end():]


def date_from_name(stem: str) -> datetime | None:
    m = _NAME_DATE.search(stem)
    if not m:
        return None
    y, mo, d, hh, mm = m.groups()
    try:
        if hh is not None and int(hh) < 24 and int(mm) < 60:
            return datetime(int(y), int(mo), int(d), int(hh), int(mm))
        return datetime(int(y), int(mo), int(d), 12, 0)
    except ValueError:
        return None


def hashtags(text: str) -> list[str]:
    return [t.rstrip("/-") for t in _HASHTAG.findall(_FENCE.sub("", text))]


def _front_tags(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip().lstrip("#") for t in re.split(r"[,\s]+", value) if t.strip()]
    if isinstance(value, list | tuple):
        return [str(t).strip().lstrip("#") for t in value if str(t).strip()]
    return [str(value)]


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def parse_file(path: Path, rel: str, ctx: Context) -> Entry:
    where = {"file": rel}
    data = path.read_bytes()
    if not data:
        raise InvalidInputError("file is empty")
    text, enc = decode_bytes(data, rel, ctx.opt("encoding"))
    if enc not in ("utf-8", "utf-8-sig", ctx.opt("encoding")):
        ctx.warn(f"{rel}: not UTF-8, read as {enc}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fm, body = split_front_matter(text, rel)
    created = None
    for key in DATE_KEYS:
        if fm.get(key):
            created = fm[key]
            break
    if isinstance(created, date | datetime):
        pass
    elif created is not None:
        created = str(created)
    if created is None:
        created = date_from_name(path.stem)
    if created is None:
        if ctx.opt("default_date"):
            created = ctx.opt("default_date")
            ctx.warn(f"{rel}: no date in front matter or file name; used --default-date {created}")
        else:
            created = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(microsecond=0)
            ctx.warn(
                f"{rel}: no date in front matter or file name; used the file's modification time "
                f"{created.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            )
    title = fm.get("title")
    if not title:
        first = next((ln for ln in body.split("\n") if ln.strip()), "")
        m = re.match(r"^#\s+(.+?)\s*#*\s*$", first)
        title = m.group(1) if m else None
    tags = _front_tags(next((fm[k] for k in TAG_KEYS if k in fm), None)) + hashtags(body)
    meta = {k: _jsonable(v) for k, v in fm.items() if k not in DATE_KEYS + TAG_KEYS + ("title",)}
    metadata = {"file": rel}
    if meta:
        metadata["front_matter"] = meta
    return Entry(
        content=body.strip("\n"), created_at=created, where=where, title=str(title) if title else None,
        tags=tags, source_id=rel, tz=ctx.opt("tz"), metadata=metadata,
    )


def read_textdir(path: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    """Entries of a folder (or of one file) of text/Markdown notes."""
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or directory")
    files = list_files(path)
    if path.is_dir() and not files:
        raise InvalidInputError(f"{path}: no .txt or .md files in this folder")
    root = path if path.is_dir() else path.parent
    ctx.source = f"text:{root.resolve().name}"
    return _entries(files, root, ctx)


def _entries(files: list[Path], root: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    for f in files:
        rel = f.relative_to(root).as_posix()
        try:
            yield parse_file(f, rel, ctx)
        except InvalidInputError as exc:
            yield Rejection({"file": rel}, str(exc).removeprefix(f"{rel}: "))

