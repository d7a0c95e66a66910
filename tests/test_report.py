"""HTML reports: the report notebook runs in a real kernel, the page is self-contained and
deterministic, and headless Chromium renders every figure with the network blocked."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mirror_kit.cli import main

pytestmark = pytest.mark.slow  # Jupyter kernel, analysed sample journal, Chromium

FIGURES = ("fig-patterns", "fig-map", "fig-tension-map", "fig-tensions")
TRUTH = json.loads((Path(__file__).resolve().parents[1] / "data" / "sample_truth.json").read_text())


class _Refs(HTMLParser):
    """Every URL the page would load or link to (script/img/iframe src, link/a href, CSS url())."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.scripts = 0
        self.inline_scripts: list[int] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "data", "poster", "srcset", "action"):
            if a.get(key):
                self.urls.append((tag, key, a[key]))
        if tag == "script":
            self.scripts += 1
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", data):
                self.urls.append(("style", "url", u))
            for u in re.findall(r"@import\s+['\"]([^'\"]+)", data):
                self.urls.append(("style", "import", u))


def _visible_text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.fixture(scope="module")
def report_html(viz_sample_db, tmp_path_factory) -> tuple[Path, Path]:
    """The sample's report written twice (two kernel runs) to check determinism."""
    import mirror_kit

    out = tmp_path_factory.mktemp("report")
    with mirror_kit.open(viz_sample_db, readonly=True) as j:
        a = j.viz.report("maya", out / "a" / "report.html")
        b = j.viz.report("maya", out / "b.html")
    return a, b


def test_report_is_one_offline_file_and_deterministic(report_html):
    a, b = report_html
    page = a.read_text(encoding="utf-8")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    refs = _Refs()
    refs.feed(page)
    external = [u for u in refs.urls if re.match(r"^(https?:)?//", u[2].strip(), re.I)]
    assert external == []
    assert not [u for u in refs.urls if u[1] == "src"]  # nothing loaded from anywhere, not even a file
    # plotly.js inline exactly once, no require.js / MathJax / widget manager
    assert page.count("plotly.js v") == 1 and page.count("Plotly.newPlot(") == len(FIGURES)
    start = page.index("plotly.js v")
    outside_plotly = page[:start] + page[page.index("</script>", start):]
    for absent in (r"require(\.min)?\.js", r"MathJax", r"mathjax", r"@jupyter-widgets", r"cdn\.|cdnjs|unpkg|jsdelivr"):
        assert not re.search(absent, outside_plotly), absent
    for fid in FIGURES:
        assert page.count(f'id="{fid}"') == 1
    # code hidden, no prompts, no temp paths or run times leaked into the page
    assert "jp-CodeMirrorEditor" not in page.split("</style>")[-1] and "ReportContext(" not in page
    assert "show(figures" not in page and "In&nbsp;[" not in page
    assert "/tmp/" not in page and "mirror_kit_report_" not in page
    assert list(Path(a.parent).iterdir()) == [a]  # no temp file left beside it


def test_report_summaries_name_planted_patterns_and_drift(report_html, viz_sample_db):
    import mirror_kit

    page = report_html[0].read_text(encoding="utf-8")
    text = _visible_text(page)
    with mirror_kit.open(viz_sample_db, readonly=True) as j:
        n = len(j.frame("reflections", "maya"))
        top = j.patterns.frame("maya").sort_values(["size", "id"], ascending=[False, True]).iloc[0]
        tens = j.tensions.frame("maya")
    assert "Journal report: maya" in text and f"{n} reflections from 2024-01-01 to 2025-08-31" in text
    assert top["label"] in text and "main patterns" in text
    drifting = {t["tension"] for t in TRUTH["tensions"] if t["direction"] in "+-"}
    assert "solitude_connection" in drifting
    assert "drifting towards connection" in text
    assert tens["name"].iloc[0] in text.split("Strongest tension:")[1][:80]


def _chromium(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}",
         # no network at all: every host resolves to nothing and any proxy use fails
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
         "--virtual-time-budget=20000", *args],
        capture_output=True, text=True, timeout=180,
    )


