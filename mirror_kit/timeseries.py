"""Period binning and trend tests shared by pattern and tension evolution.

Periods: `day`, `week` (ISO weeks starting Monday), `month`, `quarter`, or `auto` (chosen from the
date range so a timeline has roughly 8-60 points). Trends use Mann-Kendall on the series (with
Sen's slope), which needs no normality and tolerates the zeros of sparse journals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PERIODS = ("day", "week", "month", "quarter")
_FREQ = {"day": "D", "week": "W-MON", "month": "M", "quarter": "Q"}


def choose_period(first, last) -> str:
    """The period used everywhere for `auto`: the finest that gives at most ~60 points over [first, last].

    first, last: anything pandas.Timestamp accepts. Returns "day" (<= 60 days), "week" (<= 420),
    "month" (<= 1860) or "quarter".
    """
    import pandas as pd

    span_days = max((pd.Timestamp(last) - pd.Timestamp(first)).days, 0) + 1
    if span_days <= 60:
        return "day"
    if span_days <= 7 * 60:
        return "week"
    if span_days <= 31 * 60:
        return "month"
    return "quarter"


def resolve_period(period: str | None, dates) -> str:
    """Validate a period name; `auto`/None picks one from the dates' range (`choose_period`).

    Raises ValueError for a name other than day, week, month, quarter or auto.
    """
    import pandas as pd

    if period in (None, "auto"):
        d = pd.to_datetime(pd.Series(dates), utc=True)
        if d.empty:
            return "month"
        return choose_period(d.min(), d.max())
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS} or 'auto', got {period!r}")
    return period


def period_start(dates, period: str):
    """Each timestamp's period start, as tz-naive UTC Timestamps (plotly- and groupby-friendly)."""
    import pandas as pd

    d = pd.to_datetime(pd.Series(dates), utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
    if period == "day":
        return d.dt.floor("D")
    if period == "week":
        return (d.dt.floor("D") - pd.to_timedelta(d.dt.weekday, unit="D"))
    return d.dt.to_period(_FREQ[period].replace("M", "M")).dt.start_time


def period_range(first, last, period: str):
    """Every period start from first to last inclusive: gaps become rows with zeros, not missing."""
    import pandas as pd

    s = period_start([first, last], period)
    freq = {"day": "D", "week": "7D", "month": "MS", "quarter": "QS"}[period]
    return pd.date_range(s.iloc[0], s.iloc[1], freq=freq)


def mann_kendall(values: Sequence[float]) -> dict:
    """Mann-Kendall trend test with tie correction and Sen's slope.

    values: (n,) series in period order; NaN (empty periods) are dropped first.
    Returns {tau, z, p_value (two-sided, normal approximation with continuity correction), slope
    (Sen's: median of pairwise slopes, in value units per period), n}. With fewer than 4 points
    p_value is 1.0: no trend can be significant. Sources: Mann (1945), Kendall (1975) for the test
    and tie-corrected variance; Sen (1968) for the slope.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 4:
        return {"tau": 0.0, "z": 0.0, "p_value": 1.0, "slope": 0.0, "n": n}
    diff = np.sign(x[None, :] - x[:, None])
    s = float(np.triu(diff, 1).sum())
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18.0
    if var <= 0:
        z = 0.0
    elif s > 0:
        z = (s - 1) / math.sqrt(var)
    elif s < 0:
        z = (s + 1) / math.sqrt(var)
    else:
        z = 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    i, j = np.triu_indices(n, 1)
    slope = float(np.median((x[j] - x[i]) / (j - i)))
    tau = s / (0.5 * n * (n - 1))
    return {"tau": float(tau), "z": float(z), "p_value": float(p), "slope": slope, "n": n}
