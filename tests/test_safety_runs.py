"""Killed analysis runs are marked interrupted on the next writable open; a damaged backup and a
backup onto a full disk each end in one line."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import MIRROR_KIT, assert_one_line_error

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _status(db: Path) -> list[tuple[str, str | None]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT status, error FROM analysis_runs ORDER BY started_at").fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i} " * 20, "created_at": f"2024-01-{i % 28 + 1:02d}"}
                                   for i in range(300)])
    return path


def test_a_killed_run_is_marked_interrupted_on_the_next_writable_open_only(db):
    code = f"""
        import os, signal, mirror_kit
        j = mirror_kit.open({str(db)!r})
        with j.runs.record("embed", "maya"):
            os.kill(os.getpid(), signal.SIGKILL)
    """
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=ENV, capture_output=True, timeout=60)
    assert p.returncode == -9
    assert _status(db) == [("running", None)]
    with mirror_kit.open(db, readonly=True):
        pass
    assert _status(db) == [("running", None)]  # a read-only open changes nothing
    with mirror_kit.open(db):
        pass
    [(status, error)] = _status(db)
    assert status == "failed" and error.startswith("interrupted: the process that ran it")


def test_a_run_still_going_in_another_process_is_left_running(db):
    code = f"""
        import sys, time, mirror_kit
        j = mirror_kit.open({str(db)!r})
        with j.runs.record("analyze", "maya"):
            print("started", flush=True)
            time.sleep(60)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=ENV, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        with mirror_kit.open(db):
            pass
        assert _status(db) == [("running", None)]
    finally:
        proc.kill()
        proc.wait()
    with mirror_kit.open(db):
        pass
    assert _status(db)[0][0] == "failed"


def test_a_damaged_backup_prints_one_short_line(tmp_path, db):
    with mirror_kit.open(db) as j:
        j.exports.backup(tmp_path / "good.zip")
    with zipfile.ZipFile(tmp_path / "good.zip") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    raw = bytearray(members["journal.db"])
    page = 4096
    for k in range(2, len(raw) // page - 1):  # scribble over every b-tree page but the first
        raw[k * page + 8: k * page + 40] = b"\xff" * 32
    members["journal.db"] = bytes(raw)
    meta = json.loads(members["metadata.json"])
    meta["members"]["journal.db"]["sha256"] = hashlib.sha256(raw).hexdigest()
    members["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    p = subprocess.run([str(MIRROR_KIT), "backup", "verify", str(tmp_path / "bad.zip")], capture_output=True,
                       text=True, timeout=60, env=ENV)
    line = assert_one_line_error(p, "bad.zip")
    assert len(line) < 800, line


def test_backup_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, db):
    out = tmp_path / "usb"
    out.mkdir()
    # A file-size limit makes every write past 64 KiB fail as a full disk would (EFBIG instead of ENOSPC).
    code = f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        from mirror_kit.cli import main
        sys.exit(main(["--db", {str(db)!r}, "backup", "--out", {str(out / "b.zip")!r}]))
    """
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=ENV, capture_output=True, text=True,
                       timeout=60)
    assert_one_line_error(p, "b.zip")
    assert list(out.iterdir()) == []
