"""What a new user typed is never completed or reordered silently, and an import that stores nothing
leaves the journal as it was."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError
from tests.plugins.store import assert_one_line_error, run_cli


@pytest.mark.parametrize("typed", ["May 30", "30 May", "1/2/2024", "03.04.2024"])
def test_add_refuses_a_date_without_a_year_or_with_an_ambiguous_order(tmp_path, typed):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        with pytest.raises(InvalidInputError, match="never taken from today|day-first or month-first"):
            j.reflections.add("maya", "text", typed)
    before = db.read_bytes()
    p = run_cli("--db", str(db), "add", "--identity", "maya", "--date", typed, "text", cwd=tmp_path)
    assert_one_line_error(p, typed)
    assert db.read_bytes() == before
    with mirror_kit.open(db) as j:
        assert j.reflections.add("maya", "text", "31/12/2024").created_at.day == 31  # proven day-first


def test_an_import_that_stores_nothing_creates_no_identity(tmp_path):
    db = tmp_path / "j.db"
    mirror_kit.open(db).close()
    (tmp_path / "header.csv").write_text("date,text\n", encoding="utf-8")
    (tmp_path / "future.csv").write_text("date,text\n9999-12-31T23:30:00-05:00,late\n", encoding="utf-8")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with mirror_kit.open(db) as j:
        assert j.imports.run(tmp_path / "header.csv", "empty")["added"] == 0
        assert j.imports.run(tmp_path / "future.csv", "future", skip_bad=True)["added"] == 0
        assert len(j.identities) == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_a_killed_verify_leaves_no_clear_copy_after_the_next_backup(tmp_path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i} " * 40, "created_at": "2024-01-01"}
                                        for i in range(3000)])
        j.exports.backup(tmp_path / "b.zip", passphrase="pw")
    scratch = Path(tempfile.gettempdir()) / "mirror-kit-verify"
    code = f"import mirror_kit.export as e; e.verify_backup({str(tmp_path / 'b.zip')!r}, passphrase='pw')"
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": root})
    mine = lambda: [p for p in scratch.parent.glob(".mirror-kit-verify.tmp-*") if f"-{proc.pid}-" in p.name]  # noqa: E731
    for _ in range(200):
        if mine():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert mine(), "the verify finished before it could be killed: nothing was tested"
    with mirror_kit.open(db) as j:
        j.exports.backup(tmp_path / "c.zip")
    assert mine() == []


def test_truncated_json_and_an_empty_date_format_are_named_in_one_line(tmp_path):
    db = tmp_path / "j.db"
    mirror_kit.open(db).close()
    (tmp_path / "trunc.json").write_text('{"a": [1, 2', encoding="utf-8")
    (tmp_path / "d.csv").write_text("date,text\n2024-01-01,x\n", encoding="utf-8")
    before = db.read_bytes()
    assert_one_line_error(run_cli("--db", str(db), "import", "trunc.json", "--identity", "x", cwd=tmp_path),
                          "trunc.json: invalid JSON")
    assert_one_line_error(run_cli("--db", str(db), "import", "d.csv", "--identity", "x", "--date-format", "",
                                  cwd=tmp_path), "--date-format must not be empty")
    assert db.read_bytes() == before
