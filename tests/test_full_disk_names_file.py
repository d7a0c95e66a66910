"""A full disk during an import or a backup names the file that could not be written, in one line."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import assert_one_line_error, cli_with_file_size_limit


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fulldisk") / "j.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i} " * 40, "created_at": f"2024-01-{i % 28 + 1:02d}"}
                                        for i in range(400)])
    return path


def test_import_onto_a_full_disk_names_the_journal_and_changes_nothing(stored: Path, tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    shutil.copy(stored, db)
    csv = tmp_path / "more.csv"
    csv.write_text("date,text\n" + "".join(f"2024-02-{i % 28 + 1:02d},other entry {i} {'stuff ' * 30}\n"
                                           for i in range(3000)))
    # the journal is already past the limit: any page written beyond it fails
    p = cli_with_file_size_limit(["--db", str(db), "import", str(csv), "--identity", "maya"], 40 * 1024)
    line = assert_one_line_error(p, f"{db}: cannot write", "nothing was changed")
    assert "savepoint" not in line
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 400


def test_backup_onto_a_full_disk_names_the_backup(stored: Path, tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    shutil.copy(stored, db)
    p = cli_with_file_size_limit(["--db", str(db), "backup", "--out", str(tmp_path / "b.zip")],
                                 40 * 1024)  # the journal itself is already past the limit
    assert_one_line_error(p, f"{tmp_path / 'b.zip'}: cannot write")
    assert not (tmp_path / "b.zip").exists()
