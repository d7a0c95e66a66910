"""The `mirror-kit` console script in real subprocesses: init, migrate, identity, add, stats, bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit import cli, db
from tests.plugins.store import assert_one_line_error, run_cli, snapshot

# The packaged migrations, oldest first (names without .up.sql); counts below follow them.
MIGRATIONS = sorted(p.name[:-len(".up.sql")] for p in (Path(__file__).resolve().parents[1] / "migrations").glob("*.up.sql"))
LATEST = len(MIGRATIONS)


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


# -- where the journal is -------------------------------------------------------------------------
def test_db_option_then_env_var_then_mirror_db_in_the_current_folder(tmp_path):
    p = run_cli("--db", "by-option.db", "init", cwd=tmp_path, db_env="by-env.db")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"created by-option.db (schema version {LATEST})"
    assert run_cli("identity", "add", "maya", cwd=tmp_path, db_env="by-env.db").returncode == 0
    assert run_cli("identity", "add", "sam", cwd=tmp_path).returncode == 0
    assert rows(tmp_path / "by-env.db", "SELECT name FROM identities") == [("maya",)]
    assert rows(tmp_path / "mirror.db", "SELECT name FROM identities") == [("sam",)]
    assert rows(tmp_path / "by-option.db", "SELECT name FROM identities") == []
    p = run_cli("init", "sub/dir/named.db", cwd=tmp_path, db_env="ignored.db")
    assert p.stdout.strip() == f"created sub/dir/named.db (schema version {LATEST})"
    assert not (tmp_path / "ignored.db").exists()
    p = run_cli("init", cwd=tmp_path)
    assert p.stdout.strip() == f"opened mirror.db (schema version {LATEST})"


# -- identities, add, stats ------------------------------------------------------------------------
def test_identity_add_list_add_from_argument_and_stdin_and_stats(tmp_path):
    assert run_cli("init", cwd=tmp_path).returncode == 0
    assert run_cli("identity", "add", "maya", cwd=tmp_path).stdout.startswith("added identity maya (i_")
    run_cli("identity", "add", "sam", cwd=tmp_path)
    listed = json.loads(run_cli("identity", "list", "--json", cwd=tmp_path).stdout)
    assert [i["name"] for i in listed] == ["maya", "sam"]
    assert "maya" in run_cli("identity", "list", cwd=tmp_path).stdout.splitlines()[1]

    p = run_cli("add", "--identity", "maya", "--date", "2024-03-10 08:00", "--tz", "Europe/Paris", "--title", "Run",
                "--tag", "run", "--tag", "morning", "Ran along the river.", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("added r_") and "(2024-03-10T07:00:00Z)" in p.stdout
    p = run_cli("add", "-i", "maya", "--date", "2024-04-01", cwd=tmp_path, input="Written on stdin.\nTwo lines.\n")
    assert p.returncode == 0, p.stderr
    with mirror_kit.open(tmp_path / "mirror.db", readonly=True) as j:
        first, second = j.reflections.rows("maya")
        assert (first.content, first.title, first.tz, first.tags) == (
            "Ran along the river.", "Run", "Europe/Paris", ["morning", "run"])
        assert second.content == "Written on stdin.\nTwo lines.\n"

    st = json.loads(run_cli("stats", "--json", cwd=tmp_path).stdout)
    maya = next(r for r in st if r["name"] == "maya")
    assert (maya["reflections"], maya["first"], maya["last"], maya["tags"]) == (
        2, "2024-03-10T07:00:00Z", "2024-04-01T12:00:00Z", 2)
    table = run_cli("stats", cwd=tmp_path).stdout.splitlines()
    assert table[0].split() == ["name", "reflections", "first", "last", "tags", "patterns", "tensions", "mirrorbacks"]
    assert table[1].split()[:2] == ["maya", "2"]


def test_add_without_text_or_identity_is_a_usage_error(tmp_path):
    run_cli("init", cwd=tmp_path)
    run_cli("identity", "add", "maya", cwd=tmp_path)
    p = run_cli("add", "text", cwd=tmp_path)
    assert p.returncode == 2 and "--identity is required" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("add", "-i", "maya", cwd=tmp_path, input="   \n")
    assert_one_line_error(p, "the reflection's text is empty")
    assert rows(tmp_path / "mirror.db", "SELECT count(*) FROM reflections") == [(0,)]


# -- migrate ---------------------------------------------------------------------------------------
def test_migrate_status_up_down_history_verify(tmp_path):
    p = run_cli("migrate", "up", "1", cwd=tmp_path)  # `up` on a missing file creates it
    assert p.returncode == 0 and p.stdout.startswith("applied 0001_initial")
    st = run_cli("migrate", "status", cwd=tmp_path).stdout
    assert st.splitlines() == ["current: 0001", f"latest:  {LATEST:04d}", "pending: " + ", ".join(MIGRATIONS[1:])]
    assert run_cli("migrate", "up", cwd=tmp_path).stdout.count("applied") == LATEST - 1
    assert run_cli("migrate", "up", cwd=tmp_path).stdout.strip() == "nothing to do"
    p = run_cli("migrate", "down", str(LATEST - 1), "--force", cwd=tmp_path)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("backup of the journal before the rollback: ")  # 0003 drops a column
    assert [ln.split(" (")[0] for ln in lines[1:]] == [f"rolled back {m}" for m in reversed(MIGRATIONS[1:])]
    assert json.loads(run_cli("migrate", "status", "--json", cwd=tmp_path).stdout)["current"] == 1
    assert run_cli("migrate", "down", "--force", cwd=tmp_path).returncode == 0  # default: one step
    assert json.loads(run_cli("migrate", "status", "--json", cwd=tmp_path).stdout)["current"] == 0
    run_cli("migrate", "up", cwd=tmp_path)
    hist = json.loads(run_cli("migrate", "history", "--json", cwd=tmp_path).stdout)
    assert [(h["version"], h["rolled_back"]) for h in hist] == [
        *[(v, True) for v in range(1, LATEST + 1)], *[(v, False) for v in range(1, LATEST + 1)]]
    text = run_cli("migrate", "history", cwd=tmp_path).stdout.splitlines()
    assert text[0].split() == ["version", "name", "applied_at", "execution_ms", "rolled_back", "rolled_back_at"]
    p = run_cli("migrate", "verify", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.startswith(f"ok: schema {LATEST:04d}/{LATEST:04d}")
    assert json.loads(run_cli("migrate", "verify", "--json", cwd=tmp_path).stdout)["ok"] is True


def test_migrate_dry_runs_show_sql_and_leave_the_file_byte_identical(tmp_path, closed_journal):
    before = snapshot(closed_journal)
    p = run_cli("--db", str(closed_journal), "migrate", "down", str(LATEST - 1), "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "would roll back 0003_reflections_language" in p.stdout and "DROP COLUMN language" in p.stdout
    assert "CREATE TABLE reflections_old" in p.stdout and "the journal was not changed" in p.stdout
    assert snapshot(closed_journal) == before
    run_cli("--db", str(closed_journal), "migrate", "down", str(LATEST - 1), "--force", cwd=tmp_path)
    before = snapshot(closed_journal)
    p = run_cli("--db", str(closed_journal), "migrate", "up", "--dry-run", cwd=tmp_path)
    assert "would apply 0002_reflections_checks" in p.stdout and "CREATE TABLE reflections_new" in p.stdout
    assert snapshot(closed_journal) == before
    # On a file that does not exist yet: shows what `up` would do and creates nothing.
    p = run_cli("--db", "new.db", "migrate", "up", "--dry-run", cwd=tmp_path)
    assert p.returncode == 0 and "would apply 0001_initial" in p.stdout and "CREATE TABLE identities" in p.stdout
    assert list(tmp_path.glob("new.db*")) == []


def test_migrate_verify_exits_1_and_lists_the_problems(tmp_path, closed_journal):
    raw = sqlite3.connect(closed_journal, isolation_level=None)
    raw.execute("DELETE FROM identities WHERE name = 'maya'")  # foreign keys off: 5 orphaned reflections
    raw.close()
    p = run_cli("--db", str(closed_journal), "migrate", "verify", cwd=tmp_path)
    assert_one_line_error(p, "verify found 6 problem(s)")  # 5 foreign_key_check + 1 orphan count
    assert "problem: orphans: 5 row(s) in reflections(identity)" in p.stdout
    assert p.stdout.splitlines()[-1].startswith(f"FAILED: schema {LATEST:04d}/{LATEST:04d}")


# -- bad input -------------------------------------------------------------------------------------
READ_COMMANDS = [["stats"], ["migrate", "status"], ["identity", "list"], ["migrate", "history"],
                 ["migrate", "verify"], ["migrate", "down"], ["migrate", "down", "--dry-run"],
                 ["add", "--identity", "maya", "text"]]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_missing_file_is_named_and_not_created(tmp_path, command):
    p = run_cli("--db", "nothere.db", *command, cwd=tmp_path)
    assert_one_line_error(p, "journal nothere.db does not exist", "mirror-kit init")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["stats"], ["init"], ["migrate", "up"], ["migrate", "status"],
                                     ["identity", "add", "x"], ["add", "-i", "x", "text"]], ids=" ".join)
def test_a_file_that_is_not_sqlite_is_refused_unchanged(tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("Dear diary, this is not a database.\n")
    p = run_cli("--db", str(notes), *command, cwd=tmp_path)
    assert_one_line_error(p, f"{notes} is not a SQLite database")
    assert notes.read_text() == "Dear diary, this is not a database.\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["notes.txt"]


def test_unknown_identity_names_it_lists_the_known_ones_and_writes_nothing(tmp_path, closed_journal):
    before = snapshot(closed_journal)
    p = run_cli("--db", str(closed_journal), "add", "--identity", "nobody", "Hello.", cwd=tmp_path)
    assert_one_line_error(p, "unknown identity 'nobody' (known: maya, sam)")
    assert snapshot(closed_journal) == before


def test_a_newer_schema_is_refused_by_every_command_and_not_modified(tmp_path, closed_journal):
    raw = sqlite3.connect(closed_journal, isolation_level=None)
    raw.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at, execution_ms) "
                "VALUES (?, 'future', 'x', '2030-01-01T00:00:00Z', 1)", (LATEST + 1,))
    raw.close()
    before = snapshot(closed_journal)
    for command in (["stats"], ["init"], ["migrate", "up"], ["migrate", "down"], ["migrate", "status"],
                    ["add", "-i", "maya", "x"], ["identity", "add", "z"]):
        p = run_cli("--db", str(closed_journal), *command, cwd=tmp_path)
        assert_one_line_error(p, f"schema is at version {LATEST + 1}", f"only knows up to {LATEST}",
                              "upgrade mirror_kit")
    assert snapshot(closed_journal) == before


def test_an_edited_applied_migration_is_refused_by_name(tmp_path, closed_journal):
    # What an edited file looks like to the migrator: the recorded checksum of 0002 no longer matches.
    raw = sqlite3.connect(closed_journal, isolation_level=None)
    raw.execute("UPDATE schema_migrations SET checksum = 'sha256:' || substr(checksum, 8, 64) || ':-' "
                "WHERE version = 2")
    raw.close()
    before = snapshot(closed_journal)
    for command in (["stats"], ["migrate", "up"], ["migrate", "down"], ["add", "-i", "maya", "x"]):
        p = run_cli("--db", str(closed_journal), *command, cwd=tmp_path)
        assert_one_line_error(p, "migration file 0002_reflections_checks.down.sql", "was changed")
    assert snapshot(closed_journal) == before


def test_a_migration_failing_halfway_leaves_the_file_as_it_was(tmp_path):
    """0003 adds `language`; a file at 0002 that already has that column makes it fail."""
    path = tmp_path / "j.db"
    assert run_cli("--db", str(path), "migrate", "up", "2", cwd=tmp_path).returncode == 0
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("ALTER TABLE reflections ADD COLUMN language TEXT")
    raw.close()
    before = snapshot(path)
    p = run_cli("--db", str(path), "migrate", "up", cwd=tmp_path)
    assert_one_line_error(p, "migration 0003_reflections_language.up.sql failed at statement 1",
                          "duplicate column name: language", "Nothing was changed")
    assert snapshot(path) == before
    assert rows(path, "SELECT max(version) FROM schema_migrations") == [(2,)]


def test_a_locked_journal_gives_one_clear_line(tmp_path, closed_journal, monkeypatch, capsys):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(closed_journal, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for command in (["add", "-i", "maya", "blocked"], ["identity", "add", "zoe"], ["migrate", "down", "--force"]):
            assert cli.main(["--db", str(closed_journal), *command]) == 1
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and err[0].startswith("error: "), err
            assert "locked by another process (waited 0.1 s)" in err[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rows(closed_journal, "SELECT count(*) FROM reflections") == [(5,)]
    assert rows(closed_journal, "SELECT count(*) FROM identities") == [(2,)]
