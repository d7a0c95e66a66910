"""Reproducible offline HTML reports: run the parameterised report notebook, export it without code.

`build_report` executes `report.ipynb` (shipped next to this module; `notebooks/report.ipynb` is the
same notebook with its outputs) in a real Jupyter kernel with papermill, then writes ONE HTML file:
Plotly's JavaScript inline once, no CDN, no widget manager, no MathJax/require.js, input cells
hidden, fixed figure div ids and cell ids, so the same journal gives the same bytes.

The helpers below (`ReportContext`, `show`) are what the notebook's cells call.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, MirrorKitError
from ..safefiles import private_mkdir, private_open
from ..tensions.aggregate import TOO_LITTLE, lean, lean_phrase
from .plots import dark_figure_css, plotly_config

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

TEMPLATE = Path(__file__).with_name("report.ipynb")
NBCONVERT_TEMPLATE = Path(__file__).with_name("report_template")
TIMEOUT = 600
IOPUB_TIMEOUT = 60
# Above this many reflections the report's map is thinned (each point's hover text costs ~150 bytes:
# 100k points made a 20 MB report); the Explorer draws every point.
MAP_POINTS = 10_000


def show(fig: go.Figure, name: str) -> None:
    """Display a figure in the notebook and the report: Plotly's mimetype for JupyterLab, plus HTML
    with a fixed div id (`fig-NAME`) and no script include (the report adds plotly.js once)."""
    import json

    from IPython.display import display

    html_div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}", config=plotly_config())
    # JupyterLab's plotly renderer reads `config` from the bundle: no cloud buttons there either
    bundle = {**json.loads(fig.to_json()), "config": plotly_config(legacy=True)}
    display({"application/vnd.plotly.v1+json": bundle, "text/html": html_div,
             "text/plain": f"<figure {name}: {len(fig.data)} trace(s)>"}, raw=True)


def map_points() -> int | None:
    """How many points the report's reflection map draws at most (None: every one).

    MAP_POINTS, or the environment variable MIRROR_KIT_REPORT_MAP_POINTS (0 = every point; the
    report runs in a kernel of its own, which inherits the environment).
    """
    raw = os.environ.get("MIRROR_KIT_REPORT_MAP_POINTS", "").strip()
    if not raw:
        return MAP_POINTS
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInputError(f"MIRROR_KIT_REPORT_MAP_POINTS must be a whole number, got {raw!r}") from exc
    return value if value > 0 else None


def _fmt_date(ts: Any) -> str:
    return "—" if ts is None or ts != ts else f"{ts:%Y-%m-%d}"


class ReportContext:
    """The report's data for one identity and date range, and its written summaries (escaped HTML)."""

    def __init__(self, journal: Any, identity: str, *, period: str = "auto", since: Any = None, until: Any = None,
                 top: int = 8):
        from .state import ExplorerState

        self.journal = journal
        self.state = ExplorerState(journal, identity, period=period, top=top)
        self.state.update(since=since, until=until)
        self.identity = identity

    def header_html(self) -> str:
        r = self.state.reflections()
        if not len(r):
            span = html.escape(self.state.range_problem() or "No reflections yet").rstrip(".")
        else:
            span = f"{len(r)} reflection{'s' if len(r) != 1 else ''} from {_fmt_date(r['created_at'].min())} to {_fmt_date(r['created_at'].max())}"
        flt = []
        if self.state.since:
            flt.append(f"since {html.escape(str(self.state.since))}")
        if self.state.until:
            flt.append(f"until {html.escape(str(self.state.until))}")
        extra = f" ({', '.join(flt)})" if flt else ""
        return (f"<h1>Journal report: {html.escape(self.identity)}</h1>"
                f"<p class='mk-span'>{span}{extra}.</p>")

    def pattern_table(self) -> Any:
        """Top patterns in range: label, reflections, share, trend, keywords."""
        import pandas as pd

        p = self.state.patterns_frame()
        cols = ["label", "reflections", "share", "trend", "confidence", "keywords"]
        if not len(p):
            return pd.DataFrame(columns=cols)
        trends = self.state.pattern_trends()
        trend_of = dict(zip(trends["pattern_id"], trends["trend"], strict=True)) if len(trends) else {}
        n = max(len(self.state.reflections()), 1)
        p = p.set_index("id", drop=False).loc[self.state.default_patterns()]
        return pd.DataFrame({
            "label": p["label"], "reflections": p["in_range"], "share": (p["in_range"] / n).round(3),
            "trend": [trend_of.get(i, "—") for i in p["id"]], "confidence": p["confidence"].round(2),
            "keywords": [", ".join(_words(k)[:6]) for k in p["keywords"]],
        }).reset_index(drop=True)

    def patterns_html(self) -> str:
        t = self.pattern_table()
        if not len(t):
            return f"<p>{self._why_empty('patterns', len(self.state.data.patterns) > 0)}</p>"
        items = []
        for r in t.itertuples():
            mark = {"emerging": "↑ emerging", "fading": "↓ fading", "recurring": "↻ recurring",
                    "stable": "→ stable"}.get(r.trend, r.trend)
            items.append(f"<li><b>{html.escape(str(r.label))}</b>: {r.reflections} reflections "
                         f"({r.share:.0%}), {html.escape(mark)}; <i>{html.escape(r.keywords)}</i></li>")
        moving = [f"<b>{html.escape(str(r.label))}</b>" for r in t.itertuples() if r.trend in ("emerging", "fading")]
        lead = (f"<p>{len(t)} main patterns. Changing: {', '.join(moving)}.</p>" if moving
                else f"<p>{len(t)} main patterns, none clearly emerging or fading.</p>")
        return lead + "<ol>" + "".join(items) + "</ol>"

    def tension_table(self) -> Any:
        """Tensions in range, most active first: name, poles, position, intensity, occurrences, drift."""
        s = self.state.tension_summary()
        d = self.state.tension_drift()
        if not len(s):
            return s
        out = s.merge(d, on="tension_id", how="left")
        for c in ("position", "intensity"):
            out[c] = out[c].round(2)
        out["drift"] = out["drift"].round(4)
        out["p_value"] = out["p_value"].round(4)
        return out[["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences", "drift",
                    "p_value", "direction"]]

    def tensions_html(self) -> str:
        t = self.tension_table()
        if not len(t):
            return f"<p>{self._why_empty('tension scores', len(self.state.data.tension_stats) > 0)}</p>"
        items = []
        for r in t.head(5).itertuples():
            leaning = lean_phrase(r.position, str(r.axis_a), str(r.axis_b), r.occurrences)
            # the position is shown with the lean it supports, not where too few reflections engage
            where = "" if lean(r.position, r.occurrences) == TOO_LITTLE else f" ({r.position:+.2f})"
            drift = ""
            if r.direction in ("towards_a", "towards_b"):
                pole = r.axis_a if r.direction == "towards_a" else r.axis_b
                p = "p < 0.001" if r.p_value < 0.001 else f"p = {r.p_value:.3f}"
                drift = f"; <b>drifting towards {html.escape(str(pole))}</b> ({p})"
            items.append(f"<li><b>{html.escape(str(r.name))}</b> ({html.escape(str(r.axis_a))} ↔ "
                         f"{html.escape(str(r.axis_b))}): {html.escape(str(leaning))}{where}, "
                         f"intensity {r.intensity:.2f}, {r.occurrences} engaged reflections{drift}</li>")
        drifting = t[t["direction"].isin(["towards_a", "towards_b"])]
        lead = (f"<p>Strongest tension: <b>{html.escape(str(t['name'].iloc[0]))}</b>. "
                + (f"{len(drifting)} drifting significantly.</p>" if len(drifting) else "None drifting significantly.</p>"))
        return lead + "<ol>" + "".join(items) + "</ol>"

    def _why_empty(self, what: str, analysed: bool) -> str:
        """Why a section is empty: the range (when the journal is analysed) or the missing analysis."""
        if analysed:
            problem = self.state.range_problem()
            return html.escape(problem or f"No {what} in this range.")
        return f"No {what} in this range (run <code>mirror-kit analyze --identity NAME</code>)."

    def figures(self) -> dict[str, go.Figure]:
        # The state's figures one by one: its `figures()` would build the map with every point first.
        return {
            "map": self._searchable(self.state.reflection_map_figure(max_points=map_points())),
            "patterns": self.state.pattern_evolution_figure(),
            "tension_map": self.state.tension_map_figure(),
            "tensions": self.state.tension_evolution_figure(),
        }

    def _searchable(self, fig: go.Figure) -> go.Figure:
        """The map with, as each point's last customdata column, the folded text (`search_fold`) its
        hover snippet leaves out (the title, the text past the snippet): the search box above the map matches the snippet plus that, so a
        whole reflection is searched while a short one (all in its snippet) costs the page nothing."""
        import numpy as np

        refl = self.state.data.reflections
        if refl is None or not len(refl) or "content" not in refl:
            return fig
        text = dict(zip(refl["id"].astype(str), refl["content"], strict=True))
        # the title is searched as `journal.search` searches it, though the hover snippet leaves it out
        titles = dict(zip(refl["id"].astype(str), refl["title"], strict=True)) if "title" in refl else {}
        for tr in fig.data:
            cd = getattr(tr, "customdata", None)
            if cd is None or len(cd) == 0 or np.ndim(cd) != 2:
                continue
            full = [search_extra(titles.get(str(row[0])), text.get(str(row[0]), ""), row[2]) for row in cd]
            tr.customdata = np.column_stack([np.asarray(cd, dtype=object), np.asarray(full, dtype=object)])
        return fig


