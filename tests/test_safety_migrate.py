"""Rollbacks that drop data need --force and leave a backup; concurrent migrations apply each step once."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import MigrationError
from tests.plugins.store import MIRROR_KIT, assert_one_line_error, run_cli, snapshot

LATEST = len(list((Path(__file__).resolve().parents[1] / "migrations").glob("*.up.sql")))


def _count(path: Path, sql: str = "SELECT count(*) FROM reflections") -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_migrate_down_past_the_initial_migration_is_refused_without_force(tmp_path, closed_journal):
    before = snapshot(closed_journal)
    p = run_cli("--db", str(closed_journal), "migrate", "down", str(LATEST), cwd=tmp_path)
    assert_one_line_error(p, "would drop", "identities", "--force")
    assert snapshot(closed_journal) == before
    assert not list(tmp_path.glob("*.before-down-*"))


def test_migrate_down_dropping_one_column_is_refused_without_force(closed_journal):
    with mirror_kit.open(closed_journal) as j:
        if LATEST > 3:
            j.migrator.down(LATEST - 3, force=True)  # to 0003, whose rollback drops one column
        with pytest.raises(MigrationError, match=r"reflections\.language"):
            j.migrator.down(1)
        assert j.migrator.current_version() == 3
        assert j.migrator.down(1, dry_run=True)[0].dry_run  # a dry run changes nothing: never refused


def test_forced_migrate_down_writes_a_private_backup_first_and_prints_its_path(tmp_path, closed_journal):
    p = run_cli("--db", str(closed_journal), "migrate", "down", str(LATEST), "--force", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert first.startswith("backup of the journal before the rollback: ")
    backup = Path(first.split(": ", 1)[1])
    assert backup.parent == closed_journal.parent and backup.exists()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert _count(backup) == 5  # every reflection is in the copy ...
    assert _count(closed_journal, "SELECT count(*) FROM sqlite_master WHERE name = 'reflections'") == 0  # ... not here


def test_two_processes_migrating_one_old_journal_apply_each_migration_once(tmp_path, closed_journal):
    with mirror_kit.open(closed_journal) as j:
        j.migrator.down(LATEST - 1, force=True)  # an old (version 1) journal
    # Process B plans "0002 and 0003 pending" and then waits for the write lock we hold.
    lock = sqlite3.connect(closed_journal, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    b = subprocess.Popen([str(MIRROR_KIT), "--db", str(closed_journal), "migrate", "up"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    lock.execute("ROLLBACK")
    lock.close()
    # Meanwhile another program migrates the file (open() does) and stores a row using the new columns.
    with mirror_kit.open(closed_journal) as j:
        rid = j.reflections.add_many("maya", [{"content": "Bonjour", "created_at": "2024-02-01 10:00",
                                          "language": "fr", "updated_at": "2024-03-01 10:00"}])[0]
    out, err = b.communicate(timeout=60)
    assert b.returncode == 0, err
    con = sqlite3.connect(closed_journal)
    history = con.execute("SELECT version FROM schema_migrations WHERE rolled_back_at IS NULL ORDER BY id").fetchall()
    row = con.execute("SELECT language, updated_at FROM reflections WHERE id = ?", (rid,)).fetchone()
    con.close()
    assert history == [(v,) for v in range(1, LATEST + 1)]
    assert row == ("fr", "2024-03-01T10:00:00Z")
    p = run_cli("--db", str(closed_journal), "migrate", "verify", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.startswith("ok:"), p.stdout


def test_verify_reports_a_migration_applied_twice_without_rollback(tmp_path, closed_journal):
    con = sqlite3.connect(closed_journal)
    con.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at, execution_ms) "
                "SELECT version, name, checksum, '2030-01-01T00:00:00Z', 1 FROM schema_migrations WHERE version = 2")
    con.commit()
    con.close()
    p = run_cli("--db", str(closed_journal), "migrate", "verify", cwd=tmp_path)
    assert p.returncode == 1
    assert "0002_reflections_checks was applied twice without a rollback in between" in p.stdout
