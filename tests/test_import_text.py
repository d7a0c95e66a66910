"""Text and Markdown folders: dates from front matter / file name / mtime, tags, titles, idempotency."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.timeutil import format_utc


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "Notes"
    _write(root / "trip.md", "---\ntitle: Lisbon trip\ndate: 2024-06-02 18:45\ntags: [travel, Family]\n"
                             "mood: 7\n---\nTram 28 with the kids. #sunny evening\n")
    _write(root / "daily" / "2025-03-14.md", "# Pi day\n\nBaked a pie. #baking #home\n\nSee C# and &#39; and "
                                             "http://x.org/#frag which are not tags.\n")
    _write(root / "daily" / "2025-03-15 evening.md", "Tired but content after the long walk.\n")
    _write(root / "daily" / "20250316.txt", "Plain text note written on a Sunday.\n")
    undated = _write(root / "ideas.txt", "An idea without any date.\n")
    os.utime(undated, (1_700_000_000, 1_700_000_000))
    _write(root / ".obsidian" / "workspace.md", "not a note")
    _write(root / "image.png", "\x89PNG not a note")
    return root


def _by_file(journal, identity: str) -> dict:
    return {r.metadata["file"]: r for r in journal.reflections.rows(identity)}


def test_folder_dates_titles_tags(journal, notes):
    summary = journal.imports.run(notes, "maya")
    assert summary["format"] == "text"
    assert (summary["added"], summary["updated"], summary["skipped"], summary["rejected"]) == (5, 0, 0, [])
    refs = _by_file(journal, "maya")
    assert sorted(refs) == ["daily/2025-03-14.md", "daily/2025-03-15 evening.md", "daily/20250316.txt",
                            "ideas.txt", "trip.md"]
    trip = refs["trip.md"]
    assert trip.title == "Lisbon trip"
    assert format_utc(trip.created_at) == "2024-06-02T18:45:00Z"
    assert {t.lower() for t in trip.tags} == {"travel", "family", "sunny"}
    assert trip.metadata["front_matter"] == {"mood": 7}
    assert trip.content == "Tram 28 with the kids. #sunny evening"
    pi = refs["daily/2025-03-14.md"]
    assert pi.title == "Pi day"
    assert sorted(pi.tags) == ["baking", "home"]
    assert pi.created_at.date().isoformat() == "2025-03-14"
    assert refs["daily/2025-03-15 evening.md"].created_at.date().isoformat() == "2025-03-15"
    assert refs["daily/20250316.txt"].created_at.date().isoformat() == "2025-03-16"
    ideas = refs["ideas.txt"]
    assert ideas.created_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert any("ideas.txt" in w and "modification time" in w for w in summary["warnings"])
    assert all("trip.md" not in w for w in summary["warnings"])


def test_reimport_is_idempotent_and_edits_update(journal, notes):
    journal.imports.run(notes, "maya")
    again = journal.imports.run(notes, "maya")
    assert (again["added"], again["updated"], again["skipped"]) == (0, 0, 5)
    before = _by_file(journal, "maya")["daily/2025-03-14.md"]
    _write(notes / "daily" / "2025-03-14.md", "# Pi day (edited)\n\nBaked two pies. #baking #friends\n")
    third = journal.imports.run(notes, "maya")
    assert (third["added"], third["updated"], third["skipped"]) == (0, 1, 4)
    after = _by_file(journal, "maya")["daily/2025-03-14.md"]
    assert after.id == before.id
    assert after.title == "Pi day (edited)"
    assert "two pies" in after.content
    assert sorted(after.tags) == ["baking", "friends"]
    assert len(journal.reflections.rows("maya")) == 5


def test_dry_run_writes_nothing(journal, notes):
    summary = journal.imports.run(notes, "newcomer", dry_run=True)
    assert summary["dry_run"] is True and summary["added"] == 5
    assert journal.identities.rows() == []
    assert journal.conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 0


def test_bad_file_aborts_everything_unless_skip_bad(journal, notes):
    journal.imports.run(notes, "maya")
    _write(notes / "new.md", "---\ndate: 2025-04-01\n---\nA new good note.\n")
    (notes / "broken.md").write_bytes(b"\x00\x01\x02\x03binary\x00\xff" * 20)
    (notes / "empty.txt").write_bytes(b"")
    with pytest.raises(InvalidInputError) as exc:
        journal.imports.run(notes, "maya")
    assert "broken.md" in str(exc.value) and "binary" in str(exc.value)
    assert "nothing was imported" in str(exc.value)
    assert len(journal.reflections.rows("maya")) == 5  # unchanged
    summary = journal.imports.run(notes, "maya", skip_bad=True)
    assert summary["added"] == 1
    reasons = {r["file"]: r["reason"] for r in summary["rejected"]}
    assert set(reasons) == {"broken.md"} and "binary" in reasons["broken.md"]
    assert summary["skipped_empty"] == 1  # empty.txt: nothing to read, not bad
    assert len(journal.reflections.rows("maya")) == 6


def test_invalid_utf8_in_file_declared_utf8(journal, tmp_path):
    root = tmp_path / "n"
    (root).mkdir()
    (root / "2024-01-01.md").write_bytes(b"Line one\nLine two caf" + b"\xe9 au lait\n")
    with pytest.raises(InvalidInputError) as exc:
        journal.imports.run(root, "maya", encoding="utf-8")
    msg = str(exc.value)
    assert "2024-01-01.md" in msg and "line 2" in msg and "utf-8" in msg.lower()
    assert journal.identities.rows() == []
    # Without a declared encoding the Latin-1 byte is detected and the text kept.
    summary = journal.imports.run(root, "maya")
    assert summary["added"] == 1
    assert journal.reflections.rows("maya")[0].content.endswith("café au lait")


def test_bad_front_matter_and_single_file(journal, tmp_path):
    f = _write(tmp_path / "2024-02-02 note.md", "---\ntitle: [unclosed\n---\nbody\n")
    with pytest.raises(InvalidInputError, match="front matter"):
        journal.imports.run(f, "maya")
    g = _write(tmp_path / "2024-02-03.md", "Just one note.\n")
    summary = journal.imports.run(g, "maya", format="markdown")
    assert summary["added"] == 1
    assert journal.reflections.rows("maya")[0].created_at.date().isoformat() == "2024-02-03"
