"""jrnl's Markdown output (`jrnl --format markdown` / `--format md`): one entry per `###` heading;
and the files of its YAML output (`jrnl --format yaml --file folder/`), one entry each.

jrnl 4 prints a journal as `# 2024` (year) and `## March` (month) headings, then one
`### <timestamp> <title>` heading per entry, its body after a blank line, and a line holding a single
space after each entry; headings inside a body are pushed three levels down (`# Plan` is printed as
`#### Plan`), which is undone here. Exported one file per entry (`--file folder/`), an entry is
`# <timestamp> <title>` with body headings one level down. The timestamp is written with the
journal's `timeformat`: read with it when its jrnl config is found (see `jrnl.config_timeformat`),
else it is the shortest run of words at the start of the heading that reads as a full date with a
time (plus a following AM/PM). Entries are keyed like the journal file's (minute of the timestamp),
so this output and the journal it came from deduplicate against each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from ..errors import InvalidInputError
from .common import Context, Entry, Rejection
from .dates import _NUMERIC, DateColumn, month_number

_YEAR = re.compile(r"^# (\d{4})[ \t]*$")
_MONTH = re.compile(r"^## (\S+)[ \t]*$")
_ENTRY = re.compile(r"^### (.+)$")
_SINGLE = re.compile(r"^# (.+)$")
_TIME = re.compile(r"\d{1,2}:\d{2}")
_AMPM = re.compile(r"^(?:[AaPp]\.?[Mm]\.?)$")


def _timestamp(column: DateColumn, stamp: str) -> datetime:
    """A heading's timestamp in the column's order; a bare day is its noon, as everywhere."""
    when = column.parse(stamp)
    return when if isinstance(when, datetime) else datetime(when.year, when.month, when.day, 12, 0)


def split_heading(heading: str, fmt: str | None = None) -> tuple[str, str] | None:
    """(timestamp text, title) of an entry heading, or None when it starts with no timestamp."""
    words = heading.split(" ")
    for k in range(1, min(len(words), 8) + 1):
        stamp = " ".join(words[:k])
        if fmt:
            try:
                datetime.strptime(stamp, fmt)
            except ValueError:
                continue
            return stamp, " ".join(words[k:])
        if not _TIME.search(stamp) or not _full_date(stamp):
            continue
        if k < len(words) and _AMPM.match(words[k]) and _full_date(f"{stamp} {words[k]}"):
            k += 1
        return " ".join(words[:k]), " ".join(words[k:])
    if fmt or not re.search(r"\d", words[0]):
        return None
    # Shaped like a timestamp but not a real date (`02/30/2024 10:00`): still the entry's heading,
    # so the entry is refused by line instead of the file read as one note.
    for k, word in enumerate(words[:5], 1):
        if re.fullmatch(r"\d{1,2}:\d{2}(?::\d{2})?", word):
            if k < len(words) and _AMPM.match(words[k]):
                k += 1
            stamp = " ".join(words[:k])
            return (stamp, " ".join(words[k:])) if re.search(r"\d{4}", stamp) else None
    return None


def _custom_heading(heading: str) -> bool:
    """Whether a heading starts with a timestamp of jrnl's shape that no shape reads (see
    `jrnl._custom_shaped`): ten or more digits in its first words before any letter."""
    from .jrnl import _custom_shaped

    head = re.match(r"^[\d .,:/\-]+", heading)
    return bool(head and _custom_shaped(head.group(0).strip()))


def _unread_heading(name: str, line: int, heading: str, ctx: Context) -> str:
    """The one-line refusal of an output whose timestamps no shape and no given format read."""
    given = ctx.opt("date_format")
    how = (f"it does not match --date-format {given!r}" if given else
           "give jrnl's timeformat with --date-format (e.g. '%Y%m%d %H%M'), or keep the journal's "
           "jrnl.yaml beside it")
    return f"{name}: line {line}: jrnl timestamp heading {heading!r} has no shape that can be read alone; {how}"


def _full_date(text: str) -> bool:
    """Whether dateutil reads `text` whole with a year, month and day in it (none taken from a default)."""
    from dateutil import parser as du

    try:
        a = du.parse(text, default=datetime(2000, 1, 1))
        b = du.parse(text, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        return False
    return (a.year, a.month, a.day) == (b.year, b.month, b.day)


def looks_like_markdown_export(text: str, fmt: str | None = None) -> bool:
    """Whether `text` is jrnl's Markdown output: a `# YYYY` heading, then `## Month`, then an entry
    heading starting with a timestamp; or one entry exported alone (`# <timestamp> <title>`)."""
    lines = [ln for ln in text.split("\n")[:50] if ln.strip()]
    if len(lines) >= 3 and _YEAR.match(lines[0]) and _MONTH.match(lines[1]):
        m = _ENTRY.match(lines[2])
        # a heading with a timestamp of a `timeformat` read by no shape (`20240301 0900`) is still
        # jrnl's, refused with the way to give its format instead of read as one note
        return bool(m and (split_heading(m.group(1), fmt) or (fmt is None and _custom_heading(m.group(1)))))
    m = _SINGLE.match(lines[0]) if lines else None
    return bool(m and not _YEAR.match(lines[0]) and split_heading(m.group(1), fmt))


def read_markdown_export(text: str, name: str, ctx: Context, fmt: str | None = None,
                         keys=None, column: DateColumn | None = None) -> Iterator[Entry | Rejection]:
    """Entries of jrnl Markdown output (`text` without jrnl's message boxes); `keys`/`column` are
    shared with the other files of a one-file-per-entry export. Raises InvalidInputError (one line)
    when the day/month order of its timestamps cannot be told."""
    from .jrnl import _entry, _Keys

    lines = text.replace("\r\n", "\n").split("\n")
    single = not any(_YEAR.match(ln) for ln in lines[:20])
    heading_rx = _SINGLE if single else _ENTRY
    demote = 1 if single else 3
    column = column or DateColumn(f"{name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format") or fmt,
                                  "timestamp")
    found: list[tuple[int, str, str, list[str]]] = []  # (line, stamp, title, body lines)
    month = None
    for i, line in enumerate(lines, 1):
        if not single and _YEAR.match(line):
            continue
        mm = _MONTH.match(line) if not single else None
        if mm:
            month = month_number(mm.group(1))
            continue
        m = heading_rx.match(line)
        parts = split_heading(m.group(1), fmt) if m else None
        if parts:
            found.append((i, parts[0], parts[1], []))
            place = f"line {i}"
            if month:
                _prove_by_month(column, parts[0], month, place)
            column.observe(parts[0], place)
        elif found:
            found[-1][3].append(re.sub(rf"^#{{{demote}}}(#+ )", r"\1", line))
    if not found:
        first = next((ln for ln in lines if _ENTRY.match(ln) or (single and _SINGLE.match(ln))), "")
        if first and _custom_heading(first.lstrip("# ")):
            raise InvalidInputError(_unread_heading(name, lines.index(first) + 1, first, ctx))
        raise InvalidInputError(f"{name}: no jrnl entry heading ('### 2024-03-01 10:00 Title') found")
    if column.order is None and not column.given:
        undecided = next((f for f in found if not column.observe(f[1], f"line {f[0]}")), None)
        if undecided:
            raise column.unresolved(len(found), f"line {undecided[0]} ({undecided[1]!r})")
    keys = keys or _Keys()
    tz = ctx.opt("tz")
    for line, stamp, title, body in found:
        where = {"file": name, "line": line}
        while body and not body[-1].strip():  # the single-space line jrnl ends each entry with
            body.pop()
        if body and not body[0].strip():  # the blank line between heading and body
            body.pop(0)
        try:
            when = _timestamp(column, stamp)
        except InvalidInputError as exc:
            yield Rejection(where, f"timestamp: {exc}")
            continue
        entry = _entry(title, "\n".join(body), when, False, where, keys, tz)
        entry.unknown = ("starred",)  # jrnl's Markdown does not print the star
        yield entry


def _prove_by_month(column: DateColumn, stamp: str, month: int, place: str) -> None:
    """A `## March` heading above `03/01/2024 10:00` says which field of the timestamp is the month."""
    m = _NUMERIC.match(stamp)
    if not m:
        return
    a, b = int(m.group(1)), int(m.group(3))
    if a == month and b != month:
        column.prove_by_day(stamp, b, a, place)
    elif b == month and a != month:
        column.prove_by_day(stamp, a, b, place)


# jrnl's YAML output (`jrnl --format yaml --file folder/`): one `.md` file per entry whose front matter
# is not valid YAML (its `body: |` block is indented with tabs), so it is read line by line here.
_YAML_HEAD = re.compile(r"\A---\ntitle: (?P<title>.*)\ndate: (?P<date>.*)\nstarred: (?P<starred>True|False)\n"
                        r"tags: (?P<tags>.*)\n(?P<extra>(?:(?!body: ).*\n)*?)body: \|[ \t]*\n", re.M)


def looks_like_yaml_export(text: str) -> bool:
    """Whether `text` is one entry of jrnl's YAML output (`---`, title, date, starred, tags, body)."""
    return _YAML_HEAD.match(text.replace("\r\n", "\n")) is not None


def read_yaml_export(text: str, name: str, ctx: Context, fmt: str | None = None,
                     keys=None, column: DateColumn | None = None) -> Iterator[Entry | Rejection]:
    """The entry of one file of jrnl's YAML output; body headings are one level down there (undone)."""
    from .jrnl import _entry, _Keys

    text = text.replace("\r\n", "\n")
    m = _YAML_HEAD.match(text)
    if m is None:
        raise InvalidInputError(f"{name}: not a file of jrnl's YAML output (expected '---', 'title:', 'date:', "
                                "'starred:', 'tags:', 'body: |')")
    column = column or DateColumn(f"{name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format") or fmt,
                                  "timestamp")
    stamp = m.group("date").strip()
    where = {"file": name, "line": 3}
    body = text[m.end():].rstrip("\n").removesuffix("...")  # the front matter's end mark closes the file
    lines = [re.sub(r"^#(#+ )", r"\1", ln[1:] if ln.startswith("\t") else ln) for ln in body.split("\n")]
    if not column.observe(stamp, "line 3") and column.order is None:
        raise column.unresolved(1, f"line 3 ({stamp!r})")
    try:
        when = _timestamp(column, stamp)
    except InvalidInputError as exc:
        yield Rejection(where, f"timestamp: {exc}")
        return
    entry = _entry(m.group("title"), "\n".join(lines), when, m.group("starred") == "True", where,
                   keys or _Keys(), ctx.opt("tz"))
    entry.tags = list(dict.fromkeys(entry.tags + [t.strip() for t in m.group("tags").split(",") if t.strip()]))
    yield entry


