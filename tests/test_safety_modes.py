"""Every file and folder mirror_kit creates is owner-only (0600 / 0700), whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.plugins.store import run_cli


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _umask_022(fn_src: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "import os; os.umask(0o022)\n" + textwrap.dedent(fn_src)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def test_journal_wal_shm_exports_backups_and_folders_are_owner_only_under_umask_022(tmp_path):
    p = _umask_022("""
        import os, stat, mirror_kit
        j = mirror_kit.open("new/dir/j.db")
        j.identities.add("maya")
        j.reflections.add("maya", "A private thought.", "2024-01-01")
        os.mkdir("out")  # exports never create a missing folder (a typo would put one anywhere)
        os.mkdir("restored")
        j.exports.json("out/e.json")
        j.exports.markdown("out/md")
        j.exports.backup("out/b.zip")
        # the journal is still open: -wal and -shm exist now
        for n in ("new/dir/j.db", "new/dir/j.db-wal", "new/dir/j.db-shm"):
            print(n, oct(stat.S_IMODE(os.stat(n).st_mode)))
        j.close()
        from mirror_kit.export import restore
        restore("out/b.zip", "restored/r.db")
    """, tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["new/dir/j.db", "0o600", "new/dir/j.db-wal", "0o600", "new/dir/j.db-shm", "0o600"]
    for d in ("new", "new/dir", "out/md"):
        assert _mode(tmp_path / d) == 0o700, d
    for f in ("out/e.json", "out/b.zip", "restored/r.db"):
        assert _mode(tmp_path / f) == 0o600, f
    for f in (tmp_path / "out/md").rglob("*"):
        assert _mode(f) == (0o700 if f.is_dir() else 0o600), f


def test_an_existing_world_readable_journal_is_tightened_on_a_writable_open(tmp_path):
    j = tmp_path / "j.db"
    assert run_cli("init", str(j), cwd=tmp_path).returncode == 0
    os.chmod(j, 0o644)
    assert run_cli("--db", str(j), "stats", cwd=tmp_path).returncode == 0  # read-only: left alone
    assert _mode(j) == 0o644
    assert run_cli("--db", str(j), "identity", "add", "maya", cwd=tmp_path).returncode == 0
    assert _mode(j) == 0o600


def test_html_report_is_owner_only_under_umask_022(tmp_path):
    p = _umask_022("""
        import mirror_kit
        from mirror_kit.cli import main
        with mirror_kit.open("j.db") as j:
            j.identities.add("maya")
            j.reflections.add("maya", "A private thought.", "2024-01-01")
        raise SystemExit(main(["--db", "j.db", "report", "--identity", "maya", "--out", "reports/r.html"]))
    """, tmp_path)
    assert p.returncode == 0, p.stderr
    assert _mode(tmp_path / "reports") == 0o700 and _mode(tmp_path / "reports" / "r.html") == 0o600
