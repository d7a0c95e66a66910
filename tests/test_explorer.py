"""The explorer: its state (filters -> frames -> figures -> selected text) and the widgets wired to it,
driven in plain pytest on the analysed sample journal (no browser)."""

from __future__ import annotations

import datetime as dt
import html
import re

import numpy as np
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


def _bar_at(fig, pid: str, period: str):
    """(trace, point index) of pattern `pid`'s bar at `period` (YYYY-MM-DD) in the evolution chart."""
    for t in fig.data:
        for i, cd in enumerate(t.customdata):
            if cd[3] == pid and cd[4] == period:
                return t, i
    raise AssertionError(f"no bar for {pid} at {period}")


def test_click_on_a_bar_opens_that_patterns_reflections_of_that_period(viz_journal):
    ex = Explorer(viz_journal)
    fig = ex.figures["patterns"]
    assert fig.layout.hovermode == "closest" and all(t.type == "bar" for t in fig.data)
    occ = viz_journal.frame("occurrences", "maya")
    # two patterns drawn at the same month: each click gets its own pattern's reflections
    a, b = (t.customdata[0][3] for t in fig.data[:2])
    both = ({cd[4] for cd in fig.data[0].customdata if cd[0] > 0} & {cd[4] for cd in fig.data[1].customdata if cd[0] > 0})
    period = min(both)
    end = (pd.Timestamp(period) + pd.DateOffset(months=1)).strftime("%Y-%m-%d")
    for pid in (a, b):
        trace, i = _bar_at(fig, pid, period)
        ex.on_points(trace, Points(point_inds=[i], trace_name=trace.name, trace_index=0))
        want = occ[(occ["pattern_id"] == pid) & (occ["created_at"] >= period) & (occ["created_at"] < end)]
        got = ex.state.selected_frame()
        assert sorted(got["id"]) == sorted(want["reflection_id"]) and len(got) == trace.customdata[i][0] > 0
        label = want["pattern"].iloc[0]
        assert set(got["pattern"]) == {label}
        assert f"{html.escape(label)} · {pd.Timestamp(period):%B %Y}" in ex.text.value


def test_reading_panel_scrolls_pages_and_never_says_nan(viz_journal):
    ex = Explorer(viz_journal)
    # ipywidgets 8 layouts know `overflow`, not `overflow_y` (which is dropped): the panel scrolls
    assert ex.text.layout.overflow == "auto" and ex.text.layout.max_height
    assert "overflow_y" not in ex.text.layout.keys
    pats = ex.state.patterns_frame()
    ex.patterns.value = (pats["id"].iloc[0],)  # one pattern chosen: the others' reflections have none
    refl = viz_journal.frame("reflections", "maya")
    ids = list(refl["id"][:60])
    ex.state.select(ids, "sixty")
    ex.show_page(0)
    assert ex.text.value.count("class='mk-reflection'") == 25 and "page 1 of 3" in ex.text.value
    assert ex.prev_page.disabled and not ex.next_page.disabled
    seen = []
    for _ in range(3):
        page = ex.text.value
        assert "nan" not in page.replace("nancy", "")
        seen += re.findall(r"<small>(\d{4}-\d\d-\d\d \d\d:\d\d) · ([^<]+)</small>", page)
        ex.next_page.click()
    assert len(seen) == 60 and ex.next_page.disabled and "page 3 of 3" in ex.text.value
    labels = {lab for _, lab in seen}
    assert "no pattern" in labels and labels <= {"no pattern", html.escape(pats["label"].iloc[0])}


