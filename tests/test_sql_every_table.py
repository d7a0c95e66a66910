"""`mirror-kit sql` / `journal.sql` read every table and view of an analysed journal (WITHOUT ROWID ones,
FTS5 internals, untyped columns) with SQLite's own answers, leave the file byte-identical, and turn any
DuckDB error into one line."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import MirrorKitError
from tests.plugins.store import run_cli

ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _state(db: Path) -> dict:
    out: dict = {"files": sorted(p.name for p in db.parent.iterdir())}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(db) + suffix)
        out[suffix or "db"] = (p.read_bytes(), p.stat().st_mtime_ns) if p.exists() else None
    return out


@pytest.fixture
def analysed_journal(viz_sample_db: Path, tmp_path: Path) -> Path:
    """The analysed sample journal in WAL mode, in a folder of its own."""
    home = tmp_path / "home"
    home.mkdir()
    db = home / "journal.db"
    shutil.copyfile(viz_sample_db, db)
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA journal_mode=WAL")
    return db


def _objects(db: Path) -> list[str]:
    return [r[0] for r in _sqlite_rows(db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]


def _join_queries(db: Path) -> list[str]:
    """One counting join per foreign key of every table (child joined to its parent)."""
    out = []
    for name in _objects(db):
        fks = _sqlite_rows(db, f"SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}')")
        for parent, col, pcol in fks:
            if pcol is not None:
                out.append(f"SELECT '{name}.{col}' AS k, count(*) AS n FROM {_q(name)} AS c "
                           f"JOIN {_q(parent)} AS p ON c.{_q(col)} = p.{_q(pcol)}")
    return out


def _sqlite_rows(db: Path, query: str) -> list[tuple]:
    """SQLite's own answer, read from a copy: a reader of the journal itself would create its -shm."""
    ref = db.parent.parent / "reference.db"
    if not ref.exists():
        shutil.copyfile(db, ref)
    c = sqlite3.connect(ref)
    try:
        return c.execute(query).fetchall()
    finally:
        c.close()


def test_cli_sql_counts_and_joins_every_table_as_sqlite_does(analysed_journal: Path):
    db = analysed_journal
    names = _objects(db)
    assert {"reflection_tags", "pattern_occurrences", "tension_observations", "thread_reflections"} <= set(names)
    assert _sqlite_rows(db, "SELECT count(*) FROM pattern_occurrences")[0][0] > 0  # an analysed journal
    counts = " UNION ALL ".join(f"SELECT '{n}' AS k, count(*) AS n FROM {_q(n)}" for n in names)
    joins = " UNION ALL ".join(_join_queries(db))
    assert "reflection_tags.reflection_id" in joins and "tension_observations" in joins
    expected = {query: dict(_sqlite_rows(db, query)) for query in (counts, joins)}
    before = _state(db)
    for query in (counts, joins):
        proc = run_cli("--db", str(db), "sql", query, "--json", "--limit", "100000", cwd=db.parent, env=ENV)
        assert proc.returncode == 0, proc.stderr
        got = {r["k"]: r["n"] for r in json.loads(proc.stdout)}
        assert got == expected[query], query
    assert _state(db) == before


def test_sql_rows_of_every_table_equal_sqlite_rows(analysed_journal: Path):
    db = analysed_journal
    expected = {name: _sqlite_rows(db, f"SELECT * FROM {_q(name)}") for name in _objects(db)}
    before = _state(db)
    with mirror_kit.open(db, readonly=True) as j:
        for name, theirs in expected.items():
            ours = j.sql(f"SELECT * FROM {_q(name)}").fetchall()
            assert sorted(ours, key=repr) == sorted(theirs, key=repr), name
            assert j.sql(f"SELECT 1 FROM {_q(name)} LIMIT 1").fetchall() == ([(1,)] if theirs else []), name
    assert _state(db) == before


def test_sql_counts_a_view_and_a_table_added_after_the_first_query(tmp_path: Path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "Walked by the river.", "2024-01-01 08:00", tags=["walk", "river"])
        assert j.sql("SELECT count(*) FROM reflection_tags").fetchone()[0] == 2
        j.conn.execute("CREATE VIEW tagged AS SELECT r.id, t.name FROM reflections r "
                       "JOIN reflection_tags rt ON rt.reflection_id = r.id JOIN tags t ON t.id = rt.tag_id")
        j.conn.execute("CREATE TABLE notes (k TEXT PRIMARY KEY, v) WITHOUT ROWID")
        j.conn.execute("INSERT INTO notes VALUES ('a', 1), ('b', 2)")
        j.conn.commit()
        assert j.sql("SELECT count(*) FROM tagged").fetchone()[0] == 2
        assert j.sql("SELECT count(*), sum(v) FROM notes").fetchone() == (2, 3)


def test_sql_errors_raised_while_fetching_are_one_line_mirror_kit_errors(analysed_journal: Path):
    with mirror_kit.open(analysed_journal, readonly=True) as j:
        for query in ("SELECT rowid FROM reflection_tags",
                      "SELECT CAST(content AS INTEGER) FROM reflections",
                      "SELECT * FROM no_such_table",
                      "SELECT count(*) FROM journal.main.reflection_tags"):
            with pytest.raises(MirrorKitError) as err:
                j.sql(query).df()
            assert "\n" not in str(err.value), query
            assert str(analysed_journal) in str(err.value)
