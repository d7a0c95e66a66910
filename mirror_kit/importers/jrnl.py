"""jrnl (jrnl.sh): its JSON export (`jrnl --format json`), its plain-text journal file (also what
`jrnl --format text` prints), its Markdown, YAML, XML and display outputs (`importers.jrnlmd`), and
jrnl journals found inside a folder of notes (`folder_parts`). jrnl's message boxes saved with its
output are dropped; timestamps are read with the journal's `timeformat` when its jrnl config names
the file.

jrnl has no entry ids; an entry is keyed by its journal (source `jrnl:<name>`, the name jrnl gives
it: see `journal_name`; `journal.txt` is jrnl's `default`, whose exports jrnl names `default.json`)
and its timestamp to the minute (what all forms share), with `#2`, `#3` for entries written in the
same minute. So the JSON export and the text file of the same journal deduplicate against each
other, an edited entry updates its reflection, and two journals (`personal`, `work`) never
overwrite each other. Under one file name too (`journal.txt`, `export.json`): an unrelated entry in
a minute another journal holds takes that minute's next free `#n` key, and an entry already stored
with the same text and time (read from an output saved under another name) is a duplicate; not one
stored under another journal beside a journal file (`Entry.peers`). Lossy outputs (XML, display)
never overwrite what is stored (`Entry.lossy`). The text is
`title` + newline + `body`; `@tags`/`#tags` become tags (lower case, without the symbol).

A folder journal (`YYYY/MM/DD.txt` files, several entries per file) is read file by file. The
timestamps of one file, or of all day files of a folder journal, are read in one day/month order
(proved by a value, by a stamp naming its day file's date, else `dayfirst=` / `date_format=`).
A timestamp of a `timeformat` no shape reads (`[20240301 0900]`) is read with the config's format or
`date_format=`, else refused in one line naming both. Encrypted journals (v2: Fernet text starting
`gAAAAA`; v3: binary starting `JRNLv3`) are refused with the hint to export them with
`jrnl <journal> --format json --file <journal>.json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from ..errors import InvalidInputError
from .common import (
    DAMAGED_UTF8,
    Context,
    Damage,
    Entry,
    Rejection,
    decode_bytes,
    load_entries_json,
    read_bytes,
    undamaged,
)
from .dates import DateColumn

SOURCE = "jrnl"
ENCRYPTED_HINT = ("an encrypted jrnl journal; mirror_kit cannot read it: export it in clear with "
                  "`jrnl <journal> --format json --file <journal>.json` (the file named after the "
                  "journal) and import that file")
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
# jrnl's messages ("3 entries found", "Journal exported to ...") are boxes drawn from a `┏` line to a
# `┗` line; they go to stderr, and end up in the file when a user saved the output with `> out 2>&1`.


def strip_banner(text: str) -> str:
    """`text` without jrnl's whole message boxes before and after what it printed."""
    lines = text.split("\n")

    def first_real(rows: list[str]) -> int:
        return next((i for i, ln in enumerate(rows) if ln.strip()), len(rows))

    changed = True
    while changed:
        changed = False
        i = first_real(lines)
        if i < len(lines) and lines[i].lstrip().startswith("┏"):
            end = next((j for j in range(i + 1, min(len(lines), i + 40)) if lines[j].lstrip().startswith("┗")), None)
            if end is not None:
                lines, changed = lines[end + 1:], True
        back = lines[::-1]
        i = first_real(back)
        if i < len(back) and back[i].lstrip().startswith("┗"):
            top = next((j for j in range(i + 1, min(len(back), i + 40)) if back[j].lstrip().startswith("┏")), None)
            if top is not None:
                lines, changed = back[top + 1:][::-1], True
    return "\n".join(lines)


# strftime shortcuts a jrnl `timeformat` may use that strptime does not read.
_STRFTIME_SHORT = {"%F": "%Y-%m-%d", "%T": "%H:%M:%S", "%R": "%H:%M", "%r": "%I:%M:%S %p",
                   "%D": "%m/%d/%y", "%h": "%b", "%k": "%H", "%l": "%I", "%e": "%d"}


def strptime_format(timeformat: str) -> str:
    """A jrnl `timeformat` (strftime, with glibc's shortcuts and `%-d` flags) as a strptime format."""
    fmt = re.sub(r"%[-_0^#]([a-zA-Z])", r"%\1", timeformat)
    return re.sub(r"%[FTRrDhkle]", lambda m: _STRFTIME_SHORT[m.group(0)], fmt)


