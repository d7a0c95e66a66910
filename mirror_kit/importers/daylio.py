"""Daylio's CSV export (`full_date,date,weekday,time,mood,activities,note_title,note`): one entry
per row with a note.

The date is `full_date` + `time` (the `date` column has no year and is never used); `note` is HTML
and becomes plain text, `note_title` the title, `activities` (` | `-separated) the tags, and mood,
activities and weekday go into metadata. Daylio has no entry ids: a row is keyed by its minute
(`2023-12-31T23:10`, then `#2` for a second row in the same minute). Rows with only a mood are
skipped and counted as without text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from ..errors import InvalidInputError
from ..timeutil import check_weekday, weekday_number
from .common import Context, Entry, Rejection, Skipped, csv_rows
from .dates import parse_value, zone_for

HEADER = ("full_date", "date", "weekday", "time", "mood", "activities", "note_title", "note")


def is_daylio(header: list[str]) -> bool:
    """Whether a CSV header is Daylio's (all its columns present, in any order)."""
    return set(HEADER) <= {h.strip().lower() for h in header}


def html_to_text(note: str) -> str:
    """Daylio's note HTML as plain text: `<br>` and block ends become line breaks, tags go,
    entities are decoded."""
    if "<" not in note and "&" not in note:
        return note.strip()
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(note, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "li"]):
        block.append("\n")
    text = soup.get_text()
    return re.sub(r"\n{3,}", "\n\n", text.replace("\xa0", " ")).strip()


def daylio_rows(reader: csv.Reader, header: list[str], name: str, ctx: Context) -> Iterator[Entry | Rejection | Skipped]:
    """Entries of a Daylio export's rows (the header already read)."""
    col = {h.strip().lower(): i for i, h in enumerate(header)}
    seen: dict[str, int] = {}
    width = len(header)
    tz = ctx.opt("tz")
    for start, row in csv_rows(reader, name):
        row = row + [""] * (width - len(row))
        where = {"file": name, "line": start}

        def get(key: str, row: list[str] = row) -> str:
            return row[col[key]].strip()

        text = html_to_text(get("note"))
        title = html_to_text(get("note_title")) or None
        if not text and not title:
            yield Skipped(where, "mood-only row (no note)")
            continue
        raw = f"{get('full_date')} {get('time')}".strip()
        try:
            when = parse_value(raw, dayfirst=ctx.opt("dayfirst"), date_format=ctx.opt("date_format"))
        except InvalidInputError as exc:
            yield Rejection(where, f"{exc} (columns 'full_date' + 'time')")
            continue
        weekday = get("weekday")
        if weekday_number(weekday) is not None:  # English names; other languages are kept as written
            try:
                check_weekday(weekday, when, f"column 'weekday' ({weekday!r}) of full_date {get('full_date')!r}")
            except InvalidInputError as exc:
                yield Rejection(where, str(exc))
                continue
        key = when.strftime("%Y-%m-%dT%H:%M")
        n = seen.get(key, 0) + 1
        seen[key] = n
        activities = [a.strip() for a in get("activities").split("|") if a.strip()]
        meta = {"mood": get("mood"), "activities": activities, "weekday": get("weekday")}
        meta = {k: v for k, v in meta.items() if v}
        extra = {h: row[i] for h, i in col.items() if h not in HEADER and row[i] != ""}
        meta.update(extra)
        yield Entry(
            content=text or title or "", created_at=when, where=where, title=title, tags=activities,
            source_id=key if n == 1 else f"{key}#{n}", tz=zone_for(when, tz), metadata=meta, shared_key=True,
            date_field="columns 'full_date' and 'time'",
        )
