"""Timestamps: everything is stored as UTC ISO-8601 (`YYYY-MM-DDTHH:MM:SSZ`) plus the writer's time zone."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInputError

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ISO_BOUND_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?$")


def now_utc() -> datetime:
    """The current time in UTC, to the second (what we store)."""
    return datetime.now(UTC).replace(microsecond=0)


_NOW_ISO: list = [None, ""]  # (second, its stored string): bulk writes stamp many rows per second


def now_iso() -> str:
    """The current time as stored (UTC, to the second)."""
    second = int(time.time())  # the same second as now_utc(), without building a datetime per row
    if second != _NOW_ISO[0]:
        _NOW_ISO[:] = [second, format_utc(datetime.fromtimestamp(second, UTC))]
    return _NOW_ISO[1]


def resolve_tz(name: str | None) -> tzinfo | None:
    """A tzinfo for an IANA name (`Europe/Paris`), `UTC` or an offset (`+05:30`); None for None/''."""
    if not name:
        return None
    if name.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    m = _OFFSET_RE.match(name.strip())
    if m:
        sign = -1 if m.group(1) == "-" else 1
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        if delta >= timedelta(hours=24):
            raise InvalidInputError(f"time zone {name[:60]!r}: a UTC offset of 24 hours or more")
        return timezone(sign * delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long for a file
        raise InvalidInputError(f"unknown time zone {name[:60]!r}") from exc


# IANA names of the zone that is UTC itself (links to Etc/UTC); stored as `UTC` like `Z` and `+00:00`.
UTC_ALIASES = frozenset({
    "UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu", "Etc/GMT",
    "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Etc/Greenwich", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich",
})


def tz_name(tz: tzinfo | None, when: datetime | None = None) -> str | None:
    """The string we store for a tzinfo: the IANA key when there is one, else `+HH:MM`."""
    if tz is None:
        return None
    key = getattr(tz, "key", None)
    if key:
        return "UTC" if key in UTC_ALIASES else key
    if tz is UTC:
        return "UTC"
    off = tz.utcoffset(when)
    if off is None:
        return None
    if not off:
        # `Z`, `+00:00`, `+0000`, `GMT`, `UTC` all say "written in UTC": one stored form for all
        # (values stored as `+00:00` before stay readable: resolve_tz reads both).
        return "UTC"
    total = int(off.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def to_utc(value: datetime | date | str, tz: str | None = None) -> tuple[datetime, str | None]:
    """Normalise a timestamp to aware UTC and report the writer's zone.

    A naive value is read in `tz` (UTC when none). An aware value records its own offset (any
    offset of zero as `UTC`); `tz` is recorded instead only when it gives that same offset at that
    instant (`10:00+01:00` in winter with `Europe/Paris`): to record a zone with an aware time, give
    the time in that zone (`dt.astimezone(ZoneInfo(tz))`). Strings are ISO-8601 or anything `dateutil` reads.
    Daylight saving time: a wall-clock time the zone skips (`2024-03-31 02:30` in Europe/Berlin)
    raises InvalidInputError, never moved silently to another hour; a time the zone shows twice
    (`2024-10-27 02:30` in Europe/Berlin) is its first occurrence (the offset before the change).
    """
    if isinstance(value, str):
        # A bare date string means the same as a date object (its noon), not midnight.
        value = _bare_date(value) or _bare_day(parse_datetime(value), value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, 12, 0, 0)
    zone = resolve_tz(tz)
    if value.tzinfo is None and zone is None:  # naive and no zone: UTC as it stands (most imports)
        return value.replace(tzinfo=UTC, microsecond=0), None
    if value.tzinfo is None:
        local = value.replace(tzinfo=zone or UTC, fold=0)  # fold 0: the first of a repeated hour
        zname = tz_name(zone, local) if zone else None
        if zone is not None:
            skipped = dst_gap(local)
            if skipped:
                raise InvalidInputError(f"{value.replace(microsecond=0).isoformat(' ')} does not exist in {zname}: "
                                        f"{skipped}")
    else:
        local = value
        try:
            zname = tz_name(value.tzinfo, value)
        except (ValueError, OverflowError):  # an unusable offset: refused below with its reason
            zname = None
        if zone is not None and _same_offset(value, zone):
            # The zone gives the written offset at that instant: it is the writer's zone. Otherwise
            # the offset written wins (`10:00+05:30` was not written in Europe/Paris).
            zname = tz_name(zone, value)
    try:
        return local.astimezone(UTC).replace(microsecond=0), zname
    except (ValueError, OverflowError) as exc:  # e.g. a parsed offset of 24 h or more, or year 1 minus a day
        if bad_offset(value):
            raise InvalidInputError(f"date {value.replace(tzinfo=None).isoformat()} has {bad_offset(value)}") from exc
        shown = value.isoformat()
        if isinstance(exc, OverflowError) or "out of range" in str(exc) and "offset" not in str(exc):
            raise InvalidInputError(f"date {shown} is outside years 1..9999 once converted to UTC") from exc
        raise InvalidInputError(f"cannot convert {shown} to UTC: offset out of range ({str(exc).split('.')[0]})") from exc


def _same_offset(value: datetime, zone: tzinfo) -> bool:
    """Whether `zone` has the offset of the aware `value` at that instant (False when unusable)."""
    try:
        return value.utcoffset() == value.astimezone(zone).utcoffset()
    except (ValueError, OverflowError):
        return False


def _bare_day(parsed: datetime, text: str) -> datetime | date:
    """`parsed` as a date when `text` wrote no time of day (`2024/03/05`, `Jan 3 2024`): a bare day
    is its noon in every form, not midnight."""
    if parsed.tzinfo is not None or parsed.time() != datetime.min.time():
        return parsed
    from .importers.dates import parse_value  # the import-side reader tells a bare day apart

    read = parse_value(text)
    return read if type(read) is date else parsed


def dst_gap(local: datetime) -> str | None:
    """Why the wall-clock time of `local` (aware, in its zone) never happens there, or None.

    A time in the hour skipped when daylight saving time starts has two readings (the offset
    before and after the change) and neither gives back the time written.
    """
    try:
        before, after = local.replace(fold=0).utcoffset(), local.replace(fold=1).utcoffset()
    except (ValueError, OverflowError):
        return None
    if before is None or after is None or before == after or before > after:
        return None  # one reading, or a repeated hour (its first occurrence is taken)
    back = local.replace(fold=0).astimezone(UTC).astimezone(local.tzinfo)
    if back.replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0):
        return None
    return (f"the clocks skip from UTC{_offset(before)} to UTC{_offset(after)} there "
            "(daylight saving time starts); write the time that was meant")


def _offset(delta: timedelta) -> str:
    total = int(delta.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _bare_date(text: str) -> date | None:
    s = text.strip()
    if not 7 <= len(s) <= 10 or not s[:1].isdigit():  # `20240305`, `2024-W10-2`, `2024-03-05`
        return None
    try:
        return date.fromisoformat(s)
    except ValueError:
        return None


def bad_offset(value: datetime) -> str | None:
    """Why the UTC offset of `value` is unusable ('a UTC offset of 24 hours or more'), or None.

    dateutil builds such offsets (`10:00 +2500`, `UTC+30`); Python refuses them only when the
    offset is used, with a message about timedelta internals.
    """
    if value.tzinfo is None:
        return None
    try:
        value.utcoffset()
    except ValueError:
        return "a UTC offset of 24 hours or more"
    return None


# `2024/03/05`, `2024.3.5 10:00`, `2024 03 05`, `20240305`: a four-digit year first (after a weekday
# name, if any: `Tue 2024-03-05`).
_YEAR_FIRST = re.compile(r"^\s*(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*)?\d{4}(?:[-/. _T]|\d{4}(?!\d)|$)",
                         re.IGNORECASE)
# Plain integers of nine digits or more: epoch seconds (or milliseconds), not a written date.
_EPOCH = re.compile(r"^\d{9,}(?:\.\d+)?$")
# `2024-W10`, `2024W10`: ISO week dates without the day, which Python takes as the Monday.
_WEEK_ONLY = re.compile(r"^\d{4}-?W\d{2}$", re.IGNORECASE)


class ZoneAbbreviation(Exception):
    """A time-zone abbreviation in a date (`EST`, `CST`): several zones share most of them."""


# `UTC+2`, `GMT-05:00`, `utc +5:30`: people mean the offset as written (ISO 8601, and how most systems
# show zones); dateutil follows the POSIX TZ convention instead and flips the sign.
_NAMED_OFFSET = re.compile(r"\b(?:UTC|GMT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?(?!\d)", re.IGNORECASE)


def written_offsets(text: str) -> str:
    """`text` with `UTC+2`-style offsets rewritten as ISO offsets (`+02:00`), so they are read as written."""
    if "+" not in text and "-" not in text:
        return text
    return _NAMED_OFFSET.sub(lambda m: f"{m.group(1)}{int(m.group(2)):02d}:{m.group(3) or '00'}", text)


def dateutil_parse(text: str, **kwargs: Any) -> datetime:
    """dateutil's `parse`, with a two-digit year taken as the latest such year not after this one
    (`31/12/69` is 1969: a journal entry is not written in the future; dateutil's own rule, within
    50 years of today either way, gives 2069)."""
    from dateutil import parser as du

    global _PAST_YEARS
    if _PAST_YEARS is None:
        class PastYears(du.parserinfo):
            def convertyear(self, year: int, century_specified: bool = False) -> int:
                if year < 100 and not century_specified:
                    year += self._century
                    if year > self._year:
                        year -= 100
                return year

        _PAST_YEARS = PastYears()
    return du.parse(text, parserinfo=_PAST_YEARS, **kwargs)


_PAST_YEARS: Any = None


def year_first(text: str) -> bool:
    """Whether `text` starts with a four-digit year (read year-month-day whatever the day/month order)."""
    return bool(_YEAR_FIRST.match(text))


def tz_names(name: str | None, offset: int | None) -> tzinfo | None:
    """dateutil `tzinfos` hook: a numeric offset or UTC/GMT/Z as written; any other zone name raises
    ZoneAbbreviation (dateutil would drop it with a warning, or take the machine's own zone when
    the name matches it)."""
    from dateutil import tz as dtz

    if offset is not None:
        return dtz.UTC if offset == 0 else dtz.tzoffset(name, offset)
    if name is None:
        return None
    raise ZoneAbbreviation(
        f"time zone abbreviation {name[:12]!r} (CST, IST, BST and most others name several zones: write "
        "a UTC offset such as -05:00, or pass --tz with an IANA zone such as America/New_York)")


def plain_value_check(s: str) -> None:
    """InvalidInputError for date values never read: digits other than 0-9 and epoch seconds."""
    if not s.isascii() and any(c.isdigit() and not c.isascii() for c in s):
        raise InvalidInputError(f"cannot read date {s[:40]!r}: write its digits as 0-9 (not full-width or other "
                                "scripts' digits)")
    if _WEEK_ONLY.match(s):
        raise InvalidInputError(f"cannot read date {s[:40]!r}: a week without its day (write 2024-W10-2 or "
                                "the date)")
    if _EPOCH.match(s):
        raise InvalidInputError(f"cannot read date {s[:40]!r}: a bare number (epoch seconds are not read); "
                                "write it as YYYY-MM-DD HH:MM")


# `2024-065`, `2024-065T10:00`: ISO 8601 ordinal dates (year and day of the year).
_ORDINAL = re.compile(r"^(\d{4})-(\d{3})(?=$|[T ])")
# `2024065`, `2024065T1000`: the compact ordinal form, which reads like a truncated calendar date.
_COMPACT_ORDINAL = re.compile(r"^\d{7}(?:$|T)")


def ordinal_as_calendar(text: str) -> str | None:
    """`text` with an ISO 8601 ordinal date (`2024-065`, `2024-065T10:00`) written as its calendar
    date (`2024-03-05`, `2024-03-05T10:00`), the rest kept; None when it holds no ordinal date.

    Raises InvalidInputError for a day the year does not have (`2023-366`, `2024-000`) and for the
    compact form (`2024065`), saying why.
    """
    m = _ORDINAL.match(text)
    if m is None:
        if _COMPACT_ORDINAL.match(text):
            raise InvalidInputError(
                f"cannot read date {text[:40]!r}: a compact ordinal date (year and day of the year without "
                "a hyphen) is not read; write 2024-065 or the calendar date 2024-03-05")
        return None
    year, day = int(m.group(1)), int(m.group(2))
    if year < 1:
        raise InvalidInputError(f"cannot read date {text[:40]!r}: year 0 does not exist (years 1..9999)")
    days = 366 if calendar.isleap(year) else 365
    if not 1 <= day <= days:
        raise InvalidInputError(
            f"cannot read date {text[:40]!r}: not a real date (day {m.group(2)} of the year: "
            f"{year} has days 001 to {days})")
    return (date(year, 1, 1) + timedelta(days=day - 1)).isoformat() + text[m.end():]


# English weekday names and the abbreviations dateutil and strptime (C locale) read; no reader
# reads weekdays of other languages.
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS = {**{n.lower(): i for i, n in enumerate(WEEKDAY_NAMES)},
             **{n[:3].lower(): i for i, n in enumerate(WEEKDAY_NAMES)},
             "tues": 1, "weds": 2, "thur": 3, "thurs": 3}


def weekday_number(word: str) -> int | None:
    """0 (Monday) .. 6 for an English weekday name or abbreviation (`Tue`, `Tuesday`), else None."""
    return _WEEKDAYS.get(word.strip().rstrip(".,").lower())


def check_weekday(text: str, value: date, what: str | None = None) -> None:
    """InvalidInputError when `text` names a weekday the day of `value` is not.

    `Mon, 05 Mar 2024` says Monday but 5 March 2024 was a Tuesday: the day, the month or the
    weekday was mistyped, and which one is never guessed. `what` names the value in the message
    (default: `date 'TEXT'`).
    """
    for word in re.findall(r"[A-Za-z]+", text):
        n = _WEEKDAYS.get(word.lower())
        if n is not None and n != value.weekday():
            day = f"{value.day} {calendar.month_name[value.month]} {value.year:04d}"
            said = word if word.lower() == WEEKDAY_NAMES[n].lower() else f"{word} ({WEEKDAY_NAMES[n]})"
            raise InvalidInputError(
                f"{what or f'date {text[:60]!r}'} says {said} but {day} is a "
                f"{WEEKDAY_NAMES[value.weekday()]}; correct the date or the weekday (neither is guessed)")


def parse_datetime(text: str) -> datetime:
    """Parse ISO-8601 first (fast, exact), then common human formats via dateutil."""
    s = text.strip()
    if not s:
        raise InvalidInputError("empty date")
    plain_value_check(s)
    ordinal = ordinal_as_calendar(s)
    if ordinal is not None:
        try:
            return parse_datetime(ordinal)
        except InvalidInputError as exc:  # named as written, not as rewritten
            raise InvalidInputError(str(exc).replace(repr(ordinal), repr(s))) from exc
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        pass
    if re.match(r"^[+-]\d", s):  # dateutil would drop the sign: `-0001-01-01` is not year 1
        raise InvalidInputError(f"cannot read date {text!r}: a signed year (years 1..9999 only)")

    # Never guessed: a part missing from the text is not taken from today, and a value that reads
    # differently day-first and month-first (`1/2/2024`) is refused, as imports do per file.
    s = written_offsets(s)
    yf = year_first(s)  # year-month-day: no day/month order to doubt
    try:
        a = dateutil_parse(s, default=datetime(2000, 1, 1), yearfirst=yf, tzinfos=tz_names)
        b = dateutil_parse(s, default=datetime(2001, 2, 2), yearfirst=yf, tzinfos=tz_names)
        other = a if yf else dateutil_parse(s, default=datetime(2000, 1, 1), dayfirst=True, tzinfos=tz_names)
    except ZoneAbbreviation as exc:
        raise InvalidInputError(f"cannot read date {text!r}: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        from .importers.dates import parse_value  # it names why an ISO-shaped value is impossible

        try:
            parse_value(text)
        except InvalidInputError as why:
            if str(why) != f"cannot read date {text.strip()!r}":
                raise InvalidInputError(str(why)) from exc
        raise InvalidInputError(f"cannot read date {text!r}") from exc
    missing = [n for n, x, y in (("year", a.year, b.year), ("month", a.month, b.month), ("day", a.day, b.day))
               if x != y]
    if missing:
        raise InvalidInputError(f"date {text!r} has no {' or '.join(missing)} (it is never taken from today)")
    if bad_offset(a):
        raise InvalidInputError(f"cannot read date {text!r}: {bad_offset(a)}")
    if other != a:
        raise InvalidInputError(f"date {text!r} could be day-first or month-first; write it as YYYY-MM-DD")
    check_weekday(text.strip(), a)
    return a


def format_utc(dt: datetime) -> str:
    """Aware datetime -> stored string; naive values are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    # isoformat (several times faster than strftime, and faster without `timespec`: the fraction and
    # offset after the seconds are cut off) always writes four year digits; strftime's %Y does not
    # below year 1000, and '99-01-01' would sort after '2024-...' and not parse back.
    return dt.isoformat()[:19] + "Z"


