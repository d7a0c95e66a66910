"""Every writer (JSON and Markdown exports, backups, the report) onto a full disk ends in one line that
names the file or folder asked for, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import assert_one_line_error, cli_with_file_size_limit


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("full") / "j.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i} " * 40, "created_at": f"2024-01-{i % 28 + 1:02d}"}
                                        for i in range(400)])
    return path


@pytest.mark.parametrize("command,target", [
    (["export", "json", "--out", "{out}/j.json"], "j.json"),
    (["export", "json", "--out", "{out}/j.json", "--passphrase", "pw"], "j.json"),
    (["export", "markdown", "--out", "{out}/md"], "md"),
    (["backup", "--out", "{out}/b.zip"], "b.zip"),
    (["backup", "--out", "{out}/b.zip", "--passphrase", "pw"], "b.zip"),
])
def test_a_writer_onto_a_full_disk_names_its_target_in_one_line(db, tmp_path, command, target):
    out = tmp_path / "usb"
    out.mkdir()
    p = cli_with_file_size_limit(["--db", str(db), *[a.format(out=out) for a in command]], 32 * 1024)
    line = assert_one_line_error(p, f"{out / target}: cannot write", "free some space")
    assert "Errno" not in line
    assert list(out.iterdir()) == []


def test_the_report_onto_a_full_disk_names_its_target_in_one_line(db, tmp_path):
    out = tmp_path / "usb"
    out.mkdir()
    p = cli_with_file_size_limit(["--db", str(db), "report", "--identity", "maya", "--out", str(out / "r.html")],
                                  1024 * 1024)
    assert_one_line_error(p, f"{out / 'r.html'}: cannot write")
    assert list(out.iterdir()) == []
