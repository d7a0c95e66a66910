"""What every importer shares: the parsed `Entry`, rejections, limits, byte decoding and ZIP safety."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InvalidInputError, has_controls

# One entry larger than this is not a journal entry but a pasted dump or a broken file; rejecting it
# keeps the store, the embedder and the reports usable.
MAX_ENTRY_CHARS = 1_000_000
# A whole source file we are willing to read into memory (a 100k-row CSV is ~20 MB).
MAX_FILE_BYTES = 2_000_000_000
# Day One members we read (JSON); photos are only listed, never read.
MAX_ZIP_MEMBER_BYTES = 1_000_000_000
BINARY_SNIFF_BYTES = 8192


@dataclass(slots=True)
class Entry:
    """One parsed entry before it is stored; `where` names its place for messages ({file, line|entry})."""

    content: str
    created_at: datetime | date | str | None
    where: dict
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    source_id: str | None = None
    tz: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The source id is a timestamp, not an id the source gave (jrnl, Daylio): another journal of the
    # same name can hold a different entry under it, which then gets the next free `#n` key.
    shared_key: bool = False
    # The entry's own source when it differs from the import's (a jrnl journal found in a notes
    # folder is `jrnl:<name>`, as when that journal is imported alone); None: the import's source.
    source: str | None = None
    # Where the date was read (`column 'Date'`, `timestamp`), named when the date cannot be stored.
    date_field: str = "date"
    # Read from a form that cannot carry everything the journal holds (jrnl's XML joins title and
    # body, its display output re-wraps lines): it never overwrites an entry already stored.
    lossy: bool = False
    # Sources of the other journals beside a jrnl journal file (`jrnl:work` for `personal.txt`): an
    # identical entry stored under one of them is that journal's own, never a copy of this one.
    peers: frozenset = frozenset()
    # Metadata keys the form it was read from cannot carry (jrnl's Markdown has no star): the stored
    # entry's values are kept for them, so re-reading such a form never clears them.
    unknown: tuple = ()
    # Sources an earlier version gave this entry's source (see `importers.adopt`): a stored entry
    # under one of them with this key is this entry, moved to the current source.
    aliases: tuple = ()
    # For a note keyed by its path: `gone(key)` tells whether a stored key of the same source no
    # longer names a file (the note was moved or renamed); for a CSV row (with `kin`), whether a
    # CSV of another name is gone from beside this one (see `importers.adopt`).
    gone: Any = None
    # Source prefix of files of the same kind (`csv:id:`): this very row stored from another file of
    # that kind is held already, not added twice.
    kin: str = ""


@dataclass
class Rejection:
    """A part of the source that cannot become an entry, and why."""

    where: dict
    reason: str


class Context:
    """Options and collected warnings for one import run."""

    def __init__(self, path: Path, options: dict[str, Any]):
        self.path = path
        self.options = options
        self.warnings: list[str] = []
        # Set by the reader before it yields: what (source, source_id) pairs are keyed on.
        self.source: str = ""
        # Files the reader recognised as not journal entries (templates, drawings, plugin files).
        self.skipped_files = 0
        self._default: Any = None

    def opt(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name)
        return default if value is None else value

    def default_date(self) -> Any:
        """`default_date` read strictly (a datetime or date), or None; raises InvalidInputError naming
        the option when it cannot be read."""
        raw = self.options.get("default_date")
        if raw is None or raw == "":
            return None
        if isinstance(raw, date):
            return raw
        if self._default is None:
            from .dates import parse_value

            try:
                self._default = parse_value(str(raw), dayfirst=self.options.get("dayfirst"),
                                            date_format=self.options.get("date_format"))
            except InvalidInputError as exc:
                raise InvalidInputError(f"--default-date: {exc}") from exc
        return self._default

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def shown_name(name: Any) -> str:
    """A file name as messages show it: as is, or quoted with escapes (`'a\\nb.md'`) when it holds
    control characters, which would split a one-line message or hide part of the name."""
    text = str(name)
    return repr(text) if has_controls(text) else text


def where_text(where: dict) -> str:
    """`file: line 12` / `file: entry 3` for messages (a name with control characters escaped)."""
    parts = [shown_name(where.get("file", "?"))]
    if "line" in where:
        parts.append(f"line {where['line']}")
    if "entry" in where:
        parts.append(f"entry {where['entry']}")
    return ": ".join(parts)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing directories, empty files and files too large to be a journal."""
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or directory")
    if path.is_dir():
        raise InvalidInputError(f"{path}: is a directory, expected a file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInputError(f"{path}: file is empty")
    if size > MAX_FILE_BYTES:
        raise InvalidInputError(f"{path}: file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
    return path.read_bytes()


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _decode_strict(data: bytes, codec: str, name: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{name}: line {line}: invalid {label} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "pass the file's real encoding with --encoding"
        ) from exc
    except LookupError as exc:
        raise InvalidInputError(f"unknown encoding {label!r}") from exc


def _utf16_without_bom(head: bytes) -> str | None:
    """ASCII-heavy UTF-16 without a BOM has a zero in every other byte."""
    if len(head) < 4:
        return None
    even = head[0::2].count(0) / len(head[0::2])
    odd = head[1::2].count(0) / len(head[1::2])
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _mostly_controls(text: str) -> bool:
    """Binary data that happens to decode: more than 1% control characters."""
    sample = text[:BINARY_SNIFF_BYTES]
    return len(_CONTROLS.findall(sample)) > max(1, len(sample) // 100)


def _looks_western(text: str) -> bool:
    """Western text has isolated accented letters inside ASCII words (`café`); a Cyrillic or Greek
    file decoded as Windows-1252 has whole words of them."""
    runs = 0
    letters = 0
    prev = False
    for ch in text:
        high = ord(ch) > 127 and ch.isalpha()
        if high:
            letters += 1
            if prev:
                runs += 1
        prev = high
    return letters == 0 or runs / letters < 0.5


# One well-formed UTF-8 sequence of two to four bytes (no overlongs, no surrogates): a file holding
# one of these and also invalid bytes is UTF-8 with damage, not a legacy encoding.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
# A decode of a damaged UTF-8 file made with `damaged=True`: each invalid byte is a lone surrogate.
DAMAGED_UTF8 = "utf-8 (damaged)"
_SURROGATE = re.compile("[\udc80-\udcff]")
_C1 = re.compile("[\x80-\x9f]")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def bad_utf8_offsets(data: bytes, limit: int = 10_000) -> list[int]:
    """Byte offsets of the first `limit` bytes that are not valid UTF-8, in order."""
    out: list[int] = []
    pos = 0
    while len(out) < limit:
        try:
            data[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            out.append(pos + exc.start)
            pos += exc.end
    return out


def damaged_reason(data: bytes, offset: int) -> str:
    """`invalid utf-8 (byte 0xef at offset 81)`: what the messages about a damaged byte say."""
    return f"invalid utf-8 (byte 0x{data[offset]:02x} at offset {offset})"


def has_damage(*texts: Any) -> bool:
    """Whether text decoded with `DAMAGED_UTF8` still holds one of the damaged bytes."""
    return any(isinstance(t, str) and _SURROGATE.search(t) for t in texts)


class Damage:
    """Where a damaged UTF-8 file (decoded with `damaged=True`) holds its bad bytes, to name the one
    an entry holds: the first at or after the entry's line, else the next one not named yet."""

    def __init__(self, data: bytes):
        self.data = data
        self.offsets = bad_utf8_offsets(data)
        self.lines = [data.count(b"\n", 0, o) + 1 for o in self.offsets]
        self.first_line = self.lines[0] if self.lines else 0
        self._next = 0

    def reason(self, line: int | None = None) -> str:
        import bisect

        i = bisect.bisect_left(self.lines, line) if isinstance(line, int) else self._next
        i = min(i, len(self.offsets) - 1)
        self._next = i + 1
        reason = damaged_reason(self.data, self.offsets[i])
        # an entry placed by its number (JSON) still gets the line of its bad byte
        return reason if isinstance(line, int) else f"line {self.lines[i]}: {reason}"


def undamaged(items: Iterable, damage: Damage | None) -> Iterator:
    """`items` with each entry holding a damaged byte rejected (its text holds a lone surrogate)."""
    if damage is None:
        yield from items
        return
    import json

    for item in items:
        if isinstance(item, Entry) and has_damage(item.content, item.title, item.source_id, *item.tags,
                                                  json.dumps(item.metadata, ensure_ascii=False, default=str)):
            yield Rejection(item.where, damage.reason(item.where.get("line")))
        else:
            yield item


def legacy_warning(name: str, encoding: str, text: str) -> str:
    """The warning for a file read in a legacy encoding, naming its first line that is not ASCII
    (where a reader can check the guess)."""
    m = re.search(r"[^\x00-\x7f]", text)
    line = text.count("\n", 0, m.start()) + 1 if m else 1
    return f"{where_text({'file': name})}: not UTF-8, read as {encoding} (first non-ASCII text on line {line})"


def decode_bytes(data: bytes, name: str, encoding: str | None = None, damaged: bool = False) -> tuple[str, str]:
    """Text and the encoding used.

    With `encoding` (e.g. from --encoding) the bytes must be valid in it. Without: a BOM decides,
    else strict UTF-8, else UTF-16 without BOM, else Windows-1252 for Western text, else
    charset-normalizer's guess. NUL bytes in anything else mean a binary file. Bytes that are not
    UTF-8 in a file that also holds well-formed UTF-8 sequences are damage, never a legacy encoding:
    InvalidInputError naming line and offset, or (`damaged=True`, for readers that skip just the
    entry holding them) the text with each bad byte as a lone surrogate and `DAMAGED_UTF8`. A legacy
    decode never yields C1 control characters (U+0080..U+009F): such a byte is refused.
    """
    if not data:
        raise InvalidInputError(f"{name}: file is empty")
    if encoding:
        codec = encoding.lower().replace("_", "-")
        if codec in ("utf-8", "utf8"):
            codec = "utf-8-sig"  # a BOM is still allowed in a file declared UTF-8
        return _decode_strict(data, codec, name, encoding), encoding
    for bom, codec in _BOMS:
        if data.startswith(bom):
            label = "UTF-8" if codec == "utf-8-sig" else codec.upper()
            return _decode_strict(data, codec, name, f"{label} (the file starts with a {label} BOM)"), codec
    head = data[:BINARY_SNIFF_BYTES]
    if b"\x00" in head:
        codec = _utf16_without_bom(head)
        text = None
        if codec is not None:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                text = None
        if text is None or _mostly_controls(text):
            raise InvalidInputError(f"{name}: binary file (contains NUL bytes), not a text journal")
        return text, codec
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if _UTF8_MULTIBYTE.search(data):
        if damaged:
            return data.decode("utf-8", "surrogateescape"), DAMAGED_UTF8
        raise InvalidInputError(
            f"{name}: line {_line_of(data, first_bad)}: {damaged_reason(data, first_bad)}; the rest of "
            "the file is UTF-8, so this byte is damage"
        )
    # Bytes 0x80-0x9F are control characters in Latin-1 but punctuation (curly quotes, dashes, euro)
    # in Windows-1252, which is what "Latin-1" files from Windows tools really are. charset-normalizer
    # misreads short Western notes (`café` as cp1250, `Zoë` as cp1257's `Zoė`), so it only decides
    # for text that does not look Western.
    try:
        # labelled Latin-1 when no byte tells the two apart (they agree on 0xA0-0xFF)
        text, codec = data.decode("cp1252"), "latin-1" if not re.search(rb"[\x80-\x9f]", data) else "cp1252"
    except UnicodeDecodeError as exc:
        # 0x81, 0x8D, 0x8F, 0x90 and 0x9D are no character in Windows-1252; Latin-1 would make them
        # invisible control characters.
        raise InvalidInputError(
            f"{name}: line {_line_of(data, exc.start)}: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "is not text in UTF-8 or Windows-1252; pass the file's real encoding with --encoding"
        ) from exc
    if _mostly_controls(text):
        raise InvalidInputError(f"{name}: binary file (control bytes), not a text journal")
    if _looks_western(text):
        return text, codec
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or _C1.search(str(best)):
        raise InvalidInputError(f"{name}: cannot tell the text encoding (binary file?); pass --encoding")
    return str(best), best.encoding


def check_binary(data: bytes, name: str) -> None:
    """Refuse obvious binary data before a parser produces confusing errors about it."""
    head = data[:BINARY_SNIFF_BYTES]
    if b"\x00" in head and not any(data.startswith(b) for b, _ in _BOMS):
        decode_bytes(head, name)  # raises for binary data


def safe_member_name(name: str) -> bool:
    """A ZIP member path that stays inside the archive (no `..`, no absolute or drive paths)."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." not in parts


def open_zip(path: Path) -> zipfile.ZipFile:
    """A ZIP archive whose member paths are all safe; refuses non-ZIP, truncated and hostile archives.

    The same checks as backups (export/safezip.py): names, symlinks, member count, declared sizes and
    compression ratio (ZIP bombs), with a member limit that leaves room for Day One's photos.
    """
    from .. import limits
    from ..export import safezip

    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path}: file is empty")
    zf = safezip.open_zip(path, limits=safezip.Limits(
        max_members=limits.ZIP_MAX_MEMBERS, max_member_size=MAX_ZIP_MEMBER_BYTES,
        max_total_size=MAX_FILE_BYTES * 8))
    _utf8_names(zf)
    return zf


def _utf8_names(zf: zipfile.ZipFile) -> None:
    """Member names stored without the UTF-8 flag (macOS Archive Utility, many Windows tools) are
    read as cp437 by zipfile; when their bytes are valid UTF-8 that is what they are."""
    for info in zf.infolist():
        if info.flag_bits & 0x800:
            continue
        try:
            raw = info.filename.encode("cp437")
        except UnicodeEncodeError:
            continue
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue  # really cp437
        if name != info.filename:
            zf.NameToInfo.pop(info.filename, None)
            info.filename = name
            zf.NameToInfo[name] = info


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> bytes:
    """A member's bytes with a size limit that holds even if the declared size lies (ZIP bomb)."""
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        raise InvalidInputError(
            f"{archive}: member {info.filename!r} is {info.file_size:,} bytes, over the "
            f"{MAX_ZIP_MEMBER_BYTES:,}-byte limit"
        )
    from ..export import safezip

    # chunked, refusing more bytes than declared: a lying header cannot make us inflate gigabytes
    return safezip.read_member(zf, info.filename, archive, max_size=MAX_ZIP_MEMBER_BYTES)


def load_entries_json(text: str, name: str, what: str) -> dict:
    """A JSON document whose top level has an `entries` list (jrnl and Day One exports); `what` names
    the expected format in the error."""
    from ..limits import loads_json

    doc = loads_json(text, name)
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise InvalidInputError(f"{name}: not a {what} (no top-level 'entries' list)")
    return doc


def split_tags(value: str) -> list[str]:
    """Tags from one cell: `a|b`, `a, b`, `a; b` or `#a #b`."""
    value = (value or "").strip()
    if not value:
        return []
    for sep in ("|", ";", ","):
        if sep in value:
            return [t for t in map(str.strip, value.split(sep)) if t]
    return [t for t in value.replace("#", " ").split() if t]


@dataclass
class Skipped:
    """A part of the source with nothing to read (photo-only entry, mood-only row, empty note): not an
    error, counted as `skipped_empty`."""

    where: dict
    reason: str = "no text"
    # The part's date value when it has one: still evidence of its column's day/month order.
    date: Any = None


def csv_rows(reader: Any, name: str) -> Any:
    """(line where the row starts, row) for each non-blank row of a csv reader; a malformed row is
    InvalidInputError naming its line (the csv module counts lines of multi-line fields too)."""
    prev = reader.line_num
    numbered = getattr(reader, "numbered", None)
    if numbered is not None:  # `limited_csv_reader`: rows with their line numbers, in batches
        try:
            for row, line in numbered():
                start, prev = prev + 1, line
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield start, row
        except csv.Error as exc:
            raise InvalidInputError(f"{name}: line {prev + 1}: malformed CSV ({exc})") from exc
        return
    while True:
        start = prev + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInputError(f"{name}: line {start}: malformed CSV ({exc})") from exc
        prev = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield start, row
