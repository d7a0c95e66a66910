"""`mirror-kit tensions ...` and `mirror-kit analyze tensions` on a real journal file."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from mirror_kit.cli import main as cli

pytestmark = pytest.mark.slow


@pytest.fixture
def run(capsys):
    """Run the real entry point; returns exit_code, output (stdout) and err (stderr)."""

    def go(db, *args, ok=True):
        code = cli(["--db", str(db), *[str(a) for a in args]])
        cap = capsys.readouterr()
        if ok:
            assert code == 0, cap.err
        return SimpleNamespace(exit_code=code, output=cap.out, err=cap.err)

    return go


def test_seeds_help_and_missing_identity(run, tmp_path):
    db = tmp_path / "j.db"
    out = run(db, "tensions", "seeds", "--json")
    assert [t["id"] for t in json.loads(out.output)] == ["solitude_connection", "surrender_agency",
                                                         "stability_change", "being_doing", "reason_feeling"]
    assert "solitude" in run(db, "tensions", "seeds").output
    for cmd in ("list", "show", "map", "seeds", "add", "calibrate", "export"):
        assert "Example: mirror-kit tensions" in run(db, "tensions", cmd, "--help").output
    res = run(db, "tensions", "list", ok=False)
    assert res.exit_code != 0 and "--identity is required" in res.err


def test_analyze_list_show_map_add_calibrate_export(run, sample_journal_path, sample_truth, tmp_path):
    db = sample_journal_path
    res = json.loads(run(db, "analyze", "tensions", "--identity", "maya", "--json").output)
    assert res["tensions"] == 5 and res["reflections"] > 500
    assert any(d["tension_id"] == "solitude_connection" and d["direction"] == "towards_b" for d in res["drifting"])

    rows = json.loads(run(db, "tensions", "list", "--identity", "maya", "--json").output)
    assert {r["tension_id"] for r in rows} == {"solitude_connection", "surrender_agency", "stability_change",
                                               "being_doing", "reason_feeling"}
    assert {"position", "intensity", "occurrences", "spread", "drift", "p_value"} <= set(rows[0])
    text = run(db, "tensions", "list", "--identity", "maya").output
    assert "solitude_connection" in text and "towards_b" in text

    detail = json.loads(run(db, "tensions", "show", "solitude_connection", "-i", "maya", "--period", "month",
                            "--json").output)
    assert len(detail["evolution"]) == 20 and detail["direction"] == "towards_b"
    assert "Solitude / Connection" in run(db, "tensions", "show", "solitude_connection", "-i", "maya").output

    m = json.loads(run(db, "tensions", "map", "-i", "maya", "--json").output)
    assert len(m) == 5 and set(m[0]) == {"tension_id", "name", "axis_a", "axis_b", "position", "intensity",
                                         "occurrences"}

    spec = tmp_path / "mine.yaml"
    spec.write_text("tensions:\n"
                    "  - id: city_nature\n    name: City / Nature\n"
                    "    a: {name: city, anchors: [Walked through busy streets downtown., Took the metro.]}\n"
                    "    b: {name: nature, anchors: [Hiked in the forest., Sat by the lake.]}\n")
    assert "added city_nature" in run(db, "tensions", "add", str(spec), "-i", "maya").output
    res = run(db, "tensions", "add", str(spec), "-i", "maya", ok=False)
    assert res.exit_code == 1 and res.err.startswith("error:") and "already exists" in res.err
    assert "replaced city_nature" in run(db, "tensions", "add", str(spec), "-i", "maya", "--replace").output

    labels = {rid: v["social"] for rid, v in sample_truth["labels"]["reflections"].items() if "social" in v}
    csv_path = tmp_path / "labels.csv"
    picked = list(labels)[:60]
    csv_path.write_text("reflection_id,label\n" + "".join(
        f"{rid},{'connection' if labels[rid] > 0 else 'solitude'}\n" for rid in picked))
    out = json.loads(run(db, "tensions", "calibrate", "solitude_connection", str(csv_path), "--json").output)
    assert out["n_labels"] == 60 and out["cv_auc"] > 0.75
    assert "held-out AUC" in run(db, "tensions", "calibrate", "solitude_connection", str(csv_path)).output

    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n2024-01-01,a\n")
    res = run(db, "tensions", "calibrate", "solitude_connection", str(bad), ok=False)
    assert res.exit_code == 1 and "needs a header with columns reflection_id,label" in res.err

    exported = tmp_path / "shared.yaml"
    run(db, "tensions", "export", "city_nature", str(exported), "-i", "maya")
    from mirror_kit.tensions.definition import load_tension

    assert load_tension(exported).axis_b == "nature"


def test_a_drifting_tension_is_told_in_words_with_its_pole_names():
    from mirror_kit.cli.analyze_text import analysis_lines, tensions_line

    info = {"mode": "full", "reason": "first analysis", "reflections": 40, "scored": 40, "tensions": 5,
            "most_active": ["solitude_connection"],
            "drifting": [{"tension_id": "solitude_connection", "direction": "towards_a", "drift": -0.0123,
                          "p_value": 0.0042},
                         {"tension_id": "mine", "direction": "towards_b", "drift": 0.02, "p_value": 0.03}]}
    line = tensions_line(info, {"solitude_connection": ("solitude", "connection")})
    assert line.endswith("drifting: solitude_connection moving towards solitude (p = 0.0042), "
                         "mine moving towards pole b (p = 0.03)")
    assert "{" not in line and "'" not in line
    assert "moving towards connection" not in analysis_lines({"tensions": info})[0]
