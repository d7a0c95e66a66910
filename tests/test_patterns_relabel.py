"""Pattern names from a language model: `journal.patterns.relabel` and `mirror-kit patterns relabel`
against the loopback chat-completions server, on a copy of the analysed sample journal."""

from __future__ import annotations

import json
import shutil

import pytest

import mirror_kit
from mirror_kit.cli import main as cli_main
from mirror_kit.patterns import llmlabels


@pytest.fixture
def analysed(served_analysed_db, tmp_path):
    path = tmp_path / "j.db"
    shutil.copyfile(served_analysed_db, path)
    return path


def test_reply_parsing_keeps_short_names_and_rejects_the_rest():
    assert llmlabels.parse('"Marathon training."') == "Marathon training"
    assert llmlabels.parse("Name: work stress at the new job\n") == "Work stress at the new job"
    assert llmlabels.parse("**Grief for my father**") == "Grief for my father"
    assert llmlabels.parse("") is None
    assert llmlabels.parse("1234") is None
    assert llmlabels.parse("These entries are mostly about how the writer trains for a race every morning") is None


def test_relabel_names_patterns_keeps_the_users_names_and_survives_reanalysis(analysed, llm_server):
    with mirror_kit.open(analysed) as j:
        pats = j.patterns.frame("maya").sort_values(["size", "id"], ascending=[False, True])
        ids = list(pats["id"])
        j.patterns.rename(ids[1], "My own name")
        replies = [{"content": "Running and race training."}, {"content": "Sure! Here is a name for it: " * 5}]
        llm_server.script(*replies, *[{"content": f"Theme number {i}"} for i in range(len(ids))])
        before = dict(zip(pats["id"], pats["label"], strict=True))
        df = j.patterns.relabel("maya", llm="openai", llm_options={"base_url": llm_server.base_url,
                                                                  "model": "test-model"})
        status = dict(zip(df["pattern_id"], df["status"], strict=True))
        assert status[ids[0]] == "renamed" and status[ids[1]] == "kept" and status[ids[2]] == "rejected"
        assert j.patterns.get(ids[0]).label == "Running and race training"
        assert j.patterns.get(ids[1]).label == "My own name"
        assert j.patterns.get(ids[2]).label == before[ids[2]]  # a bad reply changes nothing
        # the model saw the key words and the pattern's own reflections, never the user's name
        sent = [r["body"]["messages"][1]["content"] for r in llm_server.requests()]
        assert len(sent) == len(ids) - 1 and all("Key words of the theme" in m for m in sent)
        rep = json.loads(j.execute("SELECT representatives FROM patterns WHERE id = ?", (ids[0],)).fetchone()[0])[0]
        rep_text = j.execute("SELECT content FROM reflections WHERE id = ?", (rep,)).fetchone()[0]
        assert " ".join(rep_text.split())[:60] in sent[0]
        # a new analysis keeps both kinds of names
        j.patterns.analyze("maya", refit=True)
        assert j.patterns.get(ids[0]).label == "Running and race training"
        assert j.patterns.get(ids[1]).label == "My own name"
        assert j.patterns.rename(ids[0], "") == before[ids[0]]  # back to the computed name


def test_cli_relabel_dry_run_changes_nothing_and_reports(analysed, llm_server, capsys):
    digest = analysed.read_bytes()
    llm_server.script(*[{"content": "Quiet evenings at home"}] * 40)
    rc = cli_main(["--db", str(analysed), "patterns", "relabel", "--identity", "maya", "--dry-run",
                   "--base-url", llm_server.base_url, "--model", "test-model", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0 and rows and {r["status"] for r in rows} <= {"suggested", "unchanged", "duplicate"}
    assert all(r["suggested"] == "Quiet evenings at home" for r in rows)
    # one pattern may take the name; the others are told it is taken, not given it too
    assert sum(r["status"] != "duplicate" for r in rows) == 1
    assert analysed.read_bytes() == digest
    rc = cli_main(["--db", str(analysed), "patterns", "relabel", "--identity", "nobody",
                   "--base-url", llm_server.base_url])
    err = capsys.readouterr().err
    assert rc != 0 and "nobody" in err and "Traceback" not in err


def test_a_sentence_quoting_a_name_yields_the_quoted_name():
    # what a small local model answers instead of the bare name
    assert llmlabels.parse('The writer would call this theme "Woodworking and garage"') == "Woodworking and garage"
    assert llmlabels.parse('I would call it “The 3am slump” or "The 4am slump"') == "The 3am slump"
    assert llmlabels.parse('"Marathon training."') == "Marathon training"


def test_cli_dry_run_table_shows_the_suggested_names(analysed, llm_server, capsys):
    llm_server.script(*[{"content": "Quiet evenings at home"}] * 40)
    rc = cli_main(["--db", str(analysed), "patterns", "relabel", "--identity", "maya", "--dry-run",
                   "--base-url", llm_server.base_url, "--model", "test-model"])
    out = capsys.readouterr().out
    assert rc == 0 and "suggested" in out.splitlines()[0]
    assert "Quiet evenings at home" in out


def test_unreachable_server_stops_at_the_first_pattern_in_one_line(analysed, capsys):
    import socket
    import time

    from mirror_kit.mirrorback.llm import LLMUnavailableError

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    with mirror_kit.open(analysed) as j:
        labels = dict(zip(j.patterns.frame("maya")["id"], j.patterns.frame("maya")["label"], strict=True))
        t0 = time.monotonic()
        with pytest.raises(LLMUnavailableError):
            j.patterns.relabel("maya", llm="openai", llm_options={"base_url": dead, "model": "m", "max_retries": 0})
        assert time.monotonic() - t0 < 5  # one attempt, not one per pattern
        assert dict(zip(j.patterns.frame("maya")["id"], j.patterns.frame("maya")["label"], strict=True)) == labels
    rc = cli_main(["--db", str(analysed), "patterns", "relabel", "--identity", "maya", "--dry-run",
                   "--base-url", dead, "--model", "m", "--timeout", "1"])
    err = capsys.readouterr().err
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "unavailable" in err and "Traceback" not in err


def test_cli_model_without_a_server_url_says_so_in_one_line(analysed, no_llm_env, capsys):
    digest = analysed.read_bytes()
    rc = cli_main(["--db", str(analysed), "patterns", "relabel", "--identity", "maya", "--dry-run",
                   "--model", "llama3.2"])
    err = capsys.readouterr().err
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "--base-url" in err and "Traceback" not in err
    assert analysed.read_bytes() == digest
