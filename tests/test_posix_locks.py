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
