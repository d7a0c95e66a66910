"""Text and Markdown folders: one entry per `.txt`/`.md` file (Obsidian vaults, daily-note folders).

A file in the folder that is a jrnl journal (`[2024-03-01 09:00] Title` entry lines, e.g. jrnl's
`~/.local/share/jrnl/journal.txt`, or `default.txt` and `work.txt` of several journals), or one of
jrnl's outputs (Markdown, YAML, XML, display), is read as its entries, each journal under its own source `jrnl:<name>` exactly as
when that file is imported alone (see `importers.jrnl.folder_parts`).

The date comes from YAML front matter (`date:`), else the vault's daily-note format
(`.obsidian/daily-notes.json`, moment.js tokens), else the path (`2025-03-14.md`, `2023-Jan-01.md`,
`2024/06/01.txt`, `2023/January/05.md`), else the file's modification time (with a warning).
Templates (`.obsidian/templates.json` or `Templates/`), Excalidraw drawings, canvases and plugin
files are skipped and counted; empty notes are counted as without text.
Tags come from front matter `tags:` and `#tags` in the text; the title from front matter `title:` or
a first `# heading`. The file's path inside the vault (or the imported folder) is its source id,
so an edited file updates its reflection. A note moved or renamed (its old path gone) with the same
text and date, or the same `id`/`uuid` in its front matter, keeps its reflection, whose path is
updated (see `importers.adopt`); one moved and edited without such an id is a new note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from ..errors import InvalidInputError
from .adopt import NOTES_KIN
from .common import Context, Entry, Rejection, Skipped, decode_bytes, legacy_warning, where_text
from .dates import (
    DateColumn,
    RawDate,
    date_from_moment,
    date_from_path,
    moment_regex,
    settle_dates,
    utc_from_timestamp,
    zone_for,
)
from .walk import walk_files

EXTENSIONS = (".txt", ".md", ".markdown")
# jrnl journal files may have no extension (`journals: {default: ~/journal}`) or `.journal`, and
# jrnl's XML output is `.xml`; such a file is read only when its content is one of them.
JRNL_EXTENSIONS = ("", ".journal", ".xml")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?:[ T_-]+(\d{2})[:.hH-]?(\d{2}))?(?!\d)")
# `#tag` but not `# heading`, `##`, URL fragments (`/#x`), HTML entities (`&#39;`) or `C#`.
_HASHTAG = re.compile(r"(?<![\w#&/])#([^\W\d_][\w/-]*)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
DATE_KEYS = ("date", "created", "created_at", "datetime", "creation_date")
TAG_KEYS = ("tags", "tag", "keywords")


def list_files(root: Path, follow_links: bool = False) -> list[Path]:
    """Journal files under root (sorted, hidden folders such as `.obsidian` and `.git` skipped)."""
    if root.is_file():
        return [root]
    files, _ = walk_files(root, follow_links)
    return [p for p in files if p.suffix.lower() in EXTENSIONS]


def split_front_matter(text: str, name: str) -> tuple[dict, str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    from ..limits import safe_yaml_load

    data = safe_yaml_load(m.group(1) or "", "front matter", timestamps=False) or {}
    if not isinstance(data, dict):
        raise InvalidInputError("front matter is not a YAML mapping")
    return data, text[m.end():]


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


def find_vault(path: Path) -> Path | None:
    """The Obsidian vault holding `path` (the nearest folder up with a `.obsidian` folder), or None."""
    here = (path if path.is_dir() else path.parent).resolve()
    for folder in (here, *here.parents):
        if (folder / ".obsidian").is_dir():
            return folder
    return None


def _json_file(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class VaultInfo:
    """What the vault's settings say about its files: the daily-note folder and moment.js format,
    the templates folder."""

    def __init__(self, vault: Path | None):
        self.daily_folder = ""
        self.daily_rx = None
        self.templates = ["Templates"]
        if vault is None:
            return
        daily = _json_file(vault / ".obsidian" / "daily-notes.json")
        fmt = str(daily.get("format") or "").strip()
        if fmt:
            self.daily_folder = str(daily.get("folder") or "").strip("/")
            self.daily_rx = moment_regex(fmt)
        templates = _json_file(vault / ".obsidian" / "templates.json")
        if templates.get("folder"):
            self.templates.append(str(templates["folder"]).strip("/"))

    def daily_date(self, rel: str) -> datetime | None:
        if self.daily_rx is None:
            return None
        inner = rel
        if self.daily_folder:
            if not rel.startswith(self.daily_folder + "/"):
                return None
            inner = rel[len(self.daily_folder) + 1:]
        return date_from_moment(self.daily_rx, re.sub(r"\.[^./]+$", "", inner))

    def non_journal(self, rel: str) -> str | None:
        """Why a file is not a journal note (template, drawing, canvas), or None."""
        low = rel.lower()
        if any(low.startswith(t.lower() + "/") for t in self.templates if t):
            return "template"
        if low.endswith(".excalidraw.md") or low.endswith(".excalidraw"):
            return "drawing"
        if low.endswith(".canvas"):
            return "canvas"
        return None


def _front_date(value, column: DateColumn, rel: str):
    """The front matter date as a value to store, or a RawDate waiting for the vault's date order."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1_000_001 <= value <= 99_991_231:
        # `date: 20240305`, the compact ISO day YAML reads as a number (and `2024065`, refused as a
        # compact ordinal date with its reason)
        return RawDate(str(value), column, rel)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise InvalidInputError(f"front matter date {value!r} is a number, not a date")
    return RawDate(str(value), column, rel)


