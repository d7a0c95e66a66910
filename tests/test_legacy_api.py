"""Scripts written for the first Python API (`journal.add_identity`, `add_reflection`,
`add_reflections`, as version 0.1.0's README taught) still run: each is a deprecated alias of the
collection that owns the table, with the same results and errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError, UnknownIdentityError


def test_old_writers_store_through_the_collections_and_warn(tmp_path):
    with mirror_kit.open(tmp_path / "j.db") as j:
        with pytest.warns(DeprecationWarning, match=r"use journal\.identities\.add"):
            maya = j.add_identity("maya")
        with pytest.warns(DeprecationWarning):
            assert j.add_identity("maya", exist_ok=True).id == maya.id == j.identities.get("maya").id
        with pytest.warns(DeprecationWarning), pytest.raises(InvalidInputError, match="already exists"):
            j.add_identity("maya")
        with pytest.warns(DeprecationWarning, match=r"use journal\.reflections\.add\("):
            r = j.add_reflection("maya", "Walked by the river.", "2025-03-14 07:30", tz="Europe/Berlin",
                                 tags=["walk"])
        got = j.reflections.get(r.id)
        assert got.content == "Walked by the river." and got.tags == ["walk"]
        assert got.created_at.isoformat().startswith("2025-03-14T06:30")  # 07:30 Berlin is 06:30 UTC
        with pytest.warns(DeprecationWarning, match=r"use journal\.reflections\.add_many"):
            ids = j.add_reflections("maya", [{"content": f"entry {i}", "created_at": f"2024-01-{i + 1:02d}"}
                                             for i in range(3)])
        assert len(ids) == 3 and len(j.frame("reflections", "maya")) == 4
        # all or nothing, as the collection: a bad record stores none of the batch
        with pytest.warns(DeprecationWarning), pytest.raises(InvalidInputError, match="reflection #1"):
            j.add_reflections("maya", [{"content": "fine"}, {"content": ""}])
        assert len(j.frame("reflections", "maya")) == 4
        with pytest.warns(DeprecationWarning), pytest.raises(UnknownIdentityError):
            j.add_reflection("nobody", "text")


def test_a_script_using_the_old_api_runs_to_the_end(tmp_path):
    script = textwrap.dedent("""
        import mirror_kit
        with mirror_kit.open("j.db") as j:
            j.add_identity("maya")
            j.add_reflections("maya", [{"content": f"entry {i}", "created_at": f"2024-01-{i + 1:02d}"}
                                       for i in range(5)])
            print(j.add_reflection("maya", "while open").id)
    """)
    p = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    with mirror_kit.open(tmp_path / "j.db", readonly=True) as j:
        assert len(j.frame("reflections", "maya")) == 6
        assert j.reflections.get(p.stdout.strip()).content == "while open"
