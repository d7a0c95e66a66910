"""A replace-import says what it deleted: the CLI summary line counts the removed records and the
reflections before and after, so "10 added" cannot hide that 20 went away."""

from __future__ import annotations

import os
from pathlib import Path

import mirror_kit
from tests.plugins.store import run_cli

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def test_the_replace_summary_line_shows_what_was_deleted(tmp_path):
    db, half = tmp_path / "j.db", tmp_path / "half.db"
    for path, n in ((db, 20), (half, 10)):
        with mirror_kit.open(path) as j:
            j.identities.add("maya")
            j.reflections.add_many("maya", [{"content": f"entry {i}", "created_at": f"2024-01-{i + 1:02d}"}
                                            for i in range(n)])
    with mirror_kit.open(half) as j:
        j.exports.json(tmp_path / "half.json")
    for dry in (("--dry-run",), ()):  # the dry run first: it must change nothing
        p = run_cli("--db", str(db), "import", str(tmp_path / "half.json"), "--mode", "replace", *dry,
                    cwd=tmp_path, env={**os.environ, **ENV})
        assert p.returncode == 0, p.stderr
        first = p.stdout.splitlines()[0]
        verb = "would delete" if dry else "deleted"
        assert f"{verb} by replace (20 reflections" in first, first
        assert "reflections 20 -> 10 (-10)" in first, first
    with mirror_kit.open(db, readonly=True) as j:
        assert len(j.reflections.frame("maya")) == 10
