"""The README's CLI reference is the commands' own --help: regenerating it changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mirror_kit.cli import docs
from tests.test_cli_help import IDS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_cli_reference_is_up_to_date():
    text = README.read_text(encoding="utf-8")
    assert docs.updated(text) == text, "README.md CLI reference is stale: run `python -m mirror_kit.cli.docs`"


def test_reference_documents_every_command():
    rendered = docs.render()
    for name in IDS:
        title = "mirror-kit" if name == "mirror-kit" else f"mirror-kit {name}"
        assert f"`{title}`\n\n```text\nUsage: {title}" in rendered, name


def test_check_mode_fails_on_a_stale_section_and_names_the_fix(tmp_path, monkeypatch):
    stale = README.read_text(encoding="utf-8").replace("Show this message and exit.", "Old help.", 1)
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")
    monkeypatch.setattr(docs, "README", tmp_path / "README.md")
    assert docs.main(["--check"]) == 1
    assert docs.main([]) == 0 and docs.main(["--check"]) == 0
    with pytest.raises(ValueError, match="cli-reference:start"):
        docs.updated("no markers here")


def test_module_runs_as_a_script():
    p = subprocess.run([sys.executable, "-m", "mirror_kit.cli.docs", "--check"], capture_output=True, text=True,
                       cwd=README.parent, timeout=120)
    assert p.returncode == 0, p.stderr
