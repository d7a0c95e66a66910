"""Stored vectors on disk: 16 KB pages for new journals, `compact` for older journals, migration 0009
(covering index dropped) and the byte-for-byte safety of each."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import mirror_kit
from mirror_kit import compact as compact_mod
from mirror_kit.db import PAGE_SIZE
from mirror_kit.embedding import store as emb_store
from mirror_kit.errors import JournalLockedError, MirrorKitError
from mirror_kit.migrate import Migrator
from tests.plugins.store import assert_one_line_error, run_cli, snapshot

MIGRATIONS = sorted(p.name[:-len(".up.sql")] for p in (Path(__file__).resolve().parents[1] / "migrations").glob("*.up.sql"))
LATEST = len(MIGRATIONS)
LEAN = next(int(m[:4]) for m in MIGRATIONS if m.endswith("_embeddings_lean_indexes"))


def _pragma(path: Path, name: str):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def _every_row(path: Path) -> dict[str, list]:
    """Every row of every ordinary table (FTS shadow tables included), sorted: the journal's content."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def _old_journal(path: Path, n: int = 30, schema: int | None = None) -> list[str]:
    """A journal on SQLite's default 4 KB pages (as every journal was made before) with n reflections
    and their vectors of two models; returns the reflection ids."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("PRAGMA journal_mode = WAL")
    Migrator(conn).up(schema)
    conn.execute("INSERT INTO identities (id, name, created_at) VALUES ('i1', 'maya', '2024-01-01T00:00:00Z')")
    rows = [(f"ref_{i:016x}", f"2024-01-{i % 28 + 1:02d}T08:00:00Z", f"entry {i}", f"{i:064x}") for i in range(n)]
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO reflections (id, identity_id, created_at, content, content_hash, updated_at) "
                     "VALUES (?, 'i1', ?, ?, ?, '2024-01-01T00:00:00Z')", rows)
    rng = np.random.default_rng(3)
    for model in ("m-a", "m-b"):  # arbitrary float32 bytes (NaN payloads and signed zeros included)
        vecs = rng.standard_normal((n, 384)).astype(np.float32)
        vecs[0, :4] = [np.nan, -0.0, np.inf, 1e-45]
        emb_store.write(conn, model, ((r[0], r[3], v) for r, v in zip(rows, vecs, strict=True)))
    conn.execute("COMMIT")
    conn.close()
    return [r[0] for r in rows]


# -- new journals ----------------------------------------------------------------------------------


def test_a_new_journal_gets_16_kb_pages_from_the_api_init_and_migrate_up(tmp_path):
    with mirror_kit.open(tmp_path / "api.db") as j:
        assert j.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
        assert j.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert run_cli("init", str(tmp_path / "cli.db"), cwd=tmp_path).returncode == 0
    assert run_cli("--db", str(tmp_path / "m.db"), "migrate", "up", cwd=tmp_path).returncode == 0
    assert _pragma(tmp_path / "cli.db", "page_size") == 16384
    assert _pragma(tmp_path / "m.db", "page_size") == 16384


def test_opening_an_old_4_kb_journal_for_writing_keeps_its_pages(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=3)
    with mirror_kit.open(path) as j:
        j.reflections.add("maya", "one more", "2024-03-01")
        assert j.conn.execute("PRAGMA page_size").fetchone()[0] == 4096  # only `compact` rebuilds a file


# -- migration 0009 --------------------------------------------------------------------------------


def test_dropping_the_covering_index_and_rolling_it_back_keep_every_vector_bit_identical(tmp_path):
    from mirror_kit.export.backupcheck import _schema, expected_schema

    path = tmp_path / "j.db"
    ids = _old_journal(path, n=40, schema=LEAN - 1)
    before = _every_row(path)["embeddings"]
    j = mirror_kit.open(path)  # applies 0009
    c = j.conn
    indexes = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'embeddings'")}
    assert indexes == {"idx_embeddings_key", "idx_embeddings_model"}
    assert _schema(c) == expected_schema(LATEST)
    assert _every_row(path)["embeddings"] == before
    # "which reflections lack a current vector" looks each one up in the unique key, never scans vectors
    seen: list[str] = []
    c.set_trace_callback(seen.append)
    emb_store.stale(c, None, "m-a")
    c.set_trace_callback(None)
    sql = next(s for s in seen if "LEFT JOIN embeddings" in s)
    plan = " ".join(r[3] for r in c.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SEARCH e USING INDEX idx_embeddings_key" in plan and "SCAN e" not in plan
    j.reflections.update(ids[2], content="rewritten")
    assert [r[0] for r in emb_store.stale(c, None, "m-a")] == [ids[2]]
    assert j.embeddings.count_current("maya", model="m-b") == 39

    j.migrator.down(LATEST - LEAN + 1)
    assert "idx_embeddings_current" in {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert _schema(c) == expected_schema(LEAN - 1)
    assert _every_row(path)["embeddings"] == before
    assert [r[0] for r in emb_store.stale(c, None, "m-a")] == [ids[2]]
    j.migrator.up()
    assert _every_row(path)["embeddings"] == before
    j.close()


# -- compact ---------------------------------------------------------------------------------------


def _vector_share(path: Path) -> float:
    """Bytes of the embeddings table and its indexes over the raw float32 payload."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        used = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'embeddings' OR name IN "
                            "(SELECT name FROM sqlite_master WHERE tbl_name = 'embeddings' AND type = 'index')"
                            ).fetchone()[0]
        return used / conn.execute("SELECT sum(length(vector)) FROM embeddings").fetchone()[0]
    finally:
        conn.close()


