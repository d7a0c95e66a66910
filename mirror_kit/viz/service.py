"""`journal.viz`: Plotly figures, the Explorer dashboard and offline HTML reports of a journal.

Every figure is drawn from the statistics of the patterns and tensions services; plotly and ipywidgets
are imported only inside the methods.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..journal import Journal


class Viz:
    """Figures (`pattern_evolution`, `pattern`, `tension_evolution`, `tension_map`, `tension_scatter`,
    `reflection_map`), the `explorer` dashboard and `report`."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def report(self, identity: Any, out_path: str | os.PathLike, *, since: Any = None, until: Any = None,
               period: str = "auto") -> Path:
        """Write one self-contained offline HTML report for an identity (runs the report notebook).

        since/until: dates (YYYY-MM-DD) limiting the reflections shown; a bare `until` includes that day.
        """
        from ..export.files import writing_to
        from .report import build_report

        with writing_to(out_path):
            return build_report(self.journal, self.journal.identities.get(identity).name, out_path, since=since,
                                until=until, period=period)

    def explorer(self, identity: str | None = None, **kw: Any) -> Any:
        """The interactive dashboard (`mirror_kit.viz.explorer.Explorer`); display it in a notebook cell."""
        from .explorer import Explorer

        return Explorer(self.journal, identity, **kw)

    def pattern_evolution(self, identity: Any, *, period: str = "auto", patterns: Any = None, top: int = 8,
                               stacked: bool = True) -> go.Figure:
        """Share of each period's reflections per pattern (top N or the chosen ids/labels), trends marked."""
        from . import plots

        ids = None
        if patterns is not None:
            evo = self.journal.patterns.evolution(identity, period=period, patterns=patterns)
            ids = list(dict.fromkeys(evo["pattern_id"]))
        else:
            evo = self.journal.patterns.evolution(identity, period=period)
        trends = self.journal.patterns.trends(identity, period=period) if len(evo) else None
        return plots.pattern_evolution(evo, trends, patterns=ids, top=top, stacked=stacked)

    def pattern(self, pattern_id: str) -> go.Figure:
        """One pattern: keywords, representative reflections and timeline."""
        from . import plots

        p = self.journal.patterns.get(pattern_id).as_dict()
        occ = p.get("occurrences")
        reps = p.get("representatives") or []
        if occ is not None and len(occ):
            text = dict(zip(occ["reflection_id"], occ["content"], strict=True))
            if reps and isinstance(reps[0], str):
                p = {**p, "representatives": [text.get(r, r) for r in reps]}
            words = [k for k in (p.get("keywords") or []) if isinstance(k, str)]
            if words:  # plain keywords: weigh each by the share of the pattern's reflections using it
                lower = [str(c).lower() for c in occ["content"]]
                p = {**p, "keywords": [(w, sum(w.lower() in c for c in lower) / len(lower)) for w in words],
                     "keyword_weight": "share of the pattern's reflections using it"}
        return plots.pattern_detail(p, p.get("evolution"))

    def tension_evolution(self, identity: Any, *, period: str = "auto", tensions: Any = None) -> go.Figure:
        """Position over time with an intensity band, one panel per tension."""
        from . import plots

        evo = self.journal.tensions.evolution(identity, period=period, tensions=tensions)
        return plots.tension_evolution(evo, self.journal.tensions.frame(identity, period=period))

    def tension_map(self, identity: Any) -> go.Figure:
        """Each tension at (position, intensity), sized by occurrences."""
        from . import plots

        return plots.tension_map(self.journal.tensions.map(identity))

    def tension_scatter(self, identity: Any, tension: str) -> go.Figure:
        """Every reflection's position on one tension over time, coloured by intensity."""
        from . import plots

        t = self.journal.tensions.get(tension, identity)
        obs = self.journal.frame("observations", identity)
        refl = self.journal.frame("reflections", identity)[["id", "content"]]
        obs = obs.merge(refl, left_on="reflection_id", right_on="id", how="left")
        return plots.tension_scatter(obs, tension=t.id, name=t.name, axis_a=t.axis_a, axis_b=t.axis_b)

    def reflection_map(self, identity: Any, *, since: Any = None, until: Any = None) -> go.Figure:
        """Every embedded reflection at a deterministic 2D projection, coloured by pattern."""
        from .state import ExplorerState

        return ExplorerState(self.journal, self.journal.identities.get(identity).name).update(since=since, until=until) \
            .reflection_map_figure()
