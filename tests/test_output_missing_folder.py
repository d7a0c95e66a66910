"""Writers refuse a missing output folder in one line; restore says what a non-backup file is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.store import assert_one_line_error, run_cli


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text("date,text\n2024-01-01,a quiet morning\n")
    proc = run_cli("--db", "j.db", "import", "d.csv", "--identity", "x", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


@pytest.mark.parametrize("args", [
    ("export", "json", "--out", "missing/deeper/x.json"),
    ("export", "markdown", "--out", "missing/deeper/md"),
    ("backup", "--out", "missing/deeper/b.zip"),
])
def test_writer_refuses_a_missing_folder(journal_dir: Path, args: tuple) -> None:
    proc = run_cli("--db", "j.db", *args, cwd=journal_dir)
    assert_one_line_error(proc, "missing/deeper: no such folder")
    assert not (journal_dir / "missing").exists()


def test_restore_refuses_a_missing_folder(journal_dir: Path) -> None:
    assert run_cli("--db", "j.db", "backup", "--out", "b.zip", cwd=journal_dir).returncode == 0
    proc = run_cli("restore", "b.zip", "--to", "missing/deeper/x.db", cwd=journal_dir)
    assert_one_line_error(proc, "missing/deeper: no such folder", "nothing was restored")
    assert not (journal_dir / "missing").exists()


def test_restore_of_an_export_says_what_it_is_and_how_to_load_it(journal_dir: Path) -> None:
    assert run_cli("--db", "j.db", "export", "json", "--out", "j.json", cwd=journal_dir).returncode == 0
    assert run_cli("--db", "j.db", "export", "markdown", "--out", "md", cwd=journal_dir).returncode == 0
    proc = run_cli("restore", "j.json", "--to", "r.db", cwd=journal_dir)
    assert_one_line_error(proc, "j.json: a mirror_kit JSON export", "mirror-kit import")
    proc = run_cli("restore", "md", "--to", "r.db", cwd=journal_dir)
    assert_one_line_error(proc, "md: a Markdown export folder", "mirror-kit backup")
    proc = run_cli("restore", "md/x/reflections.md", "--to", "r.db", cwd=journal_dir)
    assert_one_line_error(proc, "a Markdown file")
    assert not (journal_dir / "r.db").exists()
