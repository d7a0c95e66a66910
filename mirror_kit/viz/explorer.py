"""`Explorer(journal)`: an ipywidgets dashboard over one journal (four linked Plotly views).

The logic lives in `ExplorerState` (state.py); this module only wires widgets to it: a filter
change calls `on_change`, which copies the widget values into the state and redraws every view;
clicking or lasso-selecting points calls `on_points` and a search calls `on_search`: both show
those reflections' text and light them up in every view. The views are drawn by one `FigureBoard`
(board.py), so the page loads plotly.js once.
"""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

from ..errors import MirrorKitError
from .board import FigureBoard
from .plots import dark_figure_css, plotly_config
from .state import ExplorerState

VIEWS = ("map", "patterns", "tension_map", "tensions")
# How front ends mark a dark theme on the page: JupyterLab / Notebook 7 / Voila, and VS Code's webview.
DARK_PAGES = ('body[data-jp-theme-light="false"]', "body.vscode-dark", 'body[data-vscode-theme-kind="vscode-dark"]',
              'body[data-vscode-theme-kind="vscode-high-contrast"]')


class Explorer:
    """Identity, date range, minimum confidence, pattern and tension selectors over four linked views.

    Display it as the last expression of a cell (or `explorer.widget`). `explorer.state` holds the
    filters and the figures; `explorer.figures[name]` are the figures drawn (plotly Figures: map,
    patterns, tension_map, tensions) in `explorer.board`; `explorer.search` selects the reflections
    matching its words; `explorer.text` shows the selected reflections.
    """

    def __init__(self, journal: Any, identity: str | None = None, *, period: str = "auto", top: int = 8):
        import ipywidgets as w

        self.state = ExplorerState(journal, identity, period=period, top=top)
        s = self.state
        self.identity = w.Dropdown(options=s.identities, value=s.identity, description="identity")
        self.since = w.DatePicker(description="since")
        self.until = w.DatePicker(description="until")
        self.min_confidence = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="min conf.",
                                            continuous_update=False, readout_format=".2f")
        self.patterns = w.SelectMultiple(options=[], description="patterns", rows=6,
                                         layout=w.Layout(width="360px"))
        self.tension = w.Dropdown(options=[], description="tension", layout=w.Layout(width="360px"))
        self.search = w.Text(description="search", placeholder="words, caf*, \"new job\", -coffee, then Enter", continuous_update=False,
                             layout=w.Layout(width="360px"))
        self.rename = w.Text(description="rename", placeholder="a name for the pattern chosen",
                             layout=w.Layout(width="360px"))
        self.rename_button = w.Button(description="Rename", layout=w.Layout(width="90px"))
        if getattr(journal, "readonly", False):
            # a control that can only fail is greyed out, saying how to make it work
            self.rename.disabled = self.rename_button.disabled = True
            self.rename.placeholder = "open the journal writable to rename"
            self.rename_button.tooltip = "This journal is open read-only: mirror_kit.open(path) to rename."
        self.rename_button.on_click(lambda _: self.on_rename())
        self.status = w.HTML()
        # ipywidgets 8 has `overflow` (not overflow_y) on a layout: the panel scrolls inside its height
        self.text = w.HTML(layout=w.Layout(max_height="420px", overflow="auto", border="1px solid var(--jp-border-color2, #ddd)",
                                           padding="4px", width="100%"))
        self.prev_page = w.Button(description="◀ previous", layout=w.Layout(width="110px"))
        self.next_page = w.Button(description="next ▶", layout=w.Layout(width="110px"))
        self.prev_page.on_click(lambda _: self.show_page(self.state.page - 1))
        self.next_page.on_click(lambda _: self.show_page(self.state.page + 1))
        self.figures: dict[str, Any] = {}
        self.board = FigureBoard(VIEWS, config=plotly_config(legacy=True), on_points=self.on_view_points)
        self._quiet = False
        self._sync_options()
        self.redraw()
        for ctl in (self.identity, self.since, self.until, self.min_confidence, self.patterns, self.tension):
            ctl.observe(self.on_change, names="value")
        self.search.observe(self.on_search, names="value")
        # figures are transparent; on a dark front end this stylesheet recolours their ink
        self.theme = w.HTML(f"<style>{dark_figure_css(*DARK_PAGES)}</style>", layout=w.Layout(height="0px"))
        controls = w.VBox([
            w.HBox([self.identity, self.since, self.until, self.search]),
            w.HBox([self.min_confidence, self.patterns, self.tension]),
            w.HBox([self.rename, self.rename_button]),
            self.status,
        ])
        self.widget = w.VBox([
            self.theme,
            controls,
            self.board,
            w.HBox([w.HTML("<b>Selected reflections</b>"), self.prev_page, self.next_page]),
            self.text,
        ])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- handlers ----------------------------------------------------------------------------------
    def on_change(self, change: dict | None = None) -> None:
        """A filter widget changed: copy every widget value into the state and redraw every view."""
        if self._quiet:
            return
        owner = change.get("owner") if isinstance(change, dict) else None
        if owner is self.identity:
            self.state.update(identity=self.identity.value)
            self._sync_options()
        self.state.update(
            since=self.since.value, until=self.until.value, min_confidence=self.min_confidence.value,
            patterns=list(self.patterns.value), tension=self.tension.value or None,
        )
        if owner is self.min_confidence or owner in (self.since, self.until):
            self._sync_options(keep=True)
        if self.search.value.strip() and owner in (self.identity, self.since, self.until):
            # a search selects within the range shown: a new range (or journal) runs it again
            try:
                self.state.search(self.search.value)
            except MirrorKitError as exc:
                self.state.select([])
                self.status.value = f"<b>{html.escape(str(exc))}</b>"
        self.redraw()

    def _sync_options(self, keep: bool = False) -> None:
        """Selector options for the current identity and filters (without firing on_change)."""
        self._quiet = True
        try:
            opts = self.state.pattern_options()
            ok = {v for _, v in opts}
            self.patterns.options = opts
            self.patterns.value = tuple(p for p in self.state.patterns if p in ok) if keep else ()
            self.state.patterns = list(self.patterns.value)
            self.tension.options = [("all tensions", None), *self.state.tension_options()]
            self.tension.value = self.state.tension if keep else None
        finally:
            self._quiet = False

    def on_rename(self) -> None:
        """Rename the one pattern chosen in the pattern list to the text of the rename box ("" goes back
        to the computed name); the name is stored in the journal and kept by later analyses."""
        chosen = list(self.patterns.value)
        if len(chosen) != 1:
            self.status.value = "<b>Choose exactly one pattern in the list to rename it.</b>"
            return
        try:
            label = self.state.rename_pattern(chosen[0], self.rename.value)
        except MirrorKitError as exc:
            self.status.value = f"<b>{html.escape(str(exc))}</b>"
            return
        self._sync_options(keep=True)
        self.redraw()
        self.status.value = f"Renamed to <b>{html.escape(label)}</b>."

    def on_search(self, change: dict | None = None) -> None:
        """The search box changed: select the reflections in range matching its words (none: clear)."""
        query = self.search.value
        try:
            self.state.search(query)
        except MirrorKitError as exc:
            self.status.value = f"<b>{html.escape(str(exc))}</b>"
            return
        self._highlight()
        self.show_page(0)

    def on_view_points(self, view: str, kind: str, points: list[tuple[int, int]]) -> None:
        """Points clicked or lasso-selected in the page (board messages): [(trace index, point index)]."""
        fig = self.figures.get(view)
        if fig is None:
            return
        points = [(c, i) for c, i in points if 0 <= c < len(fig.data)]
        if not points:
            return
        if view == "map":
            # a lasso spans several traces (one per pattern): one selection of all their reflections
            ids = [fig.data[c].customdata[i][0] for c, i in points if i < len(fig.data[c].customdata)]
            word = "point" if len(ids) == 1 else "points"
            self.state.select(ids, f"{len(ids)} {word} {'clicked' if kind == 'click' else 'selected'} on the map")
            self._highlight()
            self.show_page(0)
            return
        c, i = points[0]
        self.on_points(fig.data[c], SimpleNamespace(point_inds=[i]))

    def on_points(self, trace: Any, points: Any, selector: Any = None) -> None:
        """Points clicked or selected on a view: show those reflections (or pick that tension)."""
        inds = list(getattr(points, "point_inds", []) or [])
        if not inds:
            return
        uid = str(trace.meta or "")
        if uid.startswith("map-"):
            self.state.select([trace.customdata[i][0] for i in inds], f"{len(inds)} point(s) on the map")
        elif uid.startswith("pattern-"):
            # the clicked bar's own pattern and period (customdata), not whatever sits at that date
            _, _, _, pattern_id, period = trace.customdata[inds[0]][:5]
            self.state.select_pattern_period(pattern_id, period)
        elif uid == "tension-map":
            tid = trace.customdata[inds[0]][3]
            self._quiet = True
            self.tension.value = tid
            self._quiet = False
            self.on_change({"owner": self.tension})
            return
        self._highlight()
        self.show_page(0)

    def show_page(self, page: int) -> None:
        """Show one page of the selected reflections (clamped), and which way there are more."""
        self.text.value = self.state.selection_html(page)
        self.prev_page.disabled = self.state.page <= 0
        self.next_page.disabled = self.state.page >= self.state.page_count() - 1

    # -- drawing -----------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Recompute every figure from the state and draw it on the board (unchanged ones are not resent)."""
        self.figures = self.state.figures()
        # the selection is lit up in the new figures before they are drawn: one round trip
        self._highlight()
        for name, fig in self.figures.items():
            self.board.show(name, fig)
        n = len(self.state.reflections())
        self.status.value = (f"<small>{n} reflection{'s' if n != 1 else ''} in range · "
                             f"{len(self.state.chosen_patterns())} pattern(s) shown · "
                             f"one point per {self.state.period_in_use()}</small>")
        problem = self.state.range_problem()
        if problem:
            self.status.value += f"<br><b>{html.escape(problem)}</b>"
        self.show_page(self.state.page)

    def _highlight(self) -> None:
        """Light up the selected reflections in every view (see `ExplorerState.highlight_points`)."""
        # traitlets sync dicts with string keys only
        self.board.highlight = {view: {str(i): pts for i, pts in traces.items()}
                                for view, traces in self.state.highlight_points(self.figures).items()}
