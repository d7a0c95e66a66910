"""Reading dates out of imported files without guessing: one date order per file or CSV column,
no part of a date taken from the clock, and every instant checked to fit the store (years 1..9999
in UTC).

`DateColumn` reads the values of one column (or one file): ISO and year-first values are read as
they are; `12/03/2024`-style values wait until some value of the same column proves the order
(a first field over 12, or the `dd.mm.yyyy` dot form), and a column that never proves it is refused
with a hint to pass `dayfirst=` or `date_format=`. Also here: dates in folder paths and file names
(`2024/06/01.txt`, `Daily/2023/03/05.md`, `2023-Jan-01`, `January/`) and Obsidian's moment.js
daily-note format (`YYYY/MMMM/YYYY-MMM-DD`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import InvalidInputError
from ..timeutil import (
    ZoneAbbreviation,
    bad_offset,
    check_weekday,
    dateutil_parse,
    ordinal_as_calendar,
    plain_value_check,
    tz_names,
    weekday_number,
    written_offsets,
    year_first,
)

# `31/12/2023`, `3.1.2024 08:00`, `12-03-2024`: day and month fields first, order unknown.
_NUMERIC = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?!\d)")
# Two defaults that differ in every date field: a field that comes back different was missing.
_DEFAULT_A = datetime(2000, 1, 1)
_DEFAULT_B = datetime(2001, 2, 2, 13, 1, 1)
# strptime directives that carry a time of day; a format without any reads bare days.
_TIME_DIRECTIVES = ("%H", "%I", "%X", "%c")
_ISO_SHAPE = re.compile(r"^\s*[+-]?\d{4,}-\d{1,2}-\d{1,2}")

# Distinct values a date column remembers at most (see `DateColumn.parse`).
_MEMO_MAX = 4096

ORDER_HINT = "pass --dayfirst (or --monthfirst) or --date-format FORMAT (e.g. %d/%m/%Y %H:%M)"


# What `datetime.strptime` reads (Python's own list; `%c`/`%x` are a whole date in the C locale).
_DIRECTIVES = frozenset("aAwdbBmyYHIpMSfzjUWcxXGuVZ%")
_WEEKDAY_DIRECTIVES = frozenset("aAwu")


def check_date_format(fmt: str) -> None:
    """Refuse a `--date-format` that cannot read a whole date, before any value is read.

    A directive strptime does not know (`%Q`), a lone `%` at the end, a directive given twice, or a
    format without a year, month or day (`%m/%Y`: strptime would take day 1, a date never written)
    raises InvalidInputError naming `--date-format` and the directive.
    """
    found: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        if i + 1 == len(fmt):
            raise InvalidInputError(f"--date-format {fmt!r}: a lone '%' at the end (write %% for a percent sign)")
        c = fmt[i + 1]
        if c not in _DIRECTIVES:
            raise InvalidInputError(f"--date-format {fmt!r}: %{c} is not a strptime directive "
                                    "(e.g. %d day, %m month, %Y year, %H:%M time)")
        if c != "%" and c in found:
            raise InvalidInputError(f"--date-format {fmt!r}: %{c} appears twice")
        found.append(c)
        i += 2
    have = set(found)
    weekday = bool(have & _WEEKDAY_DIRECTIVES)
    if have & {"G", "V"} and not ({"G", "V"} <= have and weekday and not have & {"Y", "y"}):
        raise InvalidInputError(f"--date-format {fmt!r}: %{'G' if 'G' in have else 'V'} (ISO week date) needs "
                                "%G, %V and a weekday (%u or %a) together, without %Y")
    if not have & {"c", "x"}:
        week = bool(have & {"U", "W"}) and weekday or "V" in have
        missing = [name for name, ok in (
            ("year", have & {"Y", "y", "G"}), ("month", have & {"m", "b", "B"} or "j" in have or week),
            ("day", have & {"d", "j"} or week)) if not ok]
        if missing:
            raise InvalidInputError(
                f"--date-format {fmt!r} has no {' or '.join(missing)} directive (%Y year, %m or %b month, "
                "%d day): a date is never completed with a default")
    try:
        datetime.strptime("", fmt)
    except ValueError as exc:
        if "does not match" not in str(exc):
            raise InvalidInputError(f"--date-format {fmt!r}: {exc}") from exc
    except re.error as exc:  # what strptime's pattern cannot hold
        raise InvalidInputError(f"--date-format {fmt!r}: cannot be used ({exc.msg})") from exc


def _order_of(raw: str) -> str | None:
    """'dmy', 'mdy', 'ambiguous' for day/month-first values; None for anything else (ISO, names)."""
    if raw[:3].isdigit():
        return None  # `2024-...`: no separator after the first one or two digits (most values)
    m = _NUMERIC.match(raw)
    if not m:
        return None
    a, sep, b = int(m.group(1)), m.group(2), int(m.group(3))
    if a == b:
        return None  # `01/01/2024` reads the same in both orders
    if a > 12 and b <= 12:
        return "dmy"
    if b > 12 and a <= 12:
        return "mdy"
    if a > 12 and b > 12:
        return "invalid"
    # Nobody writes month-first with dots: `03.01.2024` is the German/Russian day-first form.
    return "dmy" if sep == "." else "ambiguous"


def _why(exc: ValueError) -> str:
    """` (day is out of range for month)`: Python's reason, unless it only repeats the value."""
    text = str(exc)
    return "" if not text or "isoformat string" in text else f" ({text})"