SNIPPET_SAFE = 100  # characters every hover snippet shows whole (it is cut at a word before 140)


def search_extra(title: Any, text: Any, snippet: Any = None) -> str:
    """What a map point carries for the search box beyond its hover snippet: "" when the snippet
    holds it all, else three lines: the folded title, how many words of the snippet come before the
    rest, and the rest (`search_rest`). The box joins snippet and rest into the text's own word
    sequence, so a phrase is found across the cut but never across the overlap or from the title
    into the text. `snippet`: the point's hover snippet (escaped HTML); a shorter one than
    `SNIPPET_SAFE` (large maps) makes the rest start earlier, so no word is lost between them."""
    from ..search_words import TOKEN, fold

    safe = SNIPPET_SAFE
    if snippet is not None:
        shown = html.unescape(str(snippet).replace("<br>", " "))
        if shown.endswith("…"):  # cut: only the words before the mark are shown whole
            safe = min(safe, len(shown[:-1].rstrip()))
    rest = search_rest(text, safe)
    head = search_fold(title) if isinstance(title, str) and title.strip() else ""
    if not rest and not head:
        return ""
    flat = " ".join(str(text or "").split())
    before = len(TOKEN.findall(fold(flat[:flat.rfind(" ", 0, safe) + 1]))) if rest else 0
    return f"{head}\n{before}\n{rest}"


