"""One definition per statistic: the Markdown export, the report state and the aggregate functions
agree on the strongest tension and on the emerging/fading patterns of the analysed sample journal."""

from __future__ import annotations

import html
import re

import pandas as pd

from mirror_kit.patterns.evolution import evolution_frame, trends_frame
from mirror_kit.tensions import aggregate
from mirror_kit.viz.report import ReportContext
from mirror_kit.viz.state import ExplorerState


def _markdown_sections(root, name):
    readme = (root / name / "README.md").read_text(encoding="utf-8")
    patterns = (root / name / "patterns.md").read_text(encoding="utf-8")
    strongest = re.search(r"## Strongest tensions\n\n1\. \*\*(.+?)\*\*", readme).group(1)
    trends = dict(re.findall(r"^## (.+)\n(?:\n- .*)*?\n- Trend: (\w+)", patterns, flags=re.MULTILINE))
    return strongest, trends


def test_markdown_report_and_aggregate_agree_on_strongest_tension_and_changing_patterns(
        viz_journal_copy, tmp_path):
    j = viz_journal_copy
    j.exports.markdown(tmp_path / "md")
    checked_changes = 0
    for ident in j.identities.rows():
        who = ident.name
        md_strongest, md_trends = _markdown_sections(tmp_path / "md", who)

        # the aggregate functions straight on the stored observations
        obs = j.frame("observations", who)[aggregate.OBSERVATION_COLUMNS]
        defs = j.tensions.definitions(who)
        direct = aggregate.ranked_summary(obs, defs)
        assert md_strongest == direct["name"].iloc[0]
        # the report state and the journal API rank the same way
        state = ExplorerState(j, who)
        assert state.tension_summary()["name"].iloc[0] == md_strongest
        assert j.tensions.frame(who)["name"].iloc[0] == md_strongest
        assert f"Strongest tension: <b>{html.escape(md_strongest)}</b>" in ReportContext(j, who).tensions_html()
        # positions agree too (the Markdown once used another weighting in the mirrorback context)
        pd.testing.assert_series_equal(
            state.tension_summary().set_index("tension_id")["position"].sort_index(),
            direct.set_index("tension_id")["position"].sort_index(), check_names=False)

        # emerging / fading patterns: share per period, period choice and rules from evolution.py
        pats = j.patterns.frame(who)
        occ = j.frame("occurrences", who)
        dates = j.frame("reflections", who)["created_at"]
        labels = dict(zip(pats["id"], pats["label"], strict=True))
        direct_trends = trends_frame(evolution_frame(occ[["pattern_id", "created_at"]], dates, "auto", labels))
        by_label = dict(zip(direct_trends["label"], direct_trends["trend"], strict=True))
        state_trends = state.pattern_trends()
        state_by_label = dict(zip(state_trends["label"], state_trends["trend"], strict=True))
        changing = {lbl for lbl, t in by_label.items() if t in ("emerging", "fading")}
        assert {lbl for lbl, t in md_trends.items() if t in ("emerging", "fading")} == changing
        assert {lbl for lbl, t in state_by_label.items() if t in ("emerging", "fading")} == changing
        assert all(md_trends[lbl] == by_label[lbl] for lbl in changing)
        checked_changes += len(changing)
    assert checked_changes >= 1  # the sample journal plants at least one emerging or fading theme


def test_mirrorback_context_uses_the_weighted_position_and_ranking(viz_journal_copy):
    from mirror_kit.mirrorback.engine import MirrorbackEngine

    j = viz_journal_copy
    who = j.identities.rows()[0].name
    rid = j.frame("reflections", who)["id"].iloc[-1]
    ctx = MirrorbackEngine(j, llm="echo").context(j.reflections.get(rid))
    direct = aggregate.ranked_summary(j.frame("observations", who)[aggregate.OBSERVATION_COLUMNS],
                                      j.tensions.definitions(who))
    assert [t["id"] for t in ctx["tensions"]] == list(direct["tension_id"][:5])
    assert [t["position"] for t in ctx["tensions"]] == [round(float(p), 2) for p in direct["position"][:5]]
