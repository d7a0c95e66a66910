"""Figures: one function per figure, each takes frames from the journal API and returns a
`plotly.graph_objects.Figure` (it never shows anything itself).

Every figure is deterministic (no unseeded randomness, fixed trace uids), uses a colour-blind-safe
palette, labels its axes, and returns an explanatory empty-state figure instead of raising when
there is nothing to draw.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

# Okabe & Ito (2008), then Paul Tol's "muted": distinguishable with the common colour-vision deficiencies.
PALETTE = (
    # Okabe & Ito's black is a mid grey here: black marks vanish on a dark page.
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#8C8C8C",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
)
UNASSIGNED_COLOUR = "#BBBBBB"
TREND_MARK = {"emerging": "↑ emerging", "fading": "↓ fading", "stable": "→ stable", "recurring": "↻ recurring"}
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13)
LEGEND_ROW_PX = 22  # height of one legend row at FONT's size
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30.44, "quarter": 91.3}

# Modebar buttons that would send a figure (whose hover texts are reflection snippets) to a cloud
# service. Current plotly.js keeps only "sendDataToCloud" (hidden by default); older bundles, such
# as one a JupyterLab or VS Code extension may ship, also have "editInChartStudio" and a "Produced
# with Plotly" link: everything is switched off here, in the one config every view uses.
CLOUD_BUTTONS = ("sendDataToCloud", "editInChartStudio")
PLOTLY_CONFIG: dict = {
    "displaylogo": False,
    "showSendToCloud": False,
    "modeBarButtonsToRemove": list(CLOUD_BUTTONS),
    "responsive": True,
}
# Options only older plotly.js bundles read. Plotly's Python side warns about them (into the page)
# where it checks a config (`to_html`, renderers), so they go only where a front end reads the
# config unchecked: the notebook mimetype bundle and FigureWidget.
LEGACY_CLOUD_OFF: dict = {"showEditInChartStudio": False, "showLink": False, "linkText": ""}


# Figures draw on a transparent background in ink that reads on white; a dark page recolours the
# ink with `dark_figure_css` (stylesheet `!important` beats the inline styles plotly.js writes), so one
# figure follows the light or dark theme of whatever page or front end shows it, with no redraw.
TRANSPARENT = "rgba(0,0,0,0)"
MUTED_INK = "#555555"
DARK_INK = {"text": "#e8e8e8", "grid": "#3b4048", "zero": "#7a808a"}


def dark_figure_css(*scopes: str) -> str:
    """CSS that recolours every figure's text, grid and outlines for a dark page.

    scopes: selectors of a dark page (e.g. `body[data-jp-theme-light="false"]`); each rule applies
    inside any of them. Hover labels are left alone: plotly.js picks their ink against their own
    background, which is the trace's colour."""
    ink, grid, zero = DARK_INK["text"], DARK_INK["grid"], DARK_INK["zero"]
    rules = (
        (".js-plotly-plot .infolayer text, .js-plotly-plot .xtick text, .js-plotly-plot .ytick text, "
         ".js-plotly-plot .textpoint text", f"fill: {ink} !important;"),
        (".js-plotly-plot .gridlayer path", f"stroke: {grid} !important;"),
        (".js-plotly-plot .zerolinelayer path", f"stroke: {zero} !important;"),
        # the outline that marks the chosen tension on the map
        (".js-plotly-plot .scatterlayer .point", f"stroke: {ink} !important;"),
    )
    out = []
    for sel, decl in rules:
        scoped = ", ".join(f"{scope} {part.strip()}" for scope in scopes for part in sel.split(","))
        out.append(f"{scoped} {{ {decl} }}")
    return "\n".join(out)


def plotly_config(*, legacy: bool = False, **overrides) -> dict:
    """A copy of the config every figure is drawn with (no cloud actions); `overrides` are added.

    legacy: also the options of older plotly.js bundles (`LEGACY_CLOUD_OFF`), for front ends that
    pass the config to plotly.js unchecked (mimetype bundles, FigureWidget)."""
    out = {**PLOTLY_CONFIG, "modeBarButtonsToRemove": list(CLOUD_BUTTONS)}
    if legacy:
        out.update(LEGACY_CLOUD_OFF)
    return {**out, **overrides}


def use_private_renderers() -> None:
    """Make `fig.show()` in any notebook front end draw with `PLOTLY_CONFIG` (no cloud actions).

    Plotly's renderers each hold a config dict applied on every show; this fills it in (keeping
    any other keys a user set). Called when this module is imported."""
    import plotly.io as pio

    for name in list(pio.renderers):
        renderer = pio.renderers[name]
        if isinstance(getattr(renderer, "config", None), dict):
            renderer.config.update(plotly_config(responsive=renderer.config.get("responsive", True)))