def search_rest(text: Any, safe: int = SNIPPET_SAFE) -> str:
    """The folded part of a reflection its hover snippet may not show: "" when the snippet holds it
    all, else everything from the word at character `safe` on (that word whole, in both
    parts: a piece of a word would be a word of its own to the search box)."""
    flat = " ".join(str(text or "").split())
    return "" if len(flat) < safe else search_fold(flat[flat.rfind(" ", 0, safe) + 1:])


def search_fold(text: Any) -> str:
    """Text as the report's search box compares it: lower case, accents dropped, runs of white space
    as one space (the box folds what is typed the same way, so `cafe` finds `Café`)."""
    from ..search_words import fold

    # folded as the page's script (mirror_kit/search_words.js) and SQLite's full-text index fold
    return " ".join(fold(text).split())


def _words(keywords: Any) -> list[str]:
    out = []
    for k in keywords if isinstance(keywords, list | tuple) else []:
        if isinstance(k, dict):
            out.append(str(k.get("term") or k.get("word") or k.get("keyword")))
        elif isinstance(k, list | tuple):
            out.append(str(k[0]))
        else:
            out.append(str(k))
    return out


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def notebook_to_html(nb: Any, title: str) -> str:
    """A self-contained HTML page: no inputs or prompts, plotly.js inline once, nothing from the network."""
    from nbconvert import HTMLExporter

    for i, cell in enumerate(nb.cells):  # papermill's injected cell has a random id
        cell["id"] = f"cell-{i}"
    nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="mirror_kit_report", extra_template_basedirs=[str(NBCONVERT_TEMPLATE)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )
    # the page follows the reader's system theme; figures recolour with the same CSS as in the Explorer
    from ..search_words import browser_js

    # the search box matches by the rule of `journal.search` (mirror_kit.search_words), in the page
    body, _ = exporter.from_notebook_node(nb, resources={"plotly_js": _plotly_js(),
                                                         "dark_figure_css": dark_figure_css(":root"),
                                                         "search_js": browser_js()})
    return body


