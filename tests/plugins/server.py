"""Fixtures for the HTTP API: the analysed sample journal (maya and sam) copied per module, tokens of
each kind, an in-process client, and `serving`: a real `mirror-kit serve` process on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.plugins.sample import cached_sample, sample_cache_dir
from tests.plugins.store import MIRROR_KIT


@dataclass
class ServedJournal:
    path: Path
    tokens: dict[str, str]  # maya_read, maya_write, sam_write, owner_write
    ids: dict[str, dict[str, str]]  # per identity: reflection, pattern, tension, run


def make_served(path: Path) -> ServedJournal:
    import mirror_kit

    with mirror_kit.open(path) as j:
        tokens = {
            "maya_read": j.tokens.create("maya", "read")[0],
            "maya_write": j.tokens.create("maya", "write")[0],
            "sam_write": j.tokens.create("sam", "write")[0],
            "owner_write": j.tokens.create(None, "write")[0],
        }
        ids = {}
        for name in ("maya", "sam"):
            iid = j.identities.get(name).id
            one = lambda sql, iid=iid: j.execute(sql, (iid,)).fetchone()[0]  # noqa: E731
            ids[name] = {
                "identity_id": iid,
                "reflection": one("SELECT id FROM reflections WHERE identity_id = ? ORDER BY created_at LIMIT 1"),
                "pattern": one("SELECT id FROM patterns WHERE identity_id = ? ORDER BY size DESC LIMIT 1"),
                "run": one("SELECT id FROM analysis_runs WHERE identity_id = ? ORDER BY started_at LIMIT 1"),
            }
        ids["tension"] = j.tensions.frame("maya")["tension_id"].iloc[0]
    return ServedJournal(path, tokens, ids)


@pytest.fixture(scope="session")
def served_analysed_db(request) -> Path:
    """The sample journal analysed for maya and sam (cached across runs; never written: copy it)."""
    return cached_sample(sample_cache_dir(request.config), "analysed")


@pytest.fixture
def served(served_analysed_db, tmp_path) -> ServedJournal:
    """A private copy of the analysed sample journal with tokens for maya, sam and the owner."""
    path = tmp_path / "served.db"
    shutil.copyfile(served_analysed_db, path)
    return make_served(path)


@pytest.fixture(scope="module")
def served_ro(served_analysed_db, tmp_path_factory) -> ServedJournal:
    """Like `served`, shared by a module's tests that only read."""
    path = tmp_path_factory.mktemp("served_ro") / "served.db"
    shutil.copyfile(served_analysed_db, path)
    return make_served(path)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(db: str | Path, cwd: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, process) of `mirror-kit --db DB serve --port PORT OPTIONS...`, ready to answer; stopped
    with SIGINT afterwards, and its stderr must hold no traceback."""
    port = free_port()
    proc = subprocess.Popen([str(MIRROR_KIT), "--db", str(db), "serve", "--port", str(port), *options], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "MIRROR_KIT_DB"})
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in proc.stderr.read()
