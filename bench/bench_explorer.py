"""The Explorer at 10k and 100k reflections: process start to the first figure's state, a filter
change to the redrawn state, what the page receives, and the reflection map's draw and redraw time
in Chromium, each beside the previous design (one plotly FigureWidget per view) from the same run.

Data: the HappyDB moments (data/happydb, 10,560 rows) repeated to N, three hours apart, with seeded
random unit embeddings; the 15 human `concepts` are the patterns. The journal read is replaced by
these in-memory frames (`ExplorerState._load`), so the times are everything after the read:
projection, statistics, figures, widget state.
Columns: CPU-seconds of the whole child process (imports included; resource.getrusage), its peak
RSS, and the bytes of widget state a page receives (plotly.js included). Browser: median of 3
`Plotly.react` calls (until the next frame is painted) of the map figure as the kernel sends it
(ours: the board's JSON; peer: FigureWidget's), in Debian's headless Chromium (software WebGL).

Run: .venv/bin/python -m bench explorer
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)


def _data(n: int):
    """(_Data, pattern frame) of n synthetic reflections (see the module docstring)."""
    import numpy as np
    import pandas as pd

    from bench.bench_viz import _data as happydb
    from mirror_kit.viz.plots import project_2d
    from mirror_kit.viz.state import _Data

    refl, _, labels, _ = happydb()
    reps = -(-n // len(refl))
    refl = pd.concat([refl] * reps, ignore_index=True).iloc[:n]
    labels = pd.concat([labels] * reps, ignore_index=True).iloc[:n]
    refl = refl.assign(id=[f"r{i:06d}" for i in range(n)], title="",
                       created_at=pd.date_range("2015-01-01", periods=n, freq="3h", tz="UTC"))
    E = np.random.default_rng(0).standard_normal((n, 64)).astype(np.float32)
    occ = pd.DataFrame({"pattern_id": labels, "pattern": labels, "reflection_id": refl["id"],
                        "created_at": refl["created_at"], "strength": 1.0})[labels.notna().to_numpy()]
    pats = pd.DataFrame({"id": sorted(occ["pattern_id"].unique())})
    pats = pats.assign(label=pats["id"], status="active", confidence=0.8,
                       size=pats["id"].map(occ["pattern_id"].value_counts()), keywords=[[]] * len(pats))
    empty = pd.DataFrame()
    return _Data(refl[["id", "created_at", "title", "content"]], pats, occ, empty, empty, empty, empty, empty,
                 list(refl["id"]), project_2d(E), all_occurrences=occ)


def _state_bytes(widget) -> int:
    """Bytes of a widget's synced state (JSON and binary buffers), as the page receives it."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, _, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state, default=str)) + sum(len(b) for b in buffers)


def _figurewidgets(figures: dict, widgets: dict) -> None:
    """What the Explorer did before the board: one FigureWidget per view, its stored state kept equal
    to what it shows (so a saved notebook and Voila draw it)."""
    from copy import deepcopy

    import plotly.graph_objects as go

    from mirror_kit.viz.plots import plotly_config

    for name, fig in figures.items():
        if name not in widgets:
            widgets[name] = go.FigureWidget()
            widgets[name]._config = plotly_config(legacy=True)
        fw = widgets[name]
        with fw.batch_update():
            fw.data = ()
            fw.layout = fig.layout
            fw.layout.width = 600
            fw.add_traces(list(fig.data))
        fw._widget_data = deepcopy(fw._data)
        fw._widget_layout = deepcopy(fw._layout)