def parse_value(raw: str, *, dayfirst: bool | None = None, date_format: str | None = None) -> datetime | date:
    """One date value, read exactly: `date_format` (strptime) when given, else ISO-8601, else
    dateutil with the given order. A value lacking year, month or day is refused (never filled in
    from today); an impossible day (`2024-02-30`) is refused by name.

    A bare day in any form (`2024-03-14`, `14.03.2024`, `March 14 2024`) comes back as a `date`
    (stored as its noon, like a date object).
    Raises InvalidInputError with the reason.
    """
    s = str(raw).strip()
    if not s:
        raise InvalidInputError("empty date")
    plain_value_check(s)
    if date_format:
        try:
            parsed = datetime.strptime(s, date_format)
        except ValueError as exc:
            raise InvalidInputError(f"date {s!r} does not match --date-format {date_format!r} ({exc})") from exc
        if any(d in date_format for d in ("%a", "%A", "%c")):
            check_weekday(s, parsed)  # strptime reads a weekday name and then ignores it
        if "%Z" in date_format and parsed.tzinfo is None:
            # strptime reads a %Z name but returns a naive time: the zone it read would be lost
            name = next((w for w in re.findall(r"[A-Za-z]+", s) if w.upper() in ("UTC", "GMT", "Z")), None)
            if name is None:
                raise InvalidInputError(
                    f"date {s!r}: a time-zone name with --date-format's %Z; only UTC and GMT are read as names "
                    "(write a UTC offset and use %z, or pass --tz with an IANA zone)")
            parsed = parsed.replace(tzinfo=UTC)
        # A bare day is stored as its noon whatever its form (as `2024-03-14` is), not as midnight.
        timed = parsed.tzinfo is not None or any(d in date_format for d in _TIME_DIRECTIVES)
        return parsed if timed else parsed.date()
    # `2024-065`, `2024065`: an ordinal date (checked only for that shape: most values are not)
    if s[:4].isdigit() and (s[4:5] == "-" and s[7:8].isdigit() and not s[8:9].isdigit() or s[4:7].isdigit()):
        ordinal = ordinal_as_calendar(s)
        if ordinal is not None:
            try:
                return parse_value(ordinal, dayfirst=dayfirst)
            except InvalidInputError as exc:  # named as written, not as rewritten
                raise InvalidInputError(str(exc).replace(repr(ordinal), repr(s))) from exc
    if len(s) == 10 and s[4] == "-":
        try:
            return date.fromisoformat(s)
        except ValueError as exc:
            raise InvalidInputError(f"cannot read date {s!r}: not a real date{_why(exc)}") from exc
    if len(s) < 10 and s[:1].isdigit():
        try:  # `20240305`, `2024-W10-2`: ISO bare days in their short forms, stored as noon too
            return date.fromisoformat(s)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError as exc:
        if _ISO_SHAPE.match(s) and re.match(r"^\s*\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+)?(?:Z|[+-]\d{2}:?\d{2})?\s*$", s):
            if "offset must be a timedelta" in str(exc):
                raise InvalidInputError(f"cannot read date {s!r}: a UTC offset of 24 hours or more") from exc
            raise InvalidInputError(f"cannot read date {s!r}: not a real date{_why(exc)}") from exc
    if re.match(r"^[+-]\d", s):
        raise InvalidInputError(f"cannot read date {s!r}: a signed year (years 1..9999 only)")

    # A value led by a four-digit year is year-month-day whatever the column's order (dateutil's
    # dayfirst=True alone reads `2024/03/05` as 3 May); the order applies only to the other values.
    s = written_offsets(s)
    yf = year_first(s)
    first = bool(dayfirst) and not yf
    try:
        a = dateutil_parse(s, default=_DEFAULT_A, dayfirst=first, yearfirst=yf, tzinfos=tz_names)
        b = dateutil_parse(s, default=_DEFAULT_B, dayfirst=first, yearfirst=yf, tzinfos=tz_names)
    except ZoneAbbreviation as exc:
        raise InvalidInputError(f"cannot read date {s!r}: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        # dateutil says why a date-shaped value is impossible (`31/02/2024`: day out of range).
        why = str(exc.args[0] if exc.args else "").split(":")[0]
        if "out of range" in why or "must be in" in why:
            raise InvalidInputError(f"cannot read date {s!r}: not a real date ({why})") from exc
        raise InvalidInputError(f"cannot read date {s!r}") from exc
    missing = [n for n, x, y in (("year", a.year, b.year), ("month", a.month, b.month), ("day", a.day, b.day))
               if x != y]
    if missing:
        raise InvalidInputError(f"date {s!r} has no {' or '.join(missing)} (it is never taken from today)")
    if bad_offset(a):
        raise InvalidInputError(f"cannot read date {s!r}: {bad_offset(a)}")
    if any(c.isalpha() for c in s):
        check_weekday(str(raw).strip(), a)
    if a.hour != b.hour and a.tzinfo is None:
        return a.date()  # no time of day written: a bare day, stored as its noon like `2024-03-14`
    return a


def check_instant(value: Any, tz: str | None = None) -> str | None:
    """Why `value` (read in `tz` when naive) cannot be stored, or None: the UTC instant must fall in
    years 1..9999 (`9999-12-31T23:30-05:00` is in year 10000 in UTC), and a naive time read in a
    zone must exist there (not in the hour skipped when daylight saving time starts)."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, date) and 1 < value.year < 9999 and (
            not tz or type(value) is date or value.tzinfo is not None):
        return None  # no offset or zone can move it out of range (fast path: checked per entry)
    from ..timeutil import to_utc

    try:
        to_utc(value, tz)
    except InvalidInputError as exc:
        return str(exc)
    except (OverflowError, ValueError):
        shown = value.isoformat() if isinstance(value, date) else repr(value)
        return f"date {shown} is outside years 1..9999 once converted to UTC"
    return None


def zone_for(value: Any, tz: str | None) -> str | None:
    """The --tz zone to record with `value`: `tz` for a naive value or one whose written offset is
    that zone's offset then, else None (the value's own offset is recorded: `--tz` is the zone of
    dates written without one, and a `...Z` value was not written in Europe/Paris)."""
    if not tz or not isinstance(value, datetime) or value.tzinfo is None:
        return tz
    from ..timeutil import resolve_tz

    try:
        zone = resolve_tz(tz)
        same = zone is not None and value.utcoffset() == value.astimezone(zone).utcoffset()
    except (InvalidInputError, ValueError, OverflowError):
        return tz  # left to the store's own checks, which name the fault
    return tz if same else None


class DateColumn:
    """The values of one date column (or one file's timestamps), read in a single date order.

    `read(raw)` returns a datetime, or None while the order is still unknown (the caller keeps the
    value and asks `read` again after `order` is set); `resolve()` at the end raises when the order
    never became known. `name` is used in messages (`diary.csv: column 'Date'`).
    """

    def __init__(self, name: str, dayfirst: bool | None = None, date_format: str | None = None,
                 label: str = "date"):
        self.name = name
        self.label = label
        self.date_format = date_format
        self.order: str | None = None if dayfirst is None else ("dmy" if dayfirst else "mdy")
        self.given = dayfirst is not None or bool(date_format)
        self.proof: str | None = None
        self.pending = 0
        # Values already read, for the order they were read in: journals repeat their dates (a diary
        # of days, several entries a day). Given up when values rarely repeat (timestamps).
        self._memo: dict[str, datetime | date] | None = {}
        self._memo_order: str | None = self.order
        self._memo_hits = 0

    def observe(self, raw: str, place: str) -> bool:
        """Record what `raw` says about the order; False when its order is not known yet.

        Raises InvalidInputError when the column mixes proven day-first and month-first values.
        """
        if self.date_format:
            return True
        kind = _order_of(raw)
        if kind in (None, "invalid"):
            return True
        if self.given:
            if kind != "ambiguous" and kind != self.order:
                # the option names the order of values that could be either, never one a value refutes
                option, other = ("--dayfirst", "month-first") if self.order == "dmy" else ("--monthfirst", "day-first")
                raise InvalidInputError(
                    f"{self.name}: {place}: {raw.strip()!r} can only be {other}, but {option} was given; "
                    f"drop {option} (the column's values tell the order) or pass --date-format")
            return True
        if kind == "ambiguous":
            return self.order is not None
        self._settle(kind, raw, place)
        return True

    def _settle(self, kind: str, raw: str, place: str) -> None:
        """Take `kind` ("dmy"/"mdy") as proved by `raw`; InvalidInputError when it contradicts the order
        an earlier value proved."""
        if self.order is None:
            self.order, self.proof = kind, f"{place} ({raw.strip()!r})"
        elif self.order != kind:
            first = "day-first" if self.order == "dmy" else "month-first"
            raise InvalidInputError(
                f"{self.name}: mixes date orders: {self.proof} is {first} but {place} ({raw.strip()!r}) "
                f"is not; {ORDER_HINT}"
            )

    def prove_by_day(self, raw: str, day: int, month: int, place: str) -> None:
        """Record the order `raw` must be in to name `day` and `month` (known from elsewhere, e.g. a
        jrnl day file's `YYYY/MM/DD.txt` path); nothing when both orders name them."""
        m = _NUMERIC.match(raw)
        if self.given or not m or day == month:
            return
        a, b = int(m.group(1)), int(m.group(3))
        kind = "dmy" if (a, b) == (day, month) else "mdy" if (a, b) == (month, day) else None
        if kind is not None:
            self._settle(kind, raw, place)

    def parse(self, raw: str) -> datetime:
        """The value in the column's order (call after `observe` returned True or `order` is set)."""
        memo = self._memo
        if memo is None:
            return parse_value(raw, dayfirst=self.order == "dmy", date_format=self.date_format)
        if self._memo_order != self.order:  # read in another order before: read again
            memo.clear()
            self._memo_order = self.order
        found = memo.get(raw)
        if found is not None:
            self._memo_hits += 1
            return found
        value = parse_value(raw, dayfirst=self.order == "dmy", date_format=self.date_format)
        if len(memo) >= _MEMO_MAX:
            # Fewer repeats than distinct values: a column of timestamps, not worth remembering.
            self._memo = None if self._memo_hits < _MEMO_MAX else {}
            self._memo_hits = 0
            if self._memo is None:
                return value
            memo = self._memo
        memo[raw] = value
        return value

    def unresolved(self, count: int, first_place: str) -> InvalidInputError:
        """The error for a column whose day/month order nothing proved."""
        return InvalidInputError(
            f"{self.name}: {count} date(s) such as {first_place} could be day-first or month-first and no "
            f"value in the column tells which; {ORDER_HINT}"
        )


# --- dates in paths -------------------------------------------------------------------------------

MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
_MONTH_ABBR = {name[:3]: i for name, i in MONTHS.items()}
_MONTH_WORD = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_NAME_YMD = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?:[ T_-]+(\d{2})[:.hH-]?(\d{2}))?(?!\d)")
_NAME_Y_MON_D = re.compile(r"(?<!\d)(\d{4})[-_. ]?(" + _MONTH_WORD + r")[-_. ]?(\d{1,2})(?!\d)", re.I)
_NAME_D_MON_Y = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?[-_. ]?(" + _MONTH_WORD + r")[-_., ]*(\d{4})(?!\d)",
                           re.I)
