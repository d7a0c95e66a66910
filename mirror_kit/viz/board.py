"""`FigureBoard`: one anywidget that draws several Plotly figures; one copy of plotly.js per kernel.

A plotly `FigureWidget` carries its own plotly.js bundle (about 5 MB) in every widget's state, so
four of them send about 20 MB to the page, into a saved notebook and through Voila. plotly.js
travels once, in the kernel's one `PlotlyLibrary` widget that every board refers to, and a board
syncs only each figure's JSON; clicks and lasso selections come back as messages, and the
reflections to light up (`highlight`) go to the page as point indices, so a selection never resends
a figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import anywidget
import traitlets as t

# The page side of the library: plotly.min.js is a UMD bundle. Inside a function with a local
# `module` it hands Plotly to us instead of writing a global (JupyterLab, Voila and VS Code differ in
# what globals and AMD loaders a page has). It reaches the page once per kernel, in the one
# `PlotlyLibrary` widget every board refers to, however many boards a notebook shows.
_LIB_JS = r"""
const Plotly = globalThis.__mirrorKitPlotly || (globalThis.__mirrorKitPlotly = (() => {
  const module = { exports: {} };
  const exports = module.exports;
  /*PLOTLY_JS*/
  ;return module.exports;
})());
export default { initialize() { return { Plotly }; } };
"""

# The page side of a board: it takes Plotly from the library widget it refers to.
_JS = r"""
function figureOf(model, name) {
  const s = model.get(`fig_${name}`);
  return s ? JSON.parse(s) : null;
}

export default {
  async render({ model, el, host }) {
    if (!host || !host.getWidget) {
      el.textContent = "These figures need anywidget 0.11 or later in the notebook's front end.";
      return;
    }
    const { Plotly } = (await host.getWidget(model.get("lib"))).exports;
    const views = model.get("views");
    const root = document.createElement("div");
    root.className = "mk-board";
    // two views side by side on a wide screen, one under the other on a laptop or phone
    root.style.cssText = "display:flex;flex-flow:row wrap;gap:4px;width:100%";
    el.appendChild(root);
    const divs = {};
    for (const name of views) {
      const d = document.createElement("div");
      d.className = `mk-view mk-view-${name}`;
      d.dataset.view = name;
      // never narrower than a phone's width: a squeezed output area scrolls instead of drawing slivers
      d.style.cssText = "flex:0 1 600px;min-width:300px;max-width:100%";
      root.appendChild(d);
      divs[name] = d;
    }
    const send = (name, kind, ev) => {
      if (!ev || !ev.points) return;
      const points = ev.points.map(p => [p.curveNumber, p.pointIndex ?? p.pointNumber]);
      model.send({ kind, view: name, points });
    };
    const highlightNow = async (name) => {
      const gd = divs[name];
      if (!gd.data || !gd.data.length) return;
      const h = (model.get("highlight") || {})[name];
      // a lasso's outline would re-select its own points on every redraw: the highlight (which
      // already holds what it chose) replaces it
      if (gd.layout.selections && gd.layout.selections.length) await Plotly.relayout(gd, { selections: [] });
      // traces the highlight does not name (a tension's intensity band) keep their look
      const sel = gd.data.map((_, i) => (h && h[i] !== undefined) ? h[i] : null);
      await Plotly.restyle(gd, { selectedpoints: sel });
    };
    const drawNow = async (name) => {
      const fig = figureOf(model, name);
      if (!fig) return;
      const gd = divs[name];
      // The view's box takes the figure's own height: a resize (autosize) measures the box, and a
      // box sized only by its content measured 0 in the middle of a redraw, leaving the figure at
      // zero height on a narrow screen.
      if (fig.layout && fig.layout.height) gd.style.height = `${fig.layout.height}px`;
      await Plotly.react(gd, fig.data || [], fig.layout || {}, model.get("config"));
      await highlightNow(name);
      if (!gd.__mkBound) {
        gd.__mkBound = true;
        gd.on("plotly_click", ev => send(name, "click", ev));
        gd.on("plotly_selected", ev => send(name, "select", ev));
      }
      gd.dataset.drawn = String((Number(gd.dataset.drawn) || 0) + 1);
    };
    // One plotly call at a time per view (overlapping ones leave a figure half updated), and
    // changes that arrive while one runs are drawn once, from the latest state.
    const queue = {}, waiting = {};
    const resizeNow = async (name) => { if (divs[name].data) await Plotly.Plots.resize(divs[name]); };
    const rank = job => (job === drawNow ? 2 : job === highlightNow ? 1 : 0);  // a draw also highlights and sizes
    const run = (name, job) => {
      if (waiting[name]) {
        if (rank(job) > rank(waiting[name])) waiting[name] = job;
        return;
      }
      waiting[name] = job;
      queue[name] = (queue[name] || Promise.resolve()).then(() => {
        const j = waiting[name];
        waiting[name] = null;
        return j && j(name);
      }).catch(err => console.error("mirror_kit board:", err));
    };
    const draw = name => run(name, drawNow);
    const highlight = name => run(name, highlightNow);
    const handlers = [];
    for (const name of views) {
      const h = () => draw(name);
      model.on(`change:fig_${name}`, h);
      handlers.push([`change:fig_${name}`, h]);
    }
    const onHighlight = () => views.forEach(highlight);
    model.on("change:highlight", onHighlight);
    handlers.push(["change:highlight", onHighlight]);
    // a figure drawn before its output is attached has plotly's default width: resize when laid out
    const ro = new ResizeObserver(entries => {
      for (const e of entries) run(e.target.dataset.view, resizeNow);
    });
    views.forEach(name => { ro.observe(divs[name]); draw(name); });
    return () => {
      ro.disconnect();
      handlers.forEach(([ev, h]) => model.off(ev, h));
      views.forEach(name => Plotly.purge(divs[name]));
    };
  },
};
"""


@cache
def library_esm() -> str:
    """The library's page module: plotly.js (the copy plotly's Python package ships), exported."""
    from importlib.resources import files

    plotly_js = files("plotly").joinpath("package_data", "plotly.min.js").read_text(encoding="utf-8")
    return _LIB_JS.replace("/*PLOTLY_JS*/", plotly_js)


class PlotlyLibrary(anywidget.AnyWidget):
    """plotly.js for every board of a kernel: one widget, so the page receives it once (`plotly_library`)."""

    _esm = "export default {};"  # replaced below (plotly.js read once, on first use)

    def __init__(self) -> None:
        super().__init__(_esm=library_esm())


_LIBRARY: PlotlyLibrary | None = None


def plotly_library() -> PlotlyLibrary:
    """The kernel's one `PlotlyLibrary` (made again if it was closed)."""
    global _LIBRARY
    if _LIBRARY is None or getattr(_LIBRARY, "comm", None) is None:
        _LIBRARY = PlotlyLibrary()
    return _LIBRARY


