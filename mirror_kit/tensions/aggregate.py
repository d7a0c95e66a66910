"""Per-identity summaries of tension observations: where a person stands, how much, how it moves.

The one definition of each tension statistic that the API, the explorer/report, the Markdown
export, the mirrorback context and the CLI show: position (intensity-weighted mean), intensity,
occurrences, drift (Mann-Kendall with Sen's slope), the drift and lean labels and the "most
active" ranking. `summarize`/`evolution` take a long observations frame with columns tension_id,
reflection_id, created_at, position, intensity (one row per reflection and tension); they reduce it
to per-day sums (`observation_stats`) and finish from those, exactly as `summarize_stats` /
`evolution_stats` do with the same sums computed in SQLite (`Tensions.stats`), so a journal of
millions of observations never needs its rows in Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..timeseries import mann_kendall, period_range, period_start, resolve_period

DEFAULT_THRESHOLD = 0.5  # intensity from which a reflection counts as an occurrence of a tension
ALPHA = 0.05  # significance level of a drift
BALANCED = 0.1  # |position| under this reads as balanced between the poles
OBSERVATION_COLUMNS = ["tension_id", "reflection_id", "created_at", "position", "intensity"]


STAT_COLUMNS = ["tension_id", "day", "n", "sw", "swp", "swpp", "sp", "spp", "occurrences", "pmin", "pmax",
                "first", "last"]
# Per tension and UTC day, the sufficient statistics every statistic below is finished from: n
# observations, sums of intensity (sw), intensity*position (swp), intensity*position^2 (swpp),
# position (sp) and position^2 (spp), occurrences (intensity >= threshold), the smallest and largest
# position and the first/last reflection time. They add up across days, so a summary or a period
# of any length is a sum of day rows: SQL (`Tensions.stats`) or pandas (`observation_stats`) only
# produce these sums, the formulas live in `_finish` alone.


def weighted_position(pos: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted mean and standard deviation of positions (plain ones when every weight is 0).

    pos, w: (n,) positions in [-1, 1] and intensities in [0, 1]; returns (nan, nan) when n == 0.
    Same reduction as the summaries: the sums of `observation_stats` finished by `_finish`.
    """
    pos, w = np.asarray(pos, dtype=float), np.asarray(w, dtype=float)
    if len(pos) == 0:
        return float("nan"), float("nan")
    sums = {"n": float(len(pos)), "sw": w.sum(), "swp": (w * pos).sum(), "swpp": (w * pos * pos).sum(),
            "sp": pos.sum(), "spp": (pos * pos).sum(), "pmin": pos.min(), "pmax": pos.max()}
    mean, spread = _finish({k: np.array([v]) for k, v in sums.items()})
    return float(mean[0]), float(spread[0])


def _finish(s: Any) -> tuple[np.ndarray, np.ndarray]:
    """(position, spread) arrays from summed statistics (columns n, sw, swp, swpp, sp, spp, pmin, pmax).

    position: the intensity-weighted mean of positions, the plain mean when the weights sum to ~0;
    spread: the matching standard deviation (sqrt(E[p^2] - E[p]^2), never negative from rounding).
    When every position is equal they are exactly that position and 0. NaN where n == 0.
    """
    n = np.asarray(s["n"], dtype=float)
    sw = np.asarray(s["sw"], dtype=float)
    weighted = sw > 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        tot = np.where(weighted, sw, n)
        mean = np.where(weighted, np.asarray(s["swp"], float), np.asarray(s["sp"], float)) / tot
        second = np.where(weighted, np.asarray(s["swpp"], float), np.asarray(s["spp"], float)) / tot
        var = np.clip(second - mean * mean, 0.0, None)
    # one position throughout: exactly it, so equal periods tie exactly in the drift test
    same = np.asarray(s["pmin"], float) == np.asarray(s["pmax"], float)
    var = np.where(same, 0.0, var)
    mean = np.where(n > 0, np.where(same, np.asarray(s["pmin"], float), mean), np.nan)
    return mean, np.where(n > 0, np.sqrt(var), np.nan)