# `January 5th, 2023`, `Jan 6, 2023`, `Friday, January 6th 2023` (Obsidian `MMMM Do, YYYY` formats):
# a month word before the day leaves no day/month order to guess.
_NAME_MON_D_Y = re.compile(r"(?<![A-Za-z])(" + _MONTH_WORD + r")[-_. ]?(\d{1,2})(?:st|nd|rd|th)?,?[-_. ]+(\d{4})(?!\d)",
                           re.I)


def month_number(word: str) -> int | None:
    """1..12 for an English month name or abbreviation (`March`, `mar`, `Sept`), else None."""
    w = word.strip().lower()
    if not re.fullmatch(_MONTH_WORD, w):
        return None
    return MONTHS.get(w) or _MONTH_ABBR[w[:3]]


def _mk(y: int, mo: int, d: int, hh: int | None = None, mm: int | None = None) -> datetime | None:
    try:
        if hh is not None and mm is not None and hh < 24 and mm < 60:
            return datetime(y, mo, d, hh, mm)
        return datetime(y, mo, d, 12, 0)
    except ValueError:
        return None


# `2024-065 notes`: a file name led by an ISO ordinal date (year, day of the year); only at the start,
# where nothing but a date is written that way (`invoice 1234-567` is not one).
_NAME_ORDINAL = re.compile(r"^(\d{4})-(\d{3})(?![\d-])")