# jrnl's display output (`jrnl -n 20 > saved.txt`): `<timestamp> <title>` lines, each entry's body
# indented with `| ` (jrnl's default `indent_character`) and wrapped at `linewrap` columns.
_PRETTY_BODY = re.compile(r"^\| ?")
PRETTY_WARNING = ("{name}: jrnl's display output: line breaks inside entries may be jrnl's line wrapping, "
                  "not yours; `jrnl --format text` (or json) keeps each entry exact")


def looks_like_pretty_output(text: str, fmt: str | None = None) -> bool:
    """Whether `text` is jrnl's display output: a `<timestamp> <title>` first line and, right after
    such a line, a body line indented with `| ` (`fmt`: the strptime format of its timestamps; a
    timestamp no shape reads, `20240301 0900`, still makes it one, refused then with the way to
    give its format)."""
    if "\n|" not in text:  # cheap: most notes end here
        return False
    lines = text.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")

    def dated(line: str) -> bool:
        return bool(split_heading(line, fmt) or (fmt is None and _custom_heading(line)))

    if first.startswith(("#", "[")) or not dated(first) or (fmt is None and not _TIME.search(first[:60])
                                                             and not _custom_heading(first)):
        return False
    # a Markdown table row (`| a | b |`) under a dated line is a note's table, not jrnl's indent
    return any(_PRETTY_BODY.match(b) and not b.rstrip().endswith("|") and dated(a)
               for a, b in zip(lines[:200], lines[1:200], strict=False))


