"""Context managers that change process-wide settings only for as long as mirror_kit needs them.

A library must leave its host process as it found it: a notebook that embeds a few reflections
keeps its own torch thread count, environment and csv field limit afterwards.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def scoped_env(**values: str) -> Iterator[None]:
    """Set environment variables that are not set yet (like `os.environ.setdefault`) for the block,
    and on exit put the whole environment back as it was before it: what the block or the libraries
    it loads (torch sets its compiler cache dir on import) added is removed, what they changed restored.
    Variables the user already set keep the user's value throughout."""
    before = dict(os.environ)
    os.environ.update({k: v for k, v in values.items() if k not in before})
    try:
        yield
    finally:
        for k in [k for k in os.environ if k not in before]:
            os.environ.pop(k, None)
        for k, v in before.items():
            if os.environ.get(k) != v:
                os.environ[k] = v


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with `n` torch intra-op threads (None or 0: leave as is) and restore the previous count."""
    if not n:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def csv_field_limit(limit: int) -> Iterator[None]:
    """Raise (or set) the csv module's process-wide field size limit, restoring it on exit."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


class limited_csv_reader:  # noqa: N801  (used like csv.reader, a function)
    """`csv.reader(lines, **fmtparams)` whose rows are parsed with `field_limit` as the field size limit.

    The limit is global in the csv module and read while a row is parsed, so it is raised only while
    rows are parsed: between rows handed out (while the caller works on them) the process keeps its
    own limit. Rows are parsed `BATCH` at a time under one raise (setting the limit per row cost more
    than parsing the row). Iterating raises csv.Error as csv.reader does, after the rows before the
    bad one; `line_num` is the underlying reader's line count after the last row handed out.
    """

    BATCH = 256

    def __init__(self, lines: Iterable[str], *, field_limit: int, **fmtparams: Any):
        self._reader = csv.reader(lines, **fmtparams)
        self._limit = field_limit
        self._rows: list[tuple[list[str], int]] = []
        self._next = 0
        self._end: BaseException | None = None  # StopIteration or csv.Error met while reading ahead
        self._line_num = 0

    @property
    def line_num(self) -> int:
        return self._line_num

    def __iter__(self) -> limited_csv_reader:
        return self

    def __next__(self) -> list[str]:
        if self._next >= len(self._rows):
            self._fill()
        if self._next < len(self._rows):
            row, self._line_num = self._rows[self._next]
            self._next += 1
            return row
        end = self._end
        if isinstance(end, csv.Error):
            self._line_num = self._reader.line_num
            self._end = StopIteration()  # a reader that failed is finished
            raise end
        raise StopIteration

    def numbered(self) -> Iterator[tuple[list[str], int]]:
        """(row, `line_num` after it) for each remaining row: iterating and reading `line_num` in one
        step, without a method call per row. Raises csv.Error as iterating does; meant to be read to
        its end (rows of a batch count as handed out once the batch is)."""
        while True:
            if self._next >= len(self._rows):
                self._fill()
                if not self._rows:
                    break
            rows, start = self._rows, self._next
            self._next, self._line_num = len(rows), rows[-1][1]
            yield from rows[start:] if start else rows
        end = self._end
        if isinstance(end, csv.Error):
            self._line_num = self._reader.line_num
            self._end = StopIteration()  # a reader that failed is finished
            raise end

    def _fill(self) -> None:
        self._rows, self._next = [], 0
        if self._end is not None:
            return
        reader, rows = self._reader, self._rows
        with csv_field_limit(self._limit):
            try:
                for _ in range(self.BATCH):
                    rows.append((next(reader), reader.line_num))
            except StopIteration as exc:
                self._end = exc
            except csv.Error as exc:
                self._end = exc