def _config_files(path: Path) -> list[Path]:
    import os

    # Resolved first: `jrnl.yaml` beside a journal given by a relative path is still beside it.
    try:
        path = path.resolve()
    except OSError:
        pass
    here = path if path.is_dir() else path.parent
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    found = [here / "jrnl.yaml", here.parent / "jrnl.yaml", Path(xdg) / "jrnl" / "jrnl.yaml",
             Path.home() / ".jrnl_config"]
    return [p for p in dict.fromkeys(found) if p.is_file()]


def _configs(path: Path) -> list[tuple[Path, dict]]:
    """The jrnl configs that may describe `path` (see `config_timeformat`), each read."""
    from ..limits import safe_yaml_load

    out = []
    for cfg in _config_files(path):
        try:
            data = safe_yaml_load(cfg.read_text(encoding="utf-8")[:200_000], cfg.name, timestamps=False)
        except Exception:  # a broken or hostile config is no hint; the journal is read by its shape
            continue
        if isinstance(data, dict) and isinstance(data.get("journals"), dict):
            out.append((cfg.resolve(), data))
    return out


def _config_entry(path: Path) -> tuple[str, dict, dict] | None:
    """(journal name, its spec, the whole config) of the jrnl config entry naming `path`, or None."""
    try:
        real = path.resolve()
    except OSError:
        return None
    for cfg, data in _configs(path):
        beside = cfg.parent in (real.parent, real.parent.parent)
        for name, spec in data["journals"].items():
            jpath = spec.get("journal") if isinstance(spec, dict) else spec
            if not isinstance(jpath, str):
                continue
            target = Path(jpath).expanduser()
            try:
                same = target.resolve() == real
            except OSError:
                same = False
            if same or (beside and target.name == real.name):
                return str(name), spec if isinstance(spec, dict) else {}, data
    return None


def config_timeformat(path: Path) -> str | None:
    """The strptime format of the journal file `path` as its jrnl config writes it, or None.

    The config is `jrnl.yaml` beside the file (or one folder up), jrnl's own
    (`$XDG_CONFIG_HOME/jrnl/jrnl.yaml`) or the old `~/.jrnl_config`; it must name this file as one of
    its journals (same path, or same file name for a config kept beside it). The caller still
    checks the format against the file's first timestamp: a config is a hint, never a guess forced
    on the text.
    """
    found = _config_entry(path)
    if found is None:
        return None
    _, spec, data = found
    fmt = spec.get("timeformat") or data.get("timeformat")
    return strptime_format(fmt) if isinstance(fmt, str) and fmt.strip() else None


def journal_name(path: Path) -> str:
    """jrnl's name of the journal kept in (or exported to) the file or folder `path`: the name its
    jrnl config gives it; for a file the config does not name, the journal whose file has this
    file's name without extension (`journal.json` saved from the journal kept in `journal.txt`),
    else `default` for `journal.*` (jrnl's own default layout), else the file name without
    extension (the folder name of a folder journal). jrnl names its exports after this name
    (`jrnl default --format json --file default.json`), so every form of a journal shares one source."""
    found = _config_entry(path)
    if found is not None:
        return found[0]
    if path.is_dir():
        return path.resolve().name
    for _, data in _configs(path):
        if path.stem in {str(n) for n in data["journals"]}:
            break  # named after a journal already (`default.json`)
        for name, spec in data["journals"].items():
            jpath = spec.get("journal") if isinstance(spec, dict) else spec
            if isinstance(jpath, str) and Path(jpath.rstrip("/")).stem == path.stem:
                return str(name)
    return "default" if path.stem == "journal" else path.stem


def legacy_aliases(path: Path, own: str, stem: str | None = None) -> tuple:
    """The source earlier versions gave the journal in `path` (`jrnl:<file name without extension>`,
    e.g. `jrnl:journal` for jrnl's default `journal.txt`; `jrnl:<folder name>` for a folder journal)
    when it differs from `own` and no journal of a jrnl config beside it bears that name (then it is
    that journal's source, not an old one)."""
    if stem is None:
        stem = path.resolve().name if path.is_dir() else path.stem
    old = f"{SOURCE}:{stem}"
    if old == own:
        return ()
    if any(f"{SOURCE}:{n}" == old for _, data in _configs(path) for n in data["journals"]):
        return ()
    return (old,)


