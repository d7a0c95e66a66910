"""`mirror-kit add` names what the user typed in its errors (`--date`, `--tz`, the text), not the
stored field names (`field 'created_at'`), and writes nothing."""

from __future__ import annotations

import pytest

import mirror_kit
from tests.plugins.store import assert_one_line_error, run_cli


@pytest.mark.parametrize("args,needle", [
    (["--date", "2024-13-01", "x"], "error: --date: cannot read date '2024-13-01'"),
    (["--date", "1/2/2024", "x"], "error: --date: date '1/2/2024' could be day-first or month-first"),
    (["--date", "2024-01-01 10:00", "--tz", "Mars/Base", "x"], "error: --tz: unknown time zone 'Mars/Base'"),
    (["   "], "error: the reflection's text is empty"),
])
def test_add_errors_name_the_option_typed(tmp_path, args, needle):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
    p = run_cli("--db", str(db), "add", "--identity", "maya", *args, cwd=tmp_path)
    line = assert_one_line_error(p, needle)
    assert "created_at" not in line and "field" not in line
    with mirror_kit.open(db, readonly=True) as j:
        assert len(j.reflections.frame("maya")) == 0
