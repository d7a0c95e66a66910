"""The source ids one import has met so far, and where: exact, with memory that stops growing.

The first `KEEP` ids live in a dict (most imports never leave it). Beyond that, ids move in batches to
a TEMP table of the journal's connection (SQLite's temp file, read through its small page cache) and
into a fixed-size Bloom filter over Python's string hash, so a new id (nearly always new) costs two
bit tests and no query; a filter hit is settled by the table. A 1M-row CSV kept ~110 MB of ids in
memory; now at most `KEEP` ids plus the 16 MB filter.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np

KEEP = 200_000  # ids held in memory before the rest move to the temp table
BITS = 1 << 27  # Bloom filter size (16 MB): ~1 false hit in 5,000 new ids at 1M ids


class SeenIds:
    """`get(sid)` -> where it was first seen (a line number int or a place dict) or None; `add`."""

    def __init__(self, conn: sqlite3.Connection, keep: int | None = None) -> None:
        self.conn, self.keep = conn, KEEP if keep is None else keep
        self.recent: dict[str, Any] = {}
        self._bits: bytearray | None = None  # created at the first spill
        self._spilled = False
        self.moved = False  # some ids left `recent`: until then `recent.get` alone is `get`

    def get(self, sid: str) -> Any:
        found = self.recent.get(sid)
        if found is not None or self._bits is None:
            return found
        h = hash(sid)
        bits, a, b = self._bits, h & (BITS - 1), (h >> 27) & (BITS - 1)
        if not (bits[a >> 3] >> (a & 7)) & 1 or not (bits[b >> 3] >> (b & 7)) & 1:
            return None
        row = self.conn.execute("SELECT place FROM temp.mirror_kit_import_seen WHERE sid = ?", (sid,)).fetchone()
        if row is None:
            return None
        if type(row[0]) is int:
            return row[0]
        place = json.loads(row[0])
        return place if isinstance(place, dict) else int(place)

    def add(self, sid: str, where: Any) -> None:
        # Spilled when one more id arrives, not when the dict fills: an import of exactly `keep`
        # (or a multiple of it) ids writes no batch it will never look up.
        if len(self.recent) >= self.keep and sid not in self.recent:
            self._spill()
        self.recent[sid] = where

    def _spill(self) -> None:
        try:
            if not self._spilled:
                # `place` has no type: a line number stays an integer, a place dict is JSON text.
                self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS mirror_kit_import_seen "
                                  "(sid TEXT PRIMARY KEY, place NOT NULL) WITHOUT ROWID")
                self._spilled = True
                self._bits = bytearray(BITS // 8)
            # In key order: each batch goes along the table's B-tree once, not to a random page per id;
            # in one savepoint: a dry run has no transaction, and a commit per id cost more than the ids.
            self.conn.execute("SAVEPOINT import_seen")
            try:
                self.conn.executemany("INSERT INTO mirror_kit_import_seen (sid, place) VALUES (?, ?)", sorted(
                    (s, w if type(w) is int else json.dumps(w, default=str)) for s, w in self.recent.items()))
            except sqlite3.Error:
                self.conn.execute("ROLLBACK TO import_seen")
                self.conn.execute("RELEASE import_seen")
                raise
            self.conn.execute("RELEASE import_seen")
        except sqlite3.Error:
            self.keep *= 2  # no temp table here (e.g. a read-only connection): keep ids in memory
            return
        assert self._bits is not None
        # The same two bits per id as `get` tests (Python's signed hash: & and >> agree with int64),
        # set for the whole batch at once.
        h = np.fromiter(map(hash, self.recent), dtype=np.int64, count=len(self.recent))
        bits = np.frombuffer(self._bits, dtype=np.uint8)
        for k in (h & (BITS - 1), (h >> 27) & (BITS - 1)):
            np.bitwise_or.at(bits, k >> 3, np.left_shift(1, k & 7).astype(np.uint8))
        self.recent.clear()
        self.moved = True

    def close(self) -> None:
        """Drop the temp table (if the import's rollback has not already)."""
        self.recent.clear()
        self._bits = None
        self.moved = False
        if self._spilled:
            self._spilled = False
            try:
                self.conn.execute("DROP TABLE IF EXISTS temp.mirror_kit_import_seen")
            except sqlite3.Error:
                pass  # a connection being closed: temp tables go with it