def test_compact_moves_an_old_journal_to_16_kb_pages_keeping_every_row_byte_for_byte(tmp_path):
    path = tmp_path / "old.db"
    ids = _old_journal(path, n=300)
    with mirror_kit.open(path) as j:
        j.threads.add("maya", "t", ids[:3])
        j.settings.set("embedding.model", "m-a")
        j.reflections.delete(ids[5])  # free pages for the rebuild to drop
        ref_ids, matrix = j.embeddings.stored("maya", model="m-b")
    os.chmod(path, 0o600)
    rows, share = _every_row(path), _vector_share(path)

    with mirror_kit.open(path) as j:
        out = j.compact()
        assert j.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids2, matrix2 = j.embeddings.stored("maya", model="m-b")
        assert _every_row(path) == rows  # every table, FTS shadow tables included
        j.reflections.add("maya", "written after compacting", "2024-04-01")  # still a working journal
    assert out["page_size_before"] == 4096 and out["page_size_after"] == 16384
    assert _pragma(path, "page_size") == 16384
    assert share > 1.33 and _vector_share(path) < 1.3  # 4 KB pages hold 2 vectors, 16 KB pages 9
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert ids2 == ref_ids and matrix2.tobytes() == matrix.tobytes()


def test_compact_from_the_cli_reports_the_new_page_size(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=10)
    rows = _every_row(path)
    proc = run_cli("--db", str(path), "compact", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "page size 4096 -> 16384" in proc.stdout
    assert _every_row(path) == rows
    before, after = (float(x.replace(",", "")) for x in re.findall(r"([\d.,]+) MB", proc.stdout)[:2])
    grew = after > before
    # a 10-reflection journal grows on 16 KB pages: the command says why instead of leaving it a puzzle
    assert ("the file grew" in proc.stdout) == grew


def test_compact_refuses_while_another_program_holds_the_journal_open(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=10)
    before = path.read_bytes()
    # another program: open, idle, between reads. (While it is open this process must not open and
    # close the file itself: closing any descriptor drops every POSIX lock the process holds on it.)
    other = sqlite3.connect(path)
    try:
        other.execute("SELECT count(*) FROM embeddings").fetchall()
        proc = run_cli("--db", str(path), "compact", cwd=tmp_path)
        assert_one_line_error(proc, "another program has the journal open", "not changed")
        assert other.execute("SELECT count(*) FROM embeddings").fetchall() == [(20,)]
    finally:
        other.close()
    assert path.read_bytes() == before


def test_compact_in_process_refuses_while_a_second_connection_is_open(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=5)
    with mirror_kit.open(path) as j, mirror_kit.open(path, readonly=True) as reader:
        reader.embeddings.stored("maya", model="m-a")
        with pytest.raises(JournalLockedError, match="another program"):
            j.compact()
        assert j.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        j.reflections.add("maya", "still writable", "2024-05-01")


def test_compact_refuses_when_the_disk_lacks_space_for_the_copy(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    _old_journal(path, n=10)
    before = snapshot(path)

    class Full:
        free = 4096

    monkeypatch.setattr(compact_mod.shutil, "disk_usage", lambda folder: Full)
    with mirror_kit.open(path) as j, pytest.raises(MirrorKitError, match="needs about .* MB free") as err:
        j.compact()
    assert "\n" not in str(err.value) and "not changed" in str(err.value)
    assert snapshot(path)["db"] == before["db"]
    assert _pragma(path, "page_size") == 4096


def test_compact_is_refused_on_a_read_only_journal(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=3)
    with mirror_kit.open(path, readonly=True) as j, pytest.raises(MirrorKitError, match="read-only"):
        j.compact()


@pytest.mark.parametrize("command", [["stats"], ["migrate", "status"], ["migrate", "verify"]])
def test_read_commands_leave_an_old_journal_byte_identical(tmp_path, command):
    path = tmp_path / "old.db"
    _old_journal(path, n=5, schema=LEAN - 1)  # 4 KB pages and a pending migration: neither may change
    before = snapshot(path)
    proc = run_cli("--db", str(path), *command, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(path) == before


# -- restoring across page sizes -------------------------------------------------------------------


def test_a_backup_of_a_4_kb_journal_restores_over_a_live_16_kb_journal(tmp_path):
    from mirror_kit.export.service import restore

    old = tmp_path / "old.db"
    _old_journal(old, n=12)
    with mirror_kit.open(old) as j:
        j.exports.backup(tmp_path / "b.zip")
    rows = _every_row(old)["embeddings"]
    live = tmp_path / "live.db"
    with mirror_kit.open(live) as j:
        j.identities.add("sam")
    restore(tmp_path / "b.zip", live, force=True)
    assert _pragma(live, "page_size") == 16384
    assert _every_row(live)["embeddings"] == rows
    with mirror_kit.open(live) as j:
        assert [i.name for i in j.identities.rows()] == ["maya"]


# -- one pass over the vectors per analysis step ---------------------------------------------------


def test_each_analysis_step_reads_the_stored_vectors_once_in_storage_order(sample_journal_path):
    j = mirror_kit.open(sample_journal_path)
    reads: list[str] = []
    j.conn.set_trace_callback(lambda sql: reads.append(sql) if "vector" in sql and "FROM embeddings" in sql else None)
    try:
        j.patterns.analyze("maya", refit=True)
        assert len(reads) == 1, reads
        j.tensions.analyze("maya", refit=True)
        assert len(reads) == 2, reads
    finally:
        j.conn.set_trace_callback(None)
    for sql in reads:  # through the model index, whose rowid order is the table's storage order
        plan = [r[3] for r in j.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert any("idx_embeddings_model" in p for p in plan) and not any("ORDER BY" in p for p in plan), plan
    j.close()


def test_embed_on_an_old_journal_with_many_vectors_suggests_compact_and_a_new_one_does_not(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=compact_mod.ADVICE_MIN_VECTORS // 2 + 10)  # two models' vectors each
    with mirror_kit.open(path) as j:
        j.settings.set("embedding.model", "m-a")  # every vector of it is current: nothing to embed
    proc = run_cli("--db", str(path), "embed", "--identity", "maya", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "0 embedded" in proc.stdout
    assert "`mirror-kit compact`" in proc.stderr and "4096-byte pages" in proc.stderr
    with mirror_kit.open(path) as j:
        j.compact()
    proc = run_cli("--db", str(path), "embed", "--identity", "maya", cwd=tmp_path)
    assert proc.returncode == 0 and "compact" not in proc.stderr


def test_a_small_old_journal_gets_no_compact_suggestion(tmp_path):
    path = tmp_path / "old.db"
    _old_journal(path, n=30)  # 16 KB pages would make it larger
    with mirror_kit.open(path) as j:
        assert j.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert compact_mod.advice(j) is None
