"""Warnings and errors name things right and stay one line: link loops, names with control characters."""

from __future__ import annotations

import os
from pathlib import Path

from tests.plugins.store import assert_one_line_error, run_cli


def test_self_referencing_link_is_called_a_loop_and_a_dangling_one_broken(tmp_path: Path) -> None:
    notes = tmp_path / "loop"
    notes.mkdir()
    (notes / "2024-01-01.md").write_text("a day\n")
    os.symlink("self", notes / "self")
    os.symlink("nowhere", notes / "dead")
    proc = run_cli("--db", "j.db", "import", "loop", "--identity", "x", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "self: symbolic link loop, not followed" in out
    assert "dead: broken link, not followed" in out
    assert "leading outside" not in out


def test_a_newline_in_a_file_name_keeps_warnings_and_errors_on_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "nl"
    notes.mkdir()
    (notes / "2024-01-01.md").write_text("a day\n")
    (notes / "plain\nevil.md").write_text("no date here\n")
    proc = run_cli("--db", "j.db", "import", "nl", "--identity", "x", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    assert any(ln.startswith("  warning: 'plain\\nevil.md': no date") for ln in lines), lines
    assert not any(ln.startswith("evil.md") for ln in lines)
    (notes / "bad\nname.md").write_bytes(b"a\x00\x00\x00\x00\x00b")
    proc = run_cli("--db", "j2.db", "import", "nl", "--identity", "x", cwd=tmp_path)
    assert_one_line_error(proc, "'bad\\nname.md': binary file")
    proc = run_cli("--db", "j3.db", "import", "nl", "--identity", "x", "--skip-bad", cwd=tmp_path)
    assert "  rejected 'bad\\nname.md': binary file" in proc.stdout + proc.stderr
