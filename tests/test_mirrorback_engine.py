"""The mirrorback engine end to end: a real journal file, the loopback chat-completions server, the
crisis path, incremental analysis updates, run telemetry, `mirrorback_pending` and the CLI."""

from __future__ import annotations

import json

import pytest

from mirror_kit.cli import main as cli_main
from mirror_kit.mirrorback import llm as llm_mod
from mirror_kit.mirrorback.crisis import CRISIS_MODEL, CRISIS_REPLY, detect_crisis
from mirror_kit.mirrorback.llm import LLMAuthError, LLMUnavailableError, OpenAICompatibleLLM

ENTRIES = [
    ("2024-03-01T08:00:00Z", "Started the new job. Everyone was kind but I felt out of place all day."),
    ("2024-03-02T08:00:00Z", "Cooked dinner for my flatmates. It felt good to make something with my hands."),
    ("2024-03-03T08:00:00Z", "Walked by the river after work. The water was high and loud and for the first time "
                             "in weeks my head felt quiet."),
    ("2024-03-04T08:00:00Z", "A later entry about the dentist that must not appear as context."),
]
BAD = "You should spend more time by the river; you clearly need the quiet."
GOOD = "It sounds like the river gave you a quiet head, for the first time in weeks, after work."


@pytest.fixture
def maya(journal):
    journal.identities.add("maya")
    ids = [journal.reflections.add("maya", text, when).id for when, text in ENTRIES]
    return journal, ids


def remote(server, **kw) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(server.base_url, "test-model", timeout=5, backoff=0.01, **kw)


def test_generate_validate_retry_store_and_record(maya, llm_server):
    journal, ids = maya
    llm_server.script({"content": BAD}, {"content": GOOD})
    mb = journal.mirrorbacks.generate(ids[2], llm=remote(llm_server))
    assert (mb.content, mb.valid, mb.model) == (GOOD, True, "test-model")
    assert mb.validation["ok"] is True and mb.validation["attempts"] == 2
    assert mb.validation["history"][0][:2] == ["reflect_not_prescribe", "tentative"]
    assert mb.validation["history"][1] == []
    assert journal.mirrorbacks.rows(ids[2])[0].id == mb.id

    first, second = (r["body"]["messages"] for r in llm_server.requests())
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user"]  # one worked example
    prompt = first[3]["content"]
    assert "Started the new job" in prompt and "Cooked dinner" in prompt  # earlier entries as context
    assert "dentist" not in prompt  # never the future
    assert prompt.rstrip().endswith(ENTRIES[2][1])
    assert "reflect_not_prescribe" not in first[0]["content"] and "never tell them what to do" in first[0]["content"]
    # the retry carries the bad reply and the violations with their spans
    assert second[:4] == first and second[4] == {"role": "assistant", "content": BAD}
    assert '- reflect_not_prescribe: prescribes what the writer should do: "You should"' in second[5]["content"]
    assert '"you clearly"' in second[5]["content"]

    (run,) = journal.runs.rows("mirrorback")
    assert run["status"] == "ok" and run["duration_ms"] > 0
    assert run["parameters"]["reflection_id"] == ids[2]
    c = run["counts"]
    assert (c["attempts"], c["retries"], c["valid"]) == (2, 1, 1) and c["violations"] >= 2
    expected_prompt = sum(len(m["content"].split()) for m in first) + sum(len(m["content"].split()) for m in second)
    assert c["prompt_tokens"] == expected_prompt
    assert c["completion_tokens"] == len(BAD.split()) + len(GOOD.split())
    steps = run["metadata"]["steps"]
    assert steps["context"] == {"recent": 2, "patterns": 0, "tensions": 0}
    assert [a["attempt"] for a in steps["attempts"]] == [1, 2]
    assert all(a["generate_ms"] > 0 and a["validate_ms"] >= 0 for a in steps["attempts"])
    assert steps["attempts"][0]["violations"][:2] == ["reflect_not_prescribe", "tentative"]
    assert steps["store_ms"] > 0 and "context_ms" in steps and "update_ms" in steps
    assert steps["update"]["patterns"]["status"] == "skipped"
    assert run["metadata"]["llm"] == {"adapter": "OpenAICompatibleLLM", "model": "test-model",
                                      "base_url": llm_server.base_url}
    assert run["metadata"]["mirrorback_id"] == mb.id