def child(design: str, n: int, out: str) -> None:
    """One process: build the Explorer on n reflections (board or FigureWidget design), then a filter change."""
    import datetime as dt

    t0 = time.perf_counter()
    import ipywidgets as w
    from plotly.io.json import to_json_plotly

    import mirror_kit
    from mirror_kit.viz import explorer as ex_mod
    from mirror_kit.viz.state import ExplorerState

    data = _data(n)
    ExplorerState._load = lambda self: data  # the in-memory journal frames (see the module docstring)
    widgets: dict = {}
    if design == "figurewidget":
        class NoBoard(w.HTML):  # the FigureWidgets draw instead
            def __init__(self, views, **_kw):
                super().__init__()
                self.views = list(views)

            def show(self, name, fig):
                pass

        ex_mod.FigureBoard = NoBoard
    j = mirror_kit.open(Path(out).with_suffix(".db"))
    j.identities.add("bench")
    ex = ex_mod.Explorer(j, "bench")
    if design == "figurewidget":
        _figurewidgets(ex.figures, widgets)
        sent = sum(_state_bytes(fw) for fw in widgets.values())
        fw = widgets["map"]
        map_json = to_json_plotly({"data": fw._widget_data, "layout": fw._widget_layout})
    else:
        sent = _state_bytes(ex.board)
        map_json = ex.board.fig_map
    t_first = time.perf_counter()
    ex.since.value = dt.date(2020, 1, 1)  # a filter change: every view redraws
    if design == "figurewidget":
        _figurewidgets(ex.figures, widgets)
    t_redraw = time.perf_counter() - t_first
    Path(out).write_text(json.dumps({"first": t_first - t0, "redraw": t_redraw, "sent": sent, "map": map_json}))


def _run_child(design: str, n: int, tmp: Path) -> dict:
    out = tmp / f"{design}-{n}.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", f"from bench.bench_explorer import child; child({design!r}, {n}, {str(out)!r})"],
                   check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                             "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = json.loads(out.read_text())
    res["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    res["rss_mb"] = after.ru_maxrss / 1024
    return res


REDRAW_JS = """async ([fig, n]) => {
    const gd = document.getElementById('g'), times = [];
    const paint = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    let t = performance.now();
    await Plotly.react(gd, fig.data, fig.layout, {responsive: true});
    await paint();
    const first = performance.now() - t;
    for (let i = 0; i < n; i++) {
        // a redraw with different points, as after a filter change
        const f = JSON.parse(JSON.stringify(fig));
        f.data.forEach(tr => { tr.marker = {...tr.marker, size: 5 + (i % 2)}; });
        t = performance.now();
        await Plotly.react(gd, f.data, f.layout, {responsive: true});
        await paint();
        times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return [first, times[Math.floor(times.length / 2)]];
}"""


def _browser_times(maps: dict[str, str], tmp: Path) -> dict[str, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    from tests.plugins.viz import CHROMIUM_ARGS, serve_directory

    shutil.copy(Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js", tmp / "plotly.min.js")
    (tmp / "index.html").write_text("<html><body><div id=g style='width:600px'></div>"
                                    "<script src='plotly.min.js'></script></body></html>")
    server, base = serve_directory(tmp)
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            for key, fig in maps.items():
                page = browser.new_page(viewport={"width": 1366, "height": 900})
                page.goto(f"{base}/index.html")
                out[key] = page.evaluate(REDRAW_JS, [json.loads(fig), 3])
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return out


def main() -> None:
    import tempfile

    rows, maps = [], {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for n in SIZES:
            for design in ("board", "figurewidget"):  # alternating, same data
                r = _run_child(design, n, tmp)
                maps[(design, n)] = r.pop("map")
                rows.append((n, design, r))
        # the map as each design sends it (the FigureWidget's is the same figure)
        times = _browser_times({f"{d}-{n}": m for (d, n), m in maps.items()}, tmp)
    print(f"{'N':>7} {'design':13} {'CPU s':>7} {'RSS MB':>7} {'start->state s':>15} {'filter->state s':>16} "
          f"{'page MB':>8} {'map draw ms':>12} {'map redraw ms':>14}")
    by = {}
    for n, design, r in rows:
        first, redraw = times[f"{design}-{n}"]
        by[(n, design)] = r
        print(f"{n:7d} {design:13} {r['cpu']:7.1f} {r['rss_mb']:7.0f} {r['first']:15.2f} {r['redraw']:16.2f} "
              f"{r['sent'] / 1e6:8.2f} {first:12.0f} {redraw:14.0f}")
    for n in SIZES:
        a, b = by[(n, "board")], by[(n, "figurewidget")]
        print(f"{n}: board/FigureWidget page bytes {a['sent'] / b['sent']:.2f}, CPU {a['cpu'] / b['cpu']:.2f}")


if __name__ == "__main__":
    main()
