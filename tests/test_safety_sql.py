"""`journal.sql` / `mirror-kit sql` cannot write, attach, copy, read other files or fetch extensions."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import MirrorKitError
from tests.plugins.store import assert_one_line_error, run_cli


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def two_journals(tmp_path: Path):
    """A journal with two reflections (checkpointed, so the file holds everything) and a copy of it."""
    path = tmp_path / "j.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "Walked by the river.", "2024-01-01 08:00", tags=["walk"])
        j.reflections.add("maya", "Rain all day.", "2024-01-02 08:00")
        j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other = tmp_path / "other.db"
    shutil.copy(path, other)
    return path, other


def _escapes(path: Path, other: Path, tmp: Path) -> list[str]:
    return [
        f"ATTACH '{other}' AS o (TYPE sqlite); DELETE FROM o.reflections",
        f"USE memory; DETACH journal; ATTACH '{path}' AS w (TYPE sqlite); DELETE FROM w.reflections",
        "DETACH journal",
        f"SELECT * FROM sqlite_attach('{other}')",
        f"SELECT count(*) FROM sqlite_scan('{other}', 'reflections')",
        f"SELECT * FROM sqlite_query('{other}', 'DELETE FROM reflections')",
        f"SELECT * FROM query('SELECT * FROM sqlite_scan(''{other}'', ''reflections'')')",
        f"COPY (SELECT 42 AS x) TO '{tmp / 'leak.csv'}'",
        f"EXPORT DATABASE '{tmp / 'dump'}'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT content FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        f"SELECT * FROM '{other}'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "PRAGMA enable_external_access = true",
        "CALL pragma_version()",
        "DELETE FROM reflections",
        "CREATE TABLE journal.evil (a INT)",
        "UPDATE reflections SET content = 'x'",
    ]


def test_sql_refuses_every_write_attach_copy_and_file_read(two_journals, tmp_path):
    path, other = two_journals
    before = (_digest(path), _digest(other))
    with mirror_kit.open(path, readonly=True) as j:
        for stmt in _escapes(path, other, tmp_path):
            with pytest.raises(MirrorKitError) as err:
                rel = j.sql(stmt)
                if rel is not None:
                    rel.fetchall()
            assert "\n" not in str(err.value), stmt
        # DuckDB's own settings stayed locked down after all those attempts
        settings = dict(j.sql("SELECT name, value FROM duckdb_settings() WHERE name IN "
                              "('enable_external_access', 'lock_configuration', 'autoinstall_known_extensions')"
                              ).fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                            "autoinstall_known_extensions": "false"}
        assert j.sql("SELECT count(*) FROM reflections").fetchone()[0] == 2
    assert (_digest(path), _digest(other)) == before
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "dump").exists()


def test_sql_selects_joins_ctes_and_parameters_still_work(two_journals):
    path, _ = two_journals
    with mirror_kit.open(path, readonly=True) as j:
        rows = j.sql(
            "WITH t AS (SELECT rt.reflection_id, tg.name FROM reflection_tags rt JOIN tags tg ON tg.id = rt.tag_id) "
            "SELECT r.content, t.name FROM reflections r JOIN identities i ON i.id = r.identity_id "
            "LEFT JOIN t ON t.reflection_id = r.id WHERE i.name = ? ORDER BY r.created_at", ["maya"]).fetchall()
        assert rows == [("Walked by the river.", "walk"), ("Rain all day.", None)]
        assert j.sql("SELECT count(*) FROM range(5)").fetchone() == (5,)


def test_cli_sql_escape_is_one_line_and_changes_nothing(two_journals, tmp_path):
    path, other = two_journals
    before = _digest(other)
    p = run_cli("--db", str(path), "sql", f"ATTACH '{other}' AS o (TYPE sqlite); DELETE FROM o.reflections",
                cwd=tmp_path)
    assert_one_line_error(p, "read-only", "ATTACH")
    p = run_cli("--db", str(path), "sql", f"COPY (SELECT 42) TO '{tmp_path / 'leak.csv'}'", cwd=tmp_path)
    assert_one_line_error(p, "read-only", "COPY")
    p = run_cli("--db", str(path), "sql", "SELECT * FROM read_text('/etc/hostname')", cwd=tmp_path)
    assert_one_line_error(p, "disabled")
    assert _digest(other) == before and not (tmp_path / "leak.csv").exists()


def test_cli_sql_now_prints_and_failing_cast_is_one_line(two_journals, tmp_path):
    path, _ = two_journals
    p = run_cli("--db", str(path), "sql", "SELECT now() AS t, 1 AS n", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].split() == ["t", "n"] and "Traceback" not in p.stderr
    p = run_cli("--db", str(path), "sql", "SELECT CAST('x' AS INTEGER)", cwd=tmp_path)
    assert_one_line_error(p, "Conversion Error")


def test_cli_sql_writes_in_sqlites_own_syntax_get_the_read_only_refusal(two_journals, tmp_path):
    path, other = two_journals
    before = (_digest(path), _digest(other))
    for stmt, verb in ((f"ATTACH DATABASE '{other}' AS o; CREATE TABLE o.t(a)", "ATTACH"),
                       ("CREATE TABLE t(a)", "CREATE"), (f"VACUUM INTO '{tmp_path / 'copy.db'}'", "VACUUM"),
                       ("SELECT 1; INSERT INTO reflections VALUES (1", "INSERT"),
                       ("/* note */ replace into tags values (1)", "REPLACE")):
        p = run_cli("--db", str(path), "sql", stmt, cwd=tmp_path)
        line = assert_one_line_error(p, "read-only", verb)
        assert "Parser Error" not in line, stmt
    p = run_cli("--db", str(path), "sql", "SELEC 1", cwd=tmp_path)  # a typo is still the parser's word
    assert_one_line_error(p, "syntax error")
    assert (_digest(path), _digest(other)) == before and not (tmp_path / "copy.db").exists()