def parse_utc(text: str) -> datetime:
    """Stored string -> aware UTC datetime."""
    return datetime.strptime(text, ISO_FORMAT).replace(tzinfo=UTC)


def bound_iso(value: datetime | date | str | None, *, end: bool = False) -> str | None:
    """A since/until filter value as a stored-format string; a bare date `until` covers that whole day.

    Strings must be ISO 8601 (`YYYY-MM-DD`, or a date and time): a bound is never guessed from a
    short or local form (`24-01-01`, `01/02/2024`). Raises InvalidInputError naming the value.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_BOUND_RE.match(text):
            raise InvalidInputError(f"date {value[:40]!r}: write it as YYYY-MM-DD (or an ISO 8601 date and time)")
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(
                text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError as exc:
            why = "a UTC offset of 24 hours or more" if "offset must be a timedelta" in str(exc) else exc
            raise InvalidInputError(f"date {value[:40]!r}: {why}") from exc
    if isinstance(value, date) and not isinstance(value, datetime):
        dt = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if end:
            dt = dt + timedelta(days=1) - timedelta(seconds=1)
        return format_utc(dt)
    dt, _ = to_utc(value)
    return format_utc(dt)


def _named_bound(name: str, value: datetime | date | str | None, end: bool) -> str | None:
    """`bound_iso` whose refusal names the parameter (`since: date 'x': write it as ...`)."""
    try:
        return bound_iso(value, end=end)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{name}: {exc}") from None


def bound_range(since: datetime | date | str | None, until: datetime | date | str | None) -> tuple[str | None, str | None]:
    """(since, until) as `bound_iso` gives them; InvalidInputError when since is after until (a
    reversed range holds nothing, and is nearly always the two dates typed the wrong way round)."""
    lo, hi = _named_bound("since", since, False), _named_bound("until", until, True)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInputError(f"since {str(since)[:40]} is after until {str(until)[:40]}: "
                                "the range is empty (swap the two dates)")
    return lo, hi