def observation_stats(obs: Any, *, threshold: float = DEFAULT_THRESHOLD) -> Any:
    """Per tension and UTC day, the sums the statistics are finished from (`STAT_COLUMNS`).

    obs: the long observations frame (`OBSERVATION_COLUMNS`). The same rows as `Tensions.stats`
    reads with SQL, so both paths feed the same formulas. Rows ordered by tension_id, day.
    """
    import pandas as pd

    if obs is None or len(obs) == 0:
        return _empty_stats()
    t = pd.to_datetime(obs["created_at"], utc=True)
    p = obs["position"].to_numpy(float)
    w = obs["intensity"].to_numpy(float)
    df = pd.DataFrame({
        "tension_id": obs["tension_id"].astype(object).to_numpy(),
        "day": t.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D").to_numpy(),
        "n": 1, "sw": w, "swp": w * p, "swpp": w * p * p, "sp": p, "spp": p * p,
        "occurrences": (w >= threshold).astype(int), "pmin": p, "pmax": p, "first": t.to_numpy(), "last": t.to_numpy(),
    })
    out = df.groupby(["tension_id", "day"], sort=True).agg(
        n=("n", "sum"), sw=("sw", "sum"), swp=("swp", "sum"), swpp=("swpp", "sum"), sp=("sp", "sum"),
        spp=("spp", "sum"), occurrences=("occurrences", "sum"), pmin=("pmin", "min"), pmax=("pmax", "max"),
        first=("first", "min"), last=("last", "max")).reset_index()
    return _typed_stats(out)


def _empty_stats() -> Any:
    import pandas as pd

    return _typed_stats(pd.DataFrame({c: [] for c in STAT_COLUMNS}))


def _typed_stats(df: Any) -> Any:
    """The stats frame with its dtypes: day naive datetime, first/last tz-aware UTC, counts int."""
    import pandas as pd

    df = df[STAT_COLUMNS].copy()
    df["tension_id"] = df["tension_id"].astype(object)
    df["day"] = pd.to_datetime(df["day"])
    for c in ("first", "last"):
        df[c] = pd.to_datetime(df[c], utc=True)
    for c in ("n", "occurrences"):
        df[c] = df[c].astype("int64")
    for c in ("sw", "swp", "swpp", "sp", "spp", "pmin", "pmax"):
        df[c] = df[c].astype(float)
    return df.reset_index(drop=True)


def _combine(stats: Any, keys: list[str]) -> Any:
    """Sum day rows of `stats` into one row per `keys` (min/max of pmin/pmax, first/last)."""
    return stats.groupby(keys, sort=False).agg(
        n=("n", "sum"), sw=("sw", "sum"), swp=("swp", "sum"), swpp=("swpp", "sum"), sp=("sp", "sum"),
        spp=("spp", "sum"), occurrences=("occurrences", "sum"), pmin=("pmin", "min"), pmax=("pmax", "max"),
    ).reset_index()


def summarize(obs: Any, *, threshold: float = DEFAULT_THRESHOLD) -> Any:
    """The one definition of a tension's aggregates: per tension, position (intensity-weighted mean,
    -1 pole a .. +1 pole b), intensity (mean, 0..1), occurrences (rows with intensity >= threshold),
    spread (weighted standard deviation of positions) and n (observations).

    obs: the long observations frame, reduced by `observation_stats` (see `summarize_stats`).
    """
    return summarize_stats(observation_stats(obs, threshold=threshold))


