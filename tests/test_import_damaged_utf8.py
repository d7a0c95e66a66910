"""A UTF-8 file with a damaged byte is refused (or just its bad part skipped), never read as Latin-1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.plugins.store import assert_one_line_error, run_cli


def _contents(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT content FROM reflections"))


def _notes(tmp_path: Path) -> Path:
    folder = tmp_path / "md2"
    folder.mkdir()
    (folder / "2024-02-01.md").write_bytes("Café with Zoë, été plans.\nstray: na".encode() + b"\xefve.\n")
    (folder / "2024-02-02.md").write_bytes("Fine note, déjà vu.\n".encode())
    return folder


def test_damaged_utf8_note_is_refused_naming_line_and_offset(tmp_path: Path) -> None:
    _notes(tmp_path)
    proc = run_cli("--db", "x.db", "import", "md2", "--identity", "x", cwd=tmp_path)
    assert_one_line_error(proc, "2024-02-01.md", "line 2", "invalid utf-8 (byte 0xef at offset 39)")


def test_damaged_utf8_note_is_skipped_whole_under_skip_bad(tmp_path: Path) -> None:
    _notes(tmp_path)
    proc = run_cli("--db", "x.db", "import", "md2", "--identity", "x", "--skip-bad", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 rejected" in proc.stdout + proc.stderr
    assert "latin" not in (proc.stdout + proc.stderr).lower()
    assert _contents(tmp_path / "x.db") == ["Fine note, déjà vu."]


def test_damaged_utf8_csv_row_is_refused_then_skipped_alone(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes("date,text\n2024-01-01,café good\n2024-01-02,na".encode()
                                     + b"\xefve bad\n2024-01-03,plain\n")
    proc = run_cli("--db", "y.db", "import", "d.csv", "--identity", "x", cwd=tmp_path)
    assert_one_line_error(proc, "d.csv", "line 3", "invalid utf-8 (byte 0xef at offset 45)")
    proc = run_cli("--db", "y.db", "import", "d.csv", "--identity", "x", "--skip-bad", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _contents(tmp_path / "y.db") == ["café good", "plain"]


def test_legacy_byte_that_is_a_c1_control_is_refused_not_stored(tmp_path: Path) -> None:
    # no UTF-8 sequence anywhere: a legacy file, but 0x81 is no character in Windows-1252
    (tmp_path / "l.csv").write_bytes(b"date,text\n2024-01-01,caf\xe9 good\n2024-01-02,x \x81 y\n")
    proc = run_cli("--db", "z.db", "import", "l.csv", "--identity", "x", cwd=tmp_path)
    assert_one_line_error(proc, "l.csv", "line 3", "byte 0x81 at offset 44")
    assert not (tmp_path / "z.db").exists() or _contents(tmp_path / "z.db") == []


def test_windows_1252_file_is_read_with_a_warning_naming_its_first_non_ascii_line(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_bytes(b"date,text\n2024-01-01,plain\n2024-01-02,caf\xe9 \x93good\x94\n")
    proc = run_cli("--db", "w.db", "import", "w.csv", "--identity", "x", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "w.csv: not UTF-8, read as cp1252 (first non-ASCII text on line 3)" in proc.stdout + proc.stderr
    assert _contents(tmp_path / "w.db") == ["café “good”", "plain"]


def test_damaged_utf8_jrnl_entry_is_refused_then_skipped_alone(tmp_path: Path) -> None:
    (tmp_path / "j.txt").write_bytes("[2024-01-01 09:00] First day.\nCafé time.\n\n[2024-01-02 09:00] Second na".encode()
                                     + b"\xefve day.\n\n[2024-01-03 09:00] Third \xc3\xa9.\n")
    proc = run_cli("--db", "j.db", "import", "j.txt", "--identity", "x", cwd=tmp_path)
    assert_one_line_error(proc, "j.txt: line 4", "invalid utf-8 (byte 0xef at offset 71)")
    proc = run_cli("--db", "j.db", "import", "j.txt", "--identity", "x", "--skip-bad", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _contents(tmp_path / "j.db") == ["First day.\nCafé time.", "Third é."]


def test_damaged_utf8_json_export_is_refused_naming_line_and_offset(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("date,text\n2024-01-01,Note one\n")
    assert run_cli("--db", "a.db", "import", "d.csv", "--identity", "x", cwd=tmp_path).returncode == 0
    assert run_cli("--db", "a.db", "export", "json", "--out", "e.json", cwd=tmp_path).returncode == 0
    data = (tmp_path / "e.json").read_bytes()
    at = data.index(b"Note one")
    (tmp_path / "bad.json").write_bytes(data[:at] + b"\xef" + data[at:])
    proc = run_cli("--db", "b.db", "import", "bad.json", "--identity", "x", cwd=tmp_path)
    line = data[:at].count(b"\n") + 1
    assert_one_line_error(proc, f"bad.json: line {line}: invalid utf-8 (byte 0xef at offset {at})")


def test_damaged_utf8_day_one_entry_is_refused_then_skipped_alone(tmp_path: Path) -> None:
    doc = ('{"metadata":{"version":"1.0"},"entries":['
           '{"uuid":"A1","creationDate":"2024-01-01T10:00:00Z","text":"Café one"},'
           '{"uuid":"B2","creationDate":"2024-01-02T10:00:00Z","text":"na').encode() + b"\xef" + (
           b've two"},{"uuid":"C3","creationDate":"2024-01-03T10:00:00Z","text":"three"}]}')
    (tmp_path / "Journal.json").write_bytes(doc)
    proc = run_cli("--db", "d.db", "import", "Journal.json", "--identity", "x", cwd=tmp_path)
    assert_one_line_error(proc, "entry 2 (B2): line 1: invalid utf-8 (byte 0xef at offset 173)")
    proc = run_cli("--db", "d.db", "import", "Journal.json", "--identity", "x", "--skip-bad", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _contents(tmp_path / "d.db") == ["Café one", "three"]