def stable_colours(ids, *, palette: Sequence[str] = PALETTE) -> dict[str, str]:
    """One colour per id, derived from the id itself so it is the same in every view, filter and run.

    ids: every id that can appear together (e.g. all of an identity's patterns, not only the shown
    ones). Each id's colour is the palette entry its hash points at; when two ids hash to the same
    colour, the one later in id order takes the next free entry, so ids shown together stay
    distinguishable while there are no more ids than colours.
    """
    import hashlib

    out: dict[str, str] = {}
    used: set[int] = set()
    n = len(palette)
    for key in sorted(set(map(str, ids))):
        i = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % n
        if len(used) < n:
            while i in used:
                i = (i + 1) % n
        used.add(i)
        out[key] = palette[i]
    return out


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def tension_colours(tension_ids) -> dict[str, str]:
    """One colour per tension, the same in every figure (`stable_colours` of its id)."""
    return stable_colours(tension_ids)


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    for t in fig.data:
        # FigureWidget replaces uids with random ones; `meta` survives and names the trace for handlers.
        if t.uid and t.meta is None:
            t.meta = t.uid
    # A fixed default height: a responsive figure in a page without a sized container grows to the window.
    kw.setdefault("height", 460)
    if "legend" not in kw:
        # The legend goes under the plot (on the right it takes a third of a phone's width), pinned
        # to the figure's bottom edge: plotly.js then widens the bottom margin to hold it under the
        # axis title. (Placed in plot fractions it met the axis title whenever the ticks or the
        # legend grew.) The figure grows by a row per entry, so the plot keeps its height even
        # where the legend wraps to one entry a row (a phone).
        kw["legend"] = dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0, xanchor="left")
        entries = sum(1 for t in fig.data if getattr(t, "showlegend", False) is not False and t.name)
        if kw.get("showlegend") is not False and entries > 1:
            kw["height"] += LEGEND_ROW_PX * entries
    kw.setdefault("margin", dict(l=60, r=20, t=60, b=50))
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left"),
        template="plotly_white",
        # the page's own background shows through: no white box on a dark page (see `dark_figure_css`)
        paper_bgcolor=TRANSPARENT, plot_bgcolor=TRANSPARENT,
        font=FONT,
        # long hover texts wrap (see `_snippet`) and align left so they stay inside the figure
        hoverlabel=dict(namelength=-1, align="left"),
        # also on the layout: a FigureWidget or a front end that ignores the config still drops them
        modebar=dict(remove=list(CLOUD_BUTTONS), bgcolor=TRANSPARENT, color="#8a8a8a", activecolor="#0072B2"),
        **kw,
    )
    return fig


