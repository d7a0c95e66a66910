"""`mirror-kit patterns list|show|evolution` and `analyze patterns` against a real journal file."""

from __future__ import annotations

import json

from mirror_kit import cli


def _run(capsys, *args):
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_show_evolution_mirror_the_api(patterns_analyzed_path, capsys):
    db = str(patterns_analyzed_path)
    code, out, _ = _run(capsys, "--db", db, "patterns", "list", "--identity", "maya", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and {"id", "label", "keywords", "confidence", "size", "status", "trend"} <= set(rows[0])
    assert [r["size"] for r in rows] == sorted((r["size"] for r in rows), reverse=True)
    cut = sorted(r["confidence"] for r in rows)[len(rows) // 2]
    code, out, _ = _run(capsys, "--db", db, "patterns", "list", "-i", "maya", "--min-confidence", str(cut),
                        "--sort", "confidence", "--limit", "2", "--json")
    few = json.loads(out)
    assert len(few) == 2 and all(r["confidence"] >= cut for r in few)
    assert few[0]["confidence"] >= few[1]["confidence"]
    code, out, _ = _run(capsys, "--db", db, "patterns", "list", "-i", "maya")
    assert code == 0 and rows[0]["id"] in out and "trend" in out.splitlines()[0]

    pid = rows[0]["id"]
    code, out, _ = _run(capsys, "--db", db, "patterns", "show", pid, "--json")
    d = json.loads(out)
    assert code == 0 and d["id"] == pid and len(d["occurrences"]) == rows[0]["size"]
    code, out, _ = _run(capsys, "--db", db, "patterns", "show", pid, "--limit", "3")
    assert code == 0 and rows[0]["label"] in out and len(out.strip().splitlines()) == 3 + 4

    code, out, _ = _run(capsys, "--db", db, "patterns", "evolution", "-i", "maya", "--period", "quarter",
                        "--pattern", pid, "--json")
    evo = json.loads(out)
    assert code == 0 and {e["pattern_id"] for e in evo["evolution"]} == {pid}
    assert len(evo["evolution"]) == 7 and evo["trends"][0]["trend"] in {"emerging", "fading", "stable", "recurring"}
    code, out, _ = _run(capsys, "--db", db, "patterns", "evolution", "-i", "maya")
    assert code == 0 and "share" in out and "p_value" in out


def test_errors_are_one_line(patterns_analyzed_path, capsys):
    db = str(patterns_analyzed_path)
    code, _, err = _run(capsys, "--db", db, "patterns", "show", "p_nope")
    assert code == 1 and err.strip() == "error: no pattern with id 'p_nope'"
    code, _, err = _run(capsys, "--db", db, "patterns", "list", "-i", "nobody")
    assert code == 1 and err.startswith("error: unknown identity 'nobody'")
    code, _, err = _run(capsys, "--db", db, "patterns", "list")
    assert code != 0 and "--identity is required" in err
    code, _, err = _run(capsys, "--db", db, "patterns", "list", "-i", "maya", "--min-confidence", "3")
    assert code != 0 and "min-confidence" in err


def test_analyze_patterns_command_updates_and_keeps_ids(patterns_analyzed_path, capsys):
    db = str(patterns_analyzed_path)
    before = json.loads(_run(capsys, "--db", db, "patterns", "list", "-i", "sam", "--json")[1])
    code, out, _ = _run(capsys, "--db", db, "analyze", "patterns", "--identity", "sam", "--json")
    res = json.loads(out)
    assert code == 0 and res["new"] == 0 and res["matched"] == res["patterns"] == len(before)
    after = json.loads(_run(capsys, "--db", db, "patterns", "list", "-i", "sam", "--json")[1])
    assert [r["id"] for r in after] == [r["id"] for r in before]


def test_an_impossible_number_of_patterns_is_refused_in_one_line_naming_the_option(patterns_analyzed_path, tmp_path):
    from tests.plugins.store import assert_one_line_error, run_cli, snapshot

    before = snapshot(patterns_analyzed_path)
    proc = run_cli("--db", str(patterns_analyzed_path), "analyze", "patterns", "--identity", "maya",
                   "--n-patterns", "100000", cwd=tmp_path, env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert_one_line_error(proc, "--n-patterns", "100000")
    assert "Warning" not in proc.stderr
    assert snapshot(patterns_analyzed_path)["db"] == before["db"]  # refused before any run is recorded


def test_api_refuses_an_impossible_number_of_patterns_before_any_run(patterns_analyzed_journal):
    import pytest

    from mirror_kit.errors import InvalidInputError

    runs = len(patterns_analyzed_journal.runs.frame())
    with pytest.raises(InvalidInputError, match="n_patterns must be a whole number from 2 to"):
        patterns_analyzed_journal.patterns.analyze("maya", n_patterns=100000)
    assert len(patterns_analyzed_journal.runs.frame()) == runs
