"""Per-identity summaries of tension observations: where a person stands, how much, how it moves.

The one definition of each tension statistic that the API, the explorer/report, the Markdown
export, the mirrorback context and the CLI show: position (intensity-weighted mean), intensity,
occurrences, drift (Mann-Kendall with Sen's slope), the drift and lean labels and the "most
active" ranking. Functions take a long observations frame with columns tension_id, reflection_id,
created_at, position, intensity (one row per reflection and tension) and return DataFrames.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..timeseries import mann_kendall, period_range, period_start, resolve_period

DEFAULT_THRESHOLD = 0.5  # intensity from which a reflection counts as an occurrence of a tension
ALPHA = 0.05  # significance level of a drift
BALANCED = 0.1  # |position| under this reads as balanced between the poles
OBSERVATION_COLUMNS = ["tension_id", "reflection_id", "created_at", "position", "intensity"]


def weighted_position(pos: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted mean and standard deviation of positions (plain ones when every weight is 0).

    pos, w: (n,) positions in [-1, 1] and intensities in [0, 1]; returns (nan, nan) when n == 0.
    """
    if len(pos) == 0:
        return float("nan"), float("nan")
    if w.sum() <= 1e-12:
        w = np.ones_like(pos)
    mean = float(np.average(pos, weights=w))
    return mean, float(np.sqrt(np.average((pos - mean) ** 2, weights=w)))


def summarize(obs: Any, *, threshold: float = DEFAULT_THRESHOLD) -> Any:
    """The one definition of a tension's aggregates: per tension, position (intensity-weighted mean,
    -1 pole a .. +1 pole b), intensity (mean, 0..1), occurrences (rows with intensity >= threshold),
    spread (weighted standard deviation of positions) and n (observations)."""
    import pandas as pd

    rows = []
    for tid, g in obs.groupby("tension_id", sort=False):
        pos, w = g["position"].to_numpy(float), g["intensity"].to_numpy(float)
        mean, spread = weighted_position(pos, w)
        rows.append({
            "tension_id": tid, "position": mean, "intensity": float(w.mean()) if len(w) else float("nan"),
            "occurrences": int((w >= threshold).sum()), "spread": spread, "n": int(len(g)),
        })
    cols = ["tension_id", "position", "intensity", "occurrences", "spread", "n"]
    return pd.DataFrame(rows, columns=cols)


def evolution(obs: Any, *, period: str = "auto", threshold: float = DEFAULT_THRESHOLD) -> Any:
    """Per tension and period (same period rules as patterns): position, intensity, count, occurrences.

    Every period between the first and last reflection has a row; empty ones have count 0 and NaN
    position/intensity (a gap, not a neutral stance).
    """
    import pandas as pd

    cols = ["tension_id", "period", "position", "intensity", "count", "occurrences"]
    if obs.empty:
        return pd.DataFrame(columns=cols)
    period = resolve_period(period, obs["created_at"])
    obs = obs.assign(period=period_start(obs["created_at"], period).to_numpy())
    timeline = period_range(obs["period"].min(), obs["period"].max(), period)
    rows = []
    for tid, g in obs.groupby("tension_id", sort=False):
        by = {p: gg for p, gg in g.groupby("period")}
        for p in timeline:
            gg = by.get(p)
            if gg is None or gg.empty:
                rows.append({"tension_id": tid, "period": p, "position": np.nan, "intensity": np.nan,
                             "count": 0, "occurrences": 0})
                continue
            w = gg["intensity"].to_numpy(float)
            mean, _ = weighted_position(gg["position"].to_numpy(float), w)
            rows.append({"tension_id": tid, "period": p, "position": mean, "intensity": float(w.mean()),
                         "count": int(len(gg)), "occurrences": int((w >= threshold).sum())})
    out = pd.DataFrame(rows, columns=cols)
    out["period"] = pd.to_datetime(out["period"])
    return out


def drift(evo: Any, *, alpha: float = ALPHA) -> Any:
    """Per tension: Mann-Kendall on the period mean positions (empty periods skipped) with Sen's slope.

    drift is the slope in position units per period (sign: towards pole b if > 0); direction is
    `towards_b`, `towards_a` or `stable` (not significant at alpha, `drift_direction`).
    Sources: Mann (1945) / Kendall (1975) test, Sen (1968) slope (`mirror_kit.timeseries.mann_kendall`).
    """
    import pandas as pd

    rows = []
    for tid, g in evo.groupby("tension_id", sort=False):
        mk = mann_kendall(g.sort_values("period")["position"].to_numpy(float))
        direction = drift_direction(mk["slope"], mk["p_value"], alpha=alpha)
        rows.append({"tension_id": tid, "drift": mk["slope"], "tau": mk["tau"], "p_value": mk["p_value"],
                     "periods": mk["n"], "direction": direction})
    return pd.DataFrame(rows, columns=["tension_id", "drift", "tau", "p_value", "periods", "direction"])


def drift_direction(slope: float, p_value: float, *, alpha: float = ALPHA) -> str:
    """`towards_b`/`towards_a` when Mann-Kendall's p_value < alpha and Sen's slope is non-zero, else `stable`."""
    if p_value == p_value and p_value < alpha and slope == slope and slope != 0:
        return "towards_b" if slope > 0 else "towards_a"
    return "stable"


def lean(position: float) -> str:
    """Which way a position leans: `a`, `b` or `balanced` (|position| < BALANCED)."""
    if position != position or abs(position) < BALANCED:
        return "balanced"
    return "b" if position > 0 else "a"


def lean_phrase(position: float, axis_a: str, axis_b: str) -> str:
    """Words for a position: `balanced` or `leans toward <pole name>` (see `lean`)."""
    side = lean(position)
    return "balanced" if side == "balanced" else f"leans toward {axis_b if side == 'b' else axis_a}"


def rank_active(summary: Any) -> Any:
    """Most active first: by occurrences, then mean intensity (then id); adds a 1-based `rank` column.

    The first row is what every view calls the "strongest" tension.
    """
    if summary.empty:
        return summary.assign(rank=[])
    out = summary.sort_values(["occurrences", "intensity", "tension_id"], ascending=[False, False, True],
                              kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def ranked_summary(obs: Any, definitions: Any, *, threshold: float = DEFAULT_THRESHOLD) -> Any:
    """`summarize` joined with the definitions (id, name, axis_a, axis_b), ranked by `rank_active`.

    Columns: tension_id, name, axis_a, axis_b, position, intensity, occurrences, spread, n, rank.
    Observations of a tension without a definition keep its id as name and `a`/`b` as poles.
    """
    import pandas as pd

    summary = summarize(obs, threshold=threshold)
    defs = pd.DataFrame(definitions)
    defs = (defs[["id", "name", "axis_a", "axis_b"]].rename(columns={"id": "tension_id"}) if len(defs)
            else pd.DataFrame(columns=["tension_id", "name", "axis_a", "axis_b"]))
    out = summary.merge(defs, on="tension_id", how="left")
    out["name"] = out["name"].fillna(out["tension_id"])
    out["axis_a"] = out["axis_a"].fillna("a")
    out["axis_b"] = out["axis_b"].fillna("b")
    cols = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences", "spread", "n"]
    return rank_active(out[cols])


def map_data(summary: Any, definitions: Any) -> Any:
    """2D map rows: tension_id, name, axis_a, axis_b, position, intensity, occurrences (ranked)."""
    merged = definitions.merge(summary, left_on="id", right_on="tension_id", how="inner")
    cols = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences"]
    return rank_active(merged[cols + ["spread"]])[cols].reset_index(drop=True)
