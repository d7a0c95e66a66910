"""Connections kept open in one process (a server's change watcher, a notebook) stay valid while
other connections of the same process come and go and another process writes and closes last."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mirror_kit import db

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", "from mirror_kit.cli import run; run()", *args], check=True, env=env,
                   capture_output=True)


def test_a_watching_connection_survives_short_readers_and_another_process_closing_last(tmp_path):
    path = tmp_path / "j.db"
    _cli("init", str(path))
    _cli("--db", str(path), "identity", "add", "maya")
    _cli("--db", str(path), "add", "--identity", "maya", "first entry")
    watch = db.connect(path, create=False, readonly=True)  # holds the journal open, as the server does
    versions = [watch.execute("PRAGMA data_version").fetchone()[0]]

    def count() -> int:
        conn = db.connect(path, create=False, readonly=True)  # one short connection per request
        try:
            return conn.execute("SELECT count(*) FROM reflections").fetchone()[0]
        finally:
            conn.close()

    assert count() == 1
    for n in range(2, 5):
        # another process writes and, closing last in its own view, checkpoints and resets the WAL
        _cli("--db", str(path), "add", "--identity", "maya", f"entry {n}")
        assert count() == n
        versions.append(watch.execute("PRAGMA data_version").fetchone()[0])
    assert len(set(versions)) == len(versions)  # every outside commit is seen by the watcher
    watch.close()
    check = db.connect(path, create=False, readonly=True)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()


def test_journal_sql_keeps_the_journal_open_for_other_processes(tmp_path):
    """A notebook that queries with `journal.sql` and writes, while another process writes and closes:
    no write of either side is lost. (DuckDB's sqlite scanner, a second SQLite library in the process,
    closing its descriptors dropped the notebook connection's locks; the other process then deleted
    the WAL under it.)"""
    import mirror_kit

    path = tmp_path / "j.db"
    _cli("init", str(path))
    _cli("--db", str(path), "identity", "add", "maya")
    with mirror_kit.open(path) as j:
        for n in range(3):
            assert j.sql("SELECT count(*) FROM reflections").fetchone()[0] == 2 * n
            assert j.sql("SELECT 1").fetchone() == (1,)  # the scanner closed the previous query's file here
            _cli("--db", str(path), "add", "--identity", "maya", f"outside {n}")
            j.reflections.add("maya", f"inside {n}", f"2024-01-0{n + 1}")
    check = db.connect(path, create=False, readonly=True)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    texts = sorted(r[0] for r in check.execute("SELECT content FROM reflections"))
    check.close()
    assert texts == sorted([f"outside {n}" for n in range(3)] + [f"inside {n}" for n in range(3)])
