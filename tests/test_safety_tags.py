"""Tag identity is NFC + Unicode case folding everywhere; the first spelling seen is the one kept."""

from __future__ import annotations

import json
import zipfile

import mirror_kit
from mirror_kit.textnorm import clean_tags, tag_key
from tests.plugins.store import run_cli


def _tags_of(journal) -> dict[str, list[str]]:
    return {r.content: sorted(r.tags) for r in journal.reflections.rows("maya")}


def test_tag_key_folds_non_ascii_case_and_normalisation():
    assert tag_key("Été") == tag_key("ÉTÉ") == tag_key("e\u0301te\u0301") == tag_key("#été ")
    assert tag_key("Straße") == tag_key("STRASSE")
    assert tag_key("Ärger") != tag_key("Arger")
    assert clean_tags(["Été", "été", "  #ÉTÉ", "", "Ärger"]) == ["Été", "Ärger"]


def test_csv_tags_with_a_non_ascii_capital_import_alone_and_next_to_lower_case(tmp_path):
    (tmp_path / "a.csv").write_text("id,date,text,tags\n1,2024-01-01,A summer day,Été\n", encoding="utf-8")
    p = run_cli("--db", "a.db", "import", "a.csv", "--identity", "maya", cwd=tmp_path)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    with mirror_kit.open(tmp_path / "a.db") as j:
        assert _tags_of(j) == {"A summer day": ["Été"]}

    (tmp_path / "b.csv").write_text("id,date,text,tags\n1,2024-01-01,winter,été\n2,2024-07-01,summer,Été\n",
                                    encoding="utf-8")
    with mirror_kit.open(tmp_path / "b.db") as j:
        j.identities.add("maya")
        j.imports.run(tmp_path / "b.csv", "maya")
        assert _tags_of(j) == {"winter": ["été"], "summer": ["été"]}  # one tag, first spelling
        assert list(j.tags.counts()["tag"]) == ["été"]


def test_markdown_and_day_one_tags_with_non_ascii_capitals(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\ndate: 2024-01-01\ntags: [Ärger, ärger]\n---\nA bad day. #ÄRGER\n",
                                encoding="utf-8")
    doc = {"metadata": {}, "entries": [
        {"uuid": "A1", "creationDate": "2024-02-01T10:00:00Z", "text": "Back at school", "tags": ["Éducation"]},
        {"uuid": "A2", "creationDate": "2024-02-02T10:00:00Z", "text": "Exam", "tags": ["e\u0301ducation", "İstanbul"]},
    ]}
    with zipfile.ZipFile(tmp_path / "dayone.zip", "w") as zf:
        zf.writestr("Journal.json", json.dumps(doc))
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("maya")
        j.imports.run(notes, "maya")
        j.imports.run(tmp_path / "dayone.zip", "maya")
        tags = _tags_of(j)
        assert tags["A bad day. #ÄRGER"] == ["Ärger"]
        assert tags["Back at school"] == ["Éducation"] and tags["Exam"] == ["Éducation", "İstanbul"]


def test_filter_tag_and_untag_use_the_same_rule(tmp_path):
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("maya")
        r = j.reflections.add("maya", "By the Bosphorus", "2024-05-01", tags=["İstanbul", "Été"])
        assert [x.id for x in j.reflections.rows("maya", tag="İSTANBUL")] == [r.id]
        assert [x.id for x in j.reflections.rows("maya", tag="ÉTÉ")] == [r.id]
        assert sorted(j.tags.add(r.id, "été")) == ["Été", "İstanbul"]  # no second spelling added
        assert j.tags.remove(r.id, "ÉTÉ") == ["İstanbul"]
        assert j.reflections.rows("maya", tag="nothing") == []