def test_never_valid_stores_the_best_attempt_as_invalid(maya, llm_server):
    journal, ids = maya
    worst = "You should stop. You must rest. You clearly need the river; deep down you feel lost."
    least_bad = "You should keep walking by the river after work, where your head felt quiet."
    llm_server.script({"content": worst}, {"content": least_bad}, {"content": worst})
    mb = journal.mirrorbacks.generate(ids[2], llm=remote(llm_server), max_retries=2)
    assert mb.valid is False and mb.content == least_bad
    assert [v["principle"] for v in mb.validation["violations"]] == ["reflect_not_prescribe"]
    assert mb.validation["violations"][0]["text"] == "You should"
    assert len(llm_server.requests()) == 3
    (run,) = journal.runs.rows("mirrorback")
    assert run["counts"]["valid"] == 0 and run["counts"]["attempts"] == 3
    assert run["metadata"]["final_violations"] == ["reflect_not_prescribe"]


def test_model_failure_records_a_failed_run_and_stores_nothing(maya, closed_port, no_llm_env):
    journal, ids = maya
    dead = OpenAICompatibleLLM(f"http://127.0.0.1:{closed_port}/v1", "m", timeout=2, max_retries=0)
    with pytest.raises(LLMUnavailableError, match="cannot connect"):
        journal.mirrorbacks.generate(ids[0], llm=dead)
    assert journal.mirrorbacks.rows(ids[0]) == []
    (run,) = journal.runs.rows("mirrorback")
    assert run["status"] == "failed" and "LLMUnavailableError" in run["error"]


@pytest.mark.parametrize("text", [
    "I don't want to be here anymore.",
    "Some nights I think everyone would be better off without me.",
    "I've been cutting myself again and hiding it.",
    "I keep thinking about ending my life.",
    "Honestly I just want to die.",
    "There's no reason to go on like this, I can't go on anymore.",
    "I wrote a note last night. I feel suicidal.",
])
def test_crisis_bypasses_generation(journal, recording_llm, text):
    journal.identities.add("sam")
    rid = journal.reflections.add("sam", f"Long day. {text} Nobody knows.").id
    llm = recording_llm(["You should not call that a crisis."])
    mb = journal.mirrorbacks.generate(rid, llm=llm)
    assert llm.calls == []
    assert mb.content == CRISIS_REPLY and mb.model == CRISIS_MODEL and mb.valid is True
    assert "988" in mb.content and "116 123" in mb.content and "emergency" in mb.content
    assert mb.validation["crisis"] is True and mb.validation["matched"]["text"].lower() in text.lower()
    (run,) = journal.runs.rows("mirrorback")
    assert run["status"] == "ok" and run["metadata"]["crisis"] is True and run["counts"]["crisis"] == 1
    assert journal.mirrorbacks.rows(rid)[0].id == mb.id


@pytest.mark.parametrize("text", [
    "I'm dying to see the new film.", "Killing it at work this week.", "The plot of the novel hurt my head.",
    "I want to be here more often, the lake is lovely.", "We cut the cake and I hurt my hand a bit.",
])
def test_crisis_detector_leaves_ordinary_phrases_alone(text):
    assert detect_crisis(text) is None


def test_crisis_path_needs_no_model_configured(journal, no_llm_env, block_sockets, monkeypatch):
    monkeypatch.setattr(llm_mod, "default_local_model", lambda: None)
    journal.identities.add("sam")
    rid = journal.reflections.add("sam", "I don't want to wake up anymore.").id
    assert journal.mirrorbacks.generate(rid).content == CRISIS_REPLY
    rid2 = journal.reflections.add("sam", "A calm walk today.").id
    with pytest.raises(llm_mod.LLMNotConfiguredError):
        journal.mirrorbacks.generate(rid2)
    assert block_sockets == []


