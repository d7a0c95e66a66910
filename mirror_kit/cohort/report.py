"""The cohort's HTML report: the project's pattern and tension figures for the whole cohort, plus
group comparisons, in one offline file (plotly.js inline once, the project's figure config).

Every figure is computed from analysis/*.parquet with DuckDB (aggregates only), so the report's
memory does not grow with the cohort. Group figures take one value per participant (their mean
share of a pattern, their mean position on a tension) and show each group's mean with a 95%
t-interval over participants, the same units `compare_groups` tests.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from .analyze import ANALYSIS, aggregator, weighted_position_sql
from .build import CohortError

GROUP_COLUMNS = ["feature", "group", "n", "mean", "low", "high"]


def _src(p: Path) -> str:
    return "read_parquet('" + str(p).replace("'", "''") + "')"


def read_meta(root: Path) -> dict:
    """analysis/_analysis.json (period, tensions) written by `analyze`; {} for an older analysis."""
    import json

    try:
        return json.loads((root / ANALYSIS / "_analysis.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def pattern_evolution(root: Path, patterns: Any, period: str) -> Any:
    """Cohort-wide share of each pattern per period, in the shape of `patterns.evolution.evolution_frame`
    (pattern_id, label, period, count, total, share; zero-filled periods, share = count / total)."""
    import pandas as pd

    from ..timeseries import period_range

    src = _src(root / ANALYSIS / "assignments.parquet")
    con = aggregator(root / ANALYSIS)
    try:
        counts = con.sql(f"SELECT pattern, date_trunc('{period}', created_at AT TIME ZONE 'UTC') AS period, "
                         f"count(*) AS n FROM {src} GROUP BY 1, 2").df()
    finally:
        con.close()
    cols = ["pattern_id", "label", "period", "count", "total", "share"]
    if counts.empty:
        return pd.DataFrame(columns=cols)
    counts["period"] = pd.to_datetime(counts["period"])
    grid = period_range(counts["period"].min(), counts["period"].max(), period)
    grid = pd.DatetimeIndex(pd.to_datetime(grid))
    total = counts.groupby("period")["n"].sum().reindex(grid, fill_value=0)
    labels = dict(zip(patterns["pattern"], patterns["label"], strict=False))
    frames = []
    for pid in sorted(labels):
        c = counts[counts["pattern"] == pid].groupby("period")["n"].sum().reindex(grid, fill_value=0)
        frames.append(pd.DataFrame({"pattern_id": str(pid), "label": str(labels[pid]), "period": grid,
                                    "count": c.to_numpy().astype(int), "total": total.to_numpy().astype(int)}))
    from ..patterns.evolution import with_shares

    return with_shares(frames, period, cols)


def tension_evolution(root: Path, tension_ids: list[str], period: str) -> Any:
    """Cohort-wide position (intensity-weighted mean, as `tensions.aggregate.weighted_position`; plain
    mean when every weight is 0) and mean intensity per tension and period: tension_id, period,
    position, intensity, count."""
    import pandas as pd

    src = _src(root / ANALYSIS / "assignments.parquet")
    parts = []
    for tid in tension_ids:
        w = f'"{tid}__intensity"'
        parts.append(
            f"SELECT '{tid}' AS tension_id, date_trunc('{period}', created_at AT TIME ZONE 'UTC') AS period, "
            f"{weighted_position_sql(tid)} AS position, "
            f"avg({w}) AS intensity, count(*) AS count FROM {src} GROUP BY 2")
    if not parts:
        return pd.DataFrame(columns=["tension_id", "period", "position", "intensity", "count"])
    con = aggregator(root / ANALYSIS)
    try:
        out = con.sql(" UNION ALL ".join(parts) + " ORDER BY 1, 2").df()
    finally:
        con.close()
    out["period"] = pd.to_datetime(out["period"])
    out.attrs["period"] = period
    return out


def group_means(summary: Any, groups: Any, features: list[str]) -> Any:
    """Per feature and group: participants n, mean of their per-participant values and a 95%
    t-interval (low, high; NaN with fewer than 2 participants)."""
    import pandas as pd
    from scipy import stats

    df = summary.merge(groups, on="participant", how="inner")
    rows = []
    for f in features:
        for g, d in df.groupby("group", sort=True):
            v = d[f].dropna().to_numpy(float)
            m = float(v.mean()) if len(v) else np.nan
            lo = hi = np.nan
            if len(v) >= 2:
                half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
                lo, hi = m - half, m + half
            rows.append({"feature": f, "group": str(g), "n": len(v), "mean": m, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def group_figure(means: Any, names: dict[str, str], *, title: str, axis: str, share: bool) -> Any:
    """Grouped bars (one per group) per feature with the 95% interval over participants as error bars."""
    import plotly.graph_objects as go

    from ..viz.plots import _layout, stable_colours

    groups = sorted(means["group"].unique())
    colours = stable_colours(groups)
    fig = go.Figure()
    fmt = ".1%" if share else "+.2f"
    for g in groups:
        d = means[means["group"] == g]
        x = [names.get(f, f) for f in d["feature"]]
        fig.add_trace(go.Bar(
            x=x, y=d["mean"], name=f"{g}", marker=dict(color=colours[str(g)]), uid=f"group-{g}",
            error_y=dict(type="data", symmetric=False, array=(d["high"] - d["mean"]).fillna(0),
                         arrayminus=(d["mean"] - d["low"]).fillna(0), visible=True),
            customdata=list(zip(d["n"], d["low"], d["high"], strict=True)),
            hovertemplate=(f"<b>{html.escape(str(g))}</b> · %{{x}}<br>mean %{{y:{fmt}}} over %{{customdata[0]}} "
                           f"participants<br>95% interval %{{customdata[1]:{fmt}}} … %{{customdata[2]:{fmt}}}"
                           "<extra></extra>"),
        ))
    _layout(fig, title, barmode="group", height=480, margin=dict(l=70, r=20, t=60, b=140))
    fig.update_yaxes(title_text=axis, tickformat=".0%" if share else None,
                     **({"rangemode": "tozero"} if share else {"range": [-1.05, 1.05], "zeroline": True}))
    fig.layout.meta = {"empty": False}
    return fig


def figures(root: Path) -> list[tuple[str, str, Any]]:
    """(name, heading, figure) of the report, in order; group figures only with a participants CSV."""
    import pandas as pd

    from ..patterns.evolution import trends_frame
    from ..viz import plots

    a = root / ANALYSIS
    meta = read_meta(root)
    period = meta.get("period", "month")
    patterns = pd.read_parquet(a / "patterns.parquet")
    tensions = pd.DataFrame(meta.get("tensions", []), columns=["tension_id", "name", "axis_a", "axis_b"])
    evo = pattern_evolution(root, patterns, period)
    trends = trends_frame(evo) if len(evo) else None
    out = [("pattern-evolution", "How patterns evolve across the cohort",
            plots.pattern_evolution(evo, trends, top=12, title="Share of the cohort's reflections per pattern"))]
    tev = tension_evolution(root, list(tensions["tension_id"]), period)
    out.append(("tension-evolution", "How tensions move across the cohort",
                plots.tension_evolution(tev, tensions, title="Cohort position between each tension's poles")))
    groups_path = a / "groups.parquet"
    if groups_path.exists():
        summary = pd.read_parquet(a / "participants.parquet")
        groups = pd.read_parquet(groups_path)
        k = [f"pattern_{i}" for i in patterns["pattern"]]
        names = {f"pattern_{p}": f"{p}: {lab}" for p, lab in zip(patterns["pattern"], patterns["label"], strict=False)}
        out.append(("group-patterns", "Pattern share by group (one value per participant)",
                    group_figure(group_means(summary, groups, [c for c in k if c in summary]), names,
                                 title="Mean share of each pattern per participant, by group (95% interval)",
                                 axis="share of a participant's reflections", share=True)))
        pos = [f"{t}__position" for t in tensions["tension_id"] if f"{t}__position" in summary]
        tnames = {f"{r.tension_id}__position": f"{r.name} ({r.axis_a} ↔ {r.axis_b})" for r in tensions.itertuples()}
        out.append(("group-tensions", "Tension position by group (one value per participant)",
                    group_figure(group_means(summary, groups, pos), tnames,
                                 title="Mean position per participant, by group (95% interval; −1 first pole)",
                                 axis="position (−1 … +1)", share=False)))
    return out


CSS = ("body{font-family:Inter,Helvetica,Arial,sans-serif;margin:2em;max-width:1100px}"
       ".warn{color:#a33;border-left:4px solid #a33;padding-left:.6em}"
       "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
       ".fig{margin:1em 0 2em}")


def stale_analysis(root: Path) -> str | None:
    """A one-line warning when the cohort was rebuilt after its analysis, else None."""
    from .analyze import build_stamp

    made_from = read_meta(root).get("built")
    if made_from is None or made_from == build_stamp(root):
        return None
    return ("The cohort was rebuilt after this analysis: these figures show the earlier build; "
            "run `mirror-kit cohort analyze` again.")


def write_report(root: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the cohort report to `out`: figures, then the patterns and group-test tables.

    One HTML file that works offline: plotly.js inline once, no external resources, no cloud buttons.
    When the cohort was rebuilt after the analysis, the report says so at the top.
    Raises CohortError when the cohort has not been analysed.
    """
    import pandas as pd
    from plotly.offline import get_plotlyjs

    from ..viz.plots import dark_figure_css, plotly_config

    root = Path(root)
    a = root / ANALYSIS
    for name in ("patterns", "participants", "assignments"):
        if not (a / f"{name}.parquet").exists():
            raise CohortError(f"{root}: no {name} yet (run `mirror-kit cohort analyze`)")
    parts = [f"<h1>Cohort report</h1><p>{html.escape(root.name)}</p>"]
    stale = stale_analysis(root)
    if stale:
        parts.append(f"<p class='warn'><b>{html.escape(stale)}</b></p>")
    for name, heading, fig in figures(root):
        parts.append(f"<h2>{html.escape(heading)}</h2><div class='fig'>"
                     + fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
                                   config=plotly_config()) + "</div>")
    pat = pd.read_parquet(a / "patterns.parquet")
    keep = [c for c in ("pattern", "label", "keywords", "size", "participants", "sample_size", "confidence",
                        "cohesion", "stability") if c in pat]
    parts.append("<h2>Patterns</h2>" + pat[keep].to_html(index=False, escape=True, float_format="%.3f"))
    if (a / "comparison.parquet").exists():
        parts.append("<h2>Group tests (one value per participant; Welch and Mann-Whitney, BH q-values)</h2>"
                     + pd.read_parquet(a / "comparison.parquet").to_html(index=False, float_format="%.4g"))
    n = len(pd.read_parquet(a / "participants.parquet", columns=["participant"]))
    parts.append(f"<p>{n} participants.</p>")
    doc = ("<!doctype html><html><head><meta charset='utf-8'><title>Cohort report</title>"
           f"<style>{CSS}\n@media (prefers-color-scheme: dark){{body{{background:#111;color:#e8e8e8}}}}\n"
           f"{dark_figure_css('html[data-theme=dark]')}</style>"
           f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
           + "".join(parts) + "</body></html>")
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, out)
    return out