class FigureBoard(anywidget.AnyWidget):
    """Several Plotly figures in one widget; every board of a kernel shares one plotly.js.

    views: the figure names, in page order; `show(name, figure)` draws one. `highlight` is
    {view: {trace index: [point indices]}}: those points are drawn selected, the others of the
    named traces dimmed; a view left out is drawn as is. `on_points(view, kind, points)` is called
    with kind "click" or "select" and points [(trace index, point index), ...].
    """

    _esm = _JS
    views = t.List(t.Unicode()).tag(sync=True)
    config = t.Dict().tag(sync=True)
    highlight = t.Dict().tag(sync=True)
    lib = anywidget.WidgetTrait().tag(sync=True)  # sent as a reference, not as the library's state

    def __init__(self, views: Sequence[str], *, config: dict | None = None,
                 on_points: Callable[[str, str, list[tuple[int, int]]], None] | None = None) -> None:
        self.add_traits(**{f"fig_{v}": t.Unicode("").tag(sync=True) for v in views})
        super().__init__(views=list(views), config=dict(config or {}), lib=plotly_library())
        self.on_points = on_points
        self.on_msg(self._message)

    def show(self, name: str, figure: Any) -> None:
        """Draw `figure` (a plotly Figure) in view `name` (sends its JSON only when it changed)."""
        setattr(self, f"fig_{name}", figure.to_json())

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("kind") not in ("click", "select"):
            return
        view = content.get("view")
        if view not in self.views or self.on_points is None:
            return
        points = [(int(c), int(i)) for c, i in content.get("points") or [] if c is not None and i is not None]
        if points:
            self.on_points(view, content["kind"], points)
