"""Map thinning: at most about N points, the same ones on every run, dense regions sampled while
outliers, sparse regions and the selection are all kept; the report's map says what it shows."""

from __future__ import annotations

import numpy as np
import pytest

from mirror_kit.viz.thinning import thin_points, thinned_caption


def _cloud(n: int, outliers: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0, 1, n), rng.normal(0, 1, n)
    x[:outliers] = rng.uniform(30, 60, outliers) * rng.choice([-1, 1], outliers)  # far from the cloud
    y[:outliers] = rng.uniform(30, 60, outliers)
    return x, y, [f"r_{i:06d}" for i in range(n)]


def test_thinning_keeps_every_point_up_to_the_limit():
    x, y, ids = _cloud(500)
    assert thin_points(x, y, ids, 500).tolist() == list(range(500))


def test_thinning_stays_within_the_budget_and_keeps_every_outlier():
    x, y, ids = _cloud(50_000)
    kept = thin_points(x, y, ids, 5_000)
    assert 4_000 <= len(kept) <= 5_000
    assert set(range(40)) <= set(kept.tolist())  # the far-off points, each alone in its cell
    assert np.all(np.diff(kept) > 0)  # positions in the original order


def test_thinning_is_deterministic_and_follows_ids_not_positions():
    x, y, ids = _cloud(20_000)
    a = thin_points(x, y, ids, 3_000)
    assert np.array_equal(a, thin_points(x, y, ids, 3_000))
    perm = np.random.default_rng(1).permutation(len(ids))
    b = thin_points(x[perm], y[perm], [ids[i] for i in perm], 3_000)
    assert {ids[i] for i in a} == {ids[perm[i]] for i in b}  # same ids whatever the row order


def test_thinning_always_keeps_the_selection():
    x, y, ids = _cloud(20_000)
    chosen = ids[5000:5300]  # all in the dense centre
    kept = {ids[i] for i in thin_points(x, y, ids, 2_000, keep=chosen)}
    assert set(chosen) <= kept


def test_thinning_keeps_points_without_coordinates_and_refuses_mismatched_input():
    x, y, ids = _cloud(10_000)
    x[100] = np.nan
    assert 100 in thin_points(x, y, ids, 1_000).tolist()
    with pytest.raises(ValueError, match="differ in length"):
        thin_points(x[:-1], y, ids, 1_000)


def test_caption_names_shown_and_total_only_when_thinned():
    assert thinned_caption(20_000, 100_000) == "showing 20,000 of 100,000"
    assert thinned_caption(10, 10) == ""


def test_report_map_is_thinned_above_the_limit_and_says_so(viz_journal, monkeypatch):
    from mirror_kit.viz.report import ReportContext

    full = ReportContext(viz_journal, "maya").figures()["map"]
    total = sum(len(t.x) for t in full.data)
    assert "showing" not in full.layout.title.text
    monkeypatch.setenv("MIRROR_KIT_REPORT_MAP_POINTS", str(total // 3))
    thin = ReportContext(viz_journal, "maya").figures()["map"]
    shown = sum(len(t.x) for t in thin.data)
    assert shown < total
    assert f"showing {shown:,} of {total:,}" in thin.layout.title.text
    # Every point drawn is one of the full map's points, at the same place and with the same label.
    full_pts = {(t.name, cd[0], x, y) for t in full.data for cd, x, y in zip(t.customdata, t.x, t.y, strict=True)}
    thin_pts = {(t.name, cd[0], x, y) for t in thin.data for cd, x, y in zip(t.customdata, t.x, t.y, strict=True)}
    assert thin_pts <= full_pts


def test_report_map_limit_must_be_a_number(viz_journal, monkeypatch):
    from mirror_kit.errors import InvalidInputError
    from mirror_kit.viz.report import ReportContext

    monkeypatch.setenv("MIRROR_KIT_REPORT_MAP_POINTS", "lots")
    with pytest.raises(InvalidInputError, match="MIRROR_KIT_REPORT_MAP_POINTS must be a whole number"):
        ReportContext(viz_journal, "maya").figures()
