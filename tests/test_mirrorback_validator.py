"""The constitutional validator: precision and recall on the labelled set, spans, exemptions, an edited
constitution, the optional model-based checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mirror_kit.errors import InvalidInputError
from mirror_kit.mirrorback.validator import DEFAULT_CONSTITUTION, Constitution, validate

LABELLED = Path(__file__).parent / "fixtures" / "mirrorbacks_labelled.yaml"


def _score(items, reflections):
    tp = fp = fn = exact = 0
    for it in items:
        pred = set(validate(reflections[it["reflection"]], it["mirrorback"]).principles)
        exp = set(it["violations"])
        tp, fp, fn = tp + len(pred & exp), fp + len(pred - exp), fn + len(exp - pred)
        exact += pred == exp
    return tp / (tp + fp), tp / (tp + fn), exact / len(items)


def test_labelled_set_precision_and_recall():
    data = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    items = data["items"]
    known = set(Constitution.load().ids)
    assert len(items) >= 60
    assert sum(not it["violations"] for it in items) >= 30
    assert all(set(it["violations"]) <= known for it in items)
    results = {}
    for name, subset in (("all", items), ("holdout", [it for it in items if it.get("set") == "holdout"])):
        p, r, exact = _score(subset, data["reflections"])
        results[name] = (p, r)
        print(f"\nvalidator on {name} ({len(subset)} mirrorbacks): precision {p:.3f}  recall {r:.3f}  "
              f"exact verdicts {exact:.3f}")
    assert results["all"][0] >= 0.9 and results["all"][1] >= 0.85
    # the holdout items were never used to tune the rules: a looser floor, still far above chance
    assert results["holdout"][0] >= 0.85 and results["holdout"][1] >= 0.8


def test_verdict_spans_point_into_the_mirrorback():
    reflection = "Another argument with my sister. I'm exhausted from organising everything."
    mb = ("You clearly resent your sister. You should tell her. Stop organising everything; "
          "it sounds like classic codependency.")
    v = validate(reflection, mb)
    assert not v.ok and not v
    assert v.principles == ["reflect_not_prescribe", "no_diagnosis", "tentative"]
    for viol in v.violations:
        assert mb[viol.start:viol.end] == viol.text
    spans = {(x.principle, x.text) for x in v.violations}
    assert ("reflect_not_prescribe", "You should") in spans
    assert ("reflect_not_prescribe", "Stop organising everything;") in spans
    assert ("no_diagnosis", "codependency") in spans
    assert ("tentative", "You clearly") in spans
    assert '- no_diagnosis: a diagnosis or clinical label: "codependency"' in v.feedback()
    d = v.as_dict()
    assert d["ok"] is False and {"principle", "message", "start", "end", "text", "check"} <= set(d["violations"][0])


@pytest.mark.parametrize("mb, ok", [
    ("It sounds like you feel stuck between staying and going with the Lisbon offer.", True),
    ("You feel stuck between staying and going with the Lisbon offer.", True),  # 'stuck' is the writer's word
    ("You feel betrayed by everyone around the Lisbon offer and the lists.", False),
    ("Perhaps you feel betrayed by everyone around the Lisbon offer and the lists.", True),
    ("You wrote \"I should just take it\", and the lists of pros and cons come out even.", True),
    ("You wrote that you should take it, and the lists of pros and cons come out even.", True),
    ("You should take it, since the lists of pros and cons come out even.", False),
])
def test_hedges_quotes_and_echoes(mb, ok):
    reflection = ("I got the job offer in Lisbon. Everyone says take it. My lists of pros and cons come out "
                  "even, and I feel stuck between staying and going. I should just take it.")
    assert validate(reflection, mb).ok is ok


def test_writer_own_clinical_words_may_be_mirrored():
    reflection = "My ADHD made today chaotic: three half-finished tasks and a missed call from the clinic."
    assert validate(reflection, "Three half-finished tasks and a missed call; it sounds like your ADHD made "
                                "today chaotic.").ok
    v = validate(reflection, "Three half-finished tasks and a missed call sound like bipolar swings today.")
    assert v.principles == ["no_diagnosis"] and v.violations[0].text == "bipolar"


def test_length_bounds_and_curly_apostrophes():
    reflection = "Walked by the river after work and my head felt quiet for the first time in weeks."
    long = " ".join(["The river after work and a quiet head."] * 20)
    assert [x.message for x in validate(reflection, long).violations][0].startswith("too long: 160 words")
    v = validate(reflection, "Don\u2019t overthink the river walk after work; your head felt quiet.")
    assert v.principles == ["reflect_not_prescribe"] and v.violations[0].text.startswith("Don\u2019t")


def test_edited_constitution(tmp_path):
    path = tmp_path / "mine.yaml"
    data = yaml.safe_load(DEFAULT_CONSTITUTION.read_text(encoding="utf-8"))
    data["principles"].append({
        "id": "no_journey_talk", "description": "Do not call life a journey.",
        "checks": [{"type": "phrases", "message": "journey talk", "patterns": [r"\bjourney\b"]}],
    })
    data["principles"] = [p for p in data["principles"] if p["id"] != "length"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    reflection = "Walked by the river after work and my head felt quiet."
    mb = "The river after work, a quiet head: part of the journey."
    assert validate(reflection, mb).ok  # the shipped constitution has no such rule
    v = validate(reflection, mb, constitution=path)
    assert v.principles == ["no_journey_talk"] and v.violations[0].text == "journey"
    assert validate(reflection, "Quiet.", constitution=path).ok  # length principle removed
    assert "Do not call life a journey." in Constitution.load(path).instructions()


@pytest.mark.parametrize("content, message", [
    ("principles: [\n", "not valid YAML"),
    ("principles:\n  - description: no id\n", r"principles\[0\]: field 'id' is missing"),
    ("principles:\n  - id: x\n    checks:\n      - type: vibes\n", r"principle 'x' checks\[0\]: field 'type'"),
    ("principles:\n  - id: x\n    checks:\n      - type: phrases\n        patterns: ['(unclosed']\n",
     r"principle 'x': bad pattern"),
    ("principles:\n  - id: x\n    checks:\n      - type: phrases\n        patterns: [{a: b}]\n", "not a string"),
])
def test_bad_constitution_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message) as exc:
        validate("text", "text", constitution=path)
    assert str(path) in str(exc.value)


def test_llm_judge_hook():
    reflection = "Walked by the river after work and my head felt quiet."
    mb = "The river after work and a quiet head, for once."

    def judge(r, m):
        assert (r, m) == (reflection, mb)
        return [("grounded", "judge: adds nothing")]

    v = validate(reflection, mb, judge=judge)
    assert v.principles == ["grounded"] and v.violations[0].check == "judge" and v.violations[0].text == mb
    with pytest.raises(InvalidInputError, match="unknown principle 'nope'"):
        validate(reflection, mb, judge=lambda r, m: [("nope", "x")])


@pytest.mark.slow
def test_embedding_similarity_check_with_the_real_model():
    reflection = "Walked by the river after work. The water was high and loud and my head felt quiet."
    on_topic = "It sounds like the loud, high river after work left your head quiet."
    v1 = validate(reflection, on_topic, embedder=True)
    assert v1.ok and v1.scores["similarity"] > 0.6
    off = validate(reflection, "It sounds like the quarterly tax forms and the accountant were stressful.",
                   embedder=True)
    assert off.scores["similarity"] < 0.33
    assert [x.check for x in off.violations if x.principle == "grounded"] == ["overlap", "embedding"]
    # without an embedder the optional check does not run (and the model is not loaded)
    assert "similarity" not in validate(reflection, on_topic).scores
