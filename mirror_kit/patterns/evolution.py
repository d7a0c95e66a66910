"""Pattern evolution: occurrences per period (zero-filled) and a trend per pattern on the share.

Trend rules (share = pattern's reflections / all reflections in the period, over the identity's whole
date range so a theme's absence counts):
- fading (a hump): the 3-period smoothed share peaked, is now (last quarter) under half that peak,
  and Mann-Kendall from the peak on is a significant decline (slope/p_value are then that test's);
- emerging / fading: Mann-Kendall on the whole share series is significant (p < alpha), by tau's sign,
  and Sen's slope moves the share by at least `min_change` (half) of its mean over the span;
- a hump (present, then absent in the last quarter of the timeline where its overall rate predicts
  >= 3 occurrences) is `fading`: the theme came and went; one absent in the first quarter and at or
  above its rate at the end (tau > 0) is `emerging`;
- recurring: at least two separate bursts (gaps of >= 2 empty periods) while active in < 70% of periods;
- stable: everything else.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..timeseries import mann_kendall, period_range, period_start, resolve_period

TRENDS = ("emerging", "fading", "stable", "recurring")


def evolution_frame(occurrences, reflection_dates, period: str = "auto", labels: dict | None = None):
    """The one definition of a pattern's share per period: counts and shares, zero-filled over the
    reflections' whole range.

    occurrences: DataFrame with pattern_id, created_at (one row per pattern occurrence).
    reflection_dates: the created_at of every reflection of the identity (the denominators).
    period: day/week/month/quarter or auto (`mirror_kit.timeseries.choose_period`).
    labels: {pattern_id: label}; its keys also fix which patterns get rows (default: those that occur).
    Returns a long DataFrame pattern_id, label, period (tz-naive UTC start), count, total, share in
    [0, 1] (count / total, 0 for a period without reflections). Raises ValueError for a bad period.
    """
    import pandas as pd

    cols = ["pattern_id", "label", "period", "count", "total", "share"]
    # A Series is converted as a whole (not element by element: 100k Timestamps cost ~0.4 s)
    dates = pd.to_datetime(reflection_dates.reset_index(drop=True) if isinstance(reflection_dates, pd.Series)
                           else pd.Series(list(reflection_dates)), utc=True)
    if dates.empty:
        return pd.DataFrame(columns=cols)
    period = resolve_period(period, dates)
    starts = period_start(dates, period)
    grid = period_range(dates.min(), dates.max(), period)
    total = starts.value_counts().reindex(grid, fill_value=0)
    labels = labels or {}
    pids = list(labels) if labels else sorted(occurrences["pattern_id"].unique()) if len(occurrences) else []
    frames = []
    occ_start = period_start(occurrences["created_at"], period) if len(occurrences) else pd.Series([], dtype="datetime64[ns]")
    for pid in pids:
        mask = (occurrences["pattern_id"] == pid).to_numpy() if len(occurrences) else np.zeros(0, bool)
        counts = occ_start[mask].value_counts().reindex(grid, fill_value=0) if mask.any() else pd.Series(0, index=grid)
        f = pd.DataFrame({"pattern_id": pid, "label": labels.get(pid, pid), "period": grid,
                          "count": counts.to_numpy().astype(int), "total": total.to_numpy().astype(int)})
        frames.append(f)
    return with_shares(frames, period, cols)


def with_shares(frames: list, period: str, cols: list[str]) -> Any:
    """The per-period rows of every pattern (pattern_id, label, period, count, total) as one frame with
    the one definition of a pattern's share: count / total reflections of the period (0 when none)."""
    import pandas as pd

    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["share"] = np.where(out["total"] > 0, out["count"] / out["total"].where(out["total"] > 0, 1), 0.0)
    out.attrs["period"] = period
    return out[cols]


def _bursts(active: np.ndarray, min_gap: int = 2) -> int:
    """Number of runs of activity separated by at least `min_gap` inactive periods."""
    idx = np.flatnonzero(active)
    if not len(idx):
        return 0
    return 1 + int(np.sum(np.diff(idx) > min_gap))