def _ordinal(year: int, day: str) -> datetime | None:
    """Noon of day `day` (`065`) of `year`; InvalidInputError for a day the year lacks."""
    iso = ordinal_as_calendar(f"{year:04d}-{day}")
    if iso is None:
        return None
    d = date.fromisoformat(iso)
    return datetime(d.year, d.month, d.day, 12, 0)


def date_from_name(stem: str) -> datetime | None:
    """A date in a file name: `2025-03-14`, `20250314`, `2025-03-14 21-30`, `2023-Jan-01`, `1 March 2023`,
    `January 5th, 2023`, `Friday, January 6th 2023`, `2024-065` (day of the year).

    Raises InvalidInputError when a weekday written just before the date is not its weekday, or for
    a day of the year the year lacks (`2023-366`).
    """
    m = _NAME_YMD.search(stem)
    if m:
        y, mo, d, hh, mm = m.groups()
        return _named_weekday(stem, m, _mk(int(y), int(mo), int(d), int(hh) if hh else None,
                                           int(mm) if mm else None))
    m = _NAME_Y_MON_D.search(stem)
    if m:
        mo = month_number(m.group(2))
        return _named_weekday(stem, m, _mk(int(m.group(1)), mo, int(m.group(3))) if mo else None)
    m = _NAME_D_MON_Y.search(stem)
    if m:
        mo = month_number(m.group(2))
        return _named_weekday(stem, m, _mk(int(m.group(3)), mo, int(m.group(1))) if mo else None)
    m = _NAME_MON_D_Y.search(stem)
    if m:
        mo = month_number(m.group(1))
        return _named_weekday(stem, m, _mk(int(m.group(3)), mo, int(m.group(2))) if mo else None)
    m = _NAME_ORDINAL.search(stem)
    if m:
        return _named_weekday(stem, m, _ordinal(int(m.group(1)), m.group(2)))
    return None


