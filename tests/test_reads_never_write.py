"""Read commands and read-only API calls never create, migrate or change a journal file: its bytes,
its -wal/-shm companions and their modification times are the same afterwards, on a current journal
and on one at an older schema (read as it is, or refused with one line)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.plugins.store import run_cli

ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _state(db: Path) -> dict:
    """Bytes and mtimes of the journal and its companions, and the folder's file names."""
    out: dict = {"files": sorted(p.name for p in db.parent.iterdir())}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(db) + suffix)
        out[suffix or "db"] = (p.read_bytes(), p.stat().st_mtime_ns) if p.exists() else None
    return out


def _read_commands(db: Path, out: Path, pattern_id: str) -> list[list[str]]:
    csv = out / "diary.csv"
    csv.write_text("date,text\n2024-05-01,A quiet walk by the river.\n", encoding="utf-8")
    return [
        ["stats"], ["identity", "list"], ["migrate", "status"], ["migrate", "history"], ["migrate", "verify"],
        ["patterns", "list", "--identity", "maya"], ["patterns", "show", pattern_id],
        ["patterns", "evolution", "--identity", "maya"],
        ["tensions", "seeds"], ["tensions", "list", "--identity", "maya"],
        ["tensions", "show", "solitude_connection", "--identity", "maya"],
        ["tensions", "map", "--identity", "maya"], ["tensions", "defs", "--identity", "maya"],
        ["tensions", "export", "solitude_connection", str(out / "t.yaml")],
        ["sql", "SELECT count(*) FROM reflections"],
        ["search", "walk by the river", "--identity", "maya", "--k", "5"],
        ["export", "json", "--out", str(out / "e.json")],
        ["export", "markdown", "--out", str(out / "md")],
        ["backup", "--out", str(out / "b.zip")],
        ["import", str(csv), "--identity", "maya", "--dry-run"],
        ["import", str(csv), "--identity", "newcomer", "--dry-run"],
    ]


@pytest.fixture
def wal_journal(viz_sample_db: Path, tmp_path: Path) -> Path:
    """The analysed sample journal as users have it: in WAL mode, in a folder of its own."""
    home = tmp_path / "home"
    home.mkdir()
    db = home / "journal.db"
    shutil.copyfile(viz_sample_db, db)
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA journal_mode=WAL")
    return db


def test_every_read_command_leaves_the_journal_byte_identical(wal_journal: Path, tmp_path: Path):
    import mirror_kit

    with mirror_kit.open(wal_journal, readonly=True) as j:
        pid = j.patterns.frame("maya")["id"].iloc[0]
    out = tmp_path / "out"
    out.mkdir()
    before = _state(wal_journal)
    for cmd in _read_commands(wal_journal, out, pid):
        proc = run_cli("--db", str(wal_journal), *cmd, cwd=tmp_path, env=ENV)
        assert proc.returncode == 0, (cmd, proc.stderr)
        assert _state(wal_journal) == before, f"`mirror-kit {' '.join(cmd)}` changed the journal"
    new_files = [f for f in os.listdir(wal_journal.parent) if f not in before["files"]]
    assert new_files == []


def test_read_only_api_calls_leave_the_journal_byte_identical(wal_journal: Path, tmp_path: Path):
    import mirror_kit

    before = _state(wal_journal)
    with mirror_kit.open(wal_journal, readonly=True) as j:
        pid = j.patterns.frame("maya")["id"].iloc[0]
        j.patterns.get(pid)
        j.patterns.evolution("maya")
        j.tensions.frame("maya")
        j.tensions.definitions("maya")
        j.tensions.get("solitude_connection", "maya")
        j.tensions.map("maya")
        j.embeddings.matrix("maya")
        j.reflections.frame("maya")
        j.frame("overview", "maya")
        j.sql("SELECT count(*) FROM reflections").fetchall()
        j.exports.json(tmp_path / "e.json", identity="maya")
        j.stats()
    assert _state(wal_journal) == before


def test_tension_definitions_on_a_fresh_journal_store_nothing(tmp_path: Path):
    db = tmp_path / "fresh.db"
    assert run_cli("init", str(db), cwd=tmp_path).returncode == 0
    before = _state(db)
    proc = run_cli("--db", str(db), "tensions", "defs", "--json", cwd=tmp_path)
    assert proc.returncode == 0 and "solitude_connection" in proc.stdout
    assert _state(db) == before
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM tensions").fetchone()[0] == 0


def test_read_commands_on_an_older_schema_read_or_refuse_without_migrating(tmp_path: Path):
    from mirror_kit.db import connect
    from mirror_kit.migrate import Migrator

    (tmp_path / "home").mkdir()
    db = tmp_path / "home" / "old.db"
    conn = connect(db)
    Migrator(conn).up(1)
    conn.execute("INSERT INTO identities (id, name, created_at, metadata) VALUES ('i1', 'maya', "
                 "'2024-01-01T00:00:00Z', '{}')")
    conn.close()
    before = _state(db)
    for cmd in (["stats"], ["identity", "list"], ["migrate", "status"], ["migrate", "history"],
                ["tensions", "defs"], ["sql", "SELECT count(*) FROM identities"],
                ["export", "json", "--out", str(tmp_path / "old.json")]):
        proc = run_cli("--db", str(db), *cmd, cwd=tmp_path, env=ENV)
        assert "Traceback" not in proc.stderr, (cmd, proc.stderr)
        if proc.returncode:
            assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:"), (cmd, proc.stderr)
        assert _state(db) == before, f"`mirror-kit {' '.join(cmd)}` changed an older journal"


def _crash_after_commit(db: Path, sql: str) -> None:
    """A writer that commits into the WAL and dies before any checkpoint: -wal and -shm stay behind."""
    import subprocess
    import sys

    code = ("import os, sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "c.execute(sys.argv[2]); c.commit(); os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(db), sql], check=True)


def test_read_commands_leave_a_crashed_writers_wal_unmerged(wal_journal: Path, tmp_path: Path):
    _crash_after_commit(wal_journal, "UPDATE identities SET name = 'maya_wal' WHERE name = 'maya'")
    assert Path(f"{wal_journal}-wal").stat().st_size > 0
    main_before = wal_journal.read_bytes()
    wal_before = Path(f"{wal_journal}-wal").read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    for cmd in (["stats"], ["identity", "list"], ["sql", "SELECT name FROM identities"],
                ["search", "walk by the river", "--identity", "maya_wal", "--k", "3"],
                ["export", "json", "--out", str(out / "e.json")],
                ["patterns", "list", "--identity", "maya_wal"], ["migrate", "status"]):
        proc = run_cli("--db", str(wal_journal), *cmd, cwd=tmp_path, env=ENV)
        assert proc.returncode == 0, (cmd, proc.stderr)
        if cmd[0] in ("identity", "sql"):
            assert "maya_wal" in proc.stdout, (cmd, proc.stdout)  # the data only the WAL holds is read
        assert wal_journal.read_bytes() == main_before, f"`mirror-kit {' '.join(cmd)}` checkpointed the WAL"
        assert Path(f"{wal_journal}-wal").read_bytes() == wal_before, f"`mirror-kit {' '.join(cmd)}` dropped the WAL"
    assert "maya_wal" in (out / "e.json").read_text(encoding="utf-8")
