"""Figures (mirror_kit.viz.plots): data, readable defaults, determinism, empty states, 10k points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mirror_kit.viz import plots


def _evolution(n_periods: int = 12) -> pd.DataFrame:
    periods = pd.date_range("2024-01-01", periods=n_periods, freq="MS")
    rows = []
    total = 20
    for i, p in enumerate(periods):
        for pid, label, count in (("p1", "running", i), ("p2", "office", max(0, 10 - i)), ("p3", "garden", 3),
                                  ("p4", "music", 1)):
            rows.append({"pattern_id": pid, "label": label, "period": p, "count": count, "total": total,
                         "share": count / total})
    return pd.DataFrame(rows)


def _trends() -> pd.DataFrame:
    return pd.DataFrame({"pattern_id": ["p1", "p2", "p3", "p4"], "label": ["running", "office", "garden", "music"],
                         "trend": ["emerging", "fading", "stable", "stable"], "slope": [0.05, -0.05, 0, 0],
                         "p_value": [0.001, 0.001, 0.9, 0.9]})


def test_pattern_evolution_top_patterns_trends_and_dates():
    fig = plots.pattern_evolution(_evolution(), _trends(), top=3)
    assert [t.uid for t in fig.data] == ["pattern-p1", "pattern-p2", "pattern-p3"]  # by total count
    assert fig.data[0].name == "running (↑ emerging)"
    assert fig.data[1].name == "office (↓ fading)" and fig.data[1].marker.pattern.shape == "/"
    assert fig.layout.xaxis.type == "date" and fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert list(fig.data[0].y) == pytest.approx([i / 20 for i in range(12)])
    # hover shows counts of the period and a click names its own pattern and period:
    # customdata = (count, total, label, pattern_id, period)
    assert tuple(fig.data[0].customdata[5]) == (5, 20, "running", "p1", "2024-06-01")
    # stacked bars, hover on the point under the cursor (a unified hover mixes the patterns of a date)
    assert all(t.type == "bar" for t in fig.data) and fig.layout.barmode == "stack"
    assert fig.layout.hovermode == "closest"
    lines = plots.pattern_evolution(_evolution(), _trends(), patterns=["p4", "p2"], stacked=False)
    assert [t.uid for t in lines.data] == ["pattern-p4", "pattern-p2"] and lines.data[0].type == "scatter"
    assert lines.data[1].line.dash == "dot" and lines.layout.hovermode == "closest"


def test_pattern_evolution_empty_states():
    empty = plots.pattern_evolution(pd.DataFrame(), None)
    assert empty.layout.meta["empty"] and "analyze" in empty.layout.meta["reason"]
    assert empty.layout.annotations[0].text.replace("<br>", " ") == empty.layout.meta["reason"] and len(empty.data) == 0
    assert max(len(line) for line in empty.layout.annotations[0].text.split("<br>")) <= 38  # fits a phone
    none_chosen = plots.pattern_evolution(_evolution(), _trends(), patterns=["nope"])
    assert none_chosen.layout.meta["empty"] and "chosen" in none_chosen.layout.meta["reason"]


def test_figures_are_deterministic():
    a = plots.pattern_evolution(_evolution(), _trends()).to_json()
    b = plots.pattern_evolution(_evolution(), _trends()).to_json()
    assert a == b
    rng = np.random.default_rng(3)
    E = rng.standard_normal((300, 16)).astype(np.float32)
    refl = pd.DataFrame({"id": [f"r{i}" for i in range(300)],
                         "created_at": pd.date_range("2024-01-01", periods=300, freq="D", tz="UTC"),
                         "content": [f"entry {i}" for i in range(300)]})
    labels = pd.Series([f"p{i % 4}" for i in range(300)])
    assert plots.reflection_map(refl, E, labels=labels).to_json() == plots.reflection_map(
        refl, E.copy(), labels=labels.copy()).to_json()


def _tension_frames():
    periods = pd.date_range("2024-01-01", periods=6, freq="MS")
    rows = []
    for i, p in enumerate(periods):
        rows.append({"tension_id": "solitude_connection", "period": p, "position": -0.5 + 0.2 * i,
                     "intensity": 0.6, "count": 10, "occurrences": 6})
        empty = i == 3  # a month without reflections: a gap, not a neutral stance
        rows.append({"tension_id": "being_doing", "period": p, "position": np.nan if empty else 0.1,
                     "intensity": np.nan if empty else 0.3, "count": 0 if empty else 4, "occurrences": 1})
    evo = pd.DataFrame(rows)
    tens = pd.DataFrame({
        "tension_id": ["solitude_connection", "being_doing"], "name": ["Solitude / Connection", "Being / Doing"],
        "axis_a": ["solitude", "being"], "axis_b": ["connection", "doing"], "position": [0.0, 0.1],
        "intensity": [0.6, 0.3], "occurrences": [36, 5], "drift": [0.2, 0.0], "p_value": [0.001, 0.8],
        "direction": ["towards_b", "stable"]})
    return evo, tens


def test_tension_evolution_panels_poles_band_and_gaps():
    evo, tens = _tension_frames()
    fig = plots.tension_evolution(evo, tens)
    uids = [t.uid for t in fig.data]
    assert uids == ["tension-band-solitude_connection", "tension-solitude_connection",
                    "tension-band-being_doing", "tension-being_doing"]
    line = fig.data[1]
    assert list(line.y) == pytest.approx([-0.5 + 0.2 * i for i in range(6)])
    band = fig.data[0]
    assert band.fill == "toself" and len(band.x) == 12
    assert max(band.y) == pytest.approx(min(1.0, 0.5 + 0.3))  # position + intensity / 2
    assert len(fig.data[3].x) == 5  # the empty month is left out
    assert list(fig.layout.yaxis.ticktext) == ["solitude", "0", "connection"]
    assert list(fig.layout.yaxis2.ticktext) == ["being", "0", "doing"]
    titles = [a.text for a in fig.layout.annotations]
    assert "drifting towards connection" in titles[0] and "drifting" not in titles[1]
    assert fig.layout.xaxis2.type == "date"
    one = plots.tension_evolution(evo, tens, tension="being_doing")
    assert [t.uid for t in one.data] == ["tension-band-being_doing", "tension-being_doing"]
    assert plots.tension_evolution(evo, tens, tension="nope").layout.meta["empty"]
    assert plots.tension_evolution(pd.DataFrame(), tens).layout.meta["empty"]


def test_tension_map_sizes_hover_colours_and_highlight():
    _, tens = _tension_frames()
    fig = plots.tension_map(tens, highlight="being_doing")
    tr = fig.data[0]
    assert list(tr.x) == [0.0, 0.1] and list(tr.y) == [0.6, 0.3]
    assert tr.marker.size[0] > tr.marker.size[1]  # more occurrences, bigger marker
    assert list(tr.marker.line.width) == [1, 4]
    assert list(tr.customdata[0][:2]) == ["solitude", "connection"]
    # the same tension has the same colour here and in the evolution panels
    evo, _ = _tension_frames()
    colours = {t.uid: t.line.color for t in plots.tension_evolution(evo, tens).data if t.mode}
    assert tr.marker.color[0] == colours["tension-solitude_connection"]
    assert plots.tension_map(tens.iloc[:0]).layout.meta["empty"]


def test_tension_scatter_text_and_empty():
    obs = pd.DataFrame({"tension_id": ["t1", "t1", "t2"], "reflection_id": ["a", "b", "c"],
                        "position": [-0.4, 0.3, 0.9], "intensity": [0.2, 0.8, 0.5]})
    refl = pd.DataFrame({"id": ["a", "b", "c"], "content": ["<b>bold</b> text", "two", "three"],
                         "created_at": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-03"], utc=True)})
    fig = plots.tension_scatter(obs, tension="t1", reflections=refl)
    tr = fig.data[0]
    assert isinstance(tr, go.Scattergl) and list(tr.y) == [0.3, -0.4]  # chronological
    assert tr.customdata[1][1] == "&lt;b&gt;bold&lt;/b&gt; text"
    assert fig.layout.xaxis.type == "date"
    assert plots.tension_scatter(obs, tension="zz", reflections=refl).layout.meta["empty"]


def test_project_2d_is_pca_deterministic_and_handles_tiny_inputs():
    rng = np.random.default_rng(0)
    # a clear main direction: the first coordinate must carry the most variance
    X = rng.standard_normal((500, 8)) * np.array([5, 2, 1, 1, 1, 1, 1, 1])
    xy = plots.project_2d(X)
    assert xy.shape == (500, 2)
    assert np.var(xy[:, 0]) > np.var(xy[:, 1]) > 0
    # the same as PCA up to the sign convention
    Xc = X - X.mean(0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    ref = Xc @ vt[:2].T
    for k in range(2):
        assert abs(np.corrcoef(xy[:, k], ref[:, k])[0, 1]) == pytest.approx(1.0, abs=1e-9)
    assert np.array_equal(plots.project_2d(X), xy)
    # signs fixed by the data, not by the solver: reversing the row order gives the same points
    assert np.allclose(plots.project_2d(X[::-1])[::-1], xy)
    assert plots.project_2d(np.zeros((0, 4))).shape == (0, 2)
    assert plots.project_2d(np.ones((1, 4))).shape == (1, 2)


def test_reflection_map_10k_points_one_webgl_trace_per_pattern():
    n = 10_000
    rng = np.random.default_rng(1)
    E = rng.standard_normal((n, 384)).astype(np.float32)
    refl = pd.DataFrame({"id": [f"r{i:05d}" for i in range(n)],
                         "created_at": pd.date_range("2020-01-01", periods=n, freq="6h", tz="UTC"),
                         "content": ["<script>alert(1)</script> " + "word " * 60] * n})
    labels = pd.Series([None if i % 10 == 0 else f"theme {i % 7}" for i in range(n)])
    fig = plots.reflection_map(refl, E, labels=labels)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert sum(len(t.x) for t in fig.data) == n
    assert fig.data[-1].name == "unassigned" and fig.data[-1].marker.color == plots.UNASSIGNED_COLOUR
    assert len({t.marker.color for t in fig.data}) == len(fig.data)
    first = fig.data[0].customdata[0]
    assert first[0].startswith("r") and len(first[1]) == 10  # id, date
    assert "<script>" not in first[2] and first[2].endswith("…") and len(first[2]) < 200
    assert fig.layout.dragmode == "lasso"
    assert plots.reflection_map(refl.iloc[:0], E[:0]).layout.meta["empty"]


def test_pattern_detail_keyword_formats_and_timeline():
    evo = _evolution()
    for kws in (["alpha", "beta"], [["alpha", 0.9], ["beta", 0.5]], [{"term": "alpha", "weight": 0.9},
                                                                      {"term": "beta", "weight": 0.5}]):
        fig = plots.pattern_detail({"id": "p1", "label": "running", "keywords": kws,
                                    "representatives": ["first <i>one</i>", {"content": "second"}]}, evo)
        bars = fig.data[0]
        assert list(bars.y) == ["beta", "alpha"]
        assert fig.data[1].cells.values[0][0] == "first &lt;i&gt;one&lt;/i&gt;"
        assert list(fig.data[2].y) == list(range(12))
    assert plots.pattern_detail({}).layout.meta["empty"]


def test_pattern_evolution_leaves_out_periods_without_reflections():
    ev = _evolution(4)
    ev.loc[ev["period"] == ev["period"].iloc[1], ["count", "total", "share"]] = 0
    fig = plots.pattern_evolution(ev, None, patterns=["p1"])
    assert len(fig.data[0].x) == 3  # the silent month is a gap, not a 0 % share


def test_stable_colours_come_from_the_id_and_stay_distinct():
    ids = [f"pat-{i:03d}" for i in range(12)]
    a = plots.stable_colours(ids)
    assert a == plots.stable_colours(list(reversed(ids)))  # not from the order given
    assert len(set(a.values())) == len(ids)  # no two alike while the palette has room
    assert set(a.values()) <= set(plots.PALETTE)
    # a pattern that does not collide keeps its colour whatever else is drawn with it
    alone = {i: plots.stable_colours([i])[i] for i in ids}
    assert sum(a[i] == alone[i] for i in ids) >= len(ids) // 2
    # the evolution chart and the map take the same colours for the same patterns
    ev = _evolution()
    fig = plots.pattern_evolution(ev, _trends())
    by_id = plots.stable_colours(ev["pattern_id"].unique())
    assert {t.customdata[0][3]: t.marker.color for t in fig.data} == {p: by_id[p] for p in ("p1", "p2", "p3", "p4")}


def test_no_figure_offers_a_cloud_action():
    import json

    import plotly.io as pio

    for key in ("displaylogo", "showSendToCloud"):
        assert plots.PLOTLY_CONFIG[key] is False
    assert {"sendDataToCloud", "editInChartStudio"} <= set(plots.PLOTLY_CONFIG["modeBarButtonsToRemove"])
    legacy = plots.plotly_config(legacy=True)
    assert legacy["showLink"] is False and legacy["showEditInChartStudio"] is False and legacy["linkText"] == ""
    # every renderer `fig.show()` can use carries the config (set once, on import)
    for name in ("plotly_mimetype", "jupyterlab", "notebook", "vscode", "iframe"):
        conf = pio.renderers[name].config
        assert conf["displaylogo"] is False and "sendDataToCloud" in conf["modeBarButtonsToRemove"], name
    # and the layout of every figure drops the buttons for front ends that ignore the config
    figs = [plots.pattern_evolution(_evolution(), _trends()), plots.empty_figure("x"),
            plots.tension_map(_tension_frames()[1]), plots.tension_evolution(*_tension_frames())]
    for fig in figs:
        assert {"sendDataToCloud", "editInChartStudio"} <= set(fig.layout.modebar.remove)
    html_div = figs[0].to_html(include_plotlyjs=False, config=plots.plotly_config())
    assert '"showSendToCloud": false' in html_div and '"displaylogo": false' in html_div
    fw = go.FigureWidget(figs[0])
    fw._config = plots.plotly_config(legacy=True)
    assert json.loads(json.dumps(fw._config))["showLink"] is False


def test_tension_figures_name_their_poles_and_explain_the_band():
    evo, tens = _tension_frames()
    fig = plots.tension_evolution(evo, tens)
    caption = " ".join(a.text for a in fig.layout.annotations)
    assert "not an uncertainty" in caption and "intensity" in caption
    obs = pd.DataFrame({"tension_id": ["t1"], "reflection_id": ["a"], "position": [0.2], "intensity": [0.5],
                        "created_at": pd.to_datetime(["2024-01-02"], utc=True), "content": ["x " * 200]})
    sc = plots.tension_scatter(obs, tension="t1", name="Solitude / Connection", axis_a="solitude",
                               axis_b="connection")
    assert sc.layout.title.text == "Reflections on Solitude / Connection (solitude ↔ connection)"
    assert list(sc.layout.yaxis.ticktext) == ["solitude", "0", "connection"]
    # long hover text is wrapped so the label fits inside the figure
    assert all(len(line) <= 60 for line in sc.data[0].customdata[0][1].split("<br>"))


def _label_boxes(fig):
    """Each tension-map label's estimated box in px (as `labels.place_labels` sees it)."""
    from mirror_kit.viz import labels

    w, h = plots.TENSION_MAP_PLOT_PX
    (x0, x1), y_top = plots.TENSION_MAP_X, fig.layout.yaxis.range[1]
    out = []
    for a in fig.layout.annotations:
        cx = (a.x - x0) / (x1 - x0) * w + a.ax
        cy = a.y / y_top * h - a.ay
        out.append(labels.label_box(cx, cy, labels.text_size(a.text, a.font.size)))
    return out