def read_pretty_output(text: str, name: str, ctx: Context, fmt: str | None = None,
                       keys=None, column: DateColumn | None = None) -> Iterator[Entry | Rejection]:
    """Entries of jrnl's display output (with a warning: its wrapping adds line breaks)."""
    from .jrnl import _entry, _Keys

    lines = text.replace("\r\n", "\n").split("\n")
    column = column or DateColumn(f"{name}: timestamps", ctx.opt("dayfirst"), ctx.opt("date_format") or fmt,
                                  "timestamp")
    found: list[tuple[int, str, list[str], list[str]]] = []  # (line, stamp, title lines, body lines)
    prev_blank = True
    for i, line in enumerate(lines, 1):
        parts = split_heading(line, fmt) if prev_blank and line.strip() else None
        if parts and not _PRETTY_BODY.match(line):
            found.append((i, parts[0], [parts[1]], []))
            column.observe(parts[0], f"line {i}")
        elif found:
            if _PRETTY_BODY.match(line):
                found[-1][3].append(_PRETTY_BODY.sub("", line, count=1))
            elif line.strip() and not found[-1][3]:
                found[-1][2].append(line.strip())  # a long title wrapped onto the next line
            elif line.strip():
                found[-1][3].append(line)
        prev_blank = not line.strip()
    if not found:
        first = next((ln for ln in lines if ln.strip()), "")
        if _custom_heading(first):
            raise InvalidInputError(_unread_heading(name, lines.index(first) + 1, first, ctx))
        raise InvalidInputError(f"{name}: no jrnl entry line ('2024-03-01 10:00 Title') found")
    undecided = next((f for f in found if not column.observe(f[1], f"line {f[0]}")), None)
    if undecided and column.order is None:
        raise column.unresolved(len(found), f"line {undecided[0]} ({undecided[1]!r})")
    ctx.warn(PRETTY_WARNING.format(name=name))
    keys = keys or _Keys()
    for line, stamp, title, body in found:
        where = {"file": name, "line": line}
        try:
            when = _timestamp(column, stamp)
        except InvalidInputError as exc:
            yield Rejection(where, f"timestamp: {exc}")
            continue
        entry = _entry(" ".join(title), "\n".join(body), when, False, where, keys, ctx.opt("tz"))
        entry.lossy = True
        yield entry


