"""The explorer notebook in a real JupyterLab (started on 127.0.0.1 by the test, stopped after it),
driven in headless Chromium with the network limited to the loopback: the notebook runs, a click on
a pattern's bar, a click and a lasso on the map and a search fill the reading panel and light the
same reflections up in the other views, a date filter redraws the figures, plotly.js reaches the
page once, and the pattern chart's legend stays clear of its axis title on a laptop and a phone."""

from __future__ import annotations

import html
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.slow  # a JupyterLab server, a kernel, the analysed sample journal, Chromium

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_JS_BYTES = (Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js").stat().st_size
BOARD_DRAWN = ("(() => { const g = [...document.querySelectorAll('.mk-view')];"
               " return g.length === 4 && g.every(x => x.data && x.data.length > 0 && x.dataset.drawn); })()")
VIEW = "document.querySelector('.mk-view-{}')"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(viz_sample_db, tmp_path_factory):
    """(base URL, token) of a JupyterLab serving a copy of the explorer notebook."""
    pytest.importorskip("jupyterlab", reason="pip install jupyterlab (the `notebook` extra)")
    home = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "explorer.ipynb", home / "explorer.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    # every cell laid out (JupyterLab skips the layout of cells out of view, which then count as hidden)
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    # private Jupyter dirs: no settings, workspace or runtime file of the developer's is read or written
    env = {**os.environ, "MIRROR_KIT_DB": str(viz_sample_db), "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=home,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start (exit code {proc.poll()})")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", token, home
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _map_points_js() -> str:
    """JS: every map point as {c, i, x, y (page px), id} from the drawn figure."""
    return """() => {
        const gd = document.querySelector('.mk-view-map'), fl = gd._fullLayout, r = gd.getBoundingClientRect();
        const xa = fl.xaxis, ya = fl.yaxis, out = [];
        gd._fullData.forEach((t, c) => { for (let i = 0; i < t.x.length; i++) out.push({c, i,
            x: r.left + xa._offset + xa.l2p(t.x[i]), y: r.top + ya._offset + ya.l2p(t.y[i]),
            id: gd.data[c].customdata[i][0], snippet: gd.data[c].customdata[i][2]}); });
        return out; }"""


def _click(page, locate, expect, artifacts, name: str) -> dict:
    """Click where `locate()` (a dict with page x, y) says until a panel holds `expect(target)`: the
    notebook may still scroll or lay out under the first try. Returns the target clicked."""
    for _ in range(3):
        locate()
        page.wait_for_timeout(300)
        target = locate()
        page.mouse.move(target["x"], target["y"])
        page.wait_for_timeout(200)
        page.mouse.click(target["x"], target["y"])
        try:
            page.locator(".widget-html-content").filter(has_text=expect(target)).first.wait_for(timeout=8_000)
            return target
        except Exception:  # noqa: BLE001 - tried again, then the caller's assertion names what is missing
            page.screenshot(path=str(artifacts / f"explorer-lab-missed-{name}.png"))
    return target


def _highlighted(page, view: str) -> list:
    """Per trace of a view: the point indices drawn selected (None: the trace is not dimmed)."""
    return page.evaluate(f"{VIEW.format(view)}.data.map(t => t.selectedpoints == null ? null : [...t.selectedpoints])")


def _no_overlap(page, view: str) -> dict:
    return page.evaluate(f"""() => {{
        const gd = {VIEW.format(view)}, box = e => e && e.getBoundingClientRect();
        const l = box(gd.querySelector('.legend')), t = box(gd.querySelector('.xtitle'));
        return {{legend: [l.top, l.bottom, l.left, l.right], title: [t.top, t.bottom, t.left, t.right],
                 overlap: !(l.bottom <= t.top || t.bottom <= l.top || l.right <= t.left || t.right <= l.left),
                 inside: l.bottom <= gd.getBoundingClientRect().bottom + 1}}; }}""")


def test_lab_runs_the_explorer_and_links_clicks_lasso_search_and_filters(lab, browser, artifacts, viz_journal):
    base, token, _ = lab
    leaked: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 900})

    def guard(route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            leaked.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    received = {"ws": 0, "http": 0}
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: received.__setitem__(
        "ws", received["ws"] + len(p.encode() if isinstance(p, str) else p))))
    page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}", timeout=120_000)
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')", timeout=120_000)
    page.wait_for_function("window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.sessionContext",
                           timeout=60_000)
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget; await w.context.ready;"
                  " await w.sessionContext.ready; }")
    ws_before = received["ws"]
    t0 = time.monotonic()
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(BOARD_DRAWN, timeout=120_000)
    first_figure_s = time.monotonic() - t0
    # the later cells set a date range and redraw: wait until every cell has run ("[*]" is queued)
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        return w.sessionContext.session.kernel.status === 'idle'
            && !w.content.widgets.some(c => (c.node.querySelector('.jp-InputPrompt') || {}).textContent?.includes('*')); }""",
                           timeout=120_000)
    display_bytes = received["ws"] - ws_before
    # plotly.js (~4.8 MB) reaches the page once, not once per figure
    assert PLOTLY_JS_BYTES < display_bytes < 1.6 * PLOTLY_JS_BYTES, display_bytes
    titles = page.evaluate("[...document.querySelectorAll('.mk-view')].map(g => g.layout.title.text)")
    assert titles[0].startswith("Reflection map") and titles[1] == "How patterns evolve", titles
    panel = page.locator(".widget-html-content").filter(has_text="Click or lasso-select").first
    panel.wait_for(timeout=30_000)

    def panel_text(containing: str) -> str:
        p = page.locator(".widget-html-content").filter(has_text=containing).first
        p.wait_for(timeout=30_000)
        return p.inner_text()

    # 1. a click on one pattern's bar: that pattern's reflections of that period, and the map lights them up
    bar_js = f"""() => {{
        const gd = {VIEW.format('patterns')}, k = 0, tr = gd.data[k];
        const j = tr.customdata.findIndex(c => c[0] > 1);
        const bar = gd.querySelectorAll('.barlayer .trace')[k].querySelectorAll('.point')[j];
        bar.scrollIntoView({{block: 'center'}});
        const r = bar.getBoundingClientRect();
        return {{x: r.left + r.width / 2, y: r.top + r.height / 2, label: tr.customdata[j][2], n: tr.customdata[j][0]}};
    }}"""
    target = _click(page, lambda: page.evaluate(bar_js), lambda t: f"{t['label']} · ", artifacts, "bar")
    text = panel_text(f"{target['label']} · ")
    assert f"{target['n']} reflection" in text, text[:300]
    page.wait_for_function(f"{VIEW.format('map')}.data.some(t => Array.isArray(t.selectedpoints))", timeout=30_000)
    assert sum(len(h or []) for h in _highlighted(page, "map")) == target["n"]
    assert any(h for h in _highlighted(page, "tension_map"))

    # 2. a click on one map point (the one farthest from any other, so the click cannot miss)
    page.locator(".mk-view-map").scroll_into_view_if_needed()

    def isolated():
        pts = page.evaluate(_map_points_js())
        return max(pts, key=lambda p: min(((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2) for q in pts if q is not p))

    best = _click(page, isolated, lambda t: "1 point clicked on the map", artifacts, "point")
    text = panel_text("1 point clicked on the map")
    first_words = " ".join(html.unescape(best["snippet"].replace("<br>", " ")).split()[:6]).rstrip("…")
    assert first_words in " ".join(text.split()), (first_words, text[:300])
    page.wait_for_function(f"{VIEW.format('map')}.data.filter(t => t.selectedpoints && t.selectedpoints.length)"
                           ".length === 1", timeout=30_000)

    # 3. a lasso (a box drawn around the middle of the map): exactly the points inside it
    pts = page.evaluate(_map_points_js())
    xs, ys = sorted(p["x"] for p in pts), sorted(p["y"] for p in pts)
    cx, cy = xs[len(xs) // 2], ys[len(ys) // 2]
    x0, x1, y0, y1 = cx - 70, cx + 70, cy - 60, cy + 60
    inside = {p["id"] for p in pts if x0 < p["x"] < x1 and y0 < p["y"] < y1}
    assert len(inside) > 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    text = panel_text("selected on the map")
    n = int(text.split(" points selected")[0].split()[-1])
    assert abs(n - len(inside)) <= 1, (n, len(inside))
    page.wait_for_function(f"{VIEW.format('map')}.data.reduce((s, t) => s + (t.selectedpoints || []).length, 0)"
                           f" === {n}", timeout=30_000)
    assert any(h for h in _highlighted(page, "patterns"))  # the bars holding them light up too
    page.screenshot(path=str(artifacts / "explorer-lab-lasso-1366.png"), full_page=True)

    # 4. search: the matching reflections of the range shown (the notebook set the first quarter of
    # 2025) light up on the map and fill the panel
    word, hits = next((w, h) for w in ("work", "sleep", "walk", "friend", "tired", "day")
                      if len(h := viz_journal.search(w, identity="maya", k=500, mode="text", since="2025-01-01",
                                                     until="2025-03-31")))
    box = page.locator(".widget-text input[placeholder^='words']").first
    box.fill(word)
    box.press("Enter")
    text = panel_text(f"search “{word}”")
    assert f"{len(hits)} reflection" in text, text[:200]
    page.wait_for_function(f"{VIEW.format('map')}.data.reduce((s, t) => s + (t.selectedpoints || []).length, 0)"
                           f" === {len(hits)}", timeout=30_000)

    # 5. a date filter: every view redraws with fewer points, the map title counts what it draws
    status = page.locator(".widget-html-content", has_text="reflections in range").first
    before = status.inner_text()
    drawn = page.evaluate(f"{VIEW.format('map')}.dataset.drawn")
    t1 = time.monotonic()
    date = page.locator("input[type=date]").first
    date.fill("2025-03-01")
    date.dispatch_event("change")
    page.wait_for_function(f"{VIEW.format('map')}.dataset.drawn !== '{drawn}'", timeout=60_000)
    redraw_s = time.monotonic() - t1
    after = status.inner_text()
    assert int(after.split()[0]) < int(before.split()[0]), (before, after)
    shown = page.evaluate(f"{VIEW.format('map')}._fullData.reduce((s, t) => s + t.x.length, 0)")
    title = page.evaluate(f"{VIEW.format('map')}.layout.title.text")
    assert title.endswith(f"· {shown} reflections") and shown <= int(after.split()[0]), (title, shown)

    # 6. the pattern chart's legend keeps clear of its axis title, on a laptop and on a phone
    date.fill("")
    date.dispatch_event("change")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        if width < 600:  # as on a phone: the file browser folded away
            page.evaluate("window.jupyterapp.shell.collapseLeft()")
        page.wait_for_timeout(600)  # the board resizes its figures on a layout change
        page.locator(".mk-view-patterns").scroll_into_view_if_needed()
        geo = _no_overlap(page, "patterns")
        page.locator(".mk-view-patterns").screenshot(path=str(artifacts / f"explorer-lab-patterns-{width}.png"))
        assert not geo["overlap"] and geo["inside"], (width, geo)
        assert geo["legend"][3] - geo["legend"][2] > 150, geo  # a legend that reads, not a sliver
    page.screenshot(path=str(artifacts / "explorer-lab-390.png"), full_page=True)
    context.close()
    assert leaked == []
    (artifacts / "explorer-lab-timings.txt").write_text(
        f"run all to four figures drawn: {first_figure_s:.1f} s\nfilter change to redraw: {redraw_s:.1f} s\n"
        f"kernel websocket bytes for the display: {display_bytes / 1e6:.2f} MB "
        f"(plotly.min.js {PLOTLY_JS_BYTES / 1e6:.2f} MB)\n")


def _notebook(cells: list[str]) -> str:
    import json

    return json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                                  "source": c} for c in cells],
                       "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                       "nbformat": 4, "nbformat_minor": 5})


def test_lab_rename_box_names_the_chosen_pattern_everywhere_and_is_greyed_out_read_only(lab, browser, viz_sample_db):
    """In a real page with two Explorers (plotly.js sent once): choose a pattern in the list, type a
    name, press Rename; the status line, the list and the pattern chart show it, and the journal
    stores it. The read-only Explorer's box is greyed out with a hint instead of failing on use."""
    import mirror_kit

    base, token, home = lab
    db = home / "writable.db"
    shutil.copyfile(viz_sample_db, db)
    (home / "rename.ipynb").write_text(_notebook([
        f"import mirror_kit\njournal = mirror_kit.open({str(db)!r})\nexplorer = journal.viz.explorer('maya')\nexplorer",
        "ro = mirror_kit.open(" + repr(str(db)) + ", readonly=True).viz.explorer('maya')\nro.widget",
    ]))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost")
                  or r.request.url.startswith(("data:", "blob:", "about:")) else r.abort())
    page = context.new_page()
    received = [0]
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: received.__setitem__(
        0, received[0] + len(p.encode() if isinstance(p, str) else p))))
    # a workspace of its own: the explorer notebook of the other test is not restored beside it
    page.goto(f"{base}/lab/workspaces/rename/tree/rename.ipynb?token={token}&reset", timeout=120_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=120_000)
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget; await w.context.ready;"
                  " await w.sessionContext.ready; }")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    boxes = page.locator(".widget-text input[placeholder='a name for the pattern chosen']")
    boxes.first.wait_for(timeout=120_000)
    greyed = page.locator(".widget-text input[placeholder='open the journal writable to rename']")
    greyed.first.wait_for(timeout=120_000)
    assert greyed.first.is_disabled() and not boxes.first.is_disabled()
    # two explorers on the page, one plotly.js
    page.wait_for_function("document.querySelectorAll('.mk-view[data-drawn]').length === 8", timeout=120_000)
    assert PLOTLY_JS_BYTES < received[0] < 1.6 * PLOTLY_JS_BYTES, received[0]
    # the pattern list is a <select multiple>: choose one pattern, then name it
    page.locator(".widget-select-multiple select").first.select_option(value=None, index=0)
    boxes.first.fill("Marathon training")
    boxes.first.press("Tab")  # the text widget syncs its value on change
    page.locator("button", has_text="Rename").first.click()
    page.locator(".widget-html-content", has_text="Renamed to").first.wait_for(timeout=30_000)
    page.wait_for_function(f"{VIEW.format('patterns')}.data.some(t => (t.name || '').startsWith('Marathon training'))",
                           timeout=30_000)
    options = [" ".join(o.split()) for o in
               page.locator(".widget-select-multiple select").first.locator("option").all_inner_texts()]
    assert options[0].startswith("Marathon training ("), options[:3]
    context.close()
    with mirror_kit.open(db, readonly=True) as j:
        labels = j.patterns.frame(identity="maya")["label"].tolist()
    assert labels.count("Marathon training") == 1, labels
