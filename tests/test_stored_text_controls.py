"""Stored text never holds NUL or other control characters, and a bad zone is named as `tz`."""

from __future__ import annotations

from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError
from tests.plugins.store import assert_one_line_error, run_cli


@pytest.fixture
def journal(tmp_path: Path):
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("x")
        yield j


def test_unknown_zone_is_named_as_the_tz_field(journal) -> None:
    with pytest.raises(InvalidInputError, match=r"field 'tz': unknown time zone 'Mars/Olympus'"):
        journal.reflections.add("x", "hello", "2024-01-01 10:00", tz="Mars/Olympus")
    with pytest.raises(InvalidInputError, match=r"field 'tz' must be a time zone name"):
        journal.reflections.add("x", "hello", "2024-01-01 10:00", tz=5)
    with pytest.raises(InvalidInputError, match=r"field 'created_at'"):
        journal.reflections.add("x", "hello", "not a date", tz="Europe/Paris")


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("content", "before\x00after", "a NUL byte"),
    ("content", "bell\x07", "control character U+0007"),
    ("title", "esc\x1b[31m", "control character U+001B"),
])
def test_control_characters_are_refused_naming_the_field(journal, field, value, shown) -> None:
    kw = {"content": "hello", "title": None, field: value}
    with pytest.raises(InvalidInputError, match=rf"field '{field}' holds {shown.replace('+', '[+]')}"):
        journal.reflections.add("x", kw["content"], "2024-01-01 10:00", title=kw["title"])
    assert journal.reflections.frame().empty
    with pytest.raises(InvalidInputError, match=rf"reflection #1: field '{field}'"):
        journal.reflections.add_many("x", [{"content": "fine"}, {**kw, "created_at": "2024-01-01"}])
    assert journal.reflections.frame().empty


def test_tab_newline_and_form_feed_are_kept(journal) -> None:
    r = journal.reflections.add("x", "a\tb\r\nc\x0cd", "2024-01-01 10:00")
    assert r.content == "a\tb\r\nc\x0cd"


def test_cli_add_refuses_a_nul_in_the_text(tmp_path: Path) -> None:
    assert run_cli("init", "j.db", cwd=tmp_path).returncode == 0
    assert run_cli("--db", "j.db", "identity", "add", "x", cwd=tmp_path).returncode == 0
    proc = run_cli("--db", "j.db", "add", "--identity", "x", "--date", "2024-01-01", "a\x01b", cwd=tmp_path)
    assert_one_line_error(proc, "field 'content' holds control character U+0001")
