"""A tension amended through the Commons changes the next analysis, the run records the version, and
pinning the earlier version restores the earlier results exactly (uses the embedded sample journal)."""

from __future__ import annotations

import json

import numpy as np

import mirror_kit
from mirror_kit.commons.service import init_commons


def _positions(j, tension_id: str) -> dict:
    rows = j.execute("SELECT o.reflection_id, o.position FROM tension_observations o JOIN reflections r "
                     "ON r.id = o.reflection_id JOIN identities i ON i.id = r.identity_id "
                     "WHERE i.name = 'maya' AND o.tension_id = ?", (tension_id,)).fetchall()
    return {r[0]: r[1] for r in rows}


def _last_run_definitions(j):
    row = j.execute("SELECT parameters FROM analysis_runs WHERE kind = 'tensions' ORDER BY started_at DESC, "
                    "rowid DESC LIMIT 1").fetchone()
    return json.loads(row[0])["definitions"]


def test_accepted_amendment_changes_next_analysis_run_records_version_and_pin_restores(sample_journal_path,
                                                                                      tmp_path):
    folder = tmp_path / "shared"
    init_commons(folder, {"quorum": 2, "voters": ["maya", "sam"]})
    with mirror_kit.open(sample_journal_path) as j:
        j.commons.add("family", folder)
        j.commons.pull(accept=True)
        j.tensions.analyze("maya")
        before = _positions(j, "solitude_connection")
        assert _last_run_definitions(j)["number"] == 0
        seed = j.commons.definitions(0)["tensions"]["solitude_connection"]
        amended = json.loads(json.dumps(seed))
        # Swap the poles' anchors: every reflection should move to the other side.
        amended["a"]["anchors"], amended["b"]["anchors"] = seed["b"]["anchors"], seed["a"]["anchors"]
        res = j.commons.propose("maya", tension=amended, title="Swap solitude anchors", rationale="test")
        ev = res["evidence"]
        assert res["action"] == "amend" and ev["reflections"] > 0 and ev["changed_side"] > ev["reflections"] // 2
        assert {"drift", "drift_p_value", "pole_a", "pole_b"} <= set(ev["before"]) == set(ev["after"])
        for who in ("maya", "sam"):
            j.commons.vote(res["id"], "yes", who)
        j.commons.push()
        assert j.commons.pull(accept=True)["applied"]
        assert j.tensions.definition("solitude_connection").a.anchors == seed["b"]["anchors"]
        j.tensions.analyze("maya")
        after = _positions(j, "solitude_connection")
        assert _last_run_definitions(j)["number"] == 1
        common = sorted(before)
        assert np.mean([np.sign(before[r]) != np.sign(after[r]) for r in common]) > 0.5
        j.commons.pin(0)
        j.tensions.analyze("maya")
        assert _positions(j, "solitude_connection") == before
        assert _last_run_definitions(j) == {"commons": "family", "number": 0, "hash": j.commons.log()[0]["hash"]}

        # Nothing of the journal's text or embeddings reached the folder.
        blob = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
        ids, X = j.embeddings.stored("maya")
        for rid in ids[:20]:
            text = j.reflections.get(rid).content
            assert text[:40].encode() not in blob and rid.encode() not in blob
        for row in X[:20]:
            assert row.astype(np.float32).tobytes()[:16] not in blob
