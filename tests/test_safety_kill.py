"""A backup, restore or verify killed with SIGKILL leaves no readable copy once the next run is done."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import run_cli

ROOT = Path(__file__).resolve().parents[1]


def _killed_midway(code: str, cwd: Path, env: dict | None = None) -> None:
    """Run `code` in a subprocess that SIGKILLs itself at the marked moment (a deterministic kill -9)."""
    pre = "import os, signal\ndef die(*a, **k):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    p = subprocess.run([sys.executable, "-c", pre + textwrap.dedent(code)], cwd=cwd, capture_output=True,
                       text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    assert p.returncode == -9, p.stderr


def _leftovers(folder: Path) -> list[str]:
    return sorted(e.name for e in folder.iterdir() if ".tmp-" in e.name)


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"my secret diary line {i}", "created_at": f"2024-01-{i % 28 + 1:02d}"}
                                   for i in range(50)])
    return path


def test_killed_encrypted_backup_leaves_no_clear_text_after_the_next_run(tmp_path, journal_file):
    usb = tmp_path / "usb"
    usb.mkdir()
    _killed_midway(f"""
        import mirror_kit.export.backup as b
        real = b.write_export
        def write_then_die(*a, **k):
            real(*a, **k)
            die()  # the clear-text journal.db and export.json are staged now
        b.write_export = write_then_die
        import mirror_kit
        mirror_kit.open({str(journal_file)!r}).exports.backup({str(usb / 'backup.zip')!r}, passphrase="correct horse")
    """, tmp_path)
    staged = _leftovers(usb)
    assert staged and any((usb / s / "journal.db").exists() for s in staged)  # the kill did leave a copy
    for s in staged:
        assert oct((usb / s).stat().st_mode & 0o777) == "0o700"  # private in the meantime
    p = run_cli("--db", str(journal_file), "backup", "--out", str(usb / "backup.zip"), "--passphrase",
                "correct horse", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _leftovers(usb) == [] and sorted(e.name for e in usb.iterdir()) == ["backup.zip"]


def test_killed_restore_leaves_no_copy_after_the_next_run(tmp_path, journal_file):
    with mirror_kit.open(journal_file) as j:
        j.exports.backup(tmp_path / "b.zip")
    out = tmp_path / "restored"
    out.mkdir()
    _killed_midway(f"""
        import mirror_kit.export.backup as b
        real = b._check
        def check_then_die(*a, **k):
            real(*a, **k)
            die()  # the full restored database sits in its temp file now
        b._check = check_then_die
        from mirror_kit.export import restore
        restore({str(tmp_path / 'b.zip')!r}, {str(out / 'r.db')!r})
    """, tmp_path)
    assert _leftovers(out)
    p = run_cli("restore", str(tmp_path / "b.zip"), "--to", str(out / "r.db"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _leftovers(out) == []
    assert sqlite3.connect(out / "r.db").execute("SELECT count(*) FROM reflections").fetchone()[0] == 50


def test_killed_verify_leaves_no_copy_in_the_temp_folder_after_the_next_run(tmp_path, journal_file):
    with mirror_kit.open(journal_file) as j:
        j.exports.backup(tmp_path / "b.zip")
    # A temp folder of this test's own: a verify run by a parallel test sweeps dead runs' copies from
    # the shared one, which would hide the copy this test looks for.
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    before = set(_leftovers(tmp))
    _killed_midway(f"""
        import mirror_kit.export.backup as b
        real = b._check
        def check_then_die(*a, **k):
            real(*a, **k)
            die()
        b._check = check_then_die
        b.verify_backup({str(tmp_path / 'b.zip')!r})
    """, tmp_path, env={"TMPDIR": str(tmp)})
    new = set(_leftovers(tmp)) - before
    assert any(n.startswith(".mirror-kit-verify.tmp-") for n in new)
    assert run_cli("backup", "verify", str(tmp_path / "b.zip"), cwd=tmp_path, env={"TMPDIR": str(tmp)}).returncode == 0
    assert not (set(_leftovers(tmp)) & new)
