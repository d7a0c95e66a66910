"""Journals on read-only storage (an archive mount, a folder one may not write to) are read by every
read command and by `cohort build`; SQLite needs a -shm file beside a WAL journal and could not make it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import run_cli


@contextlib.contextmanager
def _read_only_folder(tmp_path: Path, files: dict[str, Path]):
    """A folder holding copies of `files` that this process cannot write to: a read-only tmpfs when
    running as root (root ignores permission bits), else a 0555 folder."""
    d = tmp_path / "archive"
    d.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(d)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        try:
            for name, src in files.items():
                shutil.copy(src, d / name)
            subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True, capture_output=True)
            yield d
        finally:
            subprocess.run(["umount", str(d)], capture_output=True)
    else:
        for name, src in files.items():
            shutil.copy(src, d / name)
        d.chmod(0o555)
        try:
            yield d
        finally:
            d.chmod(0o755)


@pytest.fixture
def journal_file(tmp_path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    with mirror_kit.open(src / "maya.db") as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"Walked the dog by the river, day {i}.",
                                         "created_at": f"2024-01-{i + 1:02d}"} for i in range(12)])
    assert not (src / "maya.db-wal").exists()  # closed cleanly: the main file is the whole journal
    return src / "maya.db"


def test_read_commands_read_a_wal_journal_on_read_only_storage(tmp_path, journal_file):
    with _read_only_folder(tmp_path, {"maya.db": journal_file}) as d:
        db = str(d / "maya.db")
        p = run_cli("--db", db, "stats", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "maya" in p.stdout and "12" in p.stdout
        p = run_cli("--db", db, "sql", "SELECT count(*) AS n FROM reflections", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "12" in p.stdout
        p = run_cli("--db", db, "export", "json", "--out", str(tmp_path / "out.json"), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "12 reflections" in p.stdout
        assert sorted(x.name for x in d.iterdir()) == ["maya.db"]


def test_cohort_build_reads_journals_on_read_only_storage(tmp_path, journal_file):
    pytest.importorskip("pyarrow")
    with _read_only_folder(tmp_path, {"p1.db": journal_file, "p2.db": journal_file}) as d:
        p = run_cli("cohort", "build", str(d / "*.db"), "--out", str(tmp_path / "cohort"), "--secret",
                    "keep-this-secret", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "24 reflections of 2 participants" in p.stdout