def build_report(journal: Any, identity: str, out_path: str | os.PathLike, *, since: Any = None,
                 until: Any = None, period: str = "auto", kernel_name: str = "python3") -> Path:
    """Execute the report notebook for one identity and write one offline HTML file (atomically)."""
    import nbformat
    import papermill as pm
    from jupyter_client.kernelspec import NoSuchKernel

    from .state import _ts

    ident = journal.identities.get(identity)
    for name, value in (("since", since), ("until", until)):
        try:
            _ts(value)
        except MirrorKitError as exc:
            raise InvalidInputError(f"{name}: {exc}") from exc
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{name}: give a date as text (YYYY-MM-DD), got {value!r}")
    if since and until and _ts(since) > _ts(until, end=True):
        raise InvalidInputError(f"since {since} is after until {until}")
    out = Path(out_path).expanduser()
    if out.is_dir():
        raise InvalidInputError(f"{out}: is a directory; give a file name like report.html")
    private_mkdir(out.parent)
    params = {"journal_path": str(Path(journal.path).resolve()), "identity": ident.name, "period": period,
              "since": since, "until": until}
    from ..export.files import private_temp_dir

    # the executed notebook quotes the journal: a 0700 folder named by process id, swept if we are killed
    with private_temp_dir(Path(tempfile.gettempdir()) / "mirror-kit-report") as tmp:
        executed = Path(tmp) / "report.ipynb"
        try:
            from .kernel import ipc_kernel_manager

            # Unix sockets, not loopback TCP: works with no network at all, private to this folder
            pm.execute_notebook(str(TEMPLATE), str(executed), parameters=params, kernel_name=kernel_name,
                                progress_bar=False, log_output=False, cwd=tmp, execution_timeout=TIMEOUT,
                                # a large figure's output can take longer than nbclient's 4 s default to
                                # arrive on a busy machine; that is not a failure of the notebook
                                iopub_timeout=IOPUB_TIMEOUT,
                                request_save_on_cell_execute=False, kernel_manager_class=ipc_kernel_manager(tmp))
        except pm.PapermillExecutionError as exc:
            raise MirrorKitError(f"report notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}") from exc
        except NoSuchKernel as exc:
            raise MirrorKitError(f"no Jupyter kernel {kernel_name!r} (run `python -m ipykernel install "
                                 "--sys-prefix`)") from exc
        nb = nbformat.read(executed, as_version=4)
    page = notebook_to_html(nb, f"Journal report: {ident.name}")
    tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with private_open(tmp_out, "w", encoding="utf-8") as fh:  # the report quotes the journal: 0600
            fh.write(page)
        os.replace(tmp_out, out)
    finally:
        tmp_out.unlink(missing_ok=True)
    return out
