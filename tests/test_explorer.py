"""The explorer: its state (filters -> frames -> figures -> selected text) and the widgets wired to it,
driven in plain pytest on the analysed sample journal (no browser)."""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import pytest
from plotly.callbacks import Points

from mirror_kit.viz.explorer import Explorer
from mirror_kit.viz.state import ExplorerState

pytestmark = pytest.mark.slow  # needs the analysed sample journal (built once, cached)


def _points(fig) -> int:
    return sum(len(t.x) for t in fig.data)


def test_state_defaults_show_everything(viz_journal):
    s = ExplorerState(viz_journal)
    assert s.identity == "maya" and set(s.identities) == {"maya", "sam"}
    n = len(viz_journal.frame("reflections", "maya"))
    figs = s.figures()
    assert _points(figs["map"]) == n
    assert figs["map"].layout.title.text == f"Reflection map · {n} reflections"
    # the 8 biggest patterns, plus every smaller one that is emerging or fading (grief is small)
    pats = viz_journal.patterns.frame("maya")
    changing_small = pats.iloc[8:]["trend"].isin(["emerging", "fading"]).sum()
    assert len(figs["patterns"].data) == min(8, len(pats)) + changing_small
    assert any("grief" in t.name for t in figs["patterns"].data)
    assert set(figs["tension_map"].data[0].customdata[:, 3]) == set(viz_journal.tensions.frame("maya")["tension_id"])
    assert len(figs["tensions"].data) == 2 * len(viz_journal.tensions.frame("maya"))


def test_date_range_filters_every_view(viz_journal):
    s = ExplorerState(viz_journal, "maya").update(since="2025-01-01", until="2025-03-31")
    refl = viz_journal.frame("reflections", "maya")
    inside = refl[(refl["created_at"] >= "2025-01-01") & (refl["created_at"] < "2025-04-01")]
    figs = s.figures()
    assert _points(figs["map"]) == len(inside) > 0
    for fig in (figs["patterns"], figs["tensions"]):
        xs = pd.to_datetime([x for t in fig.data for x in t.x])
        # periods start on or before `since` (the week of 1 January starts on 30 December)
        assert xs.min() > pd.Timestamp("2025-01-01") - pd.Timedelta(days=7) and xs.max() <= pd.Timestamp("2025-03-31")
    # the tension map is recomputed over the range: occurrences can only shrink
    whole = viz_journal.tensions.map("maya").set_index("tension_id")["occurrences"]
    part = s.tension_summary().set_index("tension_id")["occurrences"]
    assert (part <= whole[part.index]).all() and part.sum() < whole.sum()
    # grief (planted Jan-Mar 2025) is among the biggest patterns of that quarter
    top = s.patterns_frame().head(3)
    assert any("grief" in lab or "oma" in lab or "funeral" in lab for lab in top["label"])


