"""Fixtures for the export/backup/import tests: a journal with every kind of record and hostile text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HOSTILE = (
    "# Not a heading\n## nor this\nTitle\n===\n- not a list\n* nor this\n+ nor this\n1. not ordered\n"
    "2) nor this\n> not a quote\n```python\nprint('not code')\n```\n~~~\nnot a fence\n~~~\n    indented code?\n"
    "<script>alert('x')</script>\n<div>html block</div>\n| a | b |\n|---|---|\n| 1 | 2 |\n---\n***\n"
    "[ref]: http://example.com\n[link](http://example.com) `inline code` **bold** \\ backslash &amp;"
)


def strip_exported_at(text: str) -> str:
    return re.sub(r'"exported_at": "[^"]*"', '"exported_at": ""', text, count=1)


def fill_journal(j) -> dict:
    """Two identities with reflections, tags, mirrorbacks, threads, patterns, tensions, runs, settings."""
    maya, sam = j.identities.add("maya", {"lang": "en"}), j.identities.add("sam")
    texts = [
        ("Morning walk, felt calm. 🌅", "2024-01-02T07:30:00", "Asia/Kathmandu", ["walk", "Calm"], "Morning"),
        (HOSTILE, "2024-01-05T22:10:00", "+05:45", ["test"], "# hostile <b>title</b>"),
        ("שלום עולם — RTL text مرحبا بالعالم", "2024-02-01T12:00:00", "Pacific/Chatham", [], None),
        ("Work was hard; I wanted to be alone.", "2024-02-03T18:00:00", "-03:30", ["work"], ""),
        ("Dinner with friends, lots of laughter.", "2024-03-10T20:00:00", "Europe/Paris", ["friends"], "Dinner"),
    ]
    ids = []
    for k, (content, when, tz, tags, title) in enumerate(texts):
        r = j.reflections.add("maya", content, when, tz=tz, tags=tags, title=title, source="test",
                             source_id=str(k), metadata={"k": k, "nested": {"ü": [1, 2]}})
        ids.append(r.id)
    sam_ids = [j.reflections.add("sam", f"sam secret entry {k} 🙂", f"2024-01-0{k + 1}T09:00:00", tz="UTC").id
               for k in range(3)]
    j.mirrorbacks.add(ids[0], "You sound calm.\n# not a heading", "test-model", valid=True, validation={"ok": 1})
    j.mirrorbacks.add(sam_ids[0], "sam secret mirrorback", "test-model")
    j.threads.add("maya", "Calm things", [ids[4], ids[0]], metadata={"why": "test"})
    j.threads.add("sam", "sam secret thread", sam_ids[:2])
    now = "2024-04-01T00:00:00Z"
    c = j.conn
    with j.transaction():
        c.execute(
            "INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, status, first_seen, last_seen, "
            "centroid, representatives, created_at, updated_at, metadata) VALUES "
            "('pat_maya', ?, 'calm <evenings>', '[\"calm\", \"walk\"]', 0.83, 2, 'active', '2024-01-02T01:45:00Z', "
            "'2024-03-10T19:00:00Z', x'0000803f00000040', ?, ?, ?, '{\"trend\": \"emerging\"}')",
            (maya.id, f'["{ids[0]}"]', now, now))
        c.executemany("INSERT INTO pattern_occurrences VALUES ('pat_maya', ?, ?)", [(ids[0], 0.9), (ids[4], 0.6)])
        c.execute(
            "INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, created_at, updated_at) "
            "VALUES ('pat_sam', ?, 'sam secret pattern', '[]', 0.5, 1, ?, ?)", (sam.id, now, now))
        c.execute("INSERT INTO pattern_occurrences VALUES ('pat_sam', ?, 0.7)", (sam_ids[0],))
        c.execute(
            "INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, definition, is_seed, created_at, updated_at) "
            "VALUES ('solitude_connection', NULL, 'Solitude vs connection', 'solitude', 'connection', "
            "'{\"description\": \"alone or with others\"}', 1, ?, ?)", (now, now))
        c.execute(
            "INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, definition, calibration, is_seed, "
            "created_at, updated_at) VALUES ('ten_sam_own', ?, 'sam secret tension', 'x', 'y', '{}', '{\"s\": 1}', 0, ?, ?)",
            (sam.id, now, now))
        obs = [(ids[3], -0.8, 0.9), (ids[4], 0.7, 0.6), (ids[0], -0.1, 0.2)]
        c.executemany("INSERT INTO tension_observations VALUES ('solitude_connection', ?, ?, ?, 'm', ?)",
                      [(r, p, i, now) for r, p, i in obs])
        c.execute("INSERT INTO tension_observations VALUES ('solitude_connection', ?, 0.33, 0.44, 'm', ?)",
                  (sam_ids[1], now))
        c.execute("INSERT INTO tension_observations VALUES ('ten_sam_own', ?, 0.1, 0.2, 'm', ?)", (sam_ids[2], now))
    with j.runs.record("patterns", "maya", {"random_state": 0}) as info:
        info["counts"]["patterns"] = 1
    with j.runs.record("tensions", "sam", {"secret": "sam"}) as info:
        info["counts"]["n"] = 2
    j.settings.set("embedding.model", "all-MiniLM-L6-v2")
    j.settings.set("ui", {"theme": "dark", "list": [1, 2, 3]})
    return {"maya": maya, "sam": sam, "maya_ids": ids, "sam_ids": sam_ids}


@pytest.fixture
def filled_journal(journal):
    """The `journal` fixture filled with `fill_journal` (returns (journal, info))."""
    return journal, fill_journal(journal)


@pytest.fixture
def fresh_journal(tmp_path: Path):
    """A factory of further empty journals in this test's tmp dir."""
    import mirror_kit

    opened = []

    def make(name: str = "other.db"):
        j = mirror_kit.open(tmp_path / name)
        opened.append(j)
        return j

    yield make
    for j in opened:
        j.close()