# jrnl's XML output (`jrnl --format xml`): `<entry date="2024-03-01T10:00:00">title body</entry>`.
XML_WARNING = ("{name}: jrnl's XML output joins each entry's title and body: stored without a title; "
               "`jrnl --format json` keeps them apart")


def looks_like_xml_output(text: str) -> bool:
    """Whether `text` is jrnl's XML output (a `<journal>` root holding `<entries>`)."""
    head = text.lstrip()[:400]
    return head.startswith("<?xml") and "<journal>" in head and "<entries" in head


def read_xml_output(text: str, name: str, ctx: Context, keys=None) -> Iterator[Entry | Rejection]:
    """Entries of jrnl's XML output, read with defusedxml (no entity expansion, no external files)."""
    import defusedxml.ElementTree as det
    from defusedxml import DefusedXmlException

    from .jrnl import _entry, _Keys

    try:
        root = det.fromstring(text)
    except (det.ParseError, DefusedXmlException) as exc:
        raise InvalidInputError(f"{name}: invalid XML ({str(exc).splitlines()[0]})") from exc
    ctx.warn(XML_WARNING.format(name=name))
    keys = keys or _Keys()
    for i, el in enumerate(root.iter("entry"), 1):
        where = {"file": name, "entry": i}
        stamp = el.get("date") or ""
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            yield Rejection(where, f"timestamp: cannot read date {stamp!r}")
            continue
        full = "".join(el.itertext()).strip("\n")
        # toprettyxml indents the text that follows a <tag/> child: drop that indentation
        body = "\n".join(ln.strip("\t") if el.find("tag") is not None else ln for ln in full.split("\n")).strip()
        entry = _entry(body, "", when.replace(tzinfo=None), el.get("starred") in ("1", "true", "True"),
                       where, keys, ctx.opt("tz"))
        entry.title = None
        entry.lossy = True
        entry.tags = list(dict.fromkeys(entry.tags + [t.get("name", "").lstrip("#@") for t in el.iter("tag")
                                                      if t.get("name")]))
        yield entry
