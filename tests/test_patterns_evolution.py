"""Evolution frames (zero-filled periods, share) and trend classification on synthetic series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mirror_kit.patterns.evolution import classify_trend, evolution_frame, trends_frame


def test_evolution_zero_fills_gaps_and_divides_by_all_reflections():
    dates = ["2024-01-03T10:00:00Z", "2024-01-20T10:00:00Z", "2024-01-25T10:00:00Z",
             "2024-04-02T10:00:00Z", "2024-04-09T10:00:00Z"]
    occ = pd.DataFrame({"pattern_id": ["p1", "p1", "p2"],
                        "created_at": ["2024-01-03T10:00:00Z", "2024-04-02T10:00:00Z", "2024-01-25T10:00:00Z"]})
    evo = evolution_frame(occ, dates, "month", {"p1": "walks", "p2": "work"})
    assert list(evo.columns) == ["pattern_id", "label", "period", "count", "total", "share"]
    p1 = evo[evo["pattern_id"] == "p1"].set_index("period")
    assert list(p1.index.strftime("%Y-%m")) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert p1["count"].tolist() == [1, 0, 0, 1]
    assert p1["total"].tolist() == [3, 0, 0, 2]
    assert p1["share"].round(4).tolist() == [0.3333, 0.0, 0.0, 0.5]
    assert evo["share"].notna().all()
    # a pattern with no occurrence at all still gets its zero timeline
    evo3 = evolution_frame(occ, dates, "quarter", {"p1": "walks", "p3": "empty"})
    assert evo3[evo3["pattern_id"] == "p3"]["count"].tolist() == [0, 0]
    assert evolution_frame(occ, dates, "auto", {"p1": "walks"}).attrs["period"] == "week"
    with pytest.raises(ValueError, match="period"):
        evolution_frame(occ, dates, "fortnight", {"p1": "walks"})


def _frame(shares, totals=None):
    n = len(shares)
    totals = np.full(n, 40) if totals is None else np.asarray(totals)
    counts = np.round(np.asarray(shares) * totals).astype(int)
    return pd.DataFrame({"pattern_id": "p", "label": "x", "period": pd.date_range("2024-01-01", periods=n, freq="MS"),
                         "count": counts, "total": totals, "share": counts / totals})


def _trend(shares, totals=None):
    return trends_frame(_frame(shares, totals)).iloc[0]


def test_rising_and_falling_shares_are_emerging_and_fading_with_signed_slope():
    rising = _trend(np.linspace(0.0, 0.4, 20))
    assert rising["trend"] == "emerging" and rising["slope"] > 0 and rising["p_value"] < 0.05
    falling = _trend(np.linspace(0.4, 0.02, 20))
    assert falling["trend"] == "fading" and falling["slope"] < 0 and falling["p_value"] < 0.05


def test_a_hump_that_came_and_went_is_fading():
    hump = np.zeros(20)
    hump[3:10] = [0.2, 0.3, 0.3, 0.25, 0.3, 0.2, 0.15]
    t = _trend(hump)
    assert t["trend"] == "fading" and t["slope"] < 0 and t["p_value"] < 0.05
    late_hump = np.zeros(20)
    late_hump[12:18] = [0.32, 0.25, 0.18, 0.07, 0.03, 0.07]
    assert _trend(late_hump)["trend"] == "fading"


def test_a_significant_but_negligible_drift_is_stable():
    # A background theme whose share slides from 9% to 7.5%: Mann-Kendall calls it significant
    # over 20 periods, but a fifth of its level is not a theme fading.
    rng = np.random.default_rng(1)
    share = np.linspace(0.09, 0.075, 20) + rng.normal(0, 0.002, 20)
    assert classify_trend(share, min_change=1.0)["p_value"] < 0.05
    t = classify_trend(share)
    assert t["trend"] == "stable" and t["slope"] < 0
    assert classify_trend(share, min_change=0.0)["trend"] == "fading"


def test_flat_noise_is_stable_and_bursts_are_recurring():
    rng = np.random.default_rng(0)
    flat = _trend(0.1 + rng.normal(0, 0.01, 20))
    assert flat["trend"] == "stable" and flat["p_value"] >= 0.05
    bursts = np.zeros(20)
    bursts[[1, 2, 8, 9, 15, 16]] = 0.2
    assert _trend(bursts)["trend"] == "recurring"


def test_counts_use_the_share_not_the_raw_count():
    # raw counts rise only because she writes more; the share stays flat
    totals = np.linspace(10, 100, 20).astype(int)
    t = _trend(np.full(20, 0.1), totals)
    assert t["trend"] == "stable"


def test_periods_without_any_reflection_carry_no_information():
    shares = np.array([0.5, 0, 0, 0.5, 0, 0, 0.5, 0, 0, 0.5, 0, 0, 0.5])
    totals = np.array([2, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0, 2])
    r = classify_trend(shares, shares * totals, totals)
    assert r["trend"] == "stable"
    assert classify_trend([0.1, 0.2, 0.3])["trend"] == "stable"  # too short for any trend
