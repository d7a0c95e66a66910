"""A notes folder copied or renamed is the same notes: never added twice, an edit updates the note."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.plugins.store import run_cli


def _rows(db: Path) -> dict[str, tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return {sid: (rid, src, content) for rid, src, sid, content in conn.execute(
            "SELECT id, source, source_id, content FROM reflections")}


def _import(tmp_path: Path, folder: str) -> str:
    proc = run_cli("--db", "j.db", "import", folder, "--identity", "maya", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def _notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    (folder / "daily").mkdir(parents=True)
    for i in range(1, 4):
        (folder / "daily" / f"2024-03-0{i}.md").write_text(f"Note {i}: a walk by the river and a long call.\n")
    return folder


def test_copied_notes_folder_is_held_already_with_one_warning(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    _import(tmp_path, "notes")
    before = _rows(tmp_path / "j.db")
    shutil.copytree(notes, tmp_path / "notes2")
    out = _import(tmp_path, "notes2")
    assert "0 added" in out and "3 skipped" in out
    warnings = [ln for ln in out.splitlines() if "taken as those" in ln]
    assert len(warnings) == 1 and "3 of 3 notes" in warnings[0] and "'notes'" in warnings[0]
    assert _rows(tmp_path / "j.db") == before


def test_renamed_notes_folder_keeps_ids_and_applies_an_edit(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    _import(tmp_path, "notes")
    before = _rows(tmp_path / "j.db")
    notes.rename(tmp_path / "journal")
    edited = tmp_path / "journal" / "daily" / "2024-03-01.md"
    edited.write_text("Note 1: a walk by the river and a long call with Ana.\n")
    out = _import(tmp_path, "journal")
    assert "0 added" in out and "1 updated" in out
    after = _rows(tmp_path / "j.db")
    assert {sid: r[0] for sid, r in after.items()} == {sid: r[0] for sid, r in before.items()}
    assert {r[1] for r in after.values()} == {"text:journal"}
    assert after["daily/2024-03-01.md"][2].endswith("with Ana.")
    # and the renamed folder imported again changes nothing
    assert "0 added, 0 updated" in _import(tmp_path, "journal")


def test_other_notes_of_a_copied_folder_are_still_added(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    _import(tmp_path, "notes")
    shutil.copytree(notes, tmp_path / "notes2")
    (tmp_path / "notes2" / "daily" / "2024-03-01.md").write_text("Note 1 rewritten in the copy only.\n")
    (tmp_path / "notes2" / "daily" / "2024-03-09.md").write_text("A new day.\n")
    out = _import(tmp_path, "notes2")
    # the original folder still exists: an edited copy is a note of its own, not an update
    assert "2 added" in out and "2 skipped" in out
    with sqlite3.connect(tmp_path / "j.db") as conn:
        stored = dict(conn.execute("SELECT source, content FROM reflections WHERE source_id = 'daily/2024-03-01.md'"))
    assert stored["text:notes"].startswith("Note 1: a walk")
    assert stored["text:notes2"] == "Note 1 rewritten in the copy only."
