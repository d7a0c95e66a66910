"""Results of the whole-journal analysis routes (tension list, tension map, pattern list), reused
until anything is committed to the journal file.

Those routes aggregate every observation of an identity (500k rows at 100k reflections: seconds of
reading per request). Their answers depend only on the journal's content, so an answer is kept under
the journal's version: `PRAGMA data_version` of one connection kept open for that purpose, which
SQLite changes whenever any other connection (this server's writers, the CLI, a notebook) commits to
the file. A request after a commit computes afresh, with the same functions as before: answers are
identical to uncached ones, never stale.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from .. import db

MAX_ENTRIES = 64  # one per (route, identity, parameters): a handful of identities and options


class ResultCache:
    """`get(key, compute)`: compute's value, reused while the journal file is unchanged."""

    def __init__(self, path: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.path = path
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._watch: sqlite3.Connection | None = None
        self._file_id: tuple | None = None

    def version(self) -> tuple | None:
        """The journal's version: the file's identity and the watching connection's data_version
        (None: cannot tell, so nothing is reused)."""
        with self._lock:
            try:
                st = self.path.stat()
                file_id = (st.st_dev, st.st_ino)
                if self._watch is not None and file_id != self._file_id:
                    self._close_watch()  # the file was replaced (a restore): watch the new one
                if self._watch is None:
                    self._watch = db.connect(self.path, create=False, readonly=True)
                    self._file_id = file_id
                return (*file_id, self._watch.execute("PRAGMA data_version").fetchone()[0])
            except Exception:  # noqa: BLE001 - a journal being replaced or locked: just compute
                self._close_watch()
                return None

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value of `key` at the current version, else `compute()` (stored for later).

        The version is read before computing: a commit during `compute` changes the version, so a
        value is never served for data older than what it was computed from.
        """
        version = self.version()
        if version is None:
            return compute()
        full = (key, version)
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                return self._entries[full]
        value = compute()
        with self._lock:
            self._entries[full] = value
            # Entries of older versions can never be asked for again.
            for k in [k for k in self._entries if k[1] != version]:
                del self._entries[k]
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def close(self) -> None:
        """Close the watching connection (it reopens on the next `get`)."""
        with self._lock:
            self._close_watch()
            self._entries.clear()

    def _close_watch(self) -> None:
        if self._watch is not None:
            with contextlib.suppress(sqlite3.Error):
                self._watch.close()
            self._watch = None