def test_min_confidence_and_pattern_choice(viz_journal):
    s = ExplorerState(viz_journal, "maya")
    conf = s.patterns_frame()["confidence"].sort_values()
    cut = float(conf.iloc[len(conf) // 2])
    s.update(min_confidence=cut)
    kept = s.patterns_frame()
    assert len(kept) < len(conf) and (kept["confidence"] >= cut).all()
    evo_ids = {t.uid[len("pattern-"):] for t in s.pattern_evolution_figure().data}
    assert evo_ids <= set(kept["id"])
    map_names = {t.name for t in s.reflection_map_figure().data} - {"unassigned"}
    assert map_names <= set(kept["label"])
    chosen = list(kept["id"][:2])
    s.update(patterns=chosen)
    assert [t.uid for t in s.pattern_evolution_figure().data] == [f"pattern-{p}" for p in chosen]
    s.update(min_confidence=1.0)
    fig = s.pattern_evolution_figure()
    assert fig.layout.meta["empty"] and "confidence" in fig.layout.meta["reason"]


def test_selection_text_and_pattern_period_click(viz_journal):
    s = ExplorerState(viz_journal, "maya")
    refl = viz_journal.frame("reflections", "maya")
    ids = list(refl["id"][:3])
    sel = s.select(ids, "three")
    assert list(sel["id"]) == ids
    page = s.selection_html()
    assert "three · 3 reflections" in page
    for content in refl["content"][:3]:
        assert html.escape(content.split("\n")[0][:40]) in page
    # a click on the evolution chart: that pattern's reflections in that month only
    pid = s.chosen_patterns()[0]
    got = s.select_pattern_period(pid, "2024-05-01")
    occ = viz_journal.frame("occurrences", "maya")
    want = occ[(occ["pattern_id"] == pid) & (occ["created_at"] >= "2024-05-01") & (occ["created_at"] < "2024-06-01")]
    assert sorted(got["id"]) == sorted(want["reflection_id"]) and len(got) > 0
    assert s.select([]).empty and "Click" in s.selection_html()


def test_unknown_identity_and_filter(viz_journal):
    from mirror_kit.errors import MirrorKitError

    with pytest.raises(MirrorKitError, match="nobody"):
        ExplorerState(viz_journal, "nobody")
    with pytest.raises(TypeError, match="colour"):
        ExplorerState(viz_journal).update(colour="red")
    with pytest.raises(MirrorKitError, match="garbage"):
        ExplorerState(viz_journal).update(since="garbage").reflections()


def test_widgets_drive_every_view_and_show_clicked_text(viz_journal):
    ex = Explorer(viz_journal)
    n_all = _points(ex.figures["map"])
    assert n_all == len(viz_journal.frame("reflections", "maya"))
    before = {k: f.to_json() for k, f in ex.figures.items()}
    ex.since.value = dt.date(2025, 1, 1)  # observe() calls on_change
    ex.until.value = dt.date(2025, 3, 31)
    assert 0 < _points(ex.figures["map"]) < n_all
    assert all(ex.figures[k].to_json() != before[k] for k in ("map", "patterns", "tension_map", "tensions"))
    assert "reflections in range" in ex.status.value
    # the pattern selector lists the patterns of the range; choosing one narrows the evolution chart
    pid = ex.patterns.options[0][1]
    ex.patterns.value = (pid,)
    assert [t.meta for t in ex.figures["patterns"].data] == [f"pattern-{pid}"]
    # lasso-select two points on the map: their text is shown
    trace = ex.figures["map"].data[0]
    ex.on_points(trace, Points(point_inds=[0, 1], trace_name=trace.name, trace_index=0))
    for i in (0, 1):
        rid = trace.customdata[i][0]
        text = viz_journal.reflections.get(rid).content.split("\n")[0][:30]
        assert html.escape(text) in ex.text.value
    assert "2 reflections" in ex.text.value
    # a click on the tension map picks that tension for the evolution view
    tm = ex.figures["tension_map"].data[0]
    tid = tm.customdata[1][3]
    ex.on_points(tm, Points(point_inds=[1], trace_name=tm.name, trace_index=0))
    assert ex.tension.value == tid
    assert [t.meta for t in ex.figures["tensions"].data] == [f"tension-band-{tid}", f"tension-{tid}"]
    assert list(ex.figures["tension_map"].data[0].marker.line.width).count(4) == 1
    # the confidence slider re-filters the selectors and the views
    ex.min_confidence.value = 1.0
    assert ex.patterns.options == () or len(ex.patterns.options) == 0
    assert ex.figures["patterns"].layout.meta["empty"]
    # switching identity resets the choices and shows the other journal
    ex.identity.value = "sam"
    assert ex.state.identity == "sam" and ex.tension.value is None
    assert _points(ex.figures["map"]) == len(viz_journal.frame("reflections", "sam").pipe(
        lambda r: r[(r["created_at"] >= "2025-01-01") & (r["created_at"] < "2025-04-01")]))


def test_unanalysed_journal_shows_why_views_are_empty(journal):
    journal.identities.add("ana")
    journal.reflections.add("ana", "first entry", created_at="2024-01-01T10:00:00Z")
    ex = Explorer(journal)
    for name, fig in ex.figures.items():
        assert fig.layout.meta and fig.layout.meta["empty"], name
        assert "analyze" in fig.layout.meta["reason"]
    assert ex.patterns.options == () and "1 reflection in range" in ex.status.value


def test_journal_figure_conveniences(viz_journal):
    j = viz_journal
    pats = j.patterns.frame("maya")
    fig = j.viz.pattern_evolution("maya", top=3)
    assert [t.meta for t in fig.data] == [f"pattern-{p}" for p in pats["id"][:3]]
    assert [t.meta for t in j.viz.pattern_evolution("maya", patterns=[pats["label"].iloc[4]]).data] == [
        f"pattern-{pats['id'].iloc[4]}"]
    detail = j.viz.pattern(pats["id"].iloc[0])
    occ = j.patterns.get(pats["id"].iloc[0]).occurrences
    word, weight = detail.data[0].y[-1], detail.data[0].x[-1]  # first keyword is drawn on top
    assert weight == pytest.approx(sum(word.lower() in c.lower() for c in occ["content"]) / len(occ))
    assert 0 < weight <= 1 and detail.layout.xaxis.title.text.startswith("share")
    assert sum(detail.data[2].y) == len(occ)  # the timeline counts every occurrence
    tmap = j.viz.tension_map("maya")
    assert list(tmap.data[0].customdata[:, 3]) == list(j.tensions.map("maya")["tension_id"])
    tev = j.viz.tension_evolution("maya", tensions=["solitude_connection"])
    assert [t.meta for t in tev.data] == ["tension-band-solitude_connection", "tension-solitude_connection"]
    scatter = j.viz.tension_scatter("maya", "Solitude / Connection")
    assert len(scatter.data[0].x) == len(j.frame("reflections", "maya"))
    rmap = j.viz.reflection_map("maya", since="2025-01-01", until="2025-01-31")
    assert sum(len(t.x) for t in rmap.data) == len(j.frame("reflections", "maya", since="2025-01-01",
                                                              until="2025-01-31"))