def _plant_analysis(journal, identity: str, member: str) -> None:
    """A pattern (without a centroid) and a tension with one observation, written as the peers would."""
    ident = journal.identities.get(identity).id
    now = "2024-03-05T00:00:00Z"
    with journal.transaction() as c:
        c.execute("INSERT INTO patterns (id, identity_id, label, keywords, size, status, created_at, updated_at) "
                  "VALUES ('p_1', ?, 'evenings by the water', '[\"river\", \"walk\"]', 1, 'active', ?, ?)",
                  (ident, now, now))
        c.execute("INSERT INTO pattern_occurrences (pattern_id, reflection_id, strength) VALUES ('p_1', ?, 0.9)",
                  (member,))
        c.execute("INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, created_at, updated_at) "
                  "VALUES ('t_x', NULL, 'Solitude / connection', 'solitude', 'connection', ?, ?)", (now, now))
        c.execute("INSERT INTO tension_observations (tension_id, reflection_id, position, intensity, created_at) "
                  "VALUES ('t_x', ?, -0.6, 0.8, ?)", (member, now))


def test_context_uses_patterns_and_tensions_and_updates_incrementally(maya, recording_llm):
    journal, ids = maya
    _plant_analysis(journal, "maya", ids[2])
    llm = recording_llm([GOOD, GOOD])
    journal.mirrorbacks.generate(ids[2], llm=llm)
    prompt = llm.calls[0][-1]["content"]
    assert "evenings by the water (river, walk) [this entry belongs to it]" in prompt
    assert "solitude / connection: usually -0.60, this entry -0.60" in prompt
    run = journal.runs.rows("mirrorback")[-1]
    assert run["metadata"]["steps"]["context"] == {"recent": 2, "patterns": 1, "tensions": 1}
    update = run["metadata"]["steps"]["update"]
    assert update["patterns"] == {"status": "skipped", "reason": "reflection already analysed"}
    assert update["tensions"] == {"status": "skipped", "reason": "reflection already analysed"}

    # a reflection not yet analysed: the peers' incremental methods are called; their failures are
    # recorded in the run, and the mirrorback is kept
    new = journal.reflections.add("maya", "Walked by the river again; the water was lower and so was the noise.",
                                 "2024-03-06T08:00:00Z").id
    mb = journal.mirrorbacks.generate(new, llm=llm)
    run = journal.runs.rows("mirrorback")[-1]
    assert run["status"] == "ok"
    update = run["metadata"]["steps"]["update"]
    for step, method in (("patterns", "assign_patterns"), ("tensions", "score_tensions")):
        if hasattr(journal, method):
            assert update[step]["status"] in ("ok", "failed") and update[step]["ms"] >= 0
            if update[step]["status"] == "failed":
                assert update[step]["error"]
        else:
            assert update[step]["status"] == "skipped"
    # the planted pattern has no centroid, so assigning must fail and say so
    if hasattr(journal, "assign_patterns"):
        assert update["patterns"]["status"] == "failed"
    assert journal.mirrorbacks.rows(new)[0].id == mb.id


def test_pending_with_progress_and_crisis_rows(maya, llm_server):
    journal, ids = maya
    journal.mirrorbacks.add(ids[0], "It sounds like the first day was a lot.", "manual")
    crisis = journal.reflections.add("maya", "I don't want to be here anymore.", "2024-03-05T08:00:00Z").id
    seen = []
    df = journal.mirrorbacks.generate_pending("maya", llm=remote(llm_server), progress=lambda d, t: seen.append((d, t)))
    assert list(df.columns) == ["reflection_id", "created_at", "mirrorback_id", "valid", "attempts", "violations",
                                "crisis", "model", "content"]
    assert df["reflection_id"].tolist() == [ids[1], ids[2], ids[3], crisis]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert df["crisis"].tolist() == [False, False, False, True]
    assert df["valid"].all()
    assert df.loc[df["crisis"], "content"].item() == CRISIS_REPLY
    assert len(llm_server.requests()) == 3  # none for the crisis entry
    assert journal.mirrorbacks.generate_pending("maya", llm=remote(llm_server)).empty
    assert len(journal.runs.rows("mirrorback")) == 4


def test_pending_stops_on_a_bad_key_and_keeps_what_it_wrote(maya, llm_server):
    journal, ids = maya
    llm_server.script({}, {"status": 401})  # {}: the default reply, which quotes the entry
    with pytest.raises(LLMAuthError, match=r"stopped after 1 of 4 reflections"):
        journal.mirrorbacks.generate_pending("maya", llm=remote(llm_server))
    assert len(journal.mirrorbacks.rows(identity="maya")) == 1
    assert journal.mirrorbacks.pending("maya") == ids[1:]


