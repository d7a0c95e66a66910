"""The report's notebook runs in a kernel reached through Unix sockets: it builds with no network at
all (a network namespace whose loopback is down), and its connection file says transport ipc."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.viz.kernel import ipc_kernel_manager
from tests.plugins.store import MIRROR_KIT

ROOT = Path(__file__).resolve().parents[1]


def _can_unshare_network() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_the_kernel_manager_writes_an_ipc_connection_file_in_the_private_folder(tmp_path):
    km = ipc_kernel_manager(tmp_path)(kernel_name="python3")
    km.write_connection_file()
    try:
        info = json.loads(Path(km.connection_file).read_text())
        assert Path(km.connection_file).parent == tmp_path
        assert info["transport"] == "ipc" and info["ip"].startswith(str(tmp_path))
    finally:
        km.cleanup_connection_file()


@pytest.mark.skipif(not _can_unshare_network(), reason="needs `unshare -n` (root or user namespaces)")
def test_the_report_builds_with_no_network_at_all(tmp_path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "a quiet morning by the river", "2024-03-01")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    p = subprocess.run(["unshare", "-n", "--", str(MIRROR_KIT), "--db", str(db), "report", "--identity", "maya",
                        "--out", str(tmp_path / "r.html")], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "TCP" not in p.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and "Journal report: maya" in page