# A weekday word ending right before a date in a name (`Friday, January 6th 2023`, `Fri 2023-01-06`).
_WEEKDAY_BEFORE = re.compile(r"([A-Za-z]+)[-_., ]*$")


def _named_weekday(stem: str, m: re.Match, found: datetime | None) -> datetime | None:
    """`found`, after checking a weekday written just before the date `m` matched in `stem` (words
    after the date are the note's title, not part of its date)."""
    if found is None:
        return None
    w = _WEEKDAY_BEFORE.search(stem, 0, m.start())
    if w and weekday_number(w.group(1)) is not None:
        check_weekday(w.group(1), found, f"file name date {stem[w.start():m.end()]!r}")
    return found


def date_from_path(parts: tuple[str, ...]) -> datetime | None:
    """A date spread over folders and file name: `2024/06/01.txt`, `Daily/2023/03/05.md`,
    `2023/January/05.md`, `2023/03/2023-03-05 notes.md`. Parts are the path relative to the imported
    root, file name last (with its extension)."""
    if not parts:
        return None
    stem = re.sub(r"\.[^.]+$", "", parts[-1])
    found = date_from_name(stem)
    if found:
        return found
    folders = list(parts[:-1])
    # A day number as the file name under .../YYYY/MM (or a month name) folders.
    m = re.fullmatch(r"(\d{1,2})(?:[ _-].*)?", stem)
    if m and len(folders) >= 2:
        y, mo = folders[-2], folders[-1]
        month = int(mo) if re.fullmatch(r"\d{1,2}", mo) else month_number(mo)
        if re.fullmatch(r"\d{4}", y) and month:
            return _mk(int(y), month, int(m.group(1)))
    return None


