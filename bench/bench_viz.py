"""Figures at 10k reflections: build time and payload of the reflection map, the 2D projection, and
the explorer's re-filtering, each beside a peer measured in the same run.

Data: the HappyDB moments (data/happydb, 10,560 rows) with their all-MiniLM-L6-v2 embeddings when
/work/cache/happydb_minilm_st.npy exists (development machines), else seeded random unit vectors of
the same shape; the 15 human `concepts` are the "patterns" the points are coloured by.
Peers:
- reflection map: `plotly.express.scatter(..., render_mode="webgl")` with the same colour, hover
  text and points (what a notebook user would write by hand);
- projection: scikit-learn `PCA(n_components=2, svd_solver="full")` (exact, as ours), and
  `svd_solver="randomized"` with random_state=0;
- JSON payload: the same figure's `to_json()` length (what goes to the browser / into a report).

Run: .venv/bin/python -m bench viz
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
EMBEDDINGS = Path("/work/cache/happydb_minilm_st.npy")
REPEATS = 5


def _data():
    import numpy as np
    import pandas as pd

    with CORPUS.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    n = len(rows)
    if EMBEDDINGS.exists():
        E = np.load(EMBEDDINGS).astype(np.float32)[:n]
        source = "all-MiniLM-L6-v2 (cached)"
    else:
        E = np.random.default_rng(0).standard_normal((n, 384)).astype(np.float32)
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        source = "random unit vectors"
    refl = pd.DataFrame({
        "id": [f"r{i:05d}" for i in range(n)],
        "created_at": pd.date_range("2020-01-01", periods=n, freq="3h", tz="UTC"),
        "content": [r["moment"] for r in rows],
    })
    labels = pd.Series([(r["concepts"] or "").split("|")[0] or None for r in rows])
    return refl, E, labels, source


def _time(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    import pandas as pd
    import plotly.express as px
    from sklearn.decomposition import PCA

    from mirror_kit.viz import plots

    refl, E, labels, source = _data()
    n = len(refl)
    print(f"{n} reflections, {E.shape[1]}-d embeddings ({source}), {labels.nunique()} patterns; "
          f"median of {REPEATS} runs\n")

    rows = []
    t_ours, xy = _time(lambda: plots.project_2d(E))
    t_full, _ = _time(lambda: PCA(n_components=2, svd_solver="full").fit_transform(E))
    t_rand, _ = _time(lambda: PCA(n_components=2, svd_solver="randomized", random_state=0).fit_transform(E))
    rows.append(("2D projection", "project_2d (PCA, eigh of d x d)", t_ours, "sklearn PCA full", t_full))
    rows.append(("2D projection", "project_2d (PCA, eigh of d x d)", t_ours, "sklearn PCA randomized", t_rand))

    t_map, fig = _time(lambda: plots.reflection_map(refl, None, labels=labels, xy=xy))
    df = refl.assign(x=xy[:, 0], y=xy[:, 1], pattern=labels.fillna("unassigned"),
                     date=refl["created_at"].dt.strftime("%Y-%m-%d"),
                     snippet=[plots._snippet(t) for t in refl["content"]])
    t_px, pfig = _time(lambda: px.scatter(df, x="x", y="y", color="pattern", render_mode="webgl",
                                          hover_data=["id", "date", "snippet"]))
    rows.append(("reflection map figure", "plots.reflection_map", t_map, "plotly.express.scatter webgl", t_px))
    t_js, payload = _time(lambda: fig.to_json(), 3)
    t_pjs, ppayload = _time(lambda: pfig.to_json(), 3)
    rows.append(("figure -> JSON", "reflection_map.to_json", t_js, "px figure.to_json", t_pjs))

    # The explorer's state re-filtering the same 10k points (cached frames, new date range).
    from mirror_kit.viz.state import ExplorerState, _Data

    state = ExplorerState.__new__(ExplorerState)
    state.since = state.until = None
    state.min_confidence, state.patterns, state.top, state.period = 0.0, [], 8, "auto"
    occ = pd.DataFrame({"pattern_id": labels.fillna("none"), "pattern": labels.fillna("none"),
                        "reflection_id": refl["id"], "created_at": refl["created_at"], "strength": 1.0})
    occ = occ[labels.notna().to_numpy()]
    pats = pd.DataFrame({"id": sorted(occ["pattern_id"].unique())})
    pats = pats.assign(label=pats["id"], status="active", confidence=0.8, size=pats["id"].map(
        occ["pattern_id"].value_counts()), keywords=[[]] * len(pats))
    empty = pd.DataFrame()
    state._cache = {"x\x1fauto": _Data(refl, pats, occ, empty, empty, empty, empty, empty, list(refl["id"]), xy)}
    state.identity = "x"

    def refilter():
        state.since, state.until = "2021-01-01", "2022-06-30"
        return state.reflection_map_figure()

    t_ref, _ = _time(refilter)
    rows.append(("explorer: new date range -> map", "ExplorerState", t_ref, "plots.reflection_map from scratch",
                 t_map))

    print(f"{'what':34} {'ours':40} {'ms':>8}   {'peer':36} {'ms':>8}  {'ours/peer':>9}")
    for what, ours, t1, peer, t2 in rows:
        print(f"{what:34} {ours:40} {t1 * 1e3:8.1f}   {peer:36} {t2 * 1e3:8.1f}  {t1 / t2:9.2f}")
    print(f"\nJSON payload: ours {len(payload) / 1e6:.2f} MB, px {len(ppayload) / 1e6:.2f} MB "
          f"(ratio {len(payload) / len(ppayload):.2f}); traces: ours {len(fig.data)} Scattergl, px {len(pfig.data)}")
    print(f"deterministic: {plots.reflection_map(refl, None, labels=labels, xy=plots.project_2d(E)).to_json() == payload}")


if __name__ == "__main__":
    main()
