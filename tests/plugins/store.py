"""Fixtures and helpers for the store, migrator and CLI tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIRROR_KIT = Path(sys.executable).parent / "mirror-kit"


def run_cli(*args: str, cwd: Path, env: dict | None = None, input: str | None = None,
            db_env: str | None = None) -> subprocess.CompletedProcess:
    """The real `mirror-kit` console script in a subprocess (nothing inherited from $MIRROR_KIT_DB)."""
    full_env = {k: v for k, v in os.environ.items() if k != "MIRROR_KIT_DB"}
    if db_env is not None:
        full_env["MIRROR_KIT_DB"] = db_env
    full_env.update(env or {})
    return subprocess.run(
        [str(MIRROR_KIT), *args], cwd=cwd, env=full_env, input=input, capture_output=True, text=True,
        timeout=60, stdin=None if input is not None else subprocess.DEVNULL,
    )


def snapshot(path: Path) -> dict[str, bytes | None]:
    """The bytes of a journal file and its -wal/-shm companions (None when absent)."""
    out = {}
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        out[suffix or "db"] = p.read_bytes() if p.exists() else None
    return out


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """A failed command: non-zero exit, exactly one `error: ...` line on stderr, no traceback."""
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A private copy of migrations/ a test may edit, extend or break."""
    dst = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", dst)
    return dst


@pytest.fixture
def closed_journal(tmp_path: Path) -> Path:
    """A migrated journal file with identities maya and sam and a few reflections, closed."""
    import mirror_kit

    path = tmp_path / "closed.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.identities.add("sam")
        j.reflections.add_many("maya", [
            {"content": f"Morning walk number {i}, thinking about work.", "created_at": f"2024-01-{i + 1:02d} 08:00",
             "tz": "Europe/Paris", "tags": ["walk"]}
            for i in range(5)
        ])
    return path


def cli_with_file_size_limit(args: list[str], limit: int) -> subprocess.CompletedProcess:
    """`mirror-kit ARGS` in a subprocess whose writes past `limit` bytes per file fail as on a full disk
    (RLIMIT_FSIZE: EFBIG instead of ENOSPC)."""
    code = f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        from mirror_kit.cli import main
        sys.exit(main({args!r}))
    """
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)