@pytest.mark.parametrize("spread", [0.001, 0.3], ids=["crowded", "spread"])
def test_tension_map_labels_never_overlap_and_point_at_their_own_bubble(spread):
    from mirror_kit.viz import labels

    names = ["solitude ↔ connection", "being ↔ doing", "rest ↔ ambition", "safety ↔ adventure",
             "order ↔ play", "self ↔ others", "now ↔ later", "a much longer tension name ↔ another"]
    tens = pd.DataFrame({"tension_id": [f"t{i}" for i in range(8)], "name": names,
                         "axis_a": ["a"] * 8, "axis_b": ["b"] * 8,
                         "position": [0.1 + spread * ((i % 4) - 1.5) for i in range(8)],
                         "intensity": [0.5 + spread * 0.3 * (i // 4) for i in range(8)],
                         "occurrences": [10 + i for i in range(8)]})
    fig = plots.tension_map(tens)
    assert fig.data[0].mode == "markers"  # names are not drawn as point text that can collide
    anns = list(fig.layout.annotations)
    assert [a.text for a in anns] == [n.replace("<", "&lt;") for n in names]
    # each label's anchor is its own bubble, and a line joins them
    for a, row in zip(anns, tens.itertuples(), strict=True):
        assert (a.x, a.y) == (row.position, row.intensity) and a.showarrow
    boxes = _label_boxes(fig)
    clashes = [(i, j) for i in range(8) for j in range(i + 1, 8) if labels.overlaps(boxes[i], boxes[j])]
    assert clashes == []
    # and no label covers a bubble's centre
    x0, x1 = plots.TENSION_MAP_X
    w, h = plots.TENSION_MAP_PLOT_PX
    for row in tens.itertuples():
        px, py = (row.position - x0) / (x1 - x0) * w, row.intensity / fig.layout.yaxis.range[1] * h
        assert not any(b[0] < px < b[2] and b[1] < py < b[3] for b in boxes)
    # deterministic: the same map gives the same places
    assert plots.tension_map(tens).to_json() == fig.to_json()


def test_pattern_evolution_says_how_many_patterns_it_leaves_out():
    ev = _evolution()
    assert plots.pattern_evolution(ev, _trends(), top=3).layout.title.subtitle.text == "3 of 4 patterns shown"
    assert plots.pattern_evolution(ev, _trends(), top=8).layout.title.subtitle.text is None
    # already cut to a choice by the caller: `of` still counts the ones in range
    cut = ev[ev["pattern_id"].isin(["p1", "p4"])]
    fig = plots.pattern_evolution(cut, _trends(), patterns=["p1", "p4"], of=4)
    assert fig.layout.title.subtitle.text == "2 of 4 patterns shown"
