"""`mirror-kit demo` (what `make demo` runs): sample journal, the whole analysis, the report."""

from __future__ import annotations

import sqlite3

import pytest

from mirror_kit.cli import main


def test_demo_quick_builds_only_the_sample_journal(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "'maya': 539" in out and "'sam': 153" in out
    assert not (tmp_path / "report.html").exists()
    conn = sqlite3.connect(tmp_path / "sample.db")
    assert conn.execute("SELECT count(*) FROM reflections").fetchone()[0] == 692
    assert conn.execute("SELECT count(*) FROM patterns").fetchone()[0] == 0


@pytest.mark.slow
def test_demo_runs_every_analysis_and_writes_the_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # the planted drift is reported in words, the other identity has none
    assert "solitude_connection towards connection" in out
    assert "sam:" in out and f"report: {tmp_path / 'report.html'}" in out
    conn = sqlite3.connect(tmp_path / "sample.db")
    per_identity = dict(conn.execute(
        "SELECT i.name, count(DISTINCT p.id) FROM identities i JOIN patterns p ON p.identity_id = i.id GROUP BY 1"))
    assert per_identity["maya"] >= 6 and per_identity["sam"] >= 2
    kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM analysis_runs WHERE status = 'ok'")}
    assert {"embed", "patterns", "tensions"} <= kinds, kinds
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Journal report: maya" in html and "plotly" in html.lower()
    # a second run starts from a fresh file: same counts, nothing duplicated
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    assert sqlite3.connect(tmp_path / "sample.db").execute("SELECT count(*) FROM reflections").fetchone()[0] == 692
