"""The explorer's state: filters, the frames they select and the figures built from them.

No widget imports here: `Explorer` (explorer.py) only forwards widget values to an `ExplorerState`
and draws what it returns, so tests drive the whole dashboard logic in plain pytest.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

SHOW_MAX = 25  # reflections whose text the selection panel prints (the rest are counted)
DEFAULT_TOP = 8


def _ts(value: Any, *, end: bool = False):
    """A since/until bound as a UTC Timestamp (a bare `until` date includes that whole day)."""
    import pandas as pd

    from ..timeutil import bound_iso

    if value is None or value == "":
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return pd.Timestamp(bound_iso(value, end=end))


def stored_embeddings(journal: Any, identity: str) -> tuple[list[str], Any]:
    """(reflection ids, matrix) of the identity's current stored vectors of the journal's model,
    chronological, without loading the model (see `Embeddings.stored`)."""
    return journal.embeddings.stored(identity)


@dataclass
class _Data:
    """Everything read from the journal for one identity (read once, filtered many times)."""

    reflections: Any
    patterns: Any
    occurrences: Any
    pattern_evolution: Any
    pattern_trends: Any
    tensions: Any
    tension_evolution: Any
    observations: Any
    embedding_ids: list = field(default_factory=list)
    xy: Any = None  # 2D projection of all the identity's embeddings (stable while filters change)


class ExplorerState:
    """Filters (identity, since, until, min_confidence, patterns, tension) and what they show.

    Setting a filter is plain attribute assignment (or `update(**filters)`); the figure methods
    recompute from the cached journal frames. `select(ids)` sets the reflections whose text is shown.
    """

    def __init__(self, journal: Any, identity: str | None = None, *, period: str = "auto", top: int = DEFAULT_TOP):
        self.journal = journal
        names = [i.name for i in journal.identities.rows()]
        if identity is None:
            identity = names[0] if names else None
        elif identity not in names:
            journal.identities.get(identity)  # raises NotFoundError naming it
        self.identities = names
        self.identity = identity
        self.period = period
        self.top = top
        self.since: Any = None
        self.until: Any = None
        self.min_confidence = 0.0
        self.patterns: list[str] = []
        self.tension: str | None = None
        self.selected: list[str] = []
        self.selection_title = ""
        self._cache: dict[str, _Data] = {}

    # -- data ----------------------------------------------------------------------------------
    def update(self, **filters: Any) -> ExplorerState:
        """Set several filters at once (unknown names raise); a new identity resets the others."""
        allowed = {"identity", "since", "until", "min_confidence", "patterns", "tension", "period", "top"}
        bad = set(filters) - allowed
        if bad:
            raise TypeError(f"unknown filter(s): {', '.join(sorted(bad))}")
        if "identity" in filters and filters["identity"] != self.identity:
            self.journal.identities.get(filters["identity"])
            self.identity = filters.pop("identity")
            self.patterns, self.tension, self.selected, self.selection_title = [], None, [], ""
        for k, v in filters.items():
            setattr(self, k, list(v or []) if k == "patterns" else v)
        return self

    def refresh(self) -> None:
        """Forget the cached frames (after a new analysis)."""
        self._cache.clear()

    @property
    def data(self) -> _Data:
        key = f"{self.identity}\x1f{self.period}"
        if key not in self._cache:
            self._cache[key] = self._load()
        return self._cache[key]

    def _load(self) -> _Data:
        import pandas as pd

        j, who = self.journal, self.identity
        if who is None:
            empty = pd.DataFrame()
            return _Data(empty, empty, empty, empty, empty, empty, empty, empty)
        refl = j.frame("reflections", who)[["id", "created_at", "title", "content"]]
        pats = j.patterns.frame(who)
        occ = j.frame("occurrences", who)
        if len(pats):
            occ = occ[occ["pattern_id"].isin(set(pats.loc[pats["status"] == "active", "id"]))]
        evo = j.patterns.evolution(who, period=self.period) if len(pats) else pd.DataFrame()
        trends = j.patterns.trends(who, period=self.period) if len(pats) else pd.DataFrame()
        tens = j.tensions.frame(who, period=self.period)
        tevo = j.tensions.evolution(who, period=self.period) if len(tens) else pd.DataFrame()
        obs = j.frame("observations", who)
        ids, E = stored_embeddings(j, who)
        xy = None
        if len(ids):
            from .plots import project_2d

            xy = project_2d(E)
        return _Data(refl, pats, occ, evo, trends, tens, tevo, obs, list(ids), xy)

    # -- filtered frames -----------------------------------------------------------------------
    def _in_range(self, times: pd.Series) -> pd.Series:
        import pandas as pd

        t = pd.to_datetime(times, utc=True)
        keep = pd.Series(True, index=times.index)
        lo, hi = _ts(self.since), _ts(self.until, end=True)
        if lo is not None:
            keep &= t >= lo
        if hi is not None:
            keep &= t <= hi
        return keep

    def _periods_in_range(self, periods: pd.Series) -> pd.Series:
        """A period is kept when it overlaps the date range (its start is before `until`...)."""
        import pandas as pd

        p = pd.to_datetime(periods, utc=True)
        keep = pd.Series(True, index=periods.index)
        lo, hi = _ts(self.since), _ts(self.until, end=True)
        if hi is not None:
            keep &= p <= hi
        if lo is not None and len(p):
            # ...and it is the period containing `since` or a later one.
            starts = sorted(p.unique())
            first = max([s for s in starts if s <= lo], default=starts[0])
            keep &= p >= first
        return keep

    def reflections(self) -> pd.DataFrame:
        r = self.data.reflections
        return r[self._in_range(r["created_at"])] if len(r) else r

    def patterns_frame(self) -> pd.DataFrame:
        """Active patterns above the confidence threshold with their size in the date range, biggest first."""
        import pandas as pd

        p = self.data.patterns
        if not len(p):
            return p
        p = p[(p["status"] == "active") & (p["confidence"].fillna(0) >= float(self.min_confidence or 0))].copy()
        occ = self.occurrences()
        counts = occ.groupby("pattern_id").size() if len(occ) else pd.Series(dtype=int)
        p["in_range"] = p["id"].map(counts).fillna(0).astype(int)
        return p.sort_values(["in_range", "size", "id"], ascending=[False, False, True], kind="stable").reset_index(
            drop=True)

    def pattern_options(self) -> list[tuple[str, str]]:
        """(label with size, id) for a selector."""
        return [(f"{r.label} ({r.in_range})", r.id) for r in self.patterns_frame().itertuples()]

    def occurrences(self) -> pd.DataFrame:
        o = self.data.occurrences
        return o[self._in_range(o["created_at"])] if len(o) else o

    def chosen_patterns(self) -> list[str]:
        """The selected pattern ids that pass the filters, else the default ones (`default_patterns`)."""
        p = self.patterns_frame()
        if not len(p):
            return []
        ok = list(p["id"])
        if self.patterns:
            return [x for x in self.patterns if x in ok]
        return self.default_patterns()

    def default_patterns(self) -> list[str]:
        """The `top` biggest patterns in range, plus every smaller one that is emerging or fading:
        a short grief or a new habit is what a reader looks for, whatever its size."""
        p = self.patterns_frame()
        if not len(p):
            return []
        in_range = list(p.loc[p["in_range"] > 0, "id"])
        trends = self.pattern_trends()
        changing = (set(trends.loc[trends["trend"].isin(["emerging", "fading"]), "pattern_id"])
                    if len(trends) else set())
        return in_range[: self.top] + [i for i in in_range[self.top:] if i in changing]

    def labels(self) -> pd.Series:
        """Pattern label per reflection in range (None when unassigned or filtered out)."""
        import pandas as pd

        r = self.reflections()
        o = self.occurrences()
        chosen = set(self.patterns_frame()["id"]) if len(self.data.patterns) else set()
        if not len(r):
            return pd.Series([], dtype=object)
        if self.patterns:
            chosen &= set(self.patterns)
        o = o[o["pattern_id"].isin(chosen)] if len(o) else o
        if not len(o):
            return pd.Series([None] * len(r), index=r.index, dtype=object)
        best = o.sort_values(["reflection_id", "strength"], ascending=[True, False]).drop_duplicates("reflection_id")
        return r["id"].map(dict(zip(best["reflection_id"], best["pattern"], strict=True))).astype(object)

    def pattern_trends(self) -> pd.DataFrame:
        """Trend per pattern (pattern_id, label, trend, slope, p_value) over the date range."""
        t = self.data.pattern_trends
        if (self.since is None and self.until is None) or not len(self.data.pattern_evolution):
            return t
        from ..patterns.evolution import trends_frame

        evo = self.data.pattern_evolution
        return trends_frame(evo[self._periods_in_range(evo["period"])])

    def tension_drift(self) -> pd.DataFrame:
        """Per tension: drift (Sen's slope per period), p_value and direction over the date range.

        Same test and labels as the journal's `tensions` (`mirror_kit.tensions.aggregate.drift`).
        """
        import numpy as np
        import pandas as pd

        from ..tensions.aggregate import drift

        cols = ["tension_id", "drift", "p_value", "direction"]
        t = self.data.tensions
        if self.since is None and self.until is None:
            return t[cols] if len(t) else pd.DataFrame(columns=cols)
        evo = self.data.tension_evolution
        if not len(evo):
            return pd.DataFrame(columns=cols)
        out = drift(evo[self._periods_in_range(evo["period"])])[cols]
        out["drift"] = out["drift"].astype(float).replace([np.inf, -np.inf], np.nan)
        return out

    def tension_summary(self) -> pd.DataFrame:
        """Per tension in the date range, most active first (`aggregate.ranked_summary`): tension_id,
        name, axis_a, axis_b, position (intensity-weighted), intensity, occurrences."""
        import pandas as pd

        from ..tensions.aggregate import ranked_summary

        cols = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences"]
        obs = self.data.observations
        if not len(obs):
            return pd.DataFrame(columns=cols)
        obs = obs[self._in_range(obs["created_at"])]
        defs = self.data.tensions.rename(columns={"tension_id": "id"}) if len(self.data.tensions) else []
        return ranked_summary(obs, defs)[cols].reset_index(drop=True)

    def tension_options(self) -> list[tuple[str, str]]:
        t = self.data.tensions
        return [(f"{r.name} ({r.axis_a} ↔ {r.axis_b})", r.tension_id) for r in t.itertuples()] if len(t) else []

    # -- figures -------------------------------------------------------------------------------
    def reflection_map_figure(self) -> go.Figure:
        from .plots import empty_figure, reflection_map

        d = self.data
        if d.xy is None:
            return empty_figure("No embeddings yet: run `mirror-kit analyze --identity NAME` first.",
                                "Reflection map")
        r = self.reflections()
        pos = {rid: i for i, rid in enumerate(d.embedding_ids)}
        keep = r["id"].isin(pos)
        r = r[keep]
        labels = self.labels()[keep]
        return reflection_map(r, None, labels=labels, xy=d.xy[[pos[x] for x in r["id"]]],
                              title=f"Reflection map · {len(r)} reflections")

    def pattern_evolution_figure(self) -> go.Figure:
        from .plots import pattern_evolution

        evo = self.data.pattern_evolution
        chosen = self.chosen_patterns()
        if len(evo):
            evo = evo[self._periods_in_range(evo["period"]) & evo["pattern_id"].isin(chosen)]
        if len(evo) == 0 and len(self.data.patterns):
            from .plots import empty_figure

            return empty_figure("No pattern passes the filters (lower the minimum confidence or widen the dates).",
                                "How patterns evolve")
        return pattern_evolution(evo, self.data.pattern_trends, patterns=chosen or None, top=self.top)

    def tension_map_figure(self) -> go.Figure:
        from .plots import tension_map

        return tension_map(self.tension_summary(), highlight=self.tension)

    def tension_evolution_figure(self) -> go.Figure:
        from .plots import tension_evolution

        evo = self.data.tension_evolution
        if len(evo):
            evo = evo[self._periods_in_range(evo["period"])]
        return tension_evolution(evo, self.data.tensions, tension=self.tension)

    def figures(self) -> dict[str, go.Figure]:
        """Every view, keyed map, patterns, tension_map, tensions."""
        return {
            "map": self.reflection_map_figure(),
            "patterns": self.pattern_evolution_figure(),
            "tension_map": self.tension_map_figure(),
            "tensions": self.tension_evolution_figure(),
        }

    # -- selection -----------------------------------------------------------------------------
    def select(self, reflection_ids: list[str], title: str = "") -> pd.DataFrame:
        """Show these reflections' text; returns them (id, created_at, title, content, pattern)."""
        self.selected = list(dict.fromkeys(str(i) for i in reflection_ids))
        self.selection_title = title
        return self.selected_frame()

    def select_pattern_period(self, pattern_id: str, period: Any) -> pd.DataFrame:
        """Select one pattern's reflections in one period (a click on the evolution chart)."""
        import pandas as pd

        evo = self.data.pattern_evolution
        starts = sorted(pd.to_datetime(evo["period"], utc=True).unique()) if len(evo) else []
        p = pd.Timestamp(period)
        p = p.tz_localize("UTC") if p.tzinfo is None else p.tz_convert("UTC")
        lo = max([s for s in starts if s <= p], default=p)
        later = [s for s in starts if s > lo]
        o = self.occurrences()
        o = o[(o["pattern_id"] == pattern_id) & (o["created_at"] >= lo)]
        if later:
            o = o[o["created_at"] < later[0]]
        label = o["pattern"].iloc[0] if len(o) else pattern_id
        return self.select(list(o["reflection_id"]), f"{label} · {lo:%Y-%m-%d}")

    def selected_frame(self) -> pd.DataFrame:
        import pandas as pd

        r = self.data.reflections
        if not self.selected or not len(r):
            return pd.DataFrame(columns=["id", "created_at", "title", "content", "pattern"])
        labels = self.labels()
        r = self.reflections().assign(pattern=labels)
        r = r[r["id"].isin(set(self.selected))]
        return r.sort_values(["created_at", "id"]).reset_index(drop=True)

    def selection_html(self) -> str:
        """The selected reflections as escaped HTML cards (date, pattern, title, text)."""
        df = self.selected_frame()
        if not len(df):
            return "<p><i>Click or lasso-select points to read those reflections.</i></p>"
        head = html.escape(self.selection_title) + " · " if self.selection_title else ""
        parts = [f"<p><b>{head}{len(df)} reflection{'s' if len(df) != 1 else ''}</b></p>"]
        for r in df.head(SHOW_MAX).itertuples():
            meta = f"{r.created_at:%Y-%m-%d %H:%M}" + (f" · {html.escape(str(r.pattern))}" if r.pattern else "")
            title = f"<b>{html.escape(str(r.title))}</b><br>" if isinstance(r.title, str) and r.title else ""
            body = html.escape(str(r.content)).replace("\n", "<br>")
            parts.append(f"<div class='mk-reflection' style='margin:0 0 10px 0;padding:6px 10px;"
                         f"border-left:3px solid #0072B2'><small>{meta}</small><br>{title}{body}</div>")
        if len(df) > SHOW_MAX:
            parts.append(f"<p><i>… and {len(df) - SHOW_MAX} more.</i></p>")
        return "\n".join(parts)
