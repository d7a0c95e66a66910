"""A new user's first journal is small: analysing a dozen reflections works from the CLI and stores
valid JSON everywhere (a journal below the outlier-detection size once failed on a CHECK constraint)."""

from __future__ import annotations

import json

from tests.plugins.store import run_cli

_TEXTS = [
    "Walked by the river before work, the water was high after the rain.",
    "Long day at the office, the deadline moved again and I stayed late.",
    "Called my sister, we laughed about the old house and our father's garden.",
    "Slept badly. Woke at four and read until the birds started.",
    "Cooked ramen with Tom, a good evening with friends and too much chili.",
    "Argued with my manager about the release plan; I could not sleep after.",
    "Morning run in the park, legs heavy after mile four but happy.",
    "Quiet Sunday: read Ursula Le Guin on the balcony with coffee.",
    "Visited grandmother in the hospital, she remembered my name today.",
    "Finished the quarterly report, sent it, and went for a swim.",
    "Thinking about moving to Lyon; the flat there is small but bright.",
    "Dinner with Lena, we talked about the move and what we would miss.",
]


def test_analyze_of_a_dozen_reflections_succeeds_and_stores_valid_json(tmp_path):
    db = tmp_path / "small.db"
    assert run_cli("init", str(db), cwd=tmp_path).returncode == 0
    assert run_cli("--db", str(db), "identity", "add", "maya", cwd=tmp_path).returncode == 0
    for i, text in enumerate(_TEXTS):
        p = run_cli("--db", str(db), "add", "--identity", "maya", "--date", f"2025-03-{i + 1:02d} 08:00", text,
                    cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    p = run_cli("--db", str(db), "analyze", "--identity", "maya", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["patterns"]["patterns"] >= 1
    assert out["tensions"]["scored"] == len(_TEXTS)

    import sqlite3

    con = sqlite3.connect(db)
    try:
        metas = [json.loads(m) for (m,) in con.execute("SELECT metadata FROM patterns")]
        bad = con.execute("SELECT count(*) FROM patterns WHERE NOT json_valid(metadata)").fetchone()[0]
    finally:
        con.close()
    assert metas and bad == 0
    # the stored threshold is a number the incremental assignment can compare with
    assert all(isinstance(m["threshold"], float) and -1.0 <= m["threshold"] <= 1.0 for m in metas)

    # a second analyze of the same small journal (incremental, nothing new) also succeeds, and says
    # in words what each step did (it printed Python dicts)
    p = run_cli("--db", str(db), "add", "--identity", "maya", "--date", "2025-04-01 08:00",
                "Another walk by the river, the water lower now.", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = run_cli("--db", str(db), "analyze", "--identity", "maya", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("embeddings: 1 embedded, 12 already up to date of 13 reflections"), p.stdout
    # one new of 12 is more than 5 %: a refit, and the line says why
    assert lines[1].startswith("patterns: refit (1 new or edited and 0 removed reflections are more than 5%"), p.stdout
    assert " of 13 reflections in one, " in lines[1], p.stdout
    assert lines[2].startswith("tensions: incremental (") and "1 of 13 reflections scored on 5 tensions" in lines[2]
    assert lines[-1].startswith("refit: 1 new or edited")
    assert "{" not in p.stdout
