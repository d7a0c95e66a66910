"""Tension statistics from per-day sums (SQLite, `Tensions.stats`) equal the per-row definition:
summary, evolution and drift on the sample journal and on randomised journals with edge cases
(no engaged reflection, all weights zero, one observation, tied positions, empty periods, date
ranges cut mid-day); and no lean is stated for a tension no reflection engages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mirror_kit
from mirror_kit.tensions import aggregate as A
from mirror_kit.timeseries import mann_kendall, period_range, period_start, resolve_period
from tests.plugins.store import run_cli

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-9
PERIODS = ["auto", "day", "week", "month", "quarter"]


# -- the per-row definition, written out row by row (numpy weighted averages over each group) ---
def _row_position(p: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    ww = w if w.sum() > 1e-12 else np.ones_like(p)
    mean = float(np.average(p, weights=ww))
    return mean, float(np.sqrt(np.average((p - mean) ** 2, weights=ww)))


def _row_summary(obs: pd.DataFrame, thr: float = 0.5) -> pd.DataFrame:
    rows = []
    for tid, g in obs.groupby("tension_id"):
        p, w = g["position"].to_numpy(float), g["intensity"].to_numpy(float)
        mean, spread = _row_position(p, w)
        rows.append({"tension_id": tid, "position": mean, "intensity": w.mean(), "occurrences": int((w >= thr).sum()),
                     "spread": spread, "n": len(g)})
    return pd.DataFrame(rows).set_index("tension_id").sort_index()


def _row_evolution(obs: pd.DataFrame, period: str, thr: float = 0.5) -> pd.DataFrame:
    period = resolve_period(period, obs["created_at"])
    obs = obs.assign(period=period_start(obs["created_at"], period).to_numpy())
    timeline = period_range(obs["period"].min(), obs["period"].max(), period)
    rows = []
    for tid, g in obs.groupby("tension_id"):
        by = dict(iter(g.groupby("period")))
        for p in timeline:
            gg = by.get(p)
            if gg is None:
                rows.append((tid, p, np.nan, np.nan, 0, 0))
                continue
            w = gg["intensity"].to_numpy(float)
            rows.append((tid, p, _row_position(gg["position"].to_numpy(float), w)[0], w.mean(), len(gg),
                         int((w >= thr).sum())))
    return pd.DataFrame(rows, columns=["tension_id", "period", "position", "intensity", "count", "occurrences"])


def _assert_summary_equal(st: pd.DataFrame, obs: pd.DataFrame) -> None:
    got = A.summarize_stats(st).set_index("tension_id").sort_index()
    want = _row_summary(obs)
    assert list(got.index) == list(want.index)
    assert (got["n"] == want["n"]).all() and (got["occurrences"] == want["occurrences"]).all()
    for c in ("position", "intensity", "spread"):
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), atol=TOL, rtol=0)


def _assert_evolution_equal(st: pd.DataFrame, obs: pd.DataFrame, period: str) -> None:
    got = A.evolution_stats(st, period=period).sort_values(["tension_id", "period"]).reset_index(drop=True)
    want = _row_evolution(obs, period).sort_values(["tension_id", "period"]).reset_index(drop=True)
    assert list(got["period"]) == list(pd.to_datetime(want["period"]))
    assert list(got["count"]) == list(want["count"]) and list(got["occurrences"]) == list(want["occurrences"])
    for c in ("position", "intensity"):
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), atol=TOL, rtol=0)
    # drift: Mann-Kendall counts exact ties, so it is compared with the row path's (the same
    # reduction, another summation order), and its slope with the row-by-row positions
    d_got = A.drift(got).set_index("tension_id").sort_index()
    d_row = A.drift(A.evolution(obs, period=period)).set_index("tension_id").sort_index()
    pd.testing.assert_frame_equal(d_got, d_row, atol=TOL, rtol=0)
    for tid, g in want.groupby("tension_id"):
        mk = mann_kendall(g["position"].to_numpy(float))
        assert d_got.loc[tid, "periods"] == mk["n"]
        assert d_got.loc[tid, "drift"] == pytest.approx(mk["slope"], abs=TOL)


# -- randomised journals ----------------------------------------------------------------------
def _random_journal(path: Path, seed: int) -> pd.DataFrame:
    """A journal with one identity (maya) and seeded observations of the five seed tensions:
    solitude_connection random with tied positions, surrender_agency with every intensity 0,
    stability_change observed once, being_doing with one position throughout, reason_feeling
    never engaged (intensity under the threshold). Two gaps of several months. Returns the rows."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2021, 1, 4, 22, 30)
    offsets = np.sort(np.concatenate([rng.uniform(0, 80, 60), rng.uniform(200, 260, 50), rng.uniform(500, 540, 40)]))
    times = [t0 + timedelta(days=float(d)) for d in offsets]
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        ids = j.reflections.add_many("maya", [{"content": f"entry {k} of seed {seed}",
                                               "created_at": t.strftime("%Y-%m-%dT%H:%M:%SZ")}
                                              for k, t in enumerate(times)])
        j.tensions._ensure_seed_tensions()
        rows = []
        for rid in ids:
            rows.append(("solitude_connection", rid, float(np.round(rng.uniform(-1, 1), 1)), float(rng.random())))
            rows.append(("surrender_agency", rid, float(rng.uniform(-1, 1)), 0.0))
            rows.append(("being_doing", rid, 0.3, float(rng.random())))
            rows.append(("reason_feeling", rid, float(rng.uniform(0.2, 1)), float(rng.uniform(0, 0.49))))
        rows.append(("stability_change", ids[len(ids) // 2], -0.7, 0.9))
        with j.transaction():
            j.tensions.restore_observations([(t, r, p, i, "synthetic", "2025-01-01T00:00:00Z") for t, r, p, i in rows])
        return j.tensions._observations("maya")


@pytest.fixture(scope="module", params=[0, 1, 2])
def random_journal(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("tstats") / f"random{request.param}.db"
    obs = _random_journal(path, request.param)
    j = mirror_kit.open(path, readonly=True)
    yield j, obs, path
    j.close()


def test_sql_sums_equal_the_row_sums(random_journal):
    j, obs, _ = random_journal
    sql, rows = j.tensions.stats("maya"), A.observation_stats(obs)
    assert list(sql.columns) == A.STAT_COLUMNS and len(sql) == len(rows)
    for c in ("tension_id", "day", "n", "occurrences", "first", "last", "pmin", "pmax"):
        assert list(sql[c]) == list(rows[c]), c
    for c in ("sw", "swp", "swpp", "sp", "spp"):
        np.testing.assert_allclose(sql[c].to_numpy(), rows[c].to_numpy(), atol=1e-12, rtol=0)


def test_summary_from_sql_sums_equals_the_row_definition_with_edge_cases(random_journal):
    j, obs, _ = random_journal
    st = j.tensions.stats("maya")
    _assert_summary_equal(st, obs)
    s = A.summarize_stats(st).set_index("tension_id")
    assert s.loc["being_doing", "spread"] == 0.0  # one position throughout: no rounding noise
    assert s.loc["stability_change", "n"] == 1 and s.loc["stability_change", "position"] == -0.7
    zero = obs[obs["tension_id"] == "surrender_agency"]  # every weight 0: the plain mean
    assert s.loc["surrender_agency", "position"] == pytest.approx(zero["position"].mean(), abs=TOL)
    assert s.loc["reason_feeling", "occurrences"] == 0
    # the journal's own frame is the same summary
    f = j.tensions.frame("maya").set_index("tension_id").sort_index()
    np.testing.assert_allclose(f["position"].to_numpy(float), _row_summary(obs)["position"].to_numpy(), atol=TOL)


@pytest.mark.parametrize("period", PERIODS)
def test_evolution_and_drift_from_sql_sums_equal_the_row_definition(random_journal, period):
    j, obs, _ = random_journal
    st = j.tensions.stats("maya")
    _assert_evolution_equal(st, obs, period)
    evo = A.evolution_stats(st, period=period)
    assert (evo["count"] == 0).any() and evo.loc[evo["count"] == 0, "position"].isna().all()  # gaps stay gaps


@pytest.mark.parametrize(("since", "until"), [
    ("2021-01-20", "2021-09-30"),  # whole days
    ("2021-01-20T13:05:00Z", "2021-09-30T06:00:00Z"),  # cut mid-day
    ("2021-05-01", "2021-05-31"),  # inside a gap: nothing
])
def test_a_date_range_gives_the_row_definition_on_the_rows_in_range(random_journal, since, until):
    j, obs, _ = random_journal
    lo, hi = pd.Timestamp(since), pd.Timestamp(until)
    lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo
    hi = (hi.tz_localize("UTC") + pd.Timedelta(seconds=86399)) if hi.tzinfo is None else hi
    part = obs[(obs["created_at"] >= lo) & (obs["created_at"] <= hi)]
    st = j.tensions.stats("maya", since=since, until=until)
    if part.empty:
        assert st.empty and A.summarize_stats(st).empty and A.evolution_stats(st).empty
        return
    _assert_summary_equal(st, part)
    _assert_evolution_equal(st, part, "auto")
    # the explorer/report state filters its day rows (or asks SQLite) to the same numbers
    from mirror_kit.viz.state import ExplorerState

    state = ExplorerState(j, "maya")
    state.update(since=since, until=until)
    got = state.tension_summary().set_index("tension_id").sort_index()
    np.testing.assert_allclose(got["position"].to_numpy(float), _row_summary(part)["position"].to_numpy(), atol=TOL)
    assert list(got["occurrences"]) == list(_row_summary(part)["occurrences"])


def test_row_path_and_sql_path_agree_on_the_sample_journal(served_analysed_db):
    with mirror_kit.open(served_analysed_db, readonly=True) as j:
        for who in ("maya", "sam"):
            obs = j.tensions._observations(who)
            st = j.tensions.stats(who)
            assert len(obs) > 100
            _assert_summary_equal(st, obs)
            for period in ("auto", "week", "quarter"):
                _assert_evolution_equal(st, obs, period)
            # the row path (export, mirrorback) reduces the rows to the same sums first
            pd.testing.assert_frame_equal(A.summarize(obs), A.summarize_stats(A.observation_stats(obs)))


# -- the lean rule ----------------------------------------------------------------------------
def test_no_lean_is_stated_without_an_engaged_reflection():
    assert A.lean(0.8, 0) == A.TOO_LITTLE and A.lean(0.8, 1) == "b" and A.lean(-0.05, 3) == "balanced"
    assert A.lean(float("nan")) == A.TOO_LITTLE
    assert A.lean_phrase(-0.9, "solitude", "connection", 0) == "too little data to say"
    assert A.lean_phrase(-0.9, "solitude", "connection", 2) == "leans toward solitude"


def test_report_cli_and_map_say_too_little_data_for_unengaged_tensions(random_journal):
    j, _, path = random_journal
    from mirror_kit.viz.report import ReportContext

    ctx = ReportContext(j, "maya")
    text = ctx.tensions_html()
    items = {li.split("</b>")[0]: li for li in text.split("<li><b>")[1:]}
    assert "too little data to say" in items["Reason / Feeling"]
    assert "leans toward" not in items["Reason / Feeling"] and "balanced" not in items["Reason / Feeling"]
    fig = ctx.state.tension_map_figure()
    hover = {cd[3]: cd[4] for cd in fig.data[0].customdata}
    assert hover["reason_feeling"] == "too little data to say" and hover["surrender_agency"] == "too little data to say"
    out = run_cli("--db", str(path), "tensions", "list", "--identity", "maya", "--json", cwd=path.parent,
                  env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    leans = {r["tension_id"]: r["lean"] for r in json.loads(out.stdout)}
    assert leans["reason_feeling"] == "too little data to say"
    axis_a = j.tensions.definitions().set_index("id").loc["stability_change", "axis_a"]
    assert leans["stability_change"] == f"leans toward {axis_a}"  # one engaged reflection is enough


def test_small_batches_run_blas_on_one_thread_and_restore_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from mirror_kit.blas import SMALL_BATCH, small_batch

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with small_batch(100):
        assert blas_threads() and set(blas_threads()) == {1}
    assert blas_threads() == before
    with small_batch(SMALL_BATCH):
        assert blas_threads() == before  # a full analysis keeps every thread