def test_chromium_renders_every_figure_offline(report_html, chromium, tmp_path):
    page = report_html[0]
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html_dom = dom.stdout
    for fid in FIGURES:
        start = html_dom.index(f'id="{fid}"')
        chunk = html_dom[start:start + 400_000]
        nxt = [html_dom.find(f'id="{o}"', start + 1) for o in FIGURES if o != fid]
        end = min([x for x in nxt if x > start] or [len(html_dom)])
        chunk = html_dom[start:end]
        assert "plot-container" in chunk and "main-svg" in chunk, fid
    # plotly drew the traces: points of the reflection map (WebGL canvas) and lines of the evolution charts
    assert html_dom.count('class="trace scatter') >= 10
    assert "gl-canvas" in html_dom or "scattergl" in html_dom
    assert "Journal report: maya" in html_dom
    # a screenshot carries far more than a blank page of the same size does
    shot, blank = tmp_path / "report.png", tmp_path / "blank.png"
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>")
    for target, url in ((shot, page.as_uri()), (blank, empty.as_uri())):
        r = _chromium(chromium, tmp_path, "--window-size=1200,2400", f"--screenshot={target}", url)
        assert r.returncode == 0 and target.exists(), r.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20 * blank.stat().st_size


def test_cli_report_with_range_and_errors(viz_sample_db, tmp_path, capsys):
    out = tmp_path / "q1.html"
    db = ["--db", str(viz_sample_db)]
    rc = main([*db, "report", "--identity", "maya", "--out", str(out), "--since", "2025-01-01",
               "--until", "2025-03-31", "--json"])
    captured = capsys.readouterr().out
    assert rc == 0, captured
    assert json.loads(captured[captured.index("{"):])["report"] == str(out)
    text = _visible_text(out.read_text(encoding="utf-8"))
    assert "from 2025-01-0" in text and "to 2025-03-3" in text and "since 2025-01-01, until 2025-03-31" in text
    assert re.search(r"grief|oma|funeral", text.split("main patterns")[1][:400], re.I)
    out.write_text("previous report")
    for args, msg in ((["--identity", "maya", "--since", "garbage"], "error: since: date 'garbage': write it as YYYY-MM-DD"),
                      (["--identity", "maya", "--since", "2025-13-01"], "error: since: date '2025-13-01': month must be"),
                      (["--identity", "maya", "--until", "2025-02-30"], "error: until: date '2025-02-30': day is out of"),
                      # never guessed: a two-digit year or a local form is refused, not read as 2001-01-24
                      (["--identity", "maya", "--since", "24-01-01"], "write it as YYYY-MM-DD"),
                      (["--identity", "maya", "--since", "01/02/2024"], "write it as YYYY-MM-DD"),
                      (["--identity", "maya", "--since", "2025-03-01", "--until", "2025-01-01"], "is after until"),
                      (["--identity", "nobody"], "nobody"),
                      (["--identity", "maya", "--out", str(tmp_path)], "directory")):
        rc = main([*db, "report", "--out", str(out), *args])
        err = capsys.readouterr().err
        assert rc != 0 and msg in err and "Traceback" not in err, err
    assert out.read_text() == "previous report"  # nothing half-written over the old file


def test_failed_run_keeps_the_old_report(viz_sample_db, tmp_path):
    import mirror_kit
    from mirror_kit.errors import MirrorKitError
    from mirror_kit.viz.report import build_report

    out = tmp_path / "report.html"
    out.write_text("previous report")
    with mirror_kit.open(viz_sample_db, readonly=True) as j, pytest.raises(MirrorKitError, match="kernel"):
        build_report(j, "maya", out, kernel_name="no-such-kernel")
    assert out.read_text() == "previous report" and list(tmp_path.iterdir()) == [out]


def test_report_of_an_unanalysed_journal_explains_empty_views(journal, tmp_path):
    journal.identities.add("ana")
    journal.reflections.add("ana", "A first entry <script>alert(1)</script>", created_at="2024-01-01T10:00:00Z")
    out = journal.viz.report("ana", tmp_path / "ana.html")
    page = out.read_text(encoding="utf-8")
    text = _visible_text(page)
    assert "1 reflection from 2024-01-01 to 2024-01-01" in text
    assert "No patterns in this range" in text and "No tension scores in this range" in text
    assert page.count("run `mirror-kit analyze --identity NAME` first") >= 3  # empty-state figures
    assert "<script>alert(1)" not in page


def test_notebooks_report_is_the_packaged_template():
    """`notebooks/report.ipynb` (outputs, nbval-tested) and the template `mirror-kit report` runs
    have the same cells; the parameters cell is tagged for papermill."""
    import nbformat

    from mirror_kit.viz.report import TEMPLATE

    root = Path(__file__).resolve().parents[1]
    shown = nbformat.read(root / "notebooks" / "report.ipynb", as_version=4)
    shipped = nbformat.read(TEMPLATE, as_version=4)
    assert [(c.cell_type, c.source) for c in shown.cells] == [(c.cell_type, c.source) for c in shipped.cells]
    params = [c for c in shipped.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for name in ("journal_path", "identity", "period", "since", "until"):
        assert re.search(rf"^{name} = ", params[0].source, re.M)
    assert 'os.environ.get("MIRROR_KIT_DB", "../demo/sample.db")' in params[0].source
    assert all(not c.get("outputs") for c in shipped.cells if c.cell_type == "code")


LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
WAIT_FIGURES = f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(FIGURES)}"


