"""`mirror-kit import FILE --dry-run` on a journal file that does not exist yet previews the first
import (as into a new, empty journal) and creates nothing: no journal, no -wal/-shm file. Driven
through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

import mirror_kit
from tests.plugins.store import run_cli


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_dry_run_into_a_missing_journal_previews_and_creates_no_file(tmp_path):
    src = tmp_path / "diary.csv"
    src.write_text("date,text\n2024-01-01,first entry\n2024-01-02,second entry\n2024-01-02,second entry\n",
                   encoding="utf-8")
    before = _files(tmp_path)
    # --db before or after the command, as users type it
    for args in (["--db", "new.db", "import", "diary.csv", "-i", "maya", "--dry-run"],
                 ["import", "diary.csv", "-i", "maya", "--dry-run", "--db", "new.db"]):
        p = run_cli(*args, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "would import diary.csv (csv) into 'maya': 2 added" in p.stdout, p.stdout
        assert "does not exist" not in p.stderr and _files(tmp_path) == before
    p = run_cli("--db", "new.db", "import", "diary.csv", "-i", "maya", "--dry-run", "--json", cwd=tmp_path)
    summary = json.loads(p.stdout)
    assert summary["dry_run"] is True and summary["added"] == 2 and _files(tmp_path) == before
    # the preview matches what the real first import then does
    p = run_cli("--db", "new.db", "import", "diary.csv", "-i", "maya", "--json", cwd=tmp_path)
    assert p.returncode == 0 and json.loads(p.stdout)["added"] == 2, p.stderr


def test_dry_run_of_a_mirror_export_into_a_missing_journal_creates_no_file(tmp_path):
    with mirror_kit.open(tmp_path / "old.db") as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"entry {i}", "created_at": f"2024-01-{i + 1:02d}"}
                                        for i in range(4)])
    assert run_cli("--db", "old.db", "export", "json", "--out", "e.json", cwd=tmp_path).returncode == 0
    before = _files(tmp_path)
    p = run_cli("--db", "new.db", "import", "e.json", "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "reflections: 4 added" in p.stdout and "identities: 1 added" in p.stdout, p.stdout
    assert _files(tmp_path) == before


def test_refused_dry_run_into_a_missing_journal_says_one_line_and_creates_no_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,text\n2025-01-01,fine\nnot a date,broken row\n", encoding="utf-8")
    before = _files(tmp_path)
    p = run_cli("--db", "new.db", "import", "bad.csv", "-i", "maya", "--dry-run", cwd=tmp_path)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error: bad.csv: line 3") and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert _files(tmp_path) == before