def _aliased(items: Iterator[Entry | Rejection], aliases: tuple) -> Iterator[Entry | Rejection]:
    for item in items:
        if isinstance(item, Entry):
            item.aliases = aliases
        yield item


def output_peers(path: Path, own: str) -> frozenset:
    """For an output of jrnl saved as `path` under source `own`: the other journals of its jrnl
    config when `own` is one of them (`work.json` of the configured `work`), else none (an output
    saved under another name, `export.json`, may be any journal's)."""
    names = {f"{SOURCE}:{n}" for _, data in _configs(path) for n in data["journals"]}
    return frozenset(names - {own}) if own in names else frozenset()


def peer_sources(path: Path, own: str) -> frozenset:
    """Sources of the other jrnl journals beside the journal file `path` (its config's journals and
    the jrnl journal files in its folder), without `own`."""
    names = {str(n) for _, data in _configs(path) for n in data["journals"]}
    try:
        siblings = sorted(path.parent.iterdir())[:500]  # a notes folder may be huge; journals are few
    except OSError:
        siblings = []
    for sib in siblings:
        if sib == path or sib.suffix.lower() not in (".txt", ".journal", "") or not sib.is_file():
            continue
        try:
            with sib.open("rb") as fh:
                head = fh.read(4096).decode("utf-8", "replace")
        except OSError:
            continue
        if looks_like_text_journal(head):
            names.add(journal_name(sib))
    return frozenset(f"{SOURCE}:{n}" for n in names) - {own}


def encrypted_hint(name: str = "default") -> str:
    """Why an encrypted journal is refused, and the export command whose file keeps its source."""
    return ("an encrypted jrnl journal; mirror_kit cannot read it: export it in clear with "
            f"`jrnl {name} --format json --file {name}.json` (the file named after the journal) "
            "and import that file")


def _parse_stamp(blob: str, fmt: str | None = None) -> datetime | None:
    """A jrnl entry timestamp (any `timeformat`: it always has a date and a time; `fmt`: the
    strptime format the journal's config gives); `[1] ` or `[see]` at the start of a body line is
    not one."""
    if fmt:
        try:
            return datetime.strptime(blob.strip(), fmt)
        except ValueError:
            return None
    if not _stamp_shaped(blob):
        return None
    from dateutil import parser as du

    try:
        return du.parse(blob)
    except (ValueError, OverflowError):
        return None


def _custom_shaped(blob: str) -> bool:
    """A jrnl timestamp written with a `timeformat` that has no `HH:MM` (`20240301 0900`): ten or more
    digits (a date alone has at most eight) in a short bracket."""
    from .dates import month_number

    if len(blob) > 40 or _stamp_shaped(blob) or sum(c.isdigit() for c in blob) < 10:
        return False
    if re.fullmatch(r"[\w .,:/\-]+", blob) is None:
        return False
    # Words only of a date (`Mar`, `AM`, `T`), and a year (`2024`) or a `yymmdd` day in it: not a
    # reference number or a phone number in brackets.
    if not all(w.upper() in ("AM", "PM", "T") or month_number(w) for w in re.findall(r"[A-Za-z]+", blob)):
        return False
    return re.search(r"(?<!\d)(?:1[89]|2\d)\d{2}|(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])", blob) is not None


def _stamp_shaped(blob: str) -> bool:
    """A time and a year or day/month numbers: what every jrnl timestamp has, read or not."""
    return bool(re.search(r"\d{1,2}:\d{2}", blob) and re.search(r"\d{4}|\d{1,2}[/.-]\d{1,2}", blob))


def looks_like_text_journal(text: str, fmt: str | None = None) -> bool:
    """Whether `text` starts (after jrnl's message boxes) with a `[timestamp] Title` line; a
    timestamp of that shape that is not a real date (`[2024-02-30 09:00]`) still makes it one,
    refused then by line instead of read as a note."""
    first = next((ln for ln in strip_banner(text).split("\n") if ln.strip()), "")
    m = re.match(r"^\[([^\]]+)\] ", first)
    return bool(m and (_parse_stamp(m.group(1), fmt) or (fmt is None and (
        (_stamp_shaped(m.group(1)) and re.search(r"\d{4}", m.group(1))) or _custom_shaped(m.group(1))))))


