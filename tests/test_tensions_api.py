"""Journal tensions API on the sample journal (real SQLite file, real model): seeds, analysis, planted
drift, evolution, map, detail, incremental scoring, user tensions and calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirror_kit.errors import InvalidInputError, NotFoundError
from mirror_kit.tensions.definition import SEED_IDS

pytestmark = pytest.mark.slow

TENSION_COLS = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences", "spread",
                "drift", "p_value"]


def test_seeds_are_stored_once_with_null_identity(sample_journal):
    rows = sample_journal.conn.execute(
        "SELECT id, identity_id, is_seed, axis_a, axis_b FROM tensions ORDER BY id").fetchall()
    assert sorted(r["id"] for r in rows) == sorted(SEED_IDS)
    assert all(r["identity_id"] is None and r["is_seed"] == 1 for r in rows)
    sample_journal.tensions.analyze("sam")  # second use inserts nothing new
    assert sample_journal.conn.execute("SELECT count(*) FROM tensions").fetchone()[0] == 5
    seeds = sample_journal.tensions.seeds()
    assert list(seeds["id"]) == list(SEED_IDS)
    assert {"id", "name", "axis_a", "axis_b"} <= set(seeds.columns)


def test_analysis_stores_observations_and_lists_ranked_tensions(sample_journal):
    n = sample_journal.conn.execute(
        "SELECT count(*) FROM tension_observations o JOIN reflections r ON r.id = o.reflection_id "
        "JOIN identities i ON i.id = r.identity_id WHERE i.name = 'maya'").fetchone()[0]
    n_refl = len(sample_journal.reflections.rows("maya"))
    assert n == 5 * n_refl
    df = sample_journal.tensions.frame("maya")
    assert list(df.columns[:len(TENSION_COLS)]) == TENSION_COLS
    assert set(df["tension_id"]) == set(SEED_IDS)
    assert df["position"].between(-1, 1).all() and df["intensity"].between(0, 1).all()
    assert list(df["rank"]) == [1, 2, 3, 4, 5]
    assert list(df["occurrences"]) == sorted(df["occurrences"], reverse=True)
    runs = sample_journal.runs.rows("tensions", "maya")
    assert runs and runs[-1]["status"] == "ok"


def test_planted_drifts_recovered_and_flat_tensions_not_drifting(sample_journal, sample_truth):
    df = sample_journal.tensions.frame("maya", period="month").set_index("tension_id")
    assert sample_truth["tensions"], "the truth file lists no tension"
    for item in sample_truth["tensions"]:
        row = df.loc[item["tension"]]
        if item["direction"] == "flat":
            assert row["p_value"] >= 0.05, (item, row.to_dict())
            assert row["direction"] == "stable"
        else:
            sign = 1 if item["direction"] == "+" else -1
            assert np.sign(row["drift"]) == sign, (item, row.to_dict())
            assert row["p_value"] < 0.05, (item, row.to_dict())
            assert row["direction"] == ("towards_b" if sign > 0 else "towards_a")


def test_evolution_uses_shared_period_rules(sample_journal):
    evo = sample_journal.tensions.evolution("maya", period="month", tensions=["solitude_connection"])
    assert list(evo.columns[:5]) == ["tension_id", "period", "position", "intensity", "count"]
    assert set(evo["tension_id"]) == {"solitude_connection"}
    assert len(evo) == 20 and evo["period"].is_monotonic_increasing
    assert evo["count"].sum() == len(sample_journal.reflections.rows("maya"))
    auto = sample_journal.tensions.evolution("maya")  # 20 months -> auto picks month, like patterns
    assert len(auto) == 5 * 20
    first, last = evo["position"].iloc[:4].mean(), evo["position"].iloc[-4:].mean()
    assert last > first + 0.1  # towards connection over the months
    with pytest.raises(ValueError, match="period"):
        sample_journal.tensions.evolution("maya", period="fortnight")


def test_detail_by_id_or_name_and_map(sample_journal):
    d = sample_journal.tensions.get("Solitude / Connection", "maya")
    assert d.id == "solitude_connection" and d.axis_a == "solitude" and d.axis_b == "connection"
    assert list(d.evolution.columns[:4]) == ["period", "position", "intensity", "count"]
    assert d.examples_a and d.examples_b
    assert all(e["position"] < 0 for e in d.examples_a) and all(e["position"] > 0 for e in d.examples_b)
    assert d.occurrences == int(sample_journal.tensions.frame("maya").set_index("tension_id").loc[
        "solitude_connection", "occurrences"])
    with pytest.raises(NotFoundError, match="no tension 'nope'"):
        sample_journal.tensions.get("nope", "maya")
    m = sample_journal.tensions.map("maya")
    assert list(m.columns) == ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences"]
    assert len(m) == 5


def test_score_tensions_incrementally_matches_full_analysis(sample_journal):
    r = sample_journal.reflections.add("maya", "Spent the evening alone with a book, phone off, blissfully quiet.",
                                      created_at="2025-08-31T21:00:00Z")
    inc = sample_journal.tensions.score([r.id])
    assert len(inc) == 5 and set(inc["reflection_id"]) == {r.id}
    sol = inc.set_index("tension_id").loc["solitude_connection"]
    assert sol["position"] < -0.3 and sol["intensity"] > 0.5
    stored = sample_journal.conn.execute(
        "SELECT tension_id, position FROM tension_observations WHERE reflection_id = ?", (r.id,)).fetchall()
    assert len(stored) == 5
    sample_journal.tensions.analyze("maya")
    again = dict(sample_journal.conn.execute(
        "SELECT tension_id, position FROM tension_observations WHERE reflection_id = ?", (r.id,)).fetchall())
    for row in inc.itertuples():
        assert again[row.tension_id] == pytest.approx(row.position, abs=1e-6)
    with pytest.raises(NotFoundError):
        sample_journal.tensions.score(["r_missing"])


def test_user_tension_add_private_replace_and_errors(sample_journal, tmp_path):
    spec = {"id": "work_home", "name": "Work / Home",
            "a": {"name": "work", "description": "job", "anchors": ["I stayed late at the office.",
                                                                    "A long meeting with my manager."]},
            "b": {"name": "home", "description": "home life", "anchors": ["I tidied the flat on Sunday.",
                                                                          "Cooked at home and stayed in."]}}
    out = sample_journal.tensions.define(spec, identity="maya")
    assert out["id"] == "work_home" and not out["replaced"]
    assert "work_home" in set(sample_journal.tensions.definitions("maya")["id"])
    assert "work_home" not in set(sample_journal.tensions.definitions("sam")["id"])
    res = sample_journal.tensions.analyze("maya", tensions=["work_home"])
    assert res["tensions"] == 1 and res["observations"] == len(sample_journal.reflections.rows("maya"))
    assert "work_home" in set(sample_journal.tensions.frame("maya")["tension_id"])
    with pytest.raises(InvalidInputError, match="already exists"):
        sample_journal.tensions.define(spec, identity="maya")
    with pytest.raises(InvalidInputError, match="built-in seed"):
        sample_journal.tensions.define({**spec, "id": "being_doing"})
    path = tmp_path / "t.json"
    path.write_text(json.dumps({**spec, "name": "Office / Home"}))
    assert sample_journal.tensions.define(path, identity="maya", replace=True)["replaced"]
    assert sample_journal.tensions.get("work_home", "maya").name == "Office / Home"
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\na: {name: p, anchors: [a]}\n")
    with pytest.raises(InvalidInputError, match="field 'b'"):
        sample_journal.tensions.define(bad)
    sample_journal.tensions.remove("work_home", "maya")
    assert "work_home" not in set(sample_journal.tensions.frame("maya")["tension_id"])


def test_calibration_from_labels_csv_is_stored_and_rescored(sample_journal, sample_truth, tmp_path):
    labels = {rid: v["social"] for rid, v in sample_truth["labels"]["reflections"].items() if "social" in v}
    ids = [r.id for r in sample_journal.reflections.rows("maya")]
    chosen = [rid for rid in ids if rid in labels][:80]
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("reflection_id,label\n" + "".join(f"{rid},{labels[rid]}\n" for rid in chosen))
    before = dict(sample_journal.conn.execute(
        "SELECT reflection_id, position FROM tension_observations WHERE tension_id = 'solitude_connection'"))
    res = sample_journal.tensions.calibrate("solitude_connection", csv_path)
    assert res["n_labels"] == 80 and res["n_a"] > 5 and res["n_b"] > 5
    assert res["cv_auc"] > 0.8
    assert res["rescored"] >= len(ids)
    cal = json.loads(sample_journal.conn.execute(
        "SELECT calibration FROM tensions WHERE id = 'solitude_connection'").fetchone()[0])
    assert cal["n_labels"] == 80 and len(cal["coef"]) == 384
    after = dict(sample_journal.conn.execute(
        "SELECT reflection_id, position FROM tension_observations WHERE tension_id = 'solitude_connection'"))
    assert any(abs(after[k] - before[k]) > 1e-3 for k in before)
    assert sample_journal.tensions.get("solitude_connection", "maya").calibration["cv_auc"] == res["cv_auc"]
    # The calibrated axis still recovers the planted drift.
    row = sample_journal.tensions.frame("maya").set_index("tension_id").loc["solitude_connection"]
    assert row["drift"] > 0 and row["p_value"] < 0.05

    # A bad row is reported by number and nothing already stored changes.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"reflection_id,label\n{chosen[0]},a\n{chosen[1]},sideways\n")
    with pytest.raises(InvalidInputError, match=r"bad\.csv: row 3: field label 'sideways'"):
        sample_journal.tensions.calibrate("solitude_connection", bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("reflection_id,label\nr_nope,a\n")
    with pytest.raises(InvalidInputError, match="row 2: no reflection"):
        sample_journal.tensions.calibrate("solitude_connection", missing)
    assert json.loads(sample_journal.conn.execute(
        "SELECT calibration FROM tensions WHERE id = 'solitude_connection'").fetchone()[0]) == cal
    sample_journal.tensions.clear_calibration("solitude_connection")
    assert sample_journal.tensions.get("solitude_connection", "maya").calibration is None


def test_readonly_journal_reads_tensions(sample_journal):
    import mirror_kit

    path = sample_journal.path
    sample_journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with mirror_kit.open(path, readonly=True) as ro:
        df = ro.tensions.frame("maya")
        assert len(df) == 5
        with pytest.raises(Exception, match="read-only"):
            ro.tensions.analyze("maya")
