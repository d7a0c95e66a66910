"""A new file's folder is never created on the way: a missing folder is one line, and nothing appears."""

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
