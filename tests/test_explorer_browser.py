"""The explorer notebook served by Voila on 127.0.0.1 and driven in headless Chromium: its figures draw
with data outside JupyterLab, a click on a pattern's bar opens that pattern's reflections of that
period, a date filter redraws the views, and nothing is fetched off the machine but Voila's own icon
font stylesheet."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.slow  # a Voila server, a kernel, the analysed sample journal, Chromium

ROOT = Path(__file__).resolve().parents[1]
# Voila's page template (not the notebook) links Font Awesome from a CDN; it is blocked like any
# other request off the machine, and nothing else may be asked for.
VOILA_TEMPLATE_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/"
FIGURES_DRAWN = ("(() => { const g = [...document.querySelectorAll('.js-plotly-plot')];"
                 " return g.length >= 4 && g.every(x => x.data && x.data.length > 0); })()")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_explorer(viz_sample_db):
    pytest.importorskip("voila", reason="pip install voila (the `test` extra)")
    port = _free_port()
    env = {**os.environ, "MIRROR_KIT_DB": str(viz_sample_db), "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         str(ROOT / "notebooks" / "explorer.ipynb")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT / "notebooks",
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"voila did not start (exit code {proc.poll()})")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_voila_explorer_draws_clicks_filters_and_follows_a_dark_theme_offline(voila_explorer, browser, artifacts):
    leaked: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 768})

    def guard(route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            leaked.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    t0 = time.monotonic()
    page.goto(voila_explorer, timeout=180_000)
    page.wait_for_function(FIGURES_DRAWN, timeout=180_000)
    first_figure_s = time.monotonic() - t0
    figs = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(g => "
                         "[g.layout.title.text, g.data.length, g._fullData.map(t => (t.x || []).length)])")
    titles = [f[0] for f in figs]
    assert titles[0].startswith("Reflection map") and "How patterns evolve" in titles
    assert all(sum(f[2]) > 0 for f in figs), figs  # every view has points, not an empty frame
    # the config reached the widgets: no cloud button, no logo link
    page.locator(".js-plotly-plot").nth(1).hover()
    modebar = " ".join(page.locator(".modebar-btn").evaluate_all("bs => bs.map(b => b.dataset.title || '')")).lower()
    assert "zoom" in modebar and "share" not in modebar and "plotly" not in modebar

    # a real click on one pattern's bar in one week: the panel shows that pattern's reflections of that week
    target = page.evaluate("""() => {
        const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout.title.text === 'How patterns evolve');
        const k = 1, tr = gd.data[k];
        const j = tr.customdata.findIndex(c => c[0] > 1);
        const bar = gd.querySelectorAll('.barlayer .trace')[k].querySelectorAll('.point')[j];
        bar.scrollIntoView({block: 'center'});
        const r = bar.getBoundingClientRect();
        return {x: r.left + r.width / 2, y: r.top + r.height / 2, label: tr.customdata[j][2], n: tr.customdata[j][0],
                period: tr.customdata[j][4], k: k, j: j};
    }""")
    page.mouse.move(target["x"], target["y"])
    # plotly takes a click's point from its hover, which follows the pointer a frame later: click once
    # the hover is on the bar (an earlier hover elsewhere would otherwise name another bar)
    page.wait_for_function("""([k, j]) => {
        const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout.title.text === 'How patterns evolve');
        const h = gd._hoverdata || [];
        return h.length > 0 && h[0].curveNumber === k && h[0].pointNumber === j;
    }""", arg=[target["k"], target["j"]], timeout=10_000)
    page.mouse.click(target["x"], target["y"])
    panel = page.locator(".widget-html-content", has_text="reflection").filter(has=page.locator(".mk-reflection"))
    panel.first.wait_for(timeout=30_000)
    text = panel.first.inner_text()
    assert f"{target['label']} · week of " in text and f"{target['n']} reflection" in text, text[:300]
    cards = panel.first.locator(".mk-reflection")  # the notebook's own output has cards too
    assert cards.count() == target["n"]
    assert all(target["label"] in c for c in cards.all_inner_texts()) and "nan" not in text.replace("nancy", "")
    page.screenshot(path=str(artifacts / "explorer-voila-1366x768.png"), full_page=True)

    # a dark front end (JupyterLab Dark and Voila's dark theme mark the body so): no white boxes,
    # the figures' ink turns light
    ink = page.evaluate("""() => {
        document.body.dataset.jpThemeLight = 'false';
        // the page's own dark colours, as the dark theme's stylesheet would give them
        const dark = document.createElement('style');
        dark.id = 'test-dark-page';
        dark.textContent = 'html, body, body main, .jp-Notebook, .jp-Cell, .jp-OutputArea, .jp-OutputArea-output '
            + '{ background: #111418 !important; color: #e8e8e8 !important; }';
        document.head.appendChild(dark);
        const lum = c => { const m = c.match(/[\\d.]+/g).map(Number);
            return m.length > 3 && m[3] === 0 ? null : (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255; };
        return [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
            svg: lum(getComputedStyle(g.querySelector('.main-svg')).backgroundColor),
            bg: [...g.querySelectorAll('.bg')].map(b => getComputedStyle(b))
                .map(st => Number(st.fillOpacity) === 0 ? null : lum(st.fill)),
            ticks: [...g.querySelectorAll('.xtick text, .ytick text, .gtitle')].map(t => lum(getComputedStyle(t).fill)),
        }));
    }""")
    page.screenshot(path=str(artifacts / "explorer-voila-dark-1366x768.png"), full_page=True)
    assert len(ink) >= 4
    for fig in ink:
        assert fig["svg"] is None and all(b is None for b in fig["bg"]), fig
        assert fig["ticks"] and min(fig["ticks"]) > 0.6, fig
    page.evaluate("() => { document.body.dataset.jpThemeLight = 'true'; document.getElementById('test-dark-page').remove(); }")

    # a filter change redraws every view: since = 1 March 2025 leaves one month of the quarter
    status = page.locator(".widget-html-content", has_text="reflections in range").first
    before = status.inner_text()
    t1 = time.monotonic()
    date = page.locator("input[type=date]").first
    date.fill("2025-03-01")
    date.dispatch_event("change")
    page.wait_for_function("b => ![...document.querySelectorAll('.widget-html-content')].some("
                           "e => e.innerText === b)", arg=before, timeout=60_000)
    redraw_s = time.monotonic() - t1
    after = status.inner_text()
    assert int(after.split()[0]) < int(before.split()[0]), (before, after)
    context.close()
    assert [u for u in leaked if not u.startswith(VOILA_TEMPLATE_CDN)] == []
    (artifacts / "explorer-voila-timings.txt").write_text(
        f"page open to four figures drawn: {first_figure_s:.1f} s\nfilter change to redraw: {redraw_s:.1f} s\n")
