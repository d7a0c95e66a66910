"""The migrator on real SQLite files: status/up/down/history/verify, dry runs, checksums, failures."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.db import connect, split_sql
from mirror_kit.errors import (
    MigrationChecksumError,
    MigrationError,
    NotAJournalError,
    SchemaTooNewError,
)
from mirror_kit.migrate import Migrator, discover
from tests.plugins.store import snapshot

MIGRATIONS = sorted(p.name[:-len(".up.sql")] for p in (Path(__file__).resolve().parents[1] / "migrations").glob("*.up.sql"))
LATEST = len(MIGRATIONS)
NEXT = f"{LATEST + 1:04d}"  # the version a test's own extra migration takes
CHILD_TABLES = ("reflection_tags", "thread_reflections", "mirrorbacks", "pattern_occurrences",
                "tension_observations", "embeddings")


def dump(conn: sqlite3.Connection, table: str, drop: tuple[str, ...] = ()) -> list[tuple]:
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in drop]
    return sorted(tuple(r) for r in conn.execute(f"SELECT {', '.join(cols)} FROM {table}"))


def populated(path: Path) -> mirror_kit.Journal:
    """A journal with rows in every table that references reflections."""
    j = mirror_kit.open(path)
    maya = j.identities.add("maya")
    j.identities.add("sam")
    ids = j.reflections.add_many("maya", [
        {"content": f"Entry {i}: the new job is {'hard' if i % 2 else 'fine'}.", "created_at": f"2024-0{1 + i % 9}-1{i % 10}",
         "tz": "Europe/Paris", "title": f"t{i}", "source": "csv", "source_id": str(i), "visibility": "shared",
         "intensity": i / 20, "metadata": {"i": i}, "tags": ["job", f"n{i % 3}"]}
        for i in range(20)
    ])
    j.reflections.add("sam", "Sam's entry.", "2024-02-02")
    j.threads.add("maya", "job", ids[:5])
    for rid in ids[:4]:
        j.mirrorbacks.add(rid, "You wrote about the job.", "echo-1", valid=True)
    with j.transaction() as c:
        c.execute("INSERT INTO patterns (id, identity_id, label, created_at, updated_at) "
                  "VALUES ('p1', ?, 'job', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')", (maya.id,))
        c.execute("INSERT INTO tensions (id, name, axis_a, axis_b, created_at, updated_at) "
                  "VALUES ('t1', 'solitude', 'alone', 'together', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")
        for rid in ids:
            c.execute("INSERT INTO pattern_occurrences VALUES ('p1', ?, 0.5)", (rid,))
            c.execute("INSERT INTO tension_observations VALUES ('t1', ?, -0.2, 0.4, 'm', '2024-01-01T00:00:00Z')",
                      (rid,))
            c.execute("INSERT INTO embeddings VALUES (?, 'm', 'h', 1, x'0000803f', '2024-01-01T00:00:00Z')", (rid,))
    return j


# -- status, up, down, history ----------------------------------------------------------------------
def test_status_up_to_a_target_and_history(journal_path):
    conn = connect(journal_path)
    m = Migrator(conn)
    s = m.status()
    assert (s.current, s.latest, [x.version for x in s.pending]) == (0, LATEST, list(range(1, LATEST + 1)))
    assert [st.version for st in m.up(2)] == [1, 2]
    assert m.status().as_dict() == {"current": 2, "latest": LATEST, "pending": MIGRATIONS[2:]}
    assert [st.version for st in m.up()] == list(range(3, LATEST + 1))
    assert m.up() == []
    with pytest.raises(MigrationError, match=f"no migration {NEXT}"):
        m.up(LATEST + 1)
    with pytest.raises(MigrationError, match=f"already at version {LATEST:04d}"):
        m.up(1)
    hist = m.history()
    assert [(h["version"], h["name"], h["rolled_back"]) for h in hist] == [
        (int(m[:4]), m[5:], False) for m in MIGRATIONS]
    assert all(h["execution_ms"] > 0 and h["applied_at"].endswith("Z") for h in hist)
    conn.close()


def test_down_rolls_back_n_steps_and_history_keeps_the_rollback(journal):
    m = journal.migrator
    steps = m.down(LATEST - 1, force=True)
    assert [(s.version, s.direction) for s in steps] == [(v, "down") for v in range(LATEST, 1, -1)]
    assert m.current_version() == 1
    cols = journal.reflections.columns
    assert "language" not in cols and "updated_at" not in cols
    m.up()
    hist = m.history()
    assert [(h["version"], h["rolled_back"]) for h in hist] == [
        (1, False), *[(v, True) for v in range(2, LATEST + 1)], *[(v, False) for v in range(2, LATEST + 1)]]
    assert all(h["rollback_ms"] > 0 for h in hist if h["rolled_back"])
    assert m.down(0, force=True) == []


def test_down_to_zero_and_up_again_recreates_an_empty_schema(journal):
    journal.migrator.down(LATEST, force=True)
    tables = {r[0] for r in journal.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables - {"sqlite_sequence"} == {"schema_migrations"}
    journal.migrator.up()
    journal.identities.add("maya")
    assert journal.migrator.verify()["ok"]


def test_table_rebuild_preserves_every_row_and_child_through_up_down_and_up_again(tmp_path):
    j = populated(tmp_path / "j.db")
    c = j.conn
    before = {t: dump(c, t) for t in CHILD_TABLES + ("identities", "tags", "threads", "patterns", "tensions")}
    refl_before = dump(c, "reflections", drop=("updated_at", "language"))
    assert all(before[t] for t in CHILD_TABLES)
    for _ in range(2):
        j.migrator.down(LATEST - 1, force=True)  # newer steps, 0003 column drop, then the 0002 table rebuild back to the 0001 shape
        assert j.migrator.current_version() == 1
        assert dump(c, "reflections") == refl_before
        assert {t: dump(c, t) for t in before} == before, "a child row was lost: cascade on rebuild?"
        j.migrator.up()
        assert dump(c, "reflections", drop=("updated_at", "language")) == refl_before
        assert {t: dump(c, t) for t in before} == before
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # restored after the migration
    # The rebuilt table still enforces what 0002 added and cascades deletes as before.
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        c.execute("UPDATE reflections SET visibility = 'loud'")
    rid = j.reflections.rows("maya")[0].id
    j.reflections.delete(rid)
    assert c.execute("SELECT count(*) FROM embeddings WHERE reflection_id = ?", (rid,)).fetchone()[0] == 0
    assert j.migrator.verify()["ok"]
    j.close()


# -- dry run ----------------------------------------------------------------------------------------
def test_dry_run_down_and_up_show_the_sql_succeed_and_leave_the_file_byte_identical(tmp_path):
    path = tmp_path / "j.db"
    populated(path).close()
    before = snapshot(path)
    conn = connect(path, create=False)
    m = Migrator(conn, path=str(path))
    down = m.down(LATEST - 1, dry_run=True)
    assert [(s.version, s.direction, s.dry_run) for s in down] == [(v, "down", True) for v in range(LATEST, 1, -1)]
    assert "DROP COLUMN language" in down[-2].sql and "CREATE TABLE reflections_old" in down[-1].sql
    m.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # anything written would now be in the main file
    during = snapshot(path)
    assert during["db"] == before["db"] and during["-wal"] == b""
    assert m.current_version() == LATEST and len(m.history()) == LATEST
    conn.close()
    assert snapshot(path) == before

    # From version 1 the up dry run shows 0002 and 0003 and still changes nothing.
    with mirror_kit.open(path) as j:
        j.migrator.down(LATEST - 1, force=True)
    before = snapshot(path)
    conn = connect(path, create=False)
    up = Migrator(conn).up(dry_run=True)
    assert [s.version for s in up] == list(range(2, LATEST + 1)) and "CREATE TABLE reflections_new" in up[0].sql
    assert Migrator(conn).current_version() == 1
    conn.close()
    assert snapshot(path) == before


def test_dry_run_reports_a_failure_without_touching_the_file(tmp_path, migrations_copy):
    (migrations_copy / f"{NEXT}_bad.up.sql").write_text("CREATE TABLE extra (x);\nINSERT INTO nowhere VALUES (1);\n")
    path = tmp_path / "j.db"
    populated(path).close()
    before = snapshot(path)
    conn = connect(path, create=False)
    with pytest.raises(MigrationError, match=rf"{NEXT}_bad.up.sql failed at statement 2 \(no such table: nowhere\)"):
        Migrator(conn, migrations_copy).up(dry_run=True)
    conn.close()
    assert snapshot(path) == before


# -- checksums ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, named",
    [
        (lambda d: (d / "0002_reflections_checks.up.sql").write_text(
            (d / "0002_reflections_checks.up.sql").read_text() + "\n-- tweaked\n"), "0002_reflections_checks.up.sql"),
        (lambda d: (d / "0001_initial.down.sql").write_text("DROP TABLE identities;\n"), "0001_initial.down.sql"),
        (lambda d: (d / "0003_reflections_language.down.sql").unlink(), "0003_reflections_language.down.sql (deleted)"),
        (lambda d: (d / "0002_reflections_checks.up.sql").unlink(), "0002_reflections_checks.up.sql is missing"),
    ],
    ids=["edited-up", "edited-down", "deleted-down", "deleted-up"],
)
def test_an_edited_or_deleted_applied_migration_is_refused_by_name(tmp_path, migrations_copy, change, named):
    path = tmp_path / "j.db"
    with mirror_kit.open(path, migrations_dir=migrations_copy) as j:
        j.identities.add("maya")
    before = snapshot(path)
    change(migrations_copy)
    with pytest.raises(MigrationChecksumError) as info:
        mirror_kit.open(path, migrations_dir=migrations_copy)
    assert named in str(info.value) and str(path) in str(info.value)
    assert snapshot(path) == before
    conn = connect(path, readonly=True)
    report = Migrator(conn, migrations_copy).verify()
    conn.close()
    assert not report["ok"] and any(named in p for p in report["problems"])


def test_checksums_recorded_before_per_file_hashes_are_still_checked(tmp_path, migrations_copy):
    path = tmp_path / "j.db"
    mirror_kit.open(path, migrations_dir=migrations_copy).close()
    conn = connect(path)
    for m in discover(migrations_copy):  # rewrite history as an older mirror_kit recorded it
        h = hashlib.sha256(m.up_path.read_bytes())
        h.update(b"\0")
        h.update(m.down_path.read_bytes())
        conn.execute("UPDATE schema_migrations SET checksum = ? WHERE version = ?", (h.hexdigest(), m.version))
    Migrator(conn, migrations_copy).check()
    (migrations_copy / "0003_reflections_language.up.sql").write_text("ALTER TABLE reflections ADD COLUMN lang TEXT;")
    with pytest.raises(MigrationChecksumError, match="0003_reflections_language.up.sql or 0003_reflections_language.down.sql"):
        Migrator(conn, migrations_copy).check()
    conn.close()


# -- refusals -------------------------------------------------------------------------------------
def test_a_newer_schema_is_refused_and_never_modified(tmp_path, closed_journal):
    conn = sqlite3.connect(closed_journal, isolation_level=None)
    conn.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at, execution_ms) "
                 f"VALUES ({LATEST + 1}, 'from_the_future', 'x', '2030-01-01T00:00:00Z', 1)")
    conn.close()
    before = snapshot(closed_journal)
    for kwargs in ({}, {"readonly": True}):
        with pytest.raises(SchemaTooNewError, match=f"schema is at version {LATEST + 1} .*only knows up to {LATEST}.*{NEXT}_from_the_future"):
            mirror_kit.open(closed_journal, **kwargs)
    conn = connect(closed_journal, create=False)
    for action in (lambda m: m.up(), lambda m: m.down(1, force=True), lambda m: m.status()):
        with pytest.raises(SchemaTooNewError):
            action(Migrator(conn))
    conn.close()
    assert snapshot(closed_journal) == before


def test_a_sqlite_file_of_another_program_is_refused_unchanged(tmp_path):
    path = tmp_path / "places.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.commit()
    conn.close()
    before = snapshot(path)
    with pytest.raises(NotAJournalError, match="not a mirror_kit journal \\(it has tables moz_places"):
        mirror_kit.open(path)
    assert snapshot(path) == before


def test_a_migration_failing_halfway_leaves_schema_history_and_bytes_as_they_were(tmp_path, migrations_copy):
    (migrations_copy / f"{NEXT}_halfway.up.sql").write_text(
        "CREATE TABLE extra (x INTEGER);\nINSERT INTO extra VALUES (1);\n"
        "UPDATE reflections SET title = 'changed';\nINSERT INTO missing_table VALUES (1);\n"
    )
    (migrations_copy / f"{NEXT}_halfway.down.sql").write_text("DROP TABLE extra;\n")
    path = tmp_path / "j.db"
    mirror_kit.open(path).close()  # at 0003 with the shipped migrations
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "keep my title", title="original")
    before = snapshot(path)
    with pytest.raises(MigrationError, match=rf"{NEXT}_halfway.up.sql failed at statement 4 .*Nothing was changed"):
        mirror_kit.open(path, migrations_dir=migrations_copy)
    assert snapshot(path) == before
    with mirror_kit.open(path, readonly=True) as j:
        names = {r[0] for r in j.conn.execute("SELECT name FROM sqlite_master")}
        assert "extra" not in names
        assert j.migrator.current_version() == LATEST and len(j.migrator.history()) == LATEST
        assert j.reflections.rows("maya")[0].title == "original"


def test_foreign_key_check_before_commit_refuses_a_migration_that_orphans_rows(tmp_path, migrations_copy):
    (migrations_copy / f"{NEXT}_drop_people.up.sql").write_text("DELETE FROM identities WHERE name = 'maya';\n")
    path = tmp_path / "j.db"
    populated(path).close()
    before = snapshot(path)
    with pytest.raises(MigrationError, match=rf"{NEXT}_drop_people.up.sql would break \d+ foreign key"):
        mirror_kit.open(path, migrations_dir=migrations_copy)
    assert snapshot(path) == before


def test_a_migration_that_manages_its_own_transaction_is_refused(tmp_path, migrations_copy):
    (migrations_copy / f"{NEXT}_tx.up.sql").write_text("-- sneaky\nBEGIN;\nCREATE TABLE t (a);\nCOMMIT;\n")
    path = tmp_path / "j.db"
    mirror_kit.open(path).close()
    before = snapshot(path)
    with pytest.raises(MigrationError, match=f"{NEXT}_tx.up.sql: statement 1 controls transactions"):
        mirror_kit.open(path, migrations_dir=migrations_copy)
    assert snapshot(path) == before


def test_a_migration_with_a_trigger_and_semicolons_in_strings_and_comments_applies(tmp_path, migrations_copy):
    (migrations_copy / f"{NEXT}_audit.up.sql").write_text(
        "-- an audit table; note the semicolons in comments and strings\n"
        "CREATE TABLE audit (what TEXT);\n"
        "/* block comment; still a comment */\n"
        "CREATE TRIGGER audit_identities AFTER INSERT ON identities BEGIN\n"
        "    INSERT INTO audit VALUES ('identity added; ' || new.name);\n"
        "END;\n"
        "INSERT INTO audit VALUES ('created; ok')"
    )
    (migrations_copy / f"{NEXT}_audit.down.sql").write_text("DROP TRIGGER audit_identities;\nDROP TABLE audit;\n")
    with mirror_kit.open(tmp_path / "j.db", migrations_dir=migrations_copy) as j:
        j.identities.add("maya")
        assert [r[0] for r in j.conn.execute("SELECT what FROM audit ORDER BY rowid")] == [
            "created; ok", "identity added; maya"]
        j.migrator.down(1, force=True)
        assert j.conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'audit%'").fetchone()[0] == 0


def test_a_migration_without_a_down_file_cannot_be_rolled_back(tmp_path, migrations_copy):
    (migrations_copy / f"{NEXT}_oneway.up.sql").write_text("CREATE TABLE oneway (a);")
    with mirror_kit.open(tmp_path / "j.db", migrations_dir=migrations_copy) as j:
        with pytest.raises(MigrationError, match=f"{NEXT}_oneway.up.sql has no .down.sql"):
            j.migrator.down(1, force=True)
        assert j.migrator.current_version() == LATEST + 1


def test_badly_named_or_duplicate_migration_files_are_refused_by_name(migrations_copy):
    (migrations_copy / "4_oops.up.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="4_oops.up.sql: migration files must be named"):
        discover(migrations_copy)
    (migrations_copy / "4_oops.up.sql").unlink()
    (migrations_copy / "0003_again.up.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="two migrations with version 0003"):
        discover(migrations_copy)


@pytest.mark.parametrize(
    "script, statements",
    [
        ("CREATE TABLE a (x); CREATE TABLE b (y);", ["CREATE TABLE a (x);", "CREATE TABLE b (y);"]),
        ("INSERT INTO a VALUES ('x;y');\nSELECT 1", ["INSERT INTO a VALUES ('x;y');", "SELECT 1;"]),
        ("-- c; d\nCREATE TABLE t (x);", ["-- c; d\nCREATE TABLE t (x);"]),
        ("CREATE TABLE a (x); -- trailing; comment", ["CREATE TABLE a (x);"]),
        ("CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM b; END; SELECT 2;",
         ["CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM b; END;", "SELECT 2;"]),
        ("-- only a comment\n;;\n", []),
        ("", []),
    ],
)
def test_split_sql_keeps_statements_whole(script, statements):
    assert split_sql(script) == statements


# -- verify ---------------------------------------------------------------------------------------
def test_verify_is_ok_on_a_healthy_journal(tmp_path):
    j = populated(tmp_path / "j.db")
    report = j.migrator.verify()
    assert report["ok"] and report["problems"] == []
    assert report["schema_version"] == report["latest"] == LATEST
    assert set(report["orphans"].values()) == {0} and "reflections(identity)" in report["orphans"]
    j.close()


def test_verify_reports_orphans_written_while_foreign_keys_were_off(tmp_path):
    path = tmp_path / "j.db"
    populated(path).close()
    raw = sqlite3.connect(path, isolation_level=None)  # foreign keys are off by default in raw sqlite3
    raw.execute("INSERT INTO reflections (id, identity_id, created_at, content, content_hash, updated_at) "
                "VALUES ('r_orphan', 'i_gone', '2024-01-01T00:00:00Z', 'x', 'h', '2024-01-01T00:00:00Z')")
    raw.execute("DELETE FROM tags WHERE name = 'job'")
    raw.close()
    conn = connect(path, readonly=True)
    report = Migrator(conn).verify()
    conn.close()
    assert not report["ok"]
    assert report["orphans"]["reflections(identity)"] == 1 and report["orphans"]["reflection_tags"] == 20
    assert any(p.startswith("foreign_key_check: reflections rowid") and "identities" in p
               for p in report["problems"])
    assert "orphans: 20 row(s) in reflection_tags" in report["problems"]


def test_verify_reports_a_corrupt_index(tmp_path):
    path = tmp_path / "j.db"
    populated(path).close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA writable_schema = ON")  # the index definition no longer matches its contents
    raw.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX idx_reflections_hash ON reflections(identity_id, content)' "
                "WHERE name = 'idx_reflections_hash'")
    raw.close()
    conn = connect(path, readonly=True)
    report = Migrator(conn).verify()
    conn.close()
    assert not report["ok"]
    assert any(p.startswith("integrity_check:") and "idx_reflections_hash" in p for p in report["problems"])


# -- vector storage layout --------------------------------------------------------------------------
ROWID_LAYOUT = next(int(m[:4]) for m in MIGRATIONS if m.endswith("_embeddings_rowid"))


def _embeddings_sql(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'embeddings'").fetchone()[0]


def test_vectors_stay_byte_identical_through_the_rowid_rebuild_and_its_rollback(tmp_path):
    import numpy as np

    from mirror_kit.embedding import store as emb_store
    from mirror_kit.export.backupcheck import _schema, expected_schema

    j = mirror_kit.open(tmp_path / "j.db")
    c = j.conn
    j.migrator.down(LATEST - ROWID_LAYOUT + 1, force=True)
    assert "WITHOUT ROWID" in _embeddings_sql(c)
    j.identities.add("maya")
    ids = j.reflections.add_many("maya", [{"content": f"entry {i}", "created_at": f"2024-01-{i % 28 + 1:02d}"}
                                          for i in range(60)])
    hashes = {r.id: r.content_hash for r in j.reflections.rows("maya")}
    rng = np.random.default_rng(1)
    with j.transaction():
        for model in ("m-a", "m-b"):  # two models side by side, full-size vectors with arbitrary bytes
            emb_store.write(c, model, ((rid, hashes[rid], rng.standard_normal(384)) for rid in ids))
    before = dump(c, "embeddings")
    assert len(before) == 120

    j.migrator.up()
    assert "WITHOUT ROWID" not in _embeddings_sql(c) and dump(c, "embeddings") == before
    assert _schema(c) == expected_schema(LATEST)  # as a journal created at this version: backups check it
    # The upsert still finds its conflict target, the stale query its key lookups, and reads agree.
    j.reflections.update(ids[0], content="rewritten")
    assert [r[0] for r in emb_store.stale(c, None, "m-a")] == [ids[0]]
    with j.transaction():
        emb_store.write(c, "m-a", [(ids[0], j.reflections.get(ids[0]).content_hash, np.ones(384))])
    assert emb_store.stale(c, None, "m-a") == []
    assert c.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 120
    got_ids, got_hashes, stored = emb_store.read(c, j.identities.id_of("maya"), "m-b")
    by_id = {r[0]: r[4] for r in before if r[1] == "m-b"}
    assert [s[2] for s in stored] == [by_id[i] for i in got_ids]
    after_up = dump(c, "embeddings")

    j.migrator.down(LATEST - ROWID_LAYOUT + 1, force=True)
    assert "WITHOUT ROWID" in _embeddings_sql(c) and dump(c, "embeddings") == after_up
    assert _schema(c) == expected_schema(ROWID_LAYOUT - 1)
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    j.reflections.delete(ids[1])  # the cascade survives both rebuilds
    assert c.execute("SELECT count(*) FROM embeddings WHERE reflection_id = ?", (ids[1],)).fetchone()[0] == 0
    j.close()
