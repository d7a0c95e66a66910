"""Tension definitions: the seeds, the shareable file format and its validation (no model needed)."""

from __future__ import annotations

import json

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.tensions.definition import (
    SEED_IDS,
    Tension,
    load_tension,
    load_tensions,
    save_tensions,
    seed_tensions,
)


def test_seeds_have_exact_ids_and_pole_order():
    seeds = seed_tensions()
    assert [t.id for t in seeds] == list(SEED_IDS) == [
        "solitude_connection", "surrender_agency", "stability_change", "being_doing", "reason_feeling"]
    poles = [(t.axis_a, t.axis_b) for t in seeds]
    assert poles == [("solitude", "connection"), ("surrender", "agency"), ("stability", "change"),
                     ("being", "doing"), ("reason", "feeling")]
    for t in seeds:
        assert t.a.description and t.b.description
        # Many varied anchors per pole; no phrase sits on both sides of an axis.
        assert len(t.a.anchors) >= 15 and len(t.b.anchors) >= 15
        assert len(set(t.a.anchors)) == len(t.a.anchors)
        assert not set(t.a.anchors) & set(t.b.anchors)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_and_load_round_trip(tmp_path, suffix):
    t = seed_tensions()[2]
    path = save_tensions(t, tmp_path / f"t{suffix}")
    back = load_tension(path)
    assert back == t
    if suffix == ".json":
        assert json.loads(path.read_text())["tensions"][0]["id"] == "stability_change"
    assert not list(tmp_path.glob(".*tmp"))  # the temp file was renamed, not left behind


def test_single_mapping_file_and_derived_id(tmp_path):
    p = tmp_path / "work.yaml"
    p.write_text(
        "name: Work / Family\n"
        "a: {name: Work, description: career, anchors: [I stayed late at the office.]}\n"
        "b: {name: Family Life, anchors: [I had dinner with my kids.]}\n"
    )
    t = load_tension(p)
    assert t.id == "work_family_life"
    assert (t.axis_a, t.axis_b) == ("Work", "Family Life")
    assert t.phrases("a") == ["I stayed late at the office."]


def test_description_alone_defines_a_pole():
    t = Tension.from_dict({"id": "x", "name": "X", "a": {"name": "p", "description": "quiet mornings"},
                           "b": {"name": "q", "anchors": ["loud parties"]}})
    assert t.phrases("a") == ["quiet mornings"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: {name: x, anchors: [hi]}\n", "field 'b'"),
        ("id: x\na: {name: '', anchors: [hi]}\nb: {name: y, anchors: [ho]}\n", "a.name"),
        ("id: x\na: {name: p, anchors: [1, 2]}\nb: {name: y, anchors: [ho]}\n", "a.anchors"),
        ("id: x\na: {name: p}\nb: {name: y, anchors: [ho]}\n", "needs anchors or a description"),
        ("id: 'Bad Id!'\na: {name: p, anchors: [x]}\nb: {name: y, anchors: [ho]}\n", "field id"),
        ("[unclosed\n", "not valid YAML/JSON"),
        ("tensions: []\n", "non-empty"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path, text, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(InvalidInputError) as exc:
        load_tensions(p)
    assert needle in str(exc.value)
    assert str(p) in str(exc.value)


def test_duplicate_ids_and_missing_file(tmp_path):
    p = tmp_path / "dup.yaml"
    one = {"id": "x", "a": {"name": "p", "anchors": ["a"]}, "b": {"name": "q", "anchors": ["b"]}}
    p.write_text(json.dumps({"tensions": [one, one]}))
    with pytest.raises(InvalidInputError, match="duplicate tension id"):
        load_tensions(p)
    with pytest.raises(InvalidInputError, match="no such file"):
        load_tensions(tmp_path / "nope.yaml")
    with pytest.raises(InvalidInputError, match="expected one tension"):
        save_tensions(seed_tensions()[:2], tmp_path / "two.json")
        load_tension(tmp_path / "two.json")