@pytest.fixture(scope="module")
def served_report(report_html):
    from tests.plugins.viz import serve_directory

    server, base = serve_directory(report_html[0].parent)
    yield f"{base}/{report_html[0].name}"
    server.shutdown()


def _guarded_context(browser, leaked: list[str], **kw):
    """A browser context where every request off the loopback is aborted and recorded (popups and
    form posts included: the route is on the whole context)."""
    from urllib.parse import urlparse

    context = browser.new_context(accept_downloads=True, **kw)

    def guard(route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in LOOPBACK:
            route.continue_()
        else:
            leaked.append(url)
            route.abort()

    context.route("**/*", guard)
    return context


def test_no_modebar_button_sends_anything_off_the_machine(served_report, browser):
    leaked: list[str] = []
    context = _guarded_context(browser, leaked, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(served_report)
    page.wait_for_function(WAIT_FIGURES, timeout=60_000)
    clicked = []
    for fid in FIGURES:
        fig = page.locator(f"#{fid}")
        fig.scroll_into_view_if_needed()
        fig.hover()
        buttons = fig.locator(".modebar-btn")
        assert buttons.count() > 0, fid
        for i in range(buttons.count()):
            b = buttons.nth(i)
            clicked.append((fid, b.get_attribute("data-title") or "", b.get_attribute("data-attr") or ""))
            b.click(force=True)
            page.wait_for_timeout(50)
    page.wait_for_timeout(500)
    context.close()
    titles = " ".join(t for _, t, _ in clicked).lower()
    assert "download plot" in titles and "zoom" in titles  # the buttons really were there and clicked
    for word in ("share", "cloud", "chart studio", "edit in", "plotly", "produced with"):
        assert word not in titles, word
    assert leaked == []


def test_report_embeds_the_private_config_in_every_figure(report_html):
    page = report_html[0].read_text(encoding="utf-8")
    configs = re.findall(r'Plotly\.newPlot\(\s*"fig-[\w-]+",\s*\[.*?\],\s*\{.*?\},\s*(\{[^{}]*\})', page, re.S)
    assert len(configs) == len(FIGURES)
    for raw in configs:
        conf = json.loads(raw)
        assert conf["displaylogo"] is False and conf["showSendToCloud"] is False
        assert {"sendDataToCloud", "editInChartStudio"} <= set(conf["modeBarButtonsToRemove"])


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["laptop", "phone"])
def test_report_reflows_without_clipping(served_report, browser, artifacts, size):
    width, height = size
    leaked: list[str] = []
    context = _guarded_context(browser, leaked, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(served_report)
    page.wait_for_function(WAIT_FIGURES, timeout=60_000)
    page.wait_for_timeout(300)  # responsive figures redraw to the column's width
    boxes = page.evaluate("""() => {
        const W = document.documentElement.clientWidth, out = [];
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0 || r.right < -500) continue;  // plotly's off-screen tester
            if (r.left < -1 || r.right > W + 1)
                out.push(`${el.tagName}.${el.getAttribute('class') || ''} ${Math.round(r.left)}..${Math.round(r.right)}`);
        }
        const figs = [...document.querySelectorAll('.js-plotly-plot')].map(f => f.getBoundingClientRect().width);
        return {W, scroll: document.documentElement.scrollWidth, out, figs};
    }""")
    page.screenshot(path=str(artifacts / f"report-{width}x{height}.png"), full_page=True)
    context.close()
    assert boxes["W"] == width and boxes["scroll"] <= width, boxes
    assert boxes["out"] == [], boxes["out"][:10]
    # every figure takes (nearly) the whole column: not ~60 px wide on a phone
    assert len(boxes["figs"]) == len(FIGURES) and min(boxes["figs"]) >= 0.8 * min(width, 1100) - 60, boxes["figs"]
    assert leaked == []


THEME_PROBE = """() => {
    const lum = c => { const m = c.match(/[\\d.]+/g).map(Number);
        if (m.length > 3 && m[3] === 0) return null;  // transparent
        return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255; };
    const behind = el => { for (; el; el = el.parentElement) {  // what shows through a transparent box
        const l = lum(getComputedStyle(el).backgroundColor); if (l !== null) return l; } return 1; };
    const figs = [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
        paper: behind(g.querySelector('.main-svg')),
        plot: [...g.querySelectorAll('.bg')].map(b => getComputedStyle(b)).map(
            st => Number(st.fillOpacity) === 0 ? null : lum(st.fill)),
        ticks: [...g.querySelectorAll('.xtick text, .ytick text, .gtitle')].map(t => lum(getComputedStyle(t).fill)),
    }));
    const body = getComputedStyle(document.body);
    return {page: lum(body.backgroundColor), text: lum(body.color),
            para: lum(getComputedStyle(document.querySelector('.mk-span')).color), figs};
}"""


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_report_follows_the_system_colour_scheme(served_report, browser, artifacts, scheme):
    leaked: list[str] = []
    context = _guarded_context(browser, leaked, viewport={"width": 1366, "height": 768}, color_scheme=scheme)
    page = context.new_page()
    page.goto(served_report)
    page.wait_for_function(WAIT_FIGURES, timeout=60_000)
    probe = page.evaluate(THEME_PROBE)
    page.screenshot(path=str(artifacts / f"report-{scheme}-1366x768.png"), full_page=True)
    context.close()
    dark = scheme == "dark"
    assert (probe["page"] < 0.2) if dark else (probe["page"] > 0.9), probe["page"]
    for ink in (probe["text"], probe["para"]):
        assert (ink > 0.6) if dark else (ink < 0.5), probe
    assert len(probe["figs"]) == len(FIGURES)
    for fig in probe["figs"]:
        # no white box: the page's background is what shows behind every figure and plot area
        assert fig["paper"] == probe["page"] and all(b in (None, probe["page"]) for b in fig["plot"]), fig
        assert fig["ticks"] and all((t > 0.6) if dark else (t < 0.5) for t in fig["ticks"]), fig
    assert leaked == []


RIGHTMOST_POINT = """id => {  // the point furthest right (drawn in SVG or WebGL), in page px
    const gd = document.getElementById(id);
    gd.scrollIntoView({block: 'center'});
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, f = gd.getBoundingClientRect();
    let best = null;
    for (const t of gd._fullData) {  // plotly's decoded copy of every trace (typed arrays included)
        const xs = Array.from(t.x || []), ys = Array.from(t.y || []);
        xs.forEach((x, i) => { if (Number.isFinite(x) && Number.isFinite(ys[i]) && (best === null || x > best.x))
            best = {x, y: ys[i]}; });
    }
    return {x: f.left + xa._offset + xa.c2p(best.x), y: f.top + ya._offset + ya.c2p(best.y)};
}"""
HOVER_BOX = """id => {
    const gd = document.getElementById(id), f = gd.getBoundingClientRect();
    const boxes = [...gd.querySelectorAll('.hoverlayer .hovertext')].map(h => h.getBoundingClientRect());
    return {fig: [f.left, f.top, f.right, f.bottom], boxes: boxes.map(b => [b.left, b.top, b.right, b.bottom])};
}"""


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["laptop", "phone"])
def test_hover_text_stays_inside_the_figure_at_its_right_edge(served_report, browser, artifacts, size):
    leaked: list[str] = []
    context = _guarded_context(browser, leaked, viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(served_report)
    page.wait_for_function(WAIT_FIGURES, timeout=60_000)
    for fid in ("fig-map", "fig-tension-map"):
        target = page.evaluate(RIGHTMOST_POINT, fid)
        page.mouse.move(target["x"] - 30, target["y"])
        page.mouse.move(target["x"], target["y"])
        page.wait_for_selector(f"#{fid} .hoverlayer .hovertext", timeout=5_000)
        got = page.evaluate(HOVER_BOX, fid)
        if fid == "fig-map":
            page.screenshot(path=str(artifacts / f"report-hover-{size[0]}x{size[1]}.png"))
        left, top, right, bottom = got["fig"]
        assert got["boxes"], fid
        for b in got["boxes"]:
            assert left - 1 <= b[0] and b[2] <= right + 1 and top - 1 <= b[1] and b[3] <= bottom + 1, (fid, got)
    context.close()
    assert leaked == []


def test_search_box_lights_up_the_map_reflections_holding_every_word(served_report, browser, report_html,
                                                                     viz_sample_db):
    import mirror_kit
    from mirror_kit.viz.report import search_fold

    page_html = report_html[0].read_text(encoding="utf-8")
    start = page_html.index('"fig-map",')
    traces, _ = json.JSONDecoder().raw_decode(page_html[start + len('"fig-map",'):].lstrip())
    points = [cd for t in traces for cd in (t.get("customdata") or [])]
    with mirror_kit.open(viz_sample_db, readonly=True) as j:
        content = dict(j.execute("SELECT id, content FROM reflections").fetchall())
    texts = [content[str(cd[0])] for cd in points]
    word = "cafe"  # typed without the accent the journal writes (Café)
    want = sum(1 for t in texts if word in search_fold(t))
    assert 0 < want < len(texts)  # the word splits the map: the test can tell a filter from no filter
    # every word of a reflection counts, not only those of its hover snippet
    assert sum(1 for cd in points if word in search_fold(cd[2])) < want
    leaked: list[str] = []
    context = _guarded_context(browser, leaked, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(served_report)
    page.wait_for_function(WAIT_FIGURES, timeout=60_000)
    page.fill("#mk-search-box", f"  {word.upper()} ")
    page.wait_for_function("document.getElementById('mk-search-count').textContent.length > 0", timeout=10_000)
    assert page.text_content("#mk-search-count") == f"{want} of {len(texts)} reflections on the map match"
    chosen = page.evaluate("document.getElementById('fig-map').data.map(t => (t.selectedpoints || []).length)")
    assert sum(chosen) == want
    page.fill("#mk-search-box", "")
    page.wait_for_function("document.getElementById('mk-search-count').textContent === ''", timeout=10_000)
    # a box of no word says so in the line every other surface uses; the box takes at most the limit
    from mirror_kit.search_words import MAX_QUERY_CHARS, NO_WORD

    page.fill("#mk-search-box", " ☕ ( ")
    page.wait_for_function("document.getElementById('mk-search-count').textContent.length > 0", timeout=10_000)
    assert page.text_content("#mk-search-count") == NO_WORD
    assert page.get_attribute("#mk-search-box", "maxlength") == str(MAX_QUERY_CHARS)
    context.close()
    assert leaked == []


@pytest.mark.parametrize("query", ["race training", "Races TRAINED the"])
def test_search_box_matches_every_word_as_journal_search_does(served_report, browser, report_html, viz_sample_db,
                                                               query):
    import mirror_kit
    from mirror_kit.search_words import MAX_K
    from tests.search_oracle import any_word_ids, matching_ids

    page_html = report_html[0].read_text(encoding="utf-8")
    start = page_html.index('"fig-map",')
    traces, _ = json.JSONDecoder().raw_decode(page_html[start + len('"fig-map",'):].lstrip())
    points = [str(cd[0]) for t in traces for cd in (t.get("customdata") or [])]
    with mirror_kit.open(viz_sample_db, readonly=True) as j:
        maya = j.identities.get("maya").id
        api = set(j.search(query, identity="maya", k=MAX_K, mode="text")["reflection_id"])
    assert len(api) < MAX_K  # every match, not the first MAX_K
    assert api == matching_ids(viz_sample_db, query, maya)
    some = any_word_ids(viz_sample_db, "race training", maya)
    want = sum(1 for rid in points if rid in api)
    assert 0 < want < sum(1 for rid in points if rid in some)
    leaked: list[str] = []
    context = _guarded_context(browser, leaked, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(served_report)
    page.wait_for_function(WAIT_FIGURES, timeout=60_000)
    page.fill("#mk-search-box", query)
    page.wait_for_function("document.getElementById('mk-search-count').textContent.length > 0", timeout=10_000)
    assert page.text_content("#mk-search-count") == f"{want} of {len(points)} reflections on the map match"
    context.close()
    assert leaked == []


def test_the_map_carries_only_the_text_a_hover_snippet_leaves_out():
    from mirror_kit.viz.plots import _snippet
    from mirror_kit.viz.report import SNIPPET_SAFE, search_rest

    short = "Walked to the Café by the river."
    assert search_rest(short) == ""  # all in its snippet: nothing more to carry
    long = ("Morning run " * 12) + "then a long talk about the NEW JOB at the café with Dana."
    rest = search_rest(long)
    assert rest.endswith("new job at the cafe with dana.") and len(rest) < len(long)
    # every word is in the snippet or in the rest
    shown = _snippet(long).replace("<br>", " ")
    assert len(" ".join(shown.split())) > SNIPPET_SAFE
    assert all(w.lower() in shown.lower() or w.lower().replace("é", "e") in rest for w in long.split())