def test_default_local_model_end_to_end_with_sockets_blocked(maya, tiny_local_model, no_llm_env, block_sockets,
                                                              monkeypatch):
    journal, ids = maya
    monkeypatch.setenv("MIRROR_KIT_LLM_PATH", str(tiny_local_model))
    mb = journal.mirrorbacks.generate(ids[2], max_retries=0, max_tokens=6)
    assert mb.model == f"local:{tiny_local_model.name}"
    assert mb.valid in (True, False) and mb.validation["attempts"] == 1
    run = journal.runs.rows("mirrorback")[-1]
    assert 1 <= run["counts"]["completion_tokens"] <= 6 and run["counts"]["prompt_tokens"] > 50
    assert block_sockets == []


# -- CLI -------------------------------------------------------------------------------------------------
def test_cli_single_and_pending(maya, llm_server, capsys):
    journal, ids = maya
    db = str(journal.path)
    llm_server.script({"content": GOOD})
    rc = cli_main(["--db", db, "mirrorback", ids[2], "--base-url", llm_server.base_url, "--model", "cli-model"])
    out, err = capsys.readouterr()
    assert rc == 0 and out.strip() == GOOD and "stored m_" in err and "cli-model" in err

    llm_server.script({"content": BAD}, {"content": BAD})
    rc = cli_main(["--db", db, "mirrorback", ids[1], "--llm", "openai", "--base-url", llm_server.base_url,
                   "--model", "cli-model", "--max-retries", "1", "--json"])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert rc == 0 and data["valid"] is False and data["validation"]["attempts"] == 2

    rc = cli_main(["--db", db, "mirrorback", "--identity", "maya", "--pending", "--no-progress",
                   "--base-url", llm_server.base_url, "--model", "cli-model"])
    out, err = capsys.readouterr()
    assert rc == 0 and ids[0] in out and ids[3] in out and ids[2] not in out
    assert "2 mirrorback(s) written, 0 invalid" in err
    assert journal.mirrorbacks.pending("maya") == []


def test_cli_errors(maya, no_llm_env, closed_port, capsys, monkeypatch):
    journal, ids = maya
    db = str(journal.path)
    monkeypatch.setattr(llm_mod, "default_local_model", lambda: None)
    assert cli_main(["--db", db, "mirrorback", ids[0]]) == 1
    assert "error: no language model configured" in capsys.readouterr().err
    assert cli_main(["--db", db, "mirrorback", ids[0], "--base-url", f"http://127.0.0.1:{closed_port}/v1",
                     "--model", "m", "--timeout", "1"]) == 1
    assert "error: LLM server" in capsys.readouterr().err
    assert cli_main(["--db", db, "mirrorback", "r_missing", "--base-url", "http://127.0.0.1:1/v1", "--model", "m"]) == 1
    assert "error: no reflection with id 'r_missing'" in capsys.readouterr().err
    assert cli_main(["--db", db, "mirrorback", "--pending"]) == 2
    assert cli_main(["--db", db, "mirrorback"]) == 2
    capsys.readouterr()
    assert cli_main(["--db", db, "mirrorback", "--help"]) == 0
    assert "mirror-kit mirrorback --identity maya --pending" in capsys.readouterr().out


def test_replies_are_cleaned_before_validation(maya, llm_server):
    journal, ids = maya
    llm_server.script({"content": f"The entry to mirror back (written 2024-03-03):\n\"{GOOD} Perhaps the water was"})
    mb = journal.mirrorbacks.generate(ids[2], llm=remote(llm_server))
    assert mb.content == GOOD and mb.valid is True
    assert journal.runs.rows("mirrorback")[-1]["metadata"]["steps"]["attempts"][0]["cleaned"] is True


def test_speaking_as_the_writer_is_rewritten(maya, llm_server):
    journal, ids = maya
    llm_server.script({"content": "I walked by the river after work and my head felt quiet for the first time."},
                      {"content": GOOD})
    mb = journal.mirrorbacks.generate(ids[2], llm=remote(llm_server))
    assert set(mb.validation["history"][0]) == {"address_the_writer"} and mb.valid is True