def unread_format_error(text: str, name: str, fmt: str | None, given: str | None) -> InvalidInputError | None:
    """The one-line refusal for a jrnl journal whose first `[timestamp]` is of jrnl's shape but read
    neither by its shape nor by `fmt` (its config's or --date-format's), else None."""
    lines = strip_banner(text).split("\n")
    i, first = next(((i, ln) for i, ln in enumerate(lines, 1) if ln.strip()), (1, ""))
    m = re.match(r"^\[([^\]]+)\] ", first)
    if not m or _parse_stamp(m.group(1), fmt) is not None or not _custom_shaped(m.group(1)):
        return None
    how = (f"it does not match --date-format {given!r}" if given else
           "give jrnl's timeformat with --date-format (e.g. '%Y%m%d %H%M'), or keep the journal's "
           "jrnl.yaml beside it")
    return InvalidInputError(f"{name}: line {i}: jrnl timestamp {m.group(1)!r} has no shape that can be "
                             f"read alone; {how}")


def reading_format(path: Path, text: str, ctx: Context) -> str | None:
    """The strptime format for the jrnl journal or output `path` (starting with `text`): its jrnl
    config's `timeformat`, else --date-format, whichever reads its first timestamp; else None."""
    fmt = journal_format(path, text)
    if fmt:
        return fmt
    given = ctx.opt("date_format")
    if given:
        given = strptime_format(str(given))
        if looks_like_text_journal(text, given):
            return given
        from . import jrnlmd

        if jrnlmd.looks_like_markdown_export(text, given) or jrnlmd.looks_like_pretty_output(text, given):
            return given
    return None


def journal_format(path: Path, text: str) -> str | None:
    """The strptime format to read the jrnl journal `path` (whose text starts with `text`) with:
    its config's `timeformat` when one names the file and it reads the first timestamp, else None
    (timestamps then read by their shape)."""
    fmt = config_timeformat(path)
    return fmt if fmt and looks_like_text_journal(text, fmt) else None


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
        ctx.source = f"{SOURCE}:{journal_name(path)}"
        return _aliased(_folder_entries(path, days, ctx), legacy_aliases(path, ctx.source))
    jname = journal_name(path)
    data = read_bytes(path)
    kind = encrypted_kind(data[:4096])
    if kind:
        raise InvalidInputError(f"{name}: {encrypted_hint(jname)} (jrnl {kind} encryption)")
    try:
        # a damaged byte costs the entry holding it (the skip unit of a journal), not the file
        text, enc = decode_bytes(data, name, ctx.opt("encoding"), damaged=True)
    except InvalidInputError as exc:
        if "binary" not in str(exc):
            raise
        raise InvalidInputError(f"{exc} (if this is {encrypted_hint(jname)})") from exc
    items = _read_decoded(path, name, jname, text, ctx)  # eager: whole-file errors and ctx.source now
    return undamaged(items, Damage(data)) if enc == DAMAGED_UTF8 else items


def _read_decoded(path: Path, name: str, jname: str, text: str, ctx: Context) -> Iterator[Entry | Rejection]:
    ctx.source = f"{SOURCE}:{jname}"
    aliases = legacy_aliases(path, ctx.source)
    text = strip_banner(text)
    if text.lstrip().startswith("{"):
        return _aliased(_marked(_from_json(text, name, ctx), output_peers(path, ctx.source)), aliases)
    fmt = reading_format(path, text, ctx)
    if looks_like_text_journal(text, fmt):
        err = unread_format_error(text, name, fmt, ctx.opt("date_format"))
        if err:
            raise err
        return _aliased(_marked(_from_text(text, name, ctx, fmt=fmt), peer_sources(path, ctx.source)), aliases)
    kind = output_kind(text)
    if kind:
        return _aliased(_marked(read_output(kind, text, name, ctx, fmt), output_peers(path, ctx.source)), aliases)
    raise InvalidInputError(
        f"{name}: not a jrnl JSON export or jrnl journal file (expected '{{\"entries\": ...}}' "
        "or lines like '[2024-03-01 09:00:00 AM] Title.')"
    )


