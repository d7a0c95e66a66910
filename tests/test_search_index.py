"""Bulk inserts index the full-text search in one pass: the same index rows as the per-row trigger,
the trigger back in place, and nothing left behind by a chunk that fails."""

from __future__ import annotations

import sqlite3

import pytest

import mirror_kit
from mirror_kit.search_index import BULK_MIN

N = BULK_MIN * 2 + 5


def _records(n: int) -> list[dict]:
    return [{"content": f"entry {i}: training for the race, {['calm', 'tired', 'proud'][i % 3]} legs",
             "created_at": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T07:{i % 60:02d}:00Z",
             "title": None if i % 4 else f"day {i}", "source": "csv", "source_id": str(i)} for i in range(n)]


def _index(conn: sqlite3.Connection) -> tuple[list, list, list]:
    docs = conn.execute("SELECT rowid, reflection_id FROM search_docs ORDER BY rowid").fetchall()
    fts = conn.execute("SELECT rowid, title, content FROM reflections_fts ORDER BY rowid").fetchall()
    trig = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name").fetchall()
    return [tuple(r) for r in docs], [tuple(r) for r in fts], [r[0] for r in trig]


def test_bulk_insert_writes_the_same_index_as_the_per_row_trigger(tmp_path):
    bulk, single = mirror_kit.open(tmp_path / "bulk.db"), mirror_kit.open(tmp_path / "single.db")
    for j in (bulk, single):
        j.identities.add("maya")
        j.reflections.add("maya", "an older entry about the sea", "2023-01-01")
    bulk.reflections.add_many("maya", _records(N))
    for rec in _records(N):
        single.reflections.add_many("maya", [rec])  # one row per call: the trigger path
    assert _index(bulk.conn) == _index(single.conn)
    assert len(_index(bulk.conn)[1]) == N + 1
    bulk.conn.execute("INSERT INTO reflections_fts (reflections_fts) VALUES ('integrity-check')")
    assert bulk.conn.execute("SELECT count(*) FROM reflections_fts WHERE reflections_fts MATCH 'trained'"
                             ).fetchone()[0] == N  # porter stemming: "training" is found
    # Later single writes still go through the recreated trigger.
    bulk.reflections.add("maya", "one more about mountains", "2025-01-01")
    assert bulk.conn.execute("SELECT count(*) FROM reflections_fts WHERE reflections_fts MATCH 'mountains'"
                             ).fetchone()[0] == 1
    bulk.close()
    single.close()


def test_a_failing_bulk_chunk_leaves_index_and_trigger_as_they_were(tmp_path):
    j = mirror_kit.open(tmp_path / "j.db")
    j.identities.add("maya")
    j.reflections.add_many("maya", _records(N)[:1])
    before = _index(j.conn)
    with pytest.raises(mirror_kit.MirrorKitError, match="source_id '0' is already stored"):
        j.reflections.add_many("maya", _records(N))  # row 0 collides after the chunk started
    assert _index(j.conn) == before
    assert j.conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 1
    j.close()
