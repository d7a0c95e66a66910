"""`search --limit N` works as in the other list commands (`patterns list --limit`): it was refused as
an unknown option, `--k` being the only spelling."""

from __future__ import annotations

import json

import mirror_kit
from tests.plugins.store import run_cli


def test_search_limit_is_the_same_as_k(tmp_path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": f"Took the dog to the park, walk {i}.",
                                         "created_at": f"2024-01-{i + 1:02d}"} for i in range(6)])
    outs = []
    for opt in ("--limit", "--k"):
        p = run_cli("--db", str(db), "search", "dog park", "--identity", "maya", "--mode", "text", opt, "2",
                    "--json", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert len(json.loads(outs[0])) == 2 and outs[0] == outs[1]
