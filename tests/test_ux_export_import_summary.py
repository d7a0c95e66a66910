"""Importing a mirror_kit export prints reflections as reflections: the first line counts only them
(it once said "11 added" for 10 reflections and their identity), other kinds follow on their own lines."""

from __future__ import annotations

import mirror_kit
from tests.plugins.store import run_cli


def test_the_summary_of_an_export_import_counts_reflections_apart_from_other_records(tmp_path):
    src = tmp_path / "src.db"
    with mirror_kit.open(src) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i}", "created_at": f"2024-01-{i + 1:02d}",
                                         "tags": ["walk"]} for i in range(10)])
        j.exports.json(tmp_path / "maya.json")
    db = tmp_path / "new.db"
    p = run_cli("--db", str(db), "import", str(tmp_path / "maya.json"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    first, *rest = p.stdout.splitlines()
    assert "into 'maya': reflections: 10 added, 0 updated, 0 already held, 0 conflicts" in first, first
    assert "  identities: 1 added, 0 updated, 0 already held, 0 conflicts" in rest, p.stdout
    assert "11" not in p.stdout

    p = run_cli("--db", str(db), "import", str(tmp_path / "maya.json"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # nothing changed: one line, every reflection already held
    assert p.stdout.splitlines() == [
        f"imported {tmp_path / 'maya.json'} (mirror_os_export_v1, merge) into 'maya': "
        "reflections: 0 added, 0 updated, 10 already held, 0 conflicts"]