# moment.js tokens Obsidian daily-note formats use, longest first.
_MOMENT_TOKENS = [
    ("YYYY", r"(?P<Y>\d{4})"), ("YY", r"(?P<y>\d{2})"), ("MMMM", r"(?P<MMMM>[A-Za-z]+)"),
    ("MMM", r"(?P<MMM>[A-Za-z]{3})"), ("MM", r"(?P<M>\d{2})"), ("M", r"(?P<M>\d{1,2})"),
    ("DDDD", r"(?P<DDDD>\d{3})"), ("DD", r"(?P<D>\d{2})"), ("Do", r"(?P<D>\d{1,2})(?:st|nd|rd|th)"),
    ("D", r"(?P<D>\d{1,2})"), ("dddd", r"(?P<dddd>[A-Za-z]+)"), ("ddd", r"(?P<dddd>[A-Za-z]{3})"),
    ("dd", r"[A-Za-z]{2}"),
    ("HH", r"(?P<H>\d{2})"), ("H", r"(?P<H>\d{1,2})"), ("mm", r"(?P<m>\d{2})"), ("ww", r"\d{2}"),
    ("w", r"\d{1,2}"), ("gggg", r"\d{4}"), ("GGGG", r"\d{4}"), ("WW", r"\d{2}"), ("W", r"\d{1,2}"),
    ("Q", r"\d"), ("E", r"\d"), ("e", r"\d"), ("A", r"(?:AM|PM)"), ("a", r"(?:am|pm)"),
]