def test_sub_range_text_and_figures_use_the_same_statistics(viz_journal):
    from mirror_kit.patterns.evolution import evolution_frame, trends_frame
    from mirror_kit.tensions import aggregate
    from mirror_kit.viz.plots import TREND_MARK
    from mirror_kit.viz.report import ReportContext

    since, until = "2025-01-01", "2025-03-31"
    rep = ReportContext(viz_journal, "maya", since=since, until=until)
    s, figs = rep.state, rep.figures()
    # the range's statistics are the services' functions fed with the range's data only
    refl = viz_journal.frame("reflections", "maya", since=since, until=until)
    occ = viz_journal.frame("occurrences", "maya", since=since, until=until)
    period = s.period_in_use()
    labels = dict(zip(s.data.patterns["id"], s.data.patterns["label"], strict=True))
    want = trends_frame(evolution_frame(occ, refl["created_at"], period=period, labels=labels))
    got = s.pattern_trends()
    assert dict(zip(got["pattern_id"], got["trend"], strict=True)) == dict(
        zip(want["pattern_id"], want["trend"], strict=True))
    # ...and they differ from the whole journal's (else this test would prove nothing)
    whole = viz_journal.patterns.trends("maya")
    assert dict(zip(whole["pattern_id"], whole["trend"], strict=True)) != dict(
        zip(got["pattern_id"], got["trend"], strict=True))
    # the text's trend per pattern is the one in the chart's legend
    table = rep.pattern_table()
    legend = {t.customdata[0][2]: t.name for t in figs["patterns"].data}
    for r in table.itertuples():
        if r.label in legend:
            assert legend[r.label].endswith(f"({TREND_MARK[r.trend]})"), (r.label, legend[r.label], r.trend)
    text = _visible(rep.patterns_html())
    moving = table.loc[table["trend"].isin(["emerging", "fading"]), "label"]
    assert ("none clearly emerging or fading" in text) == moving.empty
    # tensions: drift in the text == drift in the chart's panel titles == aggregate.drift on the range
    obs = viz_journal.frame("observations", "maya", since=since, until=until)
    drift = aggregate.drift(aggregate.evolution(obs, period=period)).set_index("tension_id")["direction"]
    ttext = _visible(rep.tensions_html())
    items = {_visible(li).split(" (")[0].strip(): _visible(li) for li in rep.tensions_html().split("<li>")[1:]}
    titles = " ".join(a.text for a in figs["tensions"].layout.annotations)
    for r in rep.tension_table().head(5).itertuples():
        assert r.direction == drift[r.tension_id]
        drifting = r.direction in ("towards_a", "towards_b")
        assert (f"{r.name}<br>drifting" in titles) == drifting
        assert ("drifting towards" in items[r.name]) == drifting
    whole_drift = viz_journal.tensions.frame("maya").set_index("tension_id")["direction"]
    assert (whole_drift != "stable").any()
    # the strongest tension of the text is the biggest bubble of the map
    tm = figs["tension_map"].data[0]
    biggest = tm.text[int(np.argmax(tm.marker.size))]
    assert f"Strongest tension: {biggest} ." in ttext