def classify_trend(share, counts=None, totals=None, *, alpha: float = 0.05, min_change: float = 0.5) -> dict:
    """Trend of one share series: {trend, slope, p_value, tau}. See the module docstring for the rules.

    share, counts, totals: (n,) per period in time order. slope is in share units per period.
    Sources: Mann-Kendall test and Sen's slope (`mirror_kit.timeseries.mann_kendall`).

    min_change: a monotonic trend must also matter, not only be significant: Sen's slope over the
    whole span must change the share by at least this fraction of its mean (a flat theme whose
    share wobbles from 8% to 7% is stable, however many periods make it "significant").

    counts/totals (same length as share) let the hump rules ask whether an absence is surprising;
    periods with no reflections at all carry no information and are left out of the trend.
    """
    s = np.asarray(share, dtype=float)
    if totals is not None:
        keep = np.asarray(totals) > 0
        s = s[keep]
        counts = np.asarray(counts, dtype=float)[keep]
        totals = np.asarray(totals, dtype=float)[keep]
    n = len(s)
    mk = mann_kendall(s)
    out = {"trend": "stable", "slope": float(mk["slope"]), "p_value": float(mk["p_value"]), "tau": float(mk["tau"])}
    if n < 4 or not (s > 0).any():
        return out
    # Sen's slope is 0 on sparse series (many ties); fall back to a least-squares slope so the
    # reported slope still has the trend's sign.
    if out["slope"] == 0.0:
        out["slope"] = float(np.polyfit(np.arange(n), s, 1)[0])
    active = s > 0
    q = max(2, math.ceil(n / 4))
    if counts is None:
        counts, totals = s, np.ones(n)
    rate = counts.sum() / max(totals.sum(), 1)

    def absent(sl: slice) -> bool:
        # absent where, at the pattern's overall rate, >= 3 occurrences were expected
        expected = rate * totals[sl].sum()
        return expected >= 3 and counts[sl].sum() <= 0.2 * expected

    # A hump: the share peaked (3-period smoothed) and has since dropped to under half of that peak,
    # with a significant decline from the peak on.
    smooth = np.convolve(s, np.ones(3) / 3, mode="same")
    smooth[0], smooth[-1] = s[:2].mean(), s[-2:].mean()
    peak = int(np.argmax(smooth))
    after = mann_kendall(s[peak:]) if n - peak >= 4 else None
    if (after is not None and after["tau"] < 0 and after["p_value"] < alpha
            and s[n - q:].mean() < 0.5 * smooth[peak]):
        out.update(trend="fading", p_value=float(after["p_value"]), tau=float(after["tau"]),
                   slope=float(after["slope"]) or float(np.polyfit(np.arange(n - peak), s[peak:], 1)[0]))
    elif (mk["p_value"] < alpha and mk["tau"] != 0
          and abs(out["slope"]) * (n - 1) >= min_change * max(float(s.mean()), 1e-12)):
        out["trend"] = "emerging" if mk["tau"] > 0 else "fading"
    elif absent(slice(n - q, n)) and counts[: n - q].sum() > 0:
        out["trend"] = "fading"
    elif absent(slice(0, q)) and mk["tau"] > 0 and counts[n - q:].sum() >= rate * totals[n - q:].sum():
        out["trend"] = "emerging"
    elif _bursts(active) >= 2 and active.mean() < 0.7:
        out["trend"] = "recurring"
    return out


def trends_frame(evolution, *, alpha: float = 0.05):
    """The one definition of pattern trends: one row per pattern of an `evolution_frame` with
    pattern_id, label, trend (emerging/fading/stable/recurring, `classify_trend`), slope, p_value,
    tau, periods."""
    import pandas as pd

    rows = []
    if len(evolution):
        for pid, g in evolution.groupby("pattern_id", sort=False):
            g = g.sort_values("period")
            t = classify_trend(g["share"].to_numpy(), g["count"].to_numpy(), g["total"].to_numpy(), alpha=alpha)
            rows.append({"pattern_id": pid, "label": g["label"].iloc[0], **t, "periods": len(g)})
    return pd.DataFrame(rows, columns=["pattern_id", "label", "trend", "slope", "p_value", "tau", "periods"])