def _marked(items: Iterator[Entry | Rejection], peers: frozenset) -> Iterator[Entry | Rejection]:
    """`items` with the other journals' sources set on each entry (see `Entry.peers`)."""
    for item in items:
        if isinstance(item, Entry):
            item.peers = peers
        yield item


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
    texts = []
    for f in days:
        rel = f.relative_to(root).as_posix()
        text, _ = decode_bytes(read_bytes(f), rel, ctx.opt("encoding"))
        texts.append((rel, text))
    fmt = reading_format(root, texts[0][1], ctx) if texts else None
    column = DateColumn(f"{root.name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format") or fmt,
                        "timestamp")
    for rel, text in texts:
        _, month, day = (int(p) for p in rel[-len("YYYY/MM/DD.txt"):-len(".txt")].split("/"))
        for m in _DATE_BLOB.finditer(text):
            if _parse_stamp(m.group(1), fmt) is not None:
                place = f"{rel}: line {_line_of(text, m)}"
                column.prove_by_day(m.group(1), day, month, place)
                column.observe(m.group(1), place)
    keys = _Keys()
    for rel, text in texts:
        yield from _from_text(text, rel, ctx, keys, column, fmt)


def _from_text(text: str, name: str, ctx: Context, keys: _Keys | None = None,
               column: DateColumn | None = None, fmt: str | None = None) -> Iterator[Entry | Rejection]:
    """Entries of one jrnl text file; its timestamps share one day/month order (with the other
    files of a folder journal when `column` is given). `fmt`: the strptime format of its
    timestamps from its jrnl config (None: read by their shape)."""
    text = strip_banner(text.replace("\r\n", "\n"))
    found = [m for m in _DATE_BLOB.finditer(text) if _parse_stamp(m.group(1), fmt) is not None]
    where = f"{name}: " if column is not None else ""  # a folder's column is named after the folder
    column = column or DateColumn(f"{name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format") or fmt,
                                  "timestamp")
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
        first = next(ln for ln in head.split("\n") if ln.strip())
        m = re.match(r"^\[([^\]]+)\] ", first)
        if m and _stamp_shaped(m.group(1)):  # the first entry's timestamp is not a real date
            from .dates import parse_value

            try:
                parse_value(m.group(1))
                reason = f"timestamp {m.group(1)!r} cannot be read"
            except InvalidInputError as exc:
                reason = f"timestamp: {exc}"
            yield Rejection({"file": name, "line": head.split("\n").index(first) + 1}, reason)
        else:
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


# -- jrnl journals inside a folder of notes -----------------------------------------------------
_DAY_FILE = re.compile(r"^(?:(.+)/)?\d{4}/\d{2}/\d{2}\.txt$")
# jrnl's one-file-per-entry export (`jrnl --format text --file folder/`): `2024-03-01_title.txt`
_EXPORT_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}_[^/]*\.(?:txt|md)$")


def sniff(path: Path) -> str | None:
    """'text' when the file is a jrnl journal (or jrnl's text output), else which of jrnl's other
    outputs it is (`output_kind`), else None; read from the file's first bytes. Encrypted journals
    are None (the notes reader refuses them with the way to export them)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError:
        return None
    if not head.strip() or encrypted_kind(head) or b"\x00" in head:
        return None
    text = strip_banner(head.decode("utf-8", "replace").lstrip("\ufeff").replace("\r\n", "\n"))
    start = text.lstrip()
    if start.startswith("["):
        if looks_like_text_journal(text) or looks_like_text_journal(text, journal_format(path, text)):
            return "text"
        return None
    return output_kind(text)


# jrnl's outputs that cannot carry a whole entry (see `Entry.lossy`).
LOSSY_KINDS = ("xml", "pretty")


def output_kind(text: str) -> str | None:
    """Which of jrnl's outputs `text` is (without jrnl's message boxes): 'markdown' (`--format md`),
    'yaml' (a file of `--format yaml`), 'xml' (`--format xml`), 'pretty' (its display output,
    `jrnl > saved.txt`), else None. The journal format itself and JSON are told apart elsewhere."""
    from . import jrnlmd

    start = text.lstrip()
    if start.startswith("#"):
        return "markdown" if jrnlmd.looks_like_markdown_export(text) else None
    if start.startswith("---"):
        return "yaml" if jrnlmd.looks_like_yaml_export(text) else None
    if start.startswith("<"):
        return "xml" if jrnlmd.looks_like_xml_output(text) else None
    return "pretty" if jrnlmd.looks_like_pretty_output(text) else None


def read_output(kind: str, text: str, name: str, ctx: Context, fmt: str | None = None, keys: _Keys | None = None,
                column: DateColumn | None = None) -> Iterator[Entry | Rejection]:
    """Entries of one of jrnl's outputs (`kind` from `output_kind`)."""
    from . import jrnlmd

    if kind == "xml":
        return jrnlmd.read_xml_output(text, name, ctx, keys)
    reader = {"markdown": jrnlmd.read_markdown_export, "yaml": jrnlmd.read_yaml_export,
              "pretty": jrnlmd.read_pretty_output}[kind]
    return reader(text, name, ctx, fmt, keys, column)