def _visible(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def test_pattern_colours_stay_the_same_in_every_view_and_filter(viz_journal):
    s = ExplorerState(viz_journal, "maya")

    def colours():
        out = {}
        for t in s.pattern_evolution_figure().data:
            out.setdefault(t.customdata[0][2], set()).add(t.marker.color)
        for t in s.reflection_map_figure().data:
            if t.name != "unassigned":
                out.setdefault(t.name, set()).add(t.marker.color)
        return out

    before = colours()
    assert all(len(c) == 1 for c in before.values())  # the map and the chart agree
    shown = list(before)
    assert len({next(iter(before[lab])) for lab in shown}) == len(shown)  # distinguishable
    s.update(since="2025-01-01", until="2025-03-31")
    after_range = colours()
    pats = s.patterns_frame()
    s.update(patterns=list(pats["id"][2:4]), since=None, until=None)
    after_choice = colours()
    for other in (after_range, after_choice):
        for lab, c in other.items():
            if lab in before:
                assert c == before[lab], lab
    # a fresh state (a new session, a re-read journal) gives the same colours
    assert ExplorerState(viz_journal, "maya").pattern_colours() == s.pattern_colours()


def test_sparse_periods_are_pooled_and_short_or_empty_ranges_say_so(viz_journal):
    from mirror_kit.timeseries import period_range, period_start, resolve_period

    for who in ("maya", "sam"):
        s = ExplorerState(viz_journal, who)
        r = s.reflections()["created_at"]
        p = s.period_in_use()
        assert p == resolve_period("auto", r)  # the period every other view uses: same statistics
        counts = period_start(r, p).value_counts().reindex(period_range(r.min(), r.max(), p), fill_value=0)
        fig = s.pattern_evolution_figure()
        window = fig.layout.meta["pooled"]
        # a sparse journal (sam, ~4 a week) is drawn with pooled shares, each resting on >= 5 reflections
        assert (window > 1) == (counts.median() < 5), (who, p, counts.median())
        if window > 1:
            assert f"pooled over {window} {p}s" in fig.layout.yaxis.title.text
            pooled = counts.rolling(window, center=True, min_periods=1).sum()
            assert pooled.median() >= 5
            raw = np.array([cd[0] / cd[1] for cd in fig.data[0].customdata])
            drawn = np.array(fig.data[0].y, dtype=float)
            assert np.abs(np.diff(drawn)).mean() < np.abs(np.diff(raw)).mean()  # no 0-100 % zig-zag
    # less than a month: daily or weekly points, an axis in days (not milliseconds), data drawn
    s = ExplorerState(viz_journal, "sam").update(since="2025-02-03", until="2025-02-16")
    assert s.period_in_use() in ("day", "week")
    fig = s.pattern_evolution_figure()
    assert not fig.layout.meta["empty"] and len(fig.data) > 0
    lo, hi = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert pd.Timedelta(days=7) <= hi - lo <= pd.Timedelta(days=40)
    assert s.tension_evolution_figure().layout.meta["period"] == s.period_in_use()
    # a range without reflections, and a reversed one: say what is empty, not "run analyze"
    s = ExplorerState(viz_journal, "maya").update(since="2030-01-01", until="2030-02-01")
    for name, f in s.figures().items():
        assert f.layout.meta["empty"] and "No reflections between 2030-01-01 and 2030-02-01" in f.layout.meta[
            "reason"], name
        assert "analyze" not in f.layout.meta["reason"]
    s.update(since="2025-03-01", until="2025-01-01")
    for f in s.figures().values():
        assert "reversed" in f.layout.meta["reason"] and "analyze" not in f.layout.meta["reason"]
    ex = Explorer(viz_journal)
    ex.since.value, ex.until.value = dt.date(2025, 3, 1), dt.date(2025, 1, 1)
    assert "reversed" in ex.status.value


def _widgets(root):
    """Every widget under `root` (its children, recursively)."""
    yield root
    for child in getattr(root, "children", ()):
        yield from _widgets(child)


def test_plotly_js_travels_in_one_widget_however_many_explorers_a_kernel_shows(viz_journal):
    from mirror_kit.viz.board import PlotlyLibrary

    ex, other = Explorer(viz_journal), Explorer(viz_journal, "sam")
    # every widget either explorer would send to the page, boards' references followed
    sent = {w.model_id: w for e in (ex, other) for root in (e.widget, e.board.lib) for w in _widgets(root)}
    carriers = [w for w in sent.values() if len(str(getattr(w, "_esm", ""))) > 1_000_000]
    assert len(carriers) == 1 and isinstance(carriers[0], PlotlyLibrary)
    assert ex.board.lib is other.board.lib is carriers[0]
    assert ex.board.get_state()["lib"] == f"anywidget:{carriers[0].model_id}"
    assert not any(type(w).__name__ == "FigureWidget" for w in _widgets(ex.widget))
    assert sorted(ex.board.views) == sorted(ex.figures) and all(getattr(ex.board, f"fig_{v}") for v in ex.board.views)


def test_lasso_over_several_map_traces_selects_all_their_reflections_and_lights_them_up(viz_journal):
    ex = Explorer(viz_journal)
    fig = ex.figures["map"]
    picked = [(0, 0), (0, 1), (1, 0)]
    ids = {fig.data[c].customdata[i][0] for c, i in picked}
    # what the page sends after a lasso (trace index, point index); junk indices are ignored
    ex.board._message(ex.board, {"kind": "select", "view": "map", "points": [*picked, [99, 0]]}, [])
    assert set(ex.state.selected) == ids and "3 points selected on the map" in ex.text.value
    lit = ex.board.highlight["map"]
    assert {fig.data[int(c)].customdata[i][0] for c, inds in lit.items() for i in inds} == ids
    # the bars of the patterns those reflections belong to, in their periods, light up too
    assert any(ex.board.highlight["patterns"].values())
    # a click on a bar replaces the selection (and its highlight)
    fig_p = ex.figures["patterns"].data[0].customdata
    bar = next(i for i, cd in enumerate(fig_p) if cd[0] > 0)
    ex.board._message(ex.board, {"kind": "click", "view": "patterns", "points": [[0, bar]]}, [])
    assert len(ex.state.selected) == fig_p[bar][0]
    assert sum(len(v) for v in ex.board.highlight["map"].values()) == fig_p[bar][0]


def test_search_box_selects_matching_reflections_in_range_and_an_empty_box_clears(viz_journal):
    ex = Explorer(viz_journal)
    ex.since.value = dt.date(2025, 1, 1)
    hits = viz_journal.search("work", identity="maya", k=500, mode="text", since="2025-01-01")
    assert len(hits)
    ex.search.value = "work"
    assert sorted(ex.state.selected) == sorted(hits["reflection_id"])
    assert f"search “work” · {len(hits)} reflection" in ex.text.value
    assert sum(len(v) for v in ex.board.highlight["map"].values()) == len(hits)
    ex.search.value = "zzzzqqq"
    assert "no reflection in range matches" in ex.text.value and ex.board.highlight == {}
    ex.search.value = ""
    assert ex.state.selected == [] and "Click or lasso-select" in ex.text.value


def test_search_follows_a_new_date_range(viz_journal):
    ex = Explorer(viz_journal)
    ex.since.value = dt.date(2025, 1, 1)
    ex.search.value = "work"
    narrow = viz_journal.search("work", identity="maya", k=500, mode="text", since="2025-01-01")
    wide = viz_journal.search("work", identity="maya", k=500, mode="text", since="2024-06-01")
    assert len(wide) > len(narrow) > 0
    ex.since.value = dt.date(2024, 6, 1)
    assert sorted(ex.state.selected) == sorted(wide["reflection_id"])
    assert f"search “work” · {len(wide)} reflection" in ex.text.value
    assert sum(len(v) for v in ex.board.highlight["map"].values()) == len(wide)


def test_renaming_the_chosen_pattern_shows_the_name_in_every_view_and_stores_it(viz_journal_copy, viz_journal):
    ex = Explorer(viz_journal_copy)
    first = ex.patterns.options[0][1]
    old_label = viz_journal_copy.patterns.get(first).label
    ex.rename.value = "Marathon training"
    ex.on_rename()  # nothing chosen yet: says what to do, changes nothing
    assert "exactly one pattern" in ex.status.value
    assert viz_journal_copy.patterns.get(first).label != "Marathon training"
    ex.patterns.value = (first,)
    ex.on_rename()
    assert "Marathon training" in ex.status.value
    assert viz_journal_copy.patterns.get(first).label == "Marathon training"
    assert dict((v, k) for k, v in ex.patterns.options)[first].startswith("Marathon training")
    assert any(t.name.startswith("Marathon training") for t in ex.figures["patterns"].data)
    # the map groups its points by the name the occurrences carry: the new one, never the old one
    map_names = {t.name for t in ex.figures["map"].data}
    assert "Marathon training" in map_names and old_label not in map_names
    # a name another pattern has is refused in the status line, and nothing changes
    ex.patterns.value = (ex.patterns.options[1][1],)
    ex.rename.value = "marathon TRAINING"
    ex.on_rename()
    assert "already called" in ex.status.value
    # a read-only journal refuses in one line and the Explorer keeps working
    ro = Explorer(viz_journal)
    assert ro.rename.disabled and ro.rename_button.disabled and "writable" in ro.rename.placeholder
    assert not ex.rename.disabled
    ro.patterns.value = (ro.patterns.options[0][1],)
    ro.rename.value = "x"
    ro.on_rename()
    assert "read-only" in ro.status.value and "Traceback" not in ro.status.value