# `05.03.2023.md`, `13-03-2023 notes.md`: a file name starting with a day/month-first date, read in
# one order for all names of the import (proved by one name, else --dayfirst/--monthfirst).
_NAME_DMY = re.compile(r"^(\d{1,2}([.-])\d{1,2}\2\d{4})(?![\d.-]*\d)")


def parse_file(path: Path, rel: str, ctx: Context, info: VaultInfo | None = None,
               column: DateColumn | None = None, names: DateColumn | None = None) -> Entry | Skipped:
    where = {"file": rel}
    info = info or VaultInfo(None)
    column = column or DateColumn("front matter", ctx.opt("dayfirst"), ctx.opt("date_format"), "front matter date")
    names = names or DateColumn("file names", ctx.opt("dayfirst"), None, "file name date")
    data = path.read_bytes()
    if not data.strip():
        return Skipped(where, "empty note")
    from .jrnl import encrypted_hint, encrypted_kind, journal_name

    kind = encrypted_kind(data[:4096])
    if kind:  # its ciphertext would otherwise be stored as the note's text
        raise InvalidInputError(f"{rel}: {encrypted_hint(journal_name(path))} (jrnl {kind} encryption)")
    text, enc = decode_bytes(data, rel, ctx.opt("encoding"))
    if enc not in ("utf-8", "utf-8-sig", ctx.opt("encoding")):
        ctx.warn(legacy_warning(rel, enc, text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fm, body = split_front_matter(text, rel)
    if not body.strip():
        # Its date (front matter, else a `05.03.2023` name) still proves the vault's day/month order.
        key = next((k for k in DATE_KEYS if fm.get(k)), None)
        m = _NAME_DMY.match(rel.rsplit("/", 1)[-1])
        proof = (RawDate(str(fm[key]), column, rel) if key and isinstance(fm[key], str)
                 else RawDate(m.group(1), names, rel) if key is None and m else None)
        return Skipped(where, "note without text", proof)
    created = None
    field = "date from the path"
    for key in DATE_KEYS:
        if fm.get(key):
            created = _front_date(fm[key], column, rel)
            field = f"front matter {key!r}"
            break
    if created is None:
        created = info.daily_date(rel) or date_from_path(tuple(rel.split("/")))
    if created is None:
        m = _NAME_DMY.match(rel.rsplit("/", 1)[-1])
        if m:
            created = RawDate(m.group(1), names, rel)
    if created is None:
        default = ctx.default_date()
        if default is not None:
            created = default
            ctx.warn(f"{where_text(where)}: no date in front matter, path or file name; used --default-date {ctx.opt('default_date')}")
        else:
            created = utc_from_timestamp(path.stat().st_mtime)
            ctx.warn(
                f"{where_text(where)}: no date in front matter, path or file name; used the file's modification time "
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
        tags=tags, source_id=rel, metadata=metadata, date_field=field,
        # A front matter time with its own offset was not written in --tz (file times were).
        tz=zone_for(created, ctx.opt("tz")) if field.startswith("front matter") else ctx.opt("tz"),
    )


def read_textdir(path: Path, ctx: Context) -> Iterator[Entry | Rejection | Skipped]:
    """Entries of a folder (or of one file) of text/Markdown notes.

    Inside an Obsidian vault (a `.obsidian` folder here or above) the key of a note is its path
    relative to the vault root, so a note imported alone and the same note imported with its vault
    are one entry; elsewhere it is the path relative to the imported folder.
    """
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or directory")
    vault = find_vault(path)
    follow = bool(ctx.opt("follow_links"))
    if path.is_dir():
        files, outside = walk_files(path, follow)
        for name in outside:
            if name.endswith((" (broken link)", " (symbolic link loop)")):
                # a link that leads nowhere is not one leading outside: say what it is
                name, kind = name[:-1].rsplit(" (", 1)
                ctx.warn(f"{where_text({'file': name})}: {kind}, not followed")
            else:
                ctx.warn(f"{where_text({'file': name})}: symbolic link leading outside {path.name}/ not followed "
                         "(use --follow-links)")
    else:
        files = [path]
    root = vault or (path if path.is_dir() else path.parent)
    root_real = root.resolve()
    info = VaultInfo(vault)
    notes, other, journals = [], 0, []
    from . import jrnl

    for f in files:
        try:
            rel = f.resolve().relative_to(root_real).as_posix() if vault else f.relative_to(root).as_posix()
        except ValueError:  # reached through a followed link: keyed where it was found
            rel = f.relative_to(path if path.is_dir() else path.parent).as_posix()
        if info.non_journal(rel):
            other += 1
        elif f.suffix.lower() in EXTENSIONS + JRNL_EXTENSIONS:
            # A jrnl journal (or one of jrnl's outputs) holds many entries, not one note.
            kind = jrnl.sniff(f)
            if kind:
                journals.append((f, rel, kind))
            elif f.suffix.lower() in EXTENSIONS:
                notes.append((f, rel))
    if vault is not None and path.is_dir() and path.resolve() == vault:
        plugins = vault / ".obsidian" / "plugins"
        if plugins.is_dir():
            other += sum(1 for p in plugins.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if other:
        ctx.warn(f"{other} non-journal file(s) skipped (templates, drawings, canvases, plugin files)")
    ctx.skipped_files = other
    if path.is_dir() and not notes and not journals:
        raise InvalidInputError(f"{path}: no .txt or .md files in this folder")
    ctx.source = f"text:{root_real.name if vault else root.resolve().name}"
    column = DateColumn(f"{path.name}: front matter dates", ctx.opt("dayfirst"), ctx.opt("date_format"),
                        "front matter date")
    names = DateColumn(f"{path.name}: file names", ctx.opt("dayfirst"), None, "file name date")
    base = root_real if vault else root

    def gone(key: str) -> bool:
        # A stored note's path that names no file any more: the note was moved or renamed.
        try:
            return not (base / key).exists()
        except (OSError, ValueError):
            return False

    items = settle_dates(_entries(notes, ctx, info, column, names, gone))
    if journals:
        from itertools import chain

        items = chain(items, jrnl.folder_parts(journals, root, ctx))
    return items


def _entries(notes: list[tuple[Path, str]], ctx: Context, info: VaultInfo,
             column: DateColumn, names: DateColumn, gone=None) -> Iterator[Entry | Rejection | Skipped]:
    for f, rel in notes:
        try:
            item = parse_file(f, rel, ctx, info, column, names)
            if isinstance(item, Entry):
                # notes folders are kin: the same note stored from a folder of another name is
                # held already, or (that folder gone) this one renamed (see `importers.adopt`)
                item.gone, item.kin = gone, NOTES_KIN
            yield item
        except InvalidInputError as exc:
            yield Rejection({"file": rel}, str(exc).removeprefix(f"{rel}: "))
        except OSError as exc:
            yield Rejection({"file": rel}, f"cannot read ({exc.strerror or exc})")
