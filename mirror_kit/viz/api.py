"""Journal methods for figures, explorer and reports (issue 9); heavy imports stay inside the methods."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class VizMixin:
    """Mixed into `mirror_kit.Journal`."""

    def report(self, identity: Any, out_path: str | os.PathLike, *, since: Any = None, until: Any = None,
               period: str = "auto") -> Path:
        """Write one self-contained offline HTML report for an identity (runs the report notebook).

        since/until: dates (YYYY-MM-DD) limiting the reflections shown; a bare `until` includes that day.
        """
        from .report import build_report

        return build_report(self, self.identity(identity).name, out_path, since=since, until=until,
                            period=period)

    def explorer(self, identity: str | None = None, **kw: Any) -> Any:
        """The interactive dashboard (`mirror_kit.viz.explorer.Explorer`); display it in a notebook cell."""
        from .explorer import Explorer

        return Explorer(self, identity, **kw)

    def plot_pattern_evolution(self, identity: Any, *, period: str = "auto", patterns: Any = None, top: int = 8,
                               stacked: bool = True) -> Any:
        """Share of each period's reflections per pattern (top N or the chosen ids/labels), trends marked."""
        from . import plots

        ids = None
        if patterns is not None:
            evo = self.pattern_evolution(identity, period=period, patterns=patterns)
            ids = list(dict.fromkeys(evo["pattern_id"]))
        else:
            evo = self.pattern_evolution(identity, period=period)
        trends = self.pattern_trends(identity, period=period) if len(evo) else None
        return plots.pattern_evolution(evo, trends, patterns=ids, top=top, stacked=stacked)

    def plot_pattern(self, pattern_id: str) -> Any:
        """One pattern: keywords, representative reflections and timeline."""
        from . import plots

        p = self.pattern(pattern_id)
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

    def plot_tension_evolution(self, identity: Any, *, period: str = "auto", tensions: Any = None) -> Any:
        """Position over time with an intensity band, one panel per tension."""
        from . import plots

        evo = self.tension_evolution(identity, period=period, tensions=tensions)
        return plots.tension_evolution(evo, self.tensions(identity, period=period))

    def plot_tension_map(self, identity: Any) -> Any:
        """Each tension at (position, intensity), sized by occurrences."""
        from . import plots

        return plots.tension_map(self.tension_map(identity))

    def plot_tension_scatter(self, identity: Any, tension: str) -> Any:
        """Every reflection's position on one tension over time, coloured by intensity."""
        from . import plots

        tid = self.tension(tension, identity)["id"]
        obs = self.frame("observations", identity)
        refl = self.frame("reflections", identity)[["id", "content"]]
        obs = obs.merge(refl, left_on="reflection_id", right_on="id", how="left")
        return plots.tension_scatter(obs, tension=tid)

    def plot_reflection_map(self, identity: Any, *, since: Any = None, until: Any = None) -> Any:
        """Every embedded reflection at a deterministic 2D projection, coloured by pattern."""
        from .state import ExplorerState

        return ExplorerState(self, self.identity(identity).name).update(since=since, until=until) \
            .reflection_map_figure()
