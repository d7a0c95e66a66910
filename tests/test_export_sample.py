"""Export, import, Markdown and backup on the sample journal, and (slow) after the real analysis:
embeddings from the real model, patterns and tensions from their real estimators."""

from __future__ import annotations

import json

import jsonschema
import pytest
from markdown_it import MarkdownIt

import mirror_kit
from mirror_kit.export import restore, verify_backup
from mirror_kit.export.importer import import_export_file
from mirror_kit.export.validation import export_schema
from mirror_kit.sample import load_sample
from tests.plugins.export import strip_exported_at


def _round_trip(j, tmp_path) -> dict:
    j.exports.json(tmp_path / "first.json")
    with mirror_kit.open(tmp_path / "copy.db") as copy:
        res = import_export_file(copy, tmp_path / "first.json")
        copy.exports.json(tmp_path / "second.json")
    first = (tmp_path / "first.json").read_text(encoding="utf-8")
    assert strip_exported_at(first) == strip_exported_at((tmp_path / "second.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(first), export_schema())
    return res


def test_sample_journal_round_trip_and_markdown(journal, tmp_path):
    load_sample(journal)
    res = _round_trip(journal, tmp_path)
    n = {s["name"]: s["reflections"] for s in journal.stats()}
    assert res["counts"]["reflections"]["added"] == sum(n.values()) and res["conflicts"] == 0
    journal.exports.markdown(tmp_path / "md")
    for name, count in n.items():
        text = (tmp_path / "md" / name / "reflections.md").read_text(encoding="utf-8")
        h3 = [t for t in MarkdownIt("commonmark").parse(text) if t.type == "heading_open" and t.tag == "h3"]
        assert len(h3) == count


@pytest.mark.slow
def test_after_the_real_analysis(journal, tmp_path):
    load_sample(journal)
    journal.analyze("sam")
    res = _round_trip(journal, tmp_path)
    assert res["counts"]["patterns"]["added"] >= 2 and res["counts"]["tension_observations"]["added"] >= 5 * 153
    # the Markdown overview shows the patterns API's own trends
    out = journal.exports.markdown(tmp_path / "md", identity="sam")
    readme = (tmp_path / "md" / "sam" / "README.md").read_text(encoding="utf-8")
    trends = journal.patterns.trends("sam")
    top = journal.conn.execute("SELECT id, label FROM patterns WHERE identity_id = ? ORDER BY size DESC, id LIMIT 1",
                               (journal.identities.get("sam").id,)).fetchone()
    expected = trends.set_index("pattern_id").loc[top["id"], "trend"]
    assert f"**{top['label']}**" in readme and f"trend {expected}" in readme.split("\n## Strongest")[0]
    assert out["identities"]["sam"]["tensions"] == 5
    # the backup keeps what the JSON export leaves out: the embeddings
    journal.exports.backup(tmp_path / "b.zip", passphrase="pw")
    assert verify_backup(tmp_path / "b.zip", passphrase="pw")["counts"]["embeddings"] == 153
    restore(tmp_path / "b.zip", tmp_path / "r.db", passphrase="pw")
    q = "SELECT reflection_id, model, vector FROM embeddings ORDER BY reflection_id, model"
    with mirror_kit.open(tmp_path / "r.db") as r:
        assert r.conn.execute(q).fetchall() == journal.conn.execute(q).fetchall()