def moment_regex(fmt: str) -> re.Pattern:
    """A regex for paths written with a moment.js format (`YYYY/MMMM/YYYY-MMM-DD`); `[text]` is literal.
    A token that appears twice (YYYY in folder and name) must match the same text."""
    out, i, used = [], 0, set()
    while i < len(fmt):
        if fmt[i] == "[":
            j = fmt.find("]", i)
            j = len(fmt) if j < 0 else j
            out.append(re.escape(fmt[i + 1:j]))
            i = j + 1
            continue
        for tok, rx in _MOMENT_TOKENS:
            if fmt.startswith(tok, i):
                g = re.search(r"\?P<(\w+)>", rx)
                if g and g.group(1) in used:
                    rx = f"(?P={g.group(1)})"
                elif g:
                    used.add(g.group(1))
                out.append(rx)
                i += len(tok)
                break
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$", re.I)


def date_from_moment(rx: re.Pattern, rel_no_ext: str) -> datetime | None:
    """The date in `rel_no_ext` (path inside the daily-notes folder, no extension) under `rx`;
    InvalidInputError when a weekday it names (`dddd`) is not the date's."""
    m = rx.match(rel_no_ext)
    if not m:
        return None
    g = m.groupdict()
    year = int(g["Y"]) if g.get("Y") else (2000 + int(g["y"]) if g.get("y") else None)
    month = int(g["M"]) if g.get("M") else month_number(g.get("MMMM") or g.get("MMM") or "")
    day = int(g["D"]) if g.get("D") else None
    if year and g.get("DDDD") and not (month and day):  # day of the year (`YYYY-DDDD`)
        return _ordinal(year, g["DDDD"])
    if not (year and month and day):
        return None
    found = _mk(year, month, day, int(g["H"]) if g.get("H") else None, int(g["m"]) if g.get("m") else None)
    if found is not None and g.get("dddd") and weekday_number(g["dddd"]) is not None:
        check_weekday(g["dddd"], found, f"daily-note name {rel_no_ext!r}")
    return found


def utc_from_timestamp(ts: float) -> datetime:
    """A file time as an aware UTC datetime, to the second."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(ts)))


class RawDate:
    """A date value whose reading waits for its column's order (see `settle_dates`)."""

    __slots__ = ("raw", "column", "place")

    def __init__(self, raw: str, column: DateColumn, place: str):
        self.raw, self.column, self.place = raw, column, place


def settle_dates(items: Iterator[Any]) -> Iterator[Any]:
    """Entries whose `created_at` is a RawDate, read in their column's order as soon as it is known.

    Entries are yielded as they come while the order is known (or not needed); ambiguous ones wait
    until a later value of the same column proves it. A value that cannot be read becomes a
    Rejection; a column left ambiguous at the end raises InvalidInputError (one line, with the hint).
    """
    from .common import Rejection

    waiting: dict[int, tuple[DateColumn, list]] = {}

    def finish(item: Any) -> Any:
        rd = item.created_at
        try:
            item.created_at = rd.column.parse(rd.raw)
        except InvalidInputError as exc:
            return Rejection(item.where, f"{exc} in {rd.column.label}")
        if getattr(item, "tz", None):
            item.tz = zone_for(item.created_at, item.tz)
        return item

    for item in items:
        rd = getattr(item, "created_at", None)
        if not isinstance(rd, RawDate):
            proof = getattr(item, "date", None)
            if isinstance(proof, RawDate):
                # A skipped row's date still proves its column's order; one that contradicts it
                # is not an error (the row is not imported).
                try:
                    proof.column.observe(proof.raw, proof.place)
                except InvalidInputError:
                    pass
            yield item
            if id(proof.column if isinstance(proof, RawDate) else None) in waiting and proof.column.order:
                for w in waiting.pop(id(proof.column))[1]:
                    yield finish(w)
            continue
        col = rd.column
        if not col.observe(rd.raw, rd.place):
            waiting.setdefault(id(col), (col, []))[1].append(item)
            continue
        yield finish(item)
        # A value readable in any order (ISO, a day equal to its month) proves nothing: the waiting
        # ones are read only once the order is known.
        if id(col) in waiting and col.order is not None:
            for w in waiting.pop(id(col))[1]:
                yield finish(w)
    for col, held in waiting.values():
        first = held[0].created_at
        raise col.unresolved(len(held), f"{first.place} ({first.raw.strip()!r})")