def folder_parts(found: list[tuple[Path, str, str]], root: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    """Entries of the jrnl journals found in a notes folder: (path, path relative to the folder,
    kind from `sniff`) each. Each journal keeps its own source `jrnl:<name>` (as when imported
    alone): a journal file's name without extension, the folder of a folder journal
    (`work/2024/06/01.txt`) or of a one-file-per-entry export. A journal that cannot be read is one
    Rejection naming its file and the reason; the others are still read."""
    groups: dict[tuple[str, str], list[tuple[Path, str, str]]] = {}
    # The forms that lose something (XML, display output) last: an entry of the same journal read
    # from a full form first is then held, and the lossy copy is a duplicate of it.
    for f, rel, kind in sorted(found, key=lambda x: x[2] in LOSSY_KINDS):
        day = _DAY_FILE.match(rel) if kind == "text" else None
        if day:
            key = ("days", day.group(1) or "")
        elif _EXPORT_FILE.match(rel.rsplit("/", 1)[-1]):
            key = ("files", rel.rpartition("/")[0])
        else:
            key = ("file", rel)
        groups.setdefault(key, []).append((f, rel, kind))
    sources = {}
    for (how, where), members in groups.items():
        if how == "files":
            name = Path(where).name or root.resolve().name
        else:
            name = journal_name(members[0][0] if how == "file" else (root / where if where else root))
        sources[(how, where)] = f"{SOURCE}:{name}"
    # Journals kept as files (not outputs saved from one) are different journals from each other.
    journals = {sources[k] for k, m in groups.items() if k[0] != "files" and m[0][2] == "text"}
    for (how, where), members in groups.items():
        source = sources[(how, where)]
        peers = output_peers(members[0][0], source)
        if how != "files" and members[0][2] == "text":
            peers = (peer_sources(members[0][0], source) | journals) - {source}
        aliases = (legacy_aliases(members[0][0], source) if how == "file" else
                   legacy_aliases(root / where if where else root, source) if how == "days" else ())
        # An old name that is another journal's source here (`journal.txt` beside `default.txt`) is not an alias.
        aliases = tuple(a for a in aliases if a not in journals and a not in sources.values())
        try:
            for item in _group_entries(how, where, members, root, ctx):
                if isinstance(item, Entry):
                    item.source = source
                    item.peers = peers
                    item.aliases = aliases
                yield item
        except InvalidInputError as exc:
            first = members[0][1]
            yield Rejection({"file": first}, str(exc).removeprefix(f"{first}: "))
        except OSError as exc:
            yield Rejection({"file": members[0][1]}, f"cannot read ({exc.strerror or exc})")


def _group_entries(how: str, where: str, members: list[tuple[Path, str, str]], root: Path,
                   ctx: Context) -> Iterator[Entry | Rejection]:
    if how == "days":
        jroot = root / where if where else root
        for item in _folder_entries(jroot, [f for f, _, _ in members], ctx):
            if where:  # named from the imported folder, as the notes beside it are
                item.where = {**item.where, "file": f"{where}/{item.where.get('file')}"}
            yield item
        return
    keys = _Keys()
    column = None
    if how == "files":
        label = f"{where or root.name}: timestamps"
        column = DateColumn(label, ctx.opt("dayfirst"), ctx.opt("date_format"), "timestamp")
    for f, rel, kind in members:
        text, _ = decode_bytes(read_bytes(f), rel, ctx.opt("encoding"))
        text = strip_banner(text.replace("\r\n", "\n"))
        fmt = reading_format(f, text, ctx)
        if kind == "text":
            err = unread_format_error(text, rel, fmt, ctx.opt("date_format"))
            if err:
                raise err
            yield from _from_text(text, rel, ctx, keys, column, fmt)
        else:
            yield from read_output(kind, text, rel, ctx, fmt, keys, column)
