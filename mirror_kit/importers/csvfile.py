"""CSV (and TSV) files from spreadsheets and old tools: one entry per row.

Columns are chosen with the `*_column` options or guessed from the header; the id column becomes
the source id, scoped to the file's name or to `source_label` (source `csv:<id column>:<scope>`), and
every other column goes into the reflection's metadata. Encodings: UTF-8 with or
without BOM, UTF-16, Windows-1252/Latin-1 (detected, or `encoding=`). Delimiters `,` `;` tab `|`.
Dates: ISO-8601 and common human formats, one day/month order per column (proved by a value such
as `31/12/2023`, else `dayfirst=`/`date_format=` is required). A row without a date is rejected
unless `default_date` is given; a file without any date column needs `default_date` (never
silently "now"). A row without text is skipped and counted. A quote that never closes is an error
naming its line; text after a closing quote is read (quote marks dropped) with a warning naming its
line. Daylio exports are recognised by their header (see `daylio`).

HappyDB / CL-Aff (`hmid, moment, concepts, agency, social, ...`) is recognised by its header: hmid
is the source id, moment the text, concepts the tags, the other columns metadata. It has no dates:
each moment is dated `HAPPYDB_DATE` (the first day of HappyDB's collection period, 28 Mar - 16 Jun
2017) unless `default_date` is given, and the summary warns about it.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..limits import MAX_CSV_COLUMNS
from ..process_state import csv_field_limit, limited_csv_reader
from .common import (
    BINARY_SNIFF_BYTES,
    DAMAGED_UTF8,
    MAX_ENTRY_CHARS,
    MAX_FILE_BYTES,
    Context,
    Damage,
    Entry,
    Rejection,
    Skipped,
    csv_rows,
    decode_bytes,
    legacy_warning,
    read_bytes,
    split_tags,
    undamaged,
)
from .dates import DateColumn, RawDate, settle_dates
from .daylio import daylio_rows, is_daylio

DELIMITERS = ",;\t|"
TEXT_GUESSES = ("text", "content", "body", "entry", "moment", "note", "notes", "journal", "message",
                "description", "reflection")
DATE_GUESSES = ("date", "created_at", "created", "datetime", "timestamp", "time", "day", "date_time",
                "creation_date", "written_at")
ID_GUESSES = ("id", "uuid", "hmid", "entry_id", "guid", "key")
TITLE_GUESSES = ("title", "subject", "heading", "headline")
TAGS_GUESSES = ("tags", "tag", "labels", "label", "concepts", "categories", "category", "keywords")
HAPPYDB_DATE = "2017-03-28"
HAPPYDB_HEADER = {"hmid", "moment", "concepts"}


def sniff_delimiter(text: str) -> str:
    """csv.Sniffer on the start of the file, checked against the header line (Sniffer can pick a
    comma inside quoted text)."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    try:
        found = csv.Sniffer().sniff(text[:65536], delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = None
    if found and counts.get(found, 0) > 0:
        return found
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _pick(header: list[str], given: str | None, guesses: tuple[str, ...], what: str) -> int | None:
    lower = [h.strip().lower() for h in header]
    if given:
        if given in header:
            return header.index(given)
        if given.strip().lower() in lower:
            return lower.index(given.strip().lower())
        raise InvalidInputError(f"--{what}-column {given!r} is not a column (columns: {', '.join(header)})")
    for g in guesses:
        if g in lower:
            return lower.index(g)
    return None


def _unique_header(row: list[str]) -> list[str]:
    out: list[str] = []
    taken: set[str] = set()  # a set and per-name counters: linear even for thousands of equal names
    next_n: dict[str, int] = {}
    for i, h in enumerate(row):
        name = h.strip() or f"column_{i + 1}"
        base, n = name, next_n.get(name, 2)
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        next_n[base] = n
        taken.add(name)
        out.append(name)
    return out


class _Lines:
    """Lines with their endings, lazily (io.StringIO would hold a second, 4-bytes-per-character copy);
    `pos` is the offset after the last line handed out, so a row's raw text can be found again."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        n = len(self.text)
        if self.pos >= n:
            raise StopIteration
        end = self.text.find("\n", self.pos)
        end = n if end < 0 else end + 1
        line = self.text[self.pos:end]
        self.pos = end
        return line


    def tail(self, line: int) -> str | None:
        """The text from the start of `line` to the end, once every line was handed out (else None)."""
        if self.pos < len(self.text):
            return None
        return self.text[_line_offset(self.text, line):]


class _StreamLines:
    """Lines of a large UTF-8 file read from disk as they are parsed (memory does not grow with the
    file), split on "\\n" only and with their endings, exactly as `_Lines` splits the whole text.

    `open` returns None when the file must be read whole instead: small files, another encoding
    (given, by BOM, or because some byte is not UTF-8), NUL bytes, or classic Mac line endings.
    """

    MIN_BYTES = 8 << 20
    BLOCK = 1 << 20

    def __init__(self, path: Path, codec: str, head: str, quoted: bool = True):
        self.path, self.codec, self.head = path, codec, head
        self.quoted = quoted  # some '"' in the file (else no field can be quoted)
        self._fh = path.open("r", encoding=codec, newline="")
        self._buf, self._start, self.done = "", 0, False

    @classmethod
    def open(cls, path: Path, encoding: str | None) -> _StreamLines | None:
        if encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            return None
        try:
            size = path.stat().st_size
        except OSError:
            return None
        if not path.is_file() or size < cls.MIN_BYTES or size > MAX_FILE_BYTES:
            return None  # read_bytes says what is wrong with it
        decoder = codecs.getincrementaldecoder("utf-8")()
        newline = carriage = content = quoted = False
        with path.open("rb") as fh:
            first = fh.read(cls.BLOCK)
            if b"\x00" in first[:BINARY_SNIFF_BYTES] or any(
                    first.startswith(b) for b in (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
                return None
            block = first
            while block:  # the whole file must be UTF-8 before a row is stored (else: read it whole)
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    return None
                newline = newline or b"\n" in block
                carriage = carriage or b"\r" in block
                quoted = quoted or b'"' in block
                content = content or bool(block.strip())
                block = fh.read(cls.BLOCK)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
        if not content or (carriage and not newline):
            return None
        codec = "utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"
        head = first[:65536 + 4].decode(codec, errors="ignore")[:65536]
        return cls(path, codec, head, quoted)

    def __iter__(self) -> _StreamLines:
        return self

    def __next__(self) -> str:
        while True:
            end = self._buf.find("\n", self._start)
            if end >= 0:
                line = self._buf[self._start:end + 1]
                self._start = end + 1
                return line
            if self.done:
                raise StopIteration
            block = self._fh.read(self.BLOCK)
            if not block:
                self._fh.close()
                self.done = True
                if self._start < len(self._buf):
                    line, self._buf, self._start = self._buf[self._start:], "", 0
                    return line
                raise StopIteration
            self._buf = self._buf[self._start:] + block
            self._start = 0

    def tail(self, line: int) -> str | None:
        """The text from the start of `line` to the end, once every line was handed out (else None)."""
        if not self.done:
            return None
        with self.path.open("r", encoding=self.codec, newline="") as fh:
            skip = line - 1
            while True:  # past line - 1 newlines ("\\n" only, as the lines were split)
                block = fh.read(self.BLOCK)
                if not block:
                    return ""
                newlines = block.count("\n")  # whole blocks are skipped in C, not newline by newline
                if newlines < skip:
                    skip -= newlines
                    continue
                return block[_line_offset(block, skip + 1):] + fh.read()

    def __del__(self) -> None:
        self._fh.close()  # a reader given up half-way (an error in a row) lets go of the file


def unclosed_quote_line(text: str, delimiter: str, first_line: int) -> int | None:
    """The line where a quoted field opens and never closes in `text` (raw rows starting at
    `first_line`), or None when every quote closes. Python's csv module, non-strict, silently ends
    such a field at the end of the file, swallowing all later rows into it."""
    in_quote, at_field_start, line, opened = False, True, first_line, 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_quote:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    in_quote = False
            elif ch == "\n":
                line += 1
        elif ch == '"' and at_field_start:
            in_quote, opened = True, line
        elif ch == "\n":
            line += 1
        at_field_start = not in_quote and ch in (delimiter, "\n", "\r")
        i += 1
    return opened if in_quote else None


def read_csv(path: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    """Entries of a CSV file; whole-file problems (encoding, no text column) raise InvalidInputError
    right away (not when the rows are iterated)."""
    name = path.name
    lines: _Lines | _StreamLines | None = _StreamLines.open(path, ctx.opt("encoding"))
    damage: Damage | None = None
    if lines is not None:
        delimiter = sniff_delimiter(lines.head)
    else:
        data = read_bytes(path)
        # A damaged byte costs its row (the skip unit of a CSV), not the whole file's encoding.
        text, enc = decode_bytes(data, name, ctx.opt("encoding"), damaged=True)
        if enc == DAMAGED_UTF8:
            damage = Damage(data)
        elif enc not in ("utf-8", "utf-8-sig") and not ctx.opt("encoding"):
            ctx.warn(legacy_warning(name, enc, text))
        if not text.strip():
            raise InvalidInputError(f"{name}: file is empty")
        if "\r" in text and "\n" not in text:  # classic Mac line endings
            text = text.replace("\r", "\n")
        delimiter = sniff_delimiter(text)
        lines = _Lines(text)
    # Large enough that an absurd field is read whole and rejected with a reason, not a csv.Error;
    # raised only while each row is parsed (the limit is process-wide).
    field_limit = min(sys.maxsize, MAX_ENTRY_CHARS * 8)
    _warn_text_after_quotes(lines, delimiter, field_limit, name, ctx)
    reader = limited_csv_reader(lines, field_limit=field_limit, delimiter=delimiter)
    try:
        header_row = next(reader)
    except csv.Error as exc:
        raise InvalidInputError(f"{name}: line 1: cannot read the header ({exc})") from exc
    if len(header_row) > MAX_CSV_COLUMNS:
        raise InvalidInputError(f"{name}: line 1: {len(header_row):,} columns, over the limit of {MAX_CSV_COLUMNS:,}")
    if damage is not None and damage.first_line == 1:
        raise InvalidInputError(f"{name}: line 1: {damage.reason(1)} in the header")
    header = _unique_header(header_row)
    cols = {h.lower() for h in header}
    if is_daylio(header) and not ctx.opt("text_column"):
        ctx.source = "daylio"
        return settle_dates(_checked(undamaged(daylio_rows(reader, header, name, ctx), damage),
                                     lines, delimiter, name))
    happydb = cols >= HAPPYDB_HEADER and not ctx.opt("text_column")
    # The key of a row is its id scoped to its file (or to `source_label`): two files numbering their
    # rows 1..n hold different entries. A newer export of one diary under another name shares a label.
    text_i = _pick(header, ctx.opt("text_column") or ("moment" if happydb else None), TEXT_GUESSES, "text")
    if text_i is None:
        raise InvalidInputError(
            f"{name}: no text column (columns: {', '.join(header)}); name it with --text-column"
        )
    date_i = _pick(header, ctx.opt("date_column"), DATE_GUESSES, "date")
    id_i = _pick(header, ctx.opt("id_column") or ("hmid" if happydb else None), ID_GUESSES, "id")
    title_i = _pick(header, ctx.opt("title_column"), TITLE_GUESSES, "title")
    tags_i = _pick(header, ctx.opt("tags_column") or ("concepts" if happydb else None), TAGS_GUESSES, "tags")
    ctx.source = "happydb" if happydb else ("csv:" + header[id_i].strip().lower() if id_i is not None else "csv")
    aliases: tuple = ()
    kin = ""
    if ctx.opt("source_label") and (id_i is None or happydb):
        ctx.warn(f"{name}: --source-label ignored: it scopes the ids of an id column, and "
                 f"{'HappyDB ids are global' if happydb else 'this file has none'}")
    if id_i is not None and not happydb:
        # Stored by earlier versions under `csv:<column>` alone: those entries are found there
        # and moved to this file's source (see `importers.adopt`).
        aliases, kin = (ctx.source,), ctx.source + ":"
        ctx.source = kin + (str(ctx.opt("source_label") or "").strip() or name)
    default_date = ctx.default_date()
    if date_i is None and default_date is None:
        if happydb:
            default_date = date.fromisoformat(HAPPYDB_DATE)
            ctx.warn(
                f"{name}: HappyDB has no dates; every moment is dated {HAPPYDB_DATE}, the start of its "
                "collection period (28 Mar - 16 Jun 2017). Pass --default-date to choose another."
            )
        else:
            raise InvalidInputError(
                f"{name}: no date column (columns: {', '.join(header)}); name it with --date-column, "
                "or date every row with --default-date YYYY-MM-DD"
            )
    elif date_i is None:
        ctx.warn(f"{name}: no date column; every row is dated {ctx.opt('default_date')} (--default-date)")
    used = {text_i, date_i, id_i, title_i, tags_i}
    meta_cols = [(i, h) for i, h in enumerate(header) if i not in used]
    column = None
    if date_i is not None:
        column = DateColumn(f"{name}: column {header[date_i]!r}", ctx.opt("dayfirst"), ctx.opt("date_format"),
                            f"column {header[date_i]!r}")
    rows = _rows(reader, header, name, delimiter, text_i, date_i, id_i, title_i, tags_i, meta_cols,
                 default_date, ctx.opt("tz"), column)
    rows = undamaged(rows, damage)
    if aliases:
        folder = path.parent

        def gone(other: str) -> bool:
            # A CSV of another name no longer beside this one: this file renamed.
            try:
                return "/" not in other and not (folder / other).exists()
            except (OSError, ValueError):
                return False

        rows = _keyed(rows, aliases, kin, gone)
    return settle_dates(_checked(rows, lines, delimiter, name))


def _keyed(rows: Iterator, aliases: tuple, kin: str, gone: Any) -> Iterator:
    for item in rows:
        if isinstance(item, Entry):
            item.aliases, item.kin, item.gone = aliases, kin, gone
        yield item


def _warn_text_after_quotes(lines: _Lines | _StreamLines, delimiter: str, field_limit: int, name: str,
                            ctx: Context) -> None:
    """Warn about rows where text follows a field's closing quote (`"Rain" and wind.`): the csv
    module reads them with those quote marks dropped. Found by a strict parse of the whole file (in
    C: ~0.1 s per 200k rows); an unclosed quote is left to `_checked`."""
    if not (lines.quoted if isinstance(lines, _StreamLines) else '"' in lines.text):
        return  # no quote mark, no quoted field: nothing to find
    if isinstance(lines, _StreamLines):
        fh = lines.path.open("r", encoding=lines.codec, newline="")
        source: Any = fh
    else:
        fh, source = None, _Lines(lines.text)
    found: list[int] = []
    try:
        reader = csv.reader(source, delimiter=delimiter, strict=True)
        with csv_field_limit(field_limit):
            while True:
                try:
                    next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    if "expected after" in str(exc):
                        found.append(reader.line_num)
    finally:
        if fh is not None:
            fh.close()
    if found:
        more = f" (and {len(found) - 1} more rows)" if len(found) > 1 else ""
        ctx.warn(f"{name}: line {found[0]}{more}: text follows a closing quote (like '\"Rain\" and wind'); "
                 "read with those quote marks dropped (a field holding quotes must be quoted whole, with "
                 "its quotes doubled)")


def _checked(rows: Iterator, lines: _Lines | _StreamLines, delimiter: str, name: str) -> Iterator:
    """`rows`, then an error if the file ended inside a quoted field (the csv module would have
    quietly made the rest of the file one field of the last row)."""
    last = None
    for item in rows:
        yield item
        last = item
    tail = lines.tail(last.where["line"]) if last is not None and "line" in last.where else None
    if tail is not None:
        opened = unclosed_quote_line(tail, delimiter, last.where["line"])
        if opened is not None:
            raise InvalidInputError(
                f"{name}: line {opened}: a quoted field opens here and is never closed (a stray '\"'?); "
                "the rest of the file would be read as part of it"
            )


def _line_offset(text: str, line: int) -> int:
    """Where `line` (1-based, lines ending in "\\n") starts in `text`; len(text) past its end."""
    pos, skip, step = 0, line - 1, 1 << 20
    while skip and pos < len(text):
        # Whole stretches are skipped by counting their newlines in C; the last one line by line.
        newlines = text.count("\n", pos, pos + step)
        if newlines < skip:
            skip, pos = skip - newlines, pos + step
            continue
        for _ in range(skip):
            pos = text.find("\n", pos) + 1
        return pos
    return pos if not skip else len(text)


def _rows(reader, header, name, delimiter, text_i, date_i, id_i, title_i, tags_i, meta_cols,
          default_date, tz, column: DateColumn | None) -> Iterator[Entry | Rejection | Skipped]:
    width = len(header)
    tag_lists: dict[str, list[str]] = {}  # tags of each cell text met (a journal repeats its tag sets)
    for start, row in csv_rows(reader, name):
        where = {"file": name, "line": start}
        if len(row) > width:
            yield Rejection(where, f"row has {len(row)} fields but the header has {width} "
                                   f"(an unquoted {delimiter!r} in the text?)")
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        content = row[text_i]
        if not content or content.isspace():  # as `not content.strip()`, without copying the text
            raw_date = row[date_i].strip() if date_i is not None else ""
            yield Skipped(where, f"empty text in column {header[text_i]!r}",
                          RawDate(raw_date, column, f"line {start}") if raw_date else None)
            continue
        raw_date = row[date_i].strip() if date_i is not None else ""
        if raw_date:
            created = RawDate(raw_date, column, f"line {start}")
        elif default_date is not None:
            created = default_date
        else:
            yield Rejection(where, f"no date in column {header[date_i]!r} (give one with --default-date)")
            continue
        sid = (row[id_i].strip() or None) if id_i is not None else None
        meta = {h: row[i] for i, h in meta_cols if row[i] != ""}
        tags: list[str] = []
        if tags_i is not None:
            cell = row[tags_i]
            found = tag_lists.get(cell)
            if found is None:
                found = split_tags(cell)
                if len(cell) <= 256:  # short cells only: the memo stays small
                    if len(tag_lists) >= 4096:
                        tag_lists.clear()
                    tag_lists[cell] = found
            tags = list(found)
        yield Entry(
            content=content.replace("\r\n", "\n"), created_at=created, where=where,
            title=(row[title_i].strip() or None) if title_i is not None else None,
            tags=tags, source_id=sid, tz=tz, metadata=meta,
            date_field=f"column {header[date_i]!r}" if isinstance(created, RawDate) else "--default-date",
        )