def summarize_stats(stats: Any) -> Any:
    """`summarize` from day statistics (`observation_stats` or `Tensions.stats`), ordered by tension_id."""
    import pandas as pd

    cols = ["tension_id", "position", "intensity", "occurrences", "spread", "n"]
    if stats is None or len(stats) == 0:
        return pd.DataFrame(columns=cols)
    g = _combine(stats, ["tension_id"])
    mean, spread = _finish(g)
    return pd.DataFrame({"tension_id": g["tension_id"].to_numpy(), "position": mean,
                         "intensity": g["sw"].to_numpy(float) / g["n"].to_numpy(float),
                         "occurrences": g["occurrences"].astype(int).to_numpy(), "spread": spread,
                         "n": g["n"].astype(int).to_numpy()}, columns=cols)


def evolution(obs: Any, *, period: str = "auto", threshold: float = DEFAULT_THRESHOLD) -> Any:
    """Per tension and period (same period rules as patterns): position, intensity, count, occurrences.

    Every period between the first and last reflection has a row; empty ones have count 0 and NaN
    position/intensity (a gap, not a neutral stance). obs: the long observations frame, reduced by
    `observation_stats` (see `evolution_stats`).
    """
    return evolution_stats(observation_stats(obs, threshold=threshold), period=period)


def evolution_stats(stats: Any, *, period: str = "auto") -> Any:
    """`evolution` from day statistics (`observation_stats` or `Tensions.stats`).

    `auto` resolves from the first and last observed reflection times, as on the rows themselves.
    """
    import pandas as pd

    cols = ["tension_id", "period", "position", "intensity", "count", "occurrences"]
    if stats is None or len(stats) == 0:
        return pd.DataFrame(columns=cols)
    period = resolve_period(period, [stats["first"].min(), stats["last"].max()])
    st = stats.assign(period=period_start(stats["day"], period).to_numpy())
    g = _combine(st, ["tension_id", "period"])
    timeline = period_range(st["period"].min(), st["period"].max(), period)
    tids = list(dict.fromkeys(stats["tension_id"]))
    full = pd.MultiIndex.from_product([tids, timeline], names=["tension_id", "period"])
    g = g.set_index(["tension_id", "period"]).reindex(full).reset_index()
    n = g["n"].fillna(0).to_numpy(float)
    mean, _ = _finish(g.fillna({"n": 0}))
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(n > 0, g["sw"].to_numpy(float) / n, np.nan)
    out = pd.DataFrame({"tension_id": g["tension_id"].to_numpy(), "period": g["period"].to_numpy(),
                        "position": np.where(n > 0, mean, np.nan), "intensity": intensity,
                        "count": n.astype(int), "occurrences": g["occurrences"].fillna(0).astype(int).to_numpy()},
                       columns=cols)
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


MIN_ENGAGED = 1  # engaged reflections (intensity >= threshold) a range needs before its lean is stated
TOO_LITTLE = "too_little_data"


def lean(position: float, engaged: int | None = None) -> str:
    """Which way a position leans: `a`, `b` or `balanced` (|position| < BALANCED), or
    `too_little_data` when fewer than MIN_ENGAGED reflections engage the tension (`engaged`: its
    occurrences in the range; None when unknown) or there is no position at all."""
    if engaged is not None and not engaged >= MIN_ENGAGED:
        return TOO_LITTLE
    if position is None or position != position:
        return TOO_LITTLE
    if abs(position) < BALANCED:
        return "balanced"
    return "b" if position > 0 else "a"


def lean_phrase(position: float, axis_a: str, axis_b: str, engaged: int | None = None) -> str:
    """Words for a position: `balanced`, `leans toward <pole name>`, or `too little data to say` (see `lean`)."""
    side = lean(position, engaged)
    if side == TOO_LITTLE:
        return "too little data to say"
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
    return _ranked(summarize(obs, threshold=threshold), definitions)


def ranked_summary_stats(stats: Any, definitions: Any) -> Any:
    """`ranked_summary` from day statistics (`observation_stats` or `Tensions.stats`)."""
    return _ranked(summarize_stats(stats), definitions)


def _ranked(summary: Any, definitions: Any) -> Any:
    import pandas as pd

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
