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

Second table, the whole path on a real journal file: the synthetic journal of `bench report` (20
patterns, the seed tensions scored on every reflection, 32-dimensional vectors) built at each size,
then one process per run from its start to the Explorer's first figure state: imports, the journal
read (`ExplorerState._load`: reflections, patterns, occurrences, tension day sums, vectors and their
projection), and the figures and widget state; plus the map's first draw in Chromium.
BENCH_EXPLORER_BASELINE=DIR runs the same process from another checkout of mirror_kit too (e.g. `git
worktree add DIR main`), alternating with ours, so a change is measured before/after in one run.

Run: .venv/bin/python -m bench explorer   (BENCH_EXPLORER_SIZES=100000 for one size,
BENCH_EXPLORER_JOURNAL_ONLY=1 for the second table only)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = tuple(int(x) for x in os.environ.get("BENCH_EXPLORER_SIZES", "10000,100000").split(","))
JOURNAL_REPS = 3
# One process: open a journal file and build the Explorer, timing imports, the journal read and the
# rest (process CPU-seconds); uses only the public API, so it runs against any checkout.
JOURNAL_CHILD = """
import json, sys, time
t0 = time.process_time()
import ipywidgets
import mirror_kit
from mirror_kit.viz import explorer as ex_mod
from mirror_kit.viz.state import ExplorerState
t_imports = time.process_time()
read = [0.0]
load = ExplorerState._load
def timed(self):
    c = time.process_time()
    try:
        return load(self)
    finally:
        read[0] += time.process_time() - c
ExplorerState._load = timed
from ipywidgets.widgets.widget import _remove_buffers
j = mirror_kit.open(sys.argv[1], readonly=True)
ex = ex_mod.Explorer(j, "maya")
state, _, buffers = _remove_buffers(ex.board.get_state())
sent = len(json.dumps(state, default=str)) + sum(len(b) for b in buffers)
t_end = time.process_time()
json.dump({"start": t0, "imports": t_imports - t0, "read": read[0], "rest": t_end - t_imports - read[0],
           "sent": sent, "map": ex.board.fig_map}, open(sys.argv[2], "w"))
"""


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


def _run_journal_child(root: str, db: Path, out: Path) -> dict:
    """One Explorer process on a journal file, code from checkout `root`: its CPU (whole process),
    peak RSS and the breakdown the child writes."""
    env = {"PYTHONPATH": root, "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", JOURNAL_CHILD, str(db), str(out)], cwd=root, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), "explorer child")
    res = json.loads(out.read_text())
    res["cpu"], res["rss_mb"] = ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024
    return res


def journal_table(tmp: Path) -> None:
    """Process start to first figure state on a real journal file, ours (and the baseline checkout,
    alternating), with the breakdown and the map's first draw in Chromium."""
    from bench.bench_report import build

    baseline = os.environ.get("BENCH_EXPLORER_BASELINE") or None
    codes = {"ours": str(ROOT)} | ({"baseline": baseline} if baseline else {})
    load_before = os.getloadavg()
    results, maps = {}, {}
    for n in SIZES:
        db = tmp / f"journal-{n}.db"
        build(db, n)
        runs: dict[str, list] = {c: [] for c in codes}
        for k in range(JOURNAL_REPS):
            for code, root in codes.items():
                r = _run_journal_child(root, db, tmp / f"{code}-{n}-{k}.json")
                maps[f"{code}-{n}"] = r.pop("map")
                runs[code].append(r)
        results[n] = runs
    times = _browser_times(maps, tmp)
    print(f"\nExplorer on a journal file, process start to first figure state (medians of {JOURNAL_REPS}, "
          "alternating; CPU-seconds):\n")
    print("| N | code | process CPU s | imports s | journal read s | figures + state s | peak RSS MB | page MB "
          "| map draw ms | CPU + draw s |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, runs in results.items():
        for code, rs in runs.items():
            med = {key: statistics.median(r[key] for r in rs) for key in ("cpu", "imports", "read", "rest",
                                                                          "rss_mb", "sent")}
            draw = times[f"{code}-{n}"][0]
            print(f"| {n:,} | {code} | {med['cpu']:.2f} | {med['imports']:.2f} | {med['read']:.2f} | "
                  f"{med['rest']:.2f} | {med['rss_mb']:.0f} | {med['sent'] / 1e6:.2f} | {draw:.0f} | "
                  f"{med['cpu'] + draw / 1000:.2f} |")
    if baseline:
        same = all(maps[f"ours-{n}"] == maps[f"baseline-{n}"] for n in SIZES)
        print(f"\nmap figure JSON identical to the baseline's at every size: {'yes' if same else 'NO'}")
    print("\n(process CPU includes interpreter start; imports/read/rest are the child's own process_time; "
          "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f})".format(
              *load_before, *os.getloadavg()))


def main() -> None:
    import tempfile

    if os.environ.get("BENCH_EXPLORER_JOURNAL_ONLY") != "1":
        in_memory_table()
    # second: its children's peak RSS is measured per process (os.wait4), the first table's is the
    # maximum over every child so far (RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as d:
        journal_table(Path(d))


def in_memory_table() -> None:
    """Board against FigureWidgets on in-memory frames (the first table of the module docstring)."""
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