def empty_figure(reason: str, title: str = "") -> go.Figure:
    """A figure that says why there is nothing to show (instead of an exception or a blank plot)."""
    import html
    import textwrap

    import plotly.graph_objects as go

    fig = go.Figure()
    # plotly never wraps an annotation: lines short enough for a phone's width
    fig.add_annotation(
        text="<br>".join(html.escape(line) for line in textwrap.wrap(reason, 38)) or " ",
        x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font=dict(size=15, color=MUTED_INK),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _layout(fig, title or "Nothing to show", height=300)
    fig.layout.meta = {"empty": True, "reason": reason}
    return fig


def _snippet(text: str, n: int = 140, width: int = 60) -> str:
    """Escaped, shortened text for a hover label: at most `n` characters (cut at a word, "…" marks
    the cut), wrapped at `width` characters so the label stays narrow enough to fit inside the
    figure. Each text costs a few microseconds whatever its length (100k map points)."""
    words = str(text)[: 2 * n].split()  # only the head is ever shown: never split a whole long entry
    t = " ".join(words)
    if len(t) > n - 1:
        cut = t[: n - 1]
        space = cut.rfind(" ")
        t = cut[:space] + " …" if space > 0 else cut + "…"
    return "<br>".join(html.escape(line) for line in _wrap(width).findall(t)) or ""


@cache
def _wrap(width: int):
    """A regex matching greedy lines of at most `width` characters that end at a word (a longer word
    is a line of its own)."""
    import re

    return re.compile(rf"\S.{{0,{width - 1}}}(?=\s|$)|\S+")


def pattern_evolution(
    evolution: pd.DataFrame,
    trends: pd.DataFrame | None = None,
    *,
    patterns: Sequence[str] | None = None,
    top: int = 8,
    stacked: bool = True,
    colours: dict[str, str] | None = None,
    title: str = "How patterns evolve",
    of: int | None = None,
) -> go.Figure:
    """Share of each period's reflections per pattern (stacked bars, or lines), trends in the legend.

    evolution: `journal.patterns.evolution(...)` (pattern_id, label, period, count, total, share).
    trends: `journal.patterns.trends(...)` (pattern_id, trend, slope, p_value), optional.
    patterns: pattern ids to show; default the `top` largest.
    of: how many patterns the range holds, when `evolution` was already cut to a choice; whenever
        fewer are drawn, the subtitle says how many of how many (nothing is left out silently).
    colours: {pattern_id: colour}; default `stable_colours` of every pattern in `evolution`.
    Every point's customdata is (count, total, label, pattern_id, period as YYYY-MM-DD): a click
    names its own pattern and period, whatever else is drawn at that date.
    """
    import plotly.graph_objects as go

    if evolution is None or len(evolution) == 0:
        return empty_figure("No patterns yet: run `mirror-kit analyze --identity NAME` first.", title)
    ev = evolution.copy()
    sizes = ev.groupby("pattern_id")["count"].sum().sort_values(ascending=False, kind="stable")
    if patterns:
        chosen = [p for p in patterns if p in sizes.index]
        if not chosen:
            return empty_figure("None of the chosen patterns occurs in this period.", title)
    else:
        chosen = list(sizes.index[:top])
    trend_of = {}
    if trends is not None and len(trends):
        trend_of = dict(zip(trends["pattern_id"], trends["trend"], strict=False))
    colours = colours or stable_colours(sizes.index)
    period = ev.attrs.get("period")
    window = pooling_window(ev.sort_values("period").drop_duplicates("period")["total"])
    fmt = {"day": "%d %b %Y", "week": "week of %d %b %Y", "quarter": "%b %Y (quarter)"}.get(period, "%b %Y")
    # Bars start at their period and are (almost) one period wide; the axis spans whole periods so
    # one short period still reads as dates, not as milliseconds around one instant.
    step_ms = PERIOD_DAYS.get(period or "month", 30) * 86_400_000
    fig = go.Figure()
    for pid in chosen:
        d = ev[ev["pattern_id"] == pid].sort_values("period")
        # A period without any reflection has no share (not 0 %): leave it out, the line bridges it.
        d = d[d["total"] > 0] if "total" in d else d
        if not len(d):
            continue
        label = str(d["label"].iloc[0])
        trend = trend_of.get(pid)
        name = f"{label} ({TREND_MARK.get(trend, trend)})" if trend else label
        c = colours.get(str(pid), UNASSIGNED_COLOUR)
        periods = [f"{p:%Y-%m-%d}" for p in d["period"]]
        y = d["share"]
        if window > 1:
            # Few reflections a period make shares jump between 0 and 100 %: draw the share of the
            # `window` periods around each one (counts pooled), and say so on the axis.
            full = ev[ev["pattern_id"] == pid].sort_values("period").set_index("period")
            roll = full[["count", "total"]].rolling(window, center=True, min_periods=1).sum()
            y = (roll["count"] / roll["total"].where(roll["total"] > 0)).reindex(d["period"]).to_numpy()
        custom = list(zip(d["count"], d["total"], [label] * len(d), [str(pid)] * len(d), periods, strict=True))
        share = "%{y:.0%}" + (f" over {window} {period or 'period'}s" if window > 1 else "")
        hover = (f"<b>%{{customdata[2]}}</b><br>%{{x|{fmt}}}: %{{customdata[0]}} of %{{customdata[1]}} "
                 f"reflections ({share})<br><i>click to read them</i><extra></extra>")
        if stacked:
            # Stacked bars, not stacked areas: a click lands in exactly one bar, so it names one
            # pattern and one period (an area's click goes to whichever line is nearest).
            fig.add_trace(go.Bar(
                x=d["period"], y=y, name=name, uid=f"pattern-{pid}", marker=dict(
                    color=c, line=dict(width=0),
                    # fading patterns hatched (as the dotted line of the line chart): not by colour alone
                    pattern=dict(shape="/" if trend == "fading" else "", fillmode="overlay", fgcolor="white")),
                customdata=custom, hovertemplate=hover, offset=0, width=0.92 * step_ms,
            ))
        else:
            fig.add_trace(go.Scatter(
                x=d["period"], y=y, name=name, uid=f"pattern-{pid}", mode="lines+markers",
                line=dict(color=c, width=2, dash="solid" if trend != "fading" else "dot"), marker=dict(size=6),
                customdata=custom, hovertemplate=hover,
            ))
    _layout(fig, title, hovermode="closest", barmode="stack" if stacked else None, bargap=0.08)
    drawn, available = len(fig.data), max(int(of or 0), len(sizes))
    if drawn < available:
        # the subtitle needs its own line above the plot
        fig.update_layout(title_subtitle_text=f"{drawn} of {available} patterns shown", margin_t=84)
    pooled = f" (pooled over {window} {period or 'period'}s)" if window > 1 else ""
    fig.update_yaxes(title_text=f"share of the reflections{pooled}", tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title_text=f"{period or 'period'}", type="date", range=_date_range(ev["period"], step_ms))
    fig.layout.meta = {"empty": False, "period": period, "pooled": window}
    return fig


MIN_PER_PERIOD = 5  # median reflections a period under which a chart pools neighbouring periods


def pooling_window(totals, minimum: int = MIN_PER_PERIOD, largest: int = 9) -> int:
    """How many neighbouring periods a chart pools so that each point rests on a median of at least
    `minimum` reflections: 1 (no pooling), 3, 5, ... up to `largest`.

    totals: reflections per period, in time order (empty periods as 0)."""
    import pandas as pd

    t = pd.Series(list(totals), dtype=float)
    if t.empty or t.median() >= minimum:
        return 1
    for w in range(3, largest + 1, 2):
        if t.rolling(w, center=True, min_periods=1).sum().median() >= minimum:
            return w
    return largest


def _date_range(periods, step_ms: float) -> list[str]:
    """An x range from the first period's start to the last period's end (plus a margin)."""
    import pandas as pd

    p = pd.to_datetime(pd.Series(periods))
    step = pd.Timedelta(milliseconds=step_ms)
    return [f"{p.min() - 0.1 * step:%Y-%m-%d %H:%M}", f"{p.max() + 1.1 * step:%Y-%m-%d %H:%M}"]


def tension_evolution(
    evolution: pd.DataFrame,
    tensions: pd.DataFrame | None = None,
    *,
    tension: str | Sequence[str] | None = None,
    title: str = "How tensions move",
) -> go.Figure:
    """Position over time per tension (-1 = first pole, +1 = second pole) with an intensity band.

    evolution: `journal.tensions.evolution(...)` (tension_id, period, position, intensity, count).
    tensions: `journal.tensions.frame(...)` for names and poles (and drift, shown in the panel title).
    One panel per tension (shared time axis), the poles written on its y axis. The band around the
    line is as wide as the period's mean intensity: wide = much engaged. Empty periods are gaps.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if evolution is None or len(evolution) == 0:
        return empty_figure("No tension scores yet: run `mirror-kit analyze --identity NAME` first.", title)
    ev = evolution.copy()
    period = ev.attrs.get("period")
    fmt = {"day": "%d %b %Y", "week": "week of %d %b %Y", "quarter": "%b %Y (quarter)"}.get(period, "%b %Y")
    ids = list(dict.fromkeys(ev["tension_id"]))
    info: dict[str, dict] = {}
    if tensions is not None and len(tensions):
        for r in tensions.to_dict("records"):
            tid = r.get("tension_id", r.get("id"))
            info[tid] = r
        # most active first, as `journal.tensions` ranks them
        ranked = [t for t in (r.get("tension_id", r.get("id")) for r in tensions.to_dict("records")) if t in ids]
        ids = ranked + [t for t in ids if t not in ranked]
    if tension is not None:
        wanted = [tension] if isinstance(tension, str) else list(tension)
        ids = [t for t in ids if t in wanted]
        if not ids:
            return empty_figure(f"No scores for tension {', '.join(wanted)}.", title)
    colours = tension_colours(ev["tension_id"])
    subtitles = []
    for tid in ids:
        r = info.get(tid, {})
        name = r.get("name", tid)
        direction = r.get("direction")
        drift = r.get("drift")
        if direction in ("towards_a", "towards_b") and drift == drift and drift is not None:
            pole = r.get("axis_a") if direction == "towards_a" else r.get("axis_b")
            pv = r.get("p_value", float("nan"))
            # on its own line: one long title line is wider than a phone
            name += f"<br>drifting towards {pole}, {'p<0.001' if pv < 0.001 else f'p={pv:.3f}'}"
        subtitles.append(name)
    fig = make_subplots(rows=len(ids), cols=1, shared_xaxes=True, vertical_spacing=0.35 / max(len(ids), 1),
                        subplot_titles=subtitles)
    for row, tid in enumerate(ids, start=1):
        d = ev[ev["tension_id"] == tid].sort_values("period")
        d = d[d["count"] > 0] if "count" in d else d
        d = d[d["position"].notna()]
        r = info.get(tid, {})
        name, a, b = r.get("name", tid), r.get("axis_a", "−1"), r.get("axis_b", "+1")
        half = d["intensity"].fillna(0) / 2
        c = colours[tid]
        fig.add_trace(go.Scatter(
            x=list(d["period"]) + list(d["period"])[::-1],
            y=list((d["position"] + half).clip(upper=1)) + list((d["position"] - half).clip(lower=-1))[::-1],
            fill="toself", fillcolor=c, opacity=0.2, line=dict(width=0), hoverinfo="skip",
            showlegend=False, uid=f"tension-band-{tid}", name=f"{name} intensity",
        ), row=row, col=1)
        counts = d["count"] if "count" in d else d["intensity"] * 0
        fig.add_trace(go.Scatter(
            x=d["period"], y=d["position"], mode="lines+markers", name=f"{name} ({a} ↔ {b})",
            line=dict(color=c, width=2), marker=dict(size=5), uid=f"tension-{tid}", showlegend=False,
            customdata=list(zip(d["intensity"], counts, strict=True)),
            hovertemplate=f"<b>{html.escape(str(name))}</b><br>%{{x|{fmt}}}: %{{y:+.2f}} "
                          f"({html.escape(str(a))} −1 … +1 {html.escape(str(b))})"
                          "<br>intensity %{customdata[0]:.2f}, %{customdata[1]} reflections<extra></extra>",
        ), row=row, col=1)
        fig.update_yaxes(range=[-1.1, 1.1], tickvals=[-1, 0, 1], ticktext=[str(a), "0", str(b)],
                         zeroline=True, zerolinecolor="#999", row=row, col=1)
        fig.update_xaxes(type="date", row=row, col=1)
    fig.update_xaxes(title_text=period or "period", row=len(ids), col=1)
    if len(ev):
        fig.update_xaxes(range=_date_range(ev["period"], PERIOD_DAYS.get(period or "month", 30) * 86_400_000))
    height = max(360, 110 + 190 * len(ids))
    _layout(fig, title, height=height, showlegend=False, margin=dict(l=90, r=20, t=70, b=110))
    # The band is not a confidence interval: say so under the chart, where every reader sees it.
    fig.add_annotation(
        text="Line: the period's mean position between the two poles.<br>Shaded band: as wide as the "
             "period's mean intensity<br>(wider = more engaged), not an uncertainty.",
        x=0, xref="paper", xanchor="left", y=0, yref="paper", yanchor="top", yshift=-44, showarrow=False,
        font=dict(size=11, color=MUTED_INK), align="left",
    )
    fig.layout.meta = {"empty": False, "period": period}
    return fig


TENSION_MAP_X = (-1.1, 1.1)
# The plot area a tension map's labels are placed for (px): the Explorer's 600 px wide figure less
# its margins. Offsets are in px, so crowded bubbles stay apart at any width; far-apart bubbles'
# labels can come closer on a narrower screen.
TENSION_MAP_PLOT_PX = (520.0, 350.0)
LABEL_FONT_SIZE = 12


def tension_map_labels(x, y, marker_size, names, *, y_top: float, plot_px=TENSION_MAP_PLOT_PX) -> list[dict]:
    """One annotation per tension: its name in a box clear of the other names and bubbles, with a
    line to its own bubble (see `labels.place_labels`).

    x, y: data coordinates (position, intensity); marker_size: bubble diameters in px; y_top: the
    y axis' upper end. Returns plotly annotation dicts whose (x, y) is the bubble and (ax, ay) the
    label's offset in px (ay down, as plotly counts it)."""
    from .labels import place_labels

    w, h = plot_px
    x0, x1 = TENSION_MAP_X
    xs = [(float(v) - x0) / (x1 - x0) * w for v in x]
    ys = [float(v) / y_top * h for v in y]
    radii = [float(s) / 2 for s in marker_size]
    offsets = place_labels(xs, ys, radii, [str(n) for n in names], font_size=LABEL_FONT_SIZE, bounds=(w, h))
    return [dict(x=float(xv), y=float(yv), ax=dx, ay=-dy, axref="pixel", ayref="pixel", text=html.escape(str(n)),
                 showarrow=True, arrowhead=0, arrowwidth=1, arrowcolor="#8a8a8a", standoff=r,
                 font=dict(size=LABEL_FONT_SIZE), xanchor="center", yanchor="middle", name="label")
            for xv, yv, n, (dx, dy), r in zip(x, y, names, offsets, radii, strict=True)]


def tension_map(tension_map: pd.DataFrame, *, highlight: str | None = None,
                title: str = "Tension map") -> go.Figure:
    """Each tension at (position, intensity), marker size by occurrences, poles in the hover.

    tension_map: `journal.tensions.map(identity)` (tension_id, name, axis_a, axis_b, position,
    intensity, occurrences).
    highlight: a tension id drawn with a thick outline (the one selected in the explorer).
    """
    import numpy as np
    import plotly.graph_objects as go

    from ..tensions.aggregate import lean_phrase

    if tension_map is None or len(tension_map) == 0:
        return empty_figure("No tension scores yet: run `mirror-kit analyze --identity NAME` first.", title)
    m = tension_map.reset_index(drop=True)
    occ = m["occurrences"].astype(float).to_numpy()
    size = 14 + 36 * np.sqrt(occ / occ.max()) if occ.max() > 0 else np.full(len(m), 16.0)
    order = tension_colours(m["tension_id"])
    widths = [4 if t == highlight else 1 for t in m["tension_id"]]
    # the one lean rule: no lean stated where no reflection engages the tension
    leans = [lean_phrase(p, a, b, o) for p, a, b, o in zip(m["position"], m["axis_a"], m["axis_b"], m["occurrences"],
                                                             strict=True)]
    fig = go.Figure(go.Scatter(
        # names go in annotations (placed apart, each joined to its own bubble); `text` feeds the hover
        x=m["position"], y=m["intensity"], mode="markers", text=m["name"],
        marker=dict(size=size, color=[order[t] for t in m["tension_id"]], opacity=0.9,
                    line=dict(width=widths, color="#222")),
        customdata=np.stack([m["axis_a"], m["axis_b"], m["occurrences"], m["tension_id"], leans], axis=1),
        hovertemplate="<b>%{text}</b><br>%{customdata[0]} ← %{x:+.2f} → %{customdata[1]}"
                      "<br>%{customdata[4]}<br>intensity %{y:.2f}<br>%{customdata[2]} reflections<extra></extra>",
        uid="tension-map", name="tensions",
    ))
    _layout(fig, title, showlegend=False)
    y_top = max(1.0, float(m["intensity"].max()) + 0.05)
    fig.update_xaxes(title_text="mean position<br>(−1 first pole … +1 second pole)",
                     range=list(TENSION_MAP_X), zeroline=True, tickvals=[-1, 0, 1], ticktext=["first pole", "0", "second pole"])
    fig.update_yaxes(title_text="mean intensity (how engaged)", range=[0, y_top])
    for a in tension_map_labels(m["position"], m["intensity"], size, m["name"], y_top=y_top):
        fig.add_annotation(a)
    return fig


def tension_scatter(
    observations: pd.DataFrame, *, tension: str, reflections: pd.DataFrame | None = None,
    title: str | None = None, name: str | None = None, axis_a: str | None = None, axis_b: str | None = None,
) -> go.Figure:
    """Every reflection's position on one tension over time, coloured by intensity.

    observations: `journal.frame("observations", identity)` (tension_id, reflection_id, position,
    intensity, and created_at or via `reflections`).
    name, axis_a, axis_b: the tension's name and poles, for the title and the y axis (default: the id
    and "−1"/"+1").
    """
    import plotly.graph_objects as go

    a, b = axis_a or "−1", axis_b or "+1"
    title = title or (f"Reflections on {html.escape(name or tension)} ({html.escape(a)} ↔ {html.escape(b)})"
                      if axis_a and axis_b else f"Reflections on {html.escape(name or tension)}")
    if observations is None or len(observations) == 0:
        return empty_figure("No tension scores yet.", title)
    o = observations[observations["tension_id"] == tension]
    if reflections is not None and "created_at" not in o:
        o = o.merge(reflections[["id", "created_at", "content"]], left_on="reflection_id", right_on="id")
    if len(o) == 0:
        return empty_figure(f"No scores for tension {tension}.", title)
    o = o.sort_values(["created_at", "reflection_id"])
    text = [_snippet(t) for t in o["content"]] if "content" in o else list(o["reflection_id"])
    fig = go.Figure(go.Scattergl(
        x=o["created_at"], y=o["position"], mode="markers",
        marker=dict(color=o["intensity"], colorscale="Viridis", cmin=0, cmax=1, size=7,
                    colorbar=dict(title="intensity")),
        customdata=list(zip(o["reflection_id"], text, strict=True)), uid=f"tension-scatter-{tension}",
        hovertemplate=f"%{{x|%Y-%m-%d}}: %{{y:+.2f}} ({html.escape(a)} −1 … +1 {html.escape(b)})"
                      "<br>%{customdata[1]}<extra></extra>", name=name or tension,
    ))
    _layout(fig, title, showlegend=False)
    fig.update_yaxes(title_text="position", range=[-1.1, 1.1], tickvals=[-1, 0, 1], ticktext=[a, "0", b])
    fig.update_xaxes(title_text="date", type="date")
    return fig


def project_2d(embeddings: np.ndarray, random_state: int = 0) -> np.ndarray:
    """A deterministic 2D projection: PCA (the top eigenvectors of the d x d covariance, so the cost
    grows as n*d^2 and 100k points take well under a second), signs fixed so the same data always
    gives the same picture. random_state is accepted for API symmetry; nothing here is random."""
    import numpy as np

    X = np.asarray(embeddings, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        return np.zeros((len(X), 2))
    Xc = X - X.mean(axis=0)
    with _one_blas_thread():
        _, vecs = np.linalg.eigh(Xc.T @ Xc)
    comp = vecs[:, ::-1][:, :2].T  # eigh sorts ascending
    if comp.shape[0] < 2:
        comp = np.vstack([comp, np.zeros((2 - comp.shape[0], X.shape[1]))])
    # Eigenvector signs are arbitrary: make each one's largest-magnitude coordinate positive.
    signs = np.sign(comp[np.arange(2), np.abs(comp).argmax(axis=1)])
    signs[signs == 0] = 1
    with _one_blas_thread():
        return Xc @ (comp * signs[:, None]).T


def _one_blas_thread():
    """One BLAS thread: the same summation order on every run (bit-identical projections), and no
    spinning threads fighting over a busy machine (multi-threaded OpenBLAS was 50x slower here)."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def reflection_map(
    reflections: pd.DataFrame,
    embeddings: np.ndarray,
    *,
    labels: pd.Series | None = None,
    xy: np.ndarray | None = None,
    colours: dict[str, str] | None = None,
    title: str = "Reflection map",
    snippets: Sequence[str] | None = None,
) -> go.Figure:
    """Every reflection as a point (a deterministic 2D projection of its embedding), coloured by pattern.

    reflections: rows aligned with `embeddings` (id, created_at, content).
    labels: pattern label per row (None/NaN = unassigned).
    xy: a projection computed beforehand (e.g. of a whole journal, so filtering keeps points in place);
        `embeddings` is then ignored.
    colours: {label: colour} (the pattern's stable colour); default `stable_colours` of the labels.
    snippets: hover text per row (`_snippet` of its content), made beforehand; default made here.
    """
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    if reflections is None or len(reflections) == 0:
        return empty_figure("No reflections to map (nothing embedded in this range).", title)
    xy = project_2d(embeddings) if xy is None else np.asarray(xy, dtype=float)
    df = reflections.reset_index(drop=True).copy()
    df["x"], df["y"] = xy[:, 0], xy[:, 1]
    df["pattern"] = (labels.reset_index(drop=True) if labels is not None else pd.Series([None] * len(df)))
    df["pattern"] = df["pattern"].fillna("unassigned").astype(str)
    # `tolist` of a string column: iterating the column itself costs more than the snippets
    df["snippet"] = ((snippets.tolist() if hasattr(snippets, "tolist") else list(snippets)) if snippets is not None
                     else [_snippet(t) for t in df["content"].tolist()])
    order = df["pattern"].value_counts(sort=True).index.tolist()
    order = [p for p in order if p != "unassigned"] + (["unassigned"] if "unassigned" in order else [])
    colours = colours or stable_colours([p for p in order if p != "unassigned"])
    fig = go.Figure()
    dates = pd.to_datetime(df["created_at"], utc=True).dt.strftime("%Y-%m-%d")
    for i, p in enumerate(order):
        sel = (df["pattern"] == p).to_numpy()
        d = df[sel]
        fig.add_trace(go.Scattergl(
            x=d["x"], y=d["y"], mode="markers", name=p, uid=f"map-{i}",
            marker=dict(size=6, opacity=0.8, color=colours.get(p, UNASSIGNED_COLOUR)),
            customdata=np.stack([d["id"].astype(str), dates[sel], d["snippet"]], axis=1),
            hovertemplate="<b>%{fullData.name}</b> · %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
        ))
    _layout(fig, title, dragmode="lasso", height=560)
    fig.update_xaxes(title_text="projection 1", showticklabels=False, zeroline=False)
    # one unit is the same length on both axes: distances on the map are not stretched
    fig.update_yaxes(title_text="projection 2", showticklabels=False, zeroline=False, scaleanchor="x",
                     scaleratio=1)
    return fig


def pattern_detail(
    pattern: dict, evolution: pd.DataFrame | None = None, *, title: str | None = None
) -> go.Figure:
    """One pattern: keywords with weights, representative reflections and its timeline.

    pattern: `journal.patterns.get(id)` (label, keywords as [(word, weight)] or [{"term","weight"}],
    representatives, occurrences DataFrame).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not pattern:
        return empty_figure("No such pattern.", title or "Pattern")
    label = pattern.get("label", "pattern")
    title = title or f"Pattern: {label}"
    kws = pattern.get("keywords") or []
    words, weights = [], []
    for k in kws[:12]:
        if isinstance(k, dict):
            words.append(str(k.get("term") or k.get("word") or k.get("keyword")))
            weights.append(float(k.get("weight", k.get("score", 1.0))))
        elif isinstance(k, list | tuple):
            words.append(str(k[0]))
            weights.append(float(k[1]) if len(k) > 1 else 1.0)
        else:
            words.append(str(k))
            weights.append(1.0)
    reps = pattern.get("representatives") or []
    rep_text = []
    for r in reps[:5]:
        rep_text.append(_snippet(r.get("content", r) if isinstance(r, dict) else r, 220))
    fig = make_subplots(
        rows=2, cols=2, specs=[[{"type": "bar"}, {"type": "table"}], [{"type": "scatter", "colspan": 2}, None]],
        column_widths=[0.4, 0.6], row_heights=[0.55, 0.45], vertical_spacing=0.12,
        subplot_titles=("keywords", "representative reflections", "timeline"),
    )
    fig.add_trace(go.Bar(x=weights[::-1], y=words[::-1], orientation="h", marker_color=colour(0),
                         uid="pattern-keywords", name="keywords",
                         hovertemplate="%{y}: %{x:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Table(header=dict(values=["representative reflections"], align="left"),
                           cells=dict(values=[rep_text or ["(none)"]], align="left"), uid="pattern-reps"),
                  row=1, col=2)
    if evolution is not None and len(evolution):
        ev = evolution[evolution["pattern_id"] == pattern.get("id")] if "pattern_id" in evolution else evolution
        ev = ev.sort_values("period")
        fig.add_trace(go.Bar(x=ev["period"], y=ev["count"], marker_color=colour(1), name="reflections",
                             uid="pattern-timeline", customdata=ev["share"],
                             hovertemplate="%{x|%b %Y}: %{y} (%{customdata:.0%})<extra></extra>"), row=2, col=1)
    fig.update_xaxes(title_text=pattern.get("keyword_weight", "weight"), row=1, col=1)
    fig.update_xaxes(title_text="period", type="date", row=2, col=1)
    fig.update_yaxes(title_text="reflections", row=2, col=1)
    _layout(fig, title, showlegend=False, height=620)
    return fig



def _after_import(module: str, hook: Any) -> None:
    """Call `hook()` now if `module` is imported, else as soon as its first import has run.

    plotly's renderers module imports nbformat, whose schema validator builds a grammar on import
    (~0.8 CPU-s): figures drawn on a board never need it, so its config is set when `fig.show()` (or
    anything else) first imports it, not when this module is imported."""
    import importlib.abc
    import importlib.util
    import sys

    if module in sys.modules:
        hook()
        return

    class _Loader(importlib.abc.Loader):
        """The module's own loader, then `hook` (anything else is asked of the loader itself)."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def create_module(self, spec: Any) -> Any:
            return self.inner.create_module(spec)

        def exec_module(self, mod: Any) -> None:
            self.inner.exec_module(mod)
            hook()

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
            if name != module:
                return None
            sys.meta_path.remove(self)  # once; the real finders locate it
            spec = importlib.util.find_spec(name)
            if spec is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader)
            return spec

    sys.meta_path.insert(0, _Finder())


_after_import("plotly.io._renderers", use_private_renderers)
