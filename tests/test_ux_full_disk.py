"""A full disk during `restore` or while creating a new journal: one line naming the target, and no
file left behind (an empty journal left by a failed `init` was refused by every later command)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import assert_one_line_error, cli_with_file_size_limit, run_cli


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bk")
    with mirror_kit.open(d / "j.db") as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i} " * 40, "created_at": f"2024-01-{i % 28 + 1:02d}"}
                                        for i in range(300)])
    p = run_cli("--db", str(d / "j.db"), "backup", "--out", str(d / "b.zip"), cwd=d)
    assert p.returncode == 0, p.stderr
    return d / "b.zip"


def test_restore_onto_a_full_disk_names_the_target_in_one_line_and_leaves_nothing(backup, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    p = cli_with_file_size_limit(["restore", str(backup), "--to", str(usb / "r.db")], 64 * 1024)
    line = assert_one_line_error(p, f"{usb / 'r.db'}: cannot write", "free some space")
    assert "Errno" not in line
    assert list(usb.iterdir()) == []


def test_restore_into_a_folder_that_cannot_be_made_is_one_line(backup, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    p = run_cli("restore", str(backup), "--to", str(blocker / "r.db"), cwd=tmp_path)
    assert_one_line_error(p, f"{blocker}: not a folder", "nothing was restored")


@pytest.mark.parametrize("command", [["init", "{db}"], ["--db", "{db}", "identity", "add", "maya"]])
def test_a_new_journal_that_cannot_be_written_is_not_left_behind(tmp_path, command):
    db = tmp_path / "new.db"
    p = cli_with_file_size_limit([a.format(db=db) for a in command], 16 * 1024)
    assert_one_line_error(p, str(db), "free some space")
    assert list(tmp_path.iterdir()) == []
    # the same command on a disk with room then works (nothing half-made is in the way)
    p = run_cli(*[a.format(db=db) for a in command], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
