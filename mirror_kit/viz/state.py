"""The explorer's state: filters, the frames they select and the figures built from them.

No widget imports here: `Explorer` (explorer.py) only forwards widget values to an `ExplorerState`
and draws what it returns, so tests drive the whole dashboard logic in plain pytest.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..search_words import MAX_K

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

SHOW_MAX = 25  # reflections a page of the selection panel prints
NO_PATTERN = "no pattern"  # what the panel says of a reflection outside the chosen patterns
DEFAULT_TOP = 8
HOVER_CHARS, HOVER_CHARS_LARGE, LARGE_MAP = 140, 80, 20_000  # map hover text length, and above how many points
SEARCH_MAX = MAX_K  # reflections a search lights up (the best matches first): the most any search returns


def _day(value: Any) -> str:
    """A since/until value as YYYY-MM-DD text (as given when it is not a date)."""
    return f"{value:%Y-%m-%d}" if hasattr(value, "strftime") else str(value)


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


def _reflection_columns(journal: Any, identity: str) -> pd.DataFrame:
    """The identity's reflections as `journal.frame("reflections", identity)` gives them (same order,
    dtypes and index), only the columns the Explorer uses: id, created_at, title, content. Read
    without the other columns, the identity name and the tags, a third of the full frame's cost."""
    from ..frames import _SPECS, _read

    ident = journal.identities.get(identity)
    spec = _SPECS["reflections"]
    return _read(journal.conn, f"SELECT r.id, r.created_at, r.title, r.content FROM reflections r "
                               f"WHERE r.identity_id = ? ORDER BY {spec.order}", [ident.id], spec)


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
    tension_stats: Any  # per tension and day, the sums tension statistics are finished from (`Tensions.stats`)
    embedding_ids: list = field(default_factory=list)
    xy: Any = None  # 2D projection of all the identity's embeddings (stable while filters change)
    all_occurrences: Any = None  # of every pattern, dormant too (the denominators' shape as the service's)
    hover: Any = None  # the map's hover snippet per reflection (made once: a filter change reuses it)
    positions: Any = None  # row of each embedded reflection id in `xy`


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
        self.selection_total: int | None = None  # matches in all when a search showed only the first k
        self.selected_labels: dict[str, str] = {}  # the clicked pattern, when a click chose the selection
        self.page = 0  # of the selection panel, SHOW_MAX reflections a page
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
            self.selected_labels, self.page, self.selection_total = {}, 0, None
        for k, v in filters.items():
            setattr(self, k, list(v or []) if k == "patterns" else v)
        return self

    def refresh(self) -> None:
        """Forget the cached frames and the statistics computed from them (after a new analysis)."""
        self._cache.clear()
        self.__dict__.pop("_stats", None)

    def rename_pattern(self, pattern_id: str, name: str | None) -> str:
        """Give a pattern of the identity shown a name of one's own (`journal.patterns.rename`; "" goes
        back to the computed one) and show it everywhere without reloading the journal.
        Returns the label now shown. Raises NotFoundError, InvalidInputError, MirrorKitError (read-only)."""
        label = self.journal.patterns.rename(pattern_id, name)
        for data in self._cache.values():
            pats = data.patterns
            if len(pats) and "label" in pats:
                pats.loc[pats["id"] == pattern_id, "label"] = label
            # the occurrences carry their pattern's name too (the map groups its points by it), and so
            # may the evolution frames loaded with the journal
            for frame, col in ((data.occurrences, "pattern"), (data.all_occurrences, "pattern"),
                               (data.pattern_evolution, "label"), (data.pattern_trends, "label")):
                if frame is not None and len(frame) and col in frame and "pattern_id" in frame:
                    frame.loc[frame["pattern_id"] == pattern_id, col] = label
        self.__dict__.pop("_stats", None)  # every statistic memo carries the labels
        return label

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
            return _Data(empty, empty, empty, empty, empty, empty, empty, empty, all_occurrences=empty)
        refl = _reflection_columns(j, who)
        # the journal-wide trend column is not shown: trends are computed on the range shown
        pats = j.patterns.frame(who, trend=False)
        all_occ = j.frame("occurrences", who)
        occ = all_occ
        if len(pats):
            occ = occ[occ["pattern_id"].isin(set(pats.loc[pats["status"] == "active", "id"]))]
        # Tension statistics come from per-day sums SQLite adds up, never from every observation
        # (500k rows at 100k reflections); a range on day bounds is a filter of these rows.
        tstats = j.tensions.stats(who)
        tens = j.tensions.frame(who, period=self.period, stats=tstats)
        ids, E = stored_embeddings(j, who)
        xy = None
        if len(ids):
            from .plots import project_2d

            xy = project_2d(E)
        # Statistics over time are not read here: they are computed on the range shown (see
        # `pattern_evolution`, `tension_evolution`), with the same functions the services use.
        empty = pd.DataFrame()
        return _Data(refl, pats, occ, empty, empty, tens, empty, tstats, list(ids), xy, all_occurrences=all_occ)

    def _memo(self, name: str, compute: Any) -> Any:
        """`compute()` once per identity, range, period and statistic (filters are plain attributes)."""
        key = (name, self.identity, str(self.since), str(self.until), self.period)
        memo = self.__dict__.setdefault("_stats", {})
        if key not in memo:
            if len(memo) > 64:
                memo.clear()
            memo[key] = compute()
        return memo[key]

    # -- the range shown -----------------------------------------------------------------------
    def range_problem(self) -> str | None:
        """Why the range shows nothing (reversed, or no reflection in it), else None."""
        lo, hi = _ts(self.since), _ts(self.until, end=True)
        if lo is not None and hi is not None and lo > hi:
            return f"The date range is reversed: since {_day(self.since)} is after until {_day(self.until)}."
        if len(self.data.reflections) and not len(self.reflections()):
            r = self.data.reflections["created_at"]
            where = (f"between {_day(self.since)} and {_day(self.until)}" if self.since and self.until
                     else f"since {_day(self.since)}" if self.since else f"until {_day(self.until)}")
            return (f"No reflections {where} (this journal has reflections from {r.min():%Y-%m-%d} "
                    f"to {r.max():%Y-%m-%d}).")
        return None

    def period_in_use(self) -> str:
        """The period of every chart and trend of the range shown: the one set, or for `auto` the one
        `mirror_kit.timeseries.resolve_period` picks for the reflections in range, as every other
        view (CLI, Markdown, API) does. Sparse periods are pooled in the chart, not in the statistics."""
        from ..errors import InvalidInputError
        from ..timeseries import resolve_period

        def compute():
            dates = self.reflections()["created_at"] if len(self.data.reflections) else []
            try:
                return resolve_period(self.period, dates)
            except ValueError as exc:
                raise InvalidInputError(str(exc)) from exc

        return self._memo("period", compute)

    def pattern_evolution(self) -> pd.DataFrame:
        """Every pattern's count and share per period over the range shown (`evolution_frame`, the
        function behind `journal.patterns.evolution`, fed with the range's reflections only)."""
        from ..patterns.evolution import evolution_frame

        def compute():
            import pandas as pd

            p, occ, r = self.data.patterns, self.data.all_occurrences, self.reflections()
            if not len(p) or not len(r):
                return pd.DataFrame(columns=["pattern_id", "label", "period", "count", "total", "share"])
            labels = dict(zip(p.sort_values(["size", "id"], ascending=[False, True])["id"],
                              p.sort_values(["size", "id"], ascending=[False, True])["label"], strict=True))
            occ = occ[self._in_range(occ["created_at"])] if len(occ) else occ
            evo = evolution_frame(occ, r["created_at"], period=self.period_in_use(), labels=labels)
            evo.attrs["period"] = self.period_in_use()
            return evo

        return self._memo("pattern_evolution", compute)

    def tension_evolution(self) -> pd.DataFrame:
        """Each tension's position, intensity and count per period over the range shown
        (`tensions.aggregate.evolution_stats` on the range's day statistics)."""
        from ..tensions.aggregate import evolution_stats

        def compute():
            evo = evolution_stats(self.tension_stats(), period=self.period_in_use())
            evo.attrs["period"] = self.period_in_use()
            return evo

        return self._memo("tension_evolution", compute)

    def tension_stats(self) -> pd.DataFrame:
        """The range's tension day statistics (`journal.tensions.stats` columns): the identity's rows
        filtered when the range starts and ends on whole UTC days, else summed again by SQLite."""

        def compute():
            import pandas as pd

            st = self.data.tension_stats
            if not len(st):
                return st
            lo, hi = _ts(self.since), _ts(self.until, end=True)
            whole_days = ((lo is None or lo == lo.floor("D"))
                          and (hi is None or hi == hi.floor("D") + pd.Timedelta(seconds=86399)))
            if not whole_days:  # stored times are to the second: a day's rows cannot be split
                return self.journal.tensions.stats(self.identity, since=lo.to_pydatetime() if lo is not None else None,
                                                   until=hi.to_pydatetime() if hi is not None else None)
            keep = pd.Series(True, index=st.index)
            if lo is not None:
                keep &= st["day"] >= lo.tz_convert("UTC").tz_localize(None).floor("D")
            if hi is not None:
                keep &= st["day"] <= hi.tz_convert("UTC").tz_localize(None).floor("D")
            return st[keep].reset_index(drop=True)

        return self._memo("tension_stats", compute)

    def _selected_observations(self) -> pd.DataFrame:
        """tension_id and created_at of the selected reflections' observations in the range shown."""
        import pandas as pd

        ids = list(self.selected)
        rows: list = []
        for k in range(0, len(ids), 500):  # under SQLite's parameter limit
            part = ids[k:k + 500]
            rows += self.journal.execute(
                "SELECT o.tension_id, r.created_at FROM tension_observations o JOIN reflections r "
                f"ON r.id = o.reflection_id WHERE o.reflection_id IN ({','.join('?' * len(part))})", part).fetchall()
        obs = pd.DataFrame([tuple(r) for r in rows], columns=["tension_id", "created_at"])
        obs["created_at"] = pd.to_datetime(obs["created_at"], utc=True)
        return obs[self._in_range(obs["created_at"])] if len(obs) else obs

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
        return r["id"].map(dict(zip(best["reflection_id"].tolist(), best["pattern"].tolist(), strict=True))).astype(
            object)

    def pattern_trends(self) -> pd.DataFrame:
        """Trend per pattern (pattern_id, label, trend, slope, p_value, ...) over the range shown
        (`trends_frame`, as `journal.patterns.trends`, of `pattern_evolution`)."""
        from ..patterns.evolution import trends_frame

        return self._memo("pattern_trends", lambda: trends_frame(self.pattern_evolution()))

    def tension_drift(self) -> pd.DataFrame:
        """Per tension: drift (Sen's slope per period), p_value and direction over the range shown.

        Same test and labels as the journal's `tensions` (`mirror_kit.tensions.aggregate.drift`).
        """
        import numpy as np
        import pandas as pd

        from ..tensions.aggregate import drift

        cols = ["tension_id", "drift", "p_value", "direction"]

        def compute():
            evo = self.tension_evolution()
            if not len(evo):
                return pd.DataFrame(columns=cols)
            out = drift(evo)[cols]
            out["drift"] = out["drift"].astype(float).replace([np.inf, -np.inf], np.nan)
            return out

        return self._memo("tension_drift", compute)

    def tensions_in_range(self) -> pd.DataFrame:
        """The tension definitions with the range's drift (tension_id, name, axis_a, axis_b, drift,
        p_value, direction), most active in range first: what the tension figures are titled with."""
        t = self.data.tensions
        if not len(t):
            return t
        defs = t[["tension_id", "name", "axis_a", "axis_b"]]
        order = list(self.tension_summary()["tension_id"])
        out = defs.merge(self.tension_drift(), on="tension_id", how="left")
        rank = {tid: i for i, tid in enumerate(order)}
        out = out.assign(_r=out["tension_id"].map(rank).fillna(len(rank)))
        return out.sort_values(["_r", "tension_id"], kind="stable").drop(columns="_r").reset_index(drop=True)

    def tension_summary(self) -> pd.DataFrame:
        """Per tension in the date range, most active first (`aggregate.ranked_summary`): tension_id,
        name, axis_a, axis_b, position (intensity-weighted), intensity, occurrences."""
        import pandas as pd

        from ..tensions.aggregate import ranked_summary_stats

        cols = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences"]
        st = self.tension_stats()
        if not len(st):
            return pd.DataFrame(columns=cols)
        defs = self.data.tensions.rename(columns={"tension_id": "id"}) if len(self.data.tensions) else []
        return ranked_summary_stats(st, defs)[cols].reset_index(drop=True)

    def pattern_colours(self) -> dict[str, str]:
        """{pattern_id: colour} over all the identity's patterns (`plots.stable_colours`): the same
        colour in every view and under every filter."""
        from .plots import stable_colours

        p = self.data.patterns
        return stable_colours(p["id"]) if len(p) else {}

    def tension_options(self) -> list[tuple[str, str]]:
        t = self.data.tensions
        return [(f"{r.name} ({r.axis_a} ↔ {r.axis_b})", r.tension_id) for r in t.itertuples()] if len(t) else []

    # -- figures -------------------------------------------------------------------------------
    def _empty_range_figure(self, title: str) -> go.Figure | None:
        from .plots import empty_figure

        problem = self.range_problem()
        return empty_figure(problem, title) if problem else None

    def reflection_map_figure(self, max_points: int | None = None) -> go.Figure:
        """The reflection map of the range; `max_points` thins dense regions above that many points
        (see `mirror_kit.viz.thinning`; the selection is always drawn) and says so in the title."""
        from .plots import empty_figure, reflection_map

        d = self.data
        if d.xy is None:
            return empty_figure("No embeddings yet: run `mirror-kit analyze --identity NAME` first.",
                                "Reflection map")
        empty = self._empty_range_figure("Reflection map")
        if empty is not None:
            return empty
        import pandas as pd

        r = self.reflections()
        if d.positions is None:
            # row of each reflection in the projection: one hashed lookup per filter, not a Python loop
            d.positions = pd.Series(range(len(d.embedding_ids)), index=pd.Index(d.embedding_ids, dtype=object))
        rows = d.positions.reindex(r["id"].astype(object)).to_numpy()
        keep = ~pd.isna(rows)
        r = r[keep]
        labels = self.labels()[keep]
        by_id = self.pattern_colours()
        p = d.patterns
        colours = {lab: by_id[pid] for pid, lab in zip(p["id"], p["label"], strict=True)} if len(p) else {}
        if d.hover is None:
            from .plots import _snippet

            # the snippets are most of what the map sends: shorter ones on a large journal
            n = HOVER_CHARS if len(d.reflections) <= LARGE_MAP else HOVER_CHARS_LARGE
            # from a plain list: iterating the string column itself costs more than the snippets
            d.hover = pd.Series([_snippet(t, n) for t in d.reflections["content"].tolist()],
                                index=d.reflections.index)
        xy = d.xy[rows[keep].astype(int)]
        snippets = d.hover.loc[r.index]
        title = f"Reflection map · {len(r)} reflections"
        if max_points is not None and len(r) > max_points:
            from .thinning import thin_points, thinned_caption

            shown = thin_points(xy[:, 0], xy[:, 1], r["id"].tolist(), max_points, keep=self.selected)
            title += f" ({thinned_caption(len(shown), len(r))}: dense areas sampled, outliers all shown)"
            r, labels, xy, snippets = r.iloc[shown], labels.iloc[shown], xy[shown], snippets.iloc[shown]
        return reflection_map(r, None, labels=labels, xy=xy, colours=colours, title=title, snippets=snippets)

    def pattern_evolution_figure(self) -> go.Figure:
        from .plots import empty_figure, pattern_evolution

        title = "How patterns evolve"
        if len(self.data.patterns):
            empty = self._empty_range_figure(title)
            if empty is not None:
                return empty
        evo = self.pattern_evolution()
        chosen = self.chosen_patterns()
        if len(evo):
            evo = evo[evo["pattern_id"].isin(chosen)]
        if len(evo) == 0 and len(self.data.patterns):
            return empty_figure("No pattern passes the filters (lower the minimum confidence or widen the dates).",
                                title)
        p = self.patterns_frame()
        in_range = int((p["in_range"] > 0).sum()) if len(p) else 0
        return pattern_evolution(evo, self.pattern_trends(), patterns=chosen or None, top=self.top,
                                 colours=self.pattern_colours(), title=title, of=in_range)

    def tension_map_figure(self) -> go.Figure:
        from .plots import tension_map

        if len(self.data.tension_stats):
            empty = self._empty_range_figure("Tension map")
            if empty is not None:
                return empty
        return tension_map(self.tension_summary(), highlight=self.tension)

    def tension_evolution_figure(self) -> go.Figure:
        from .plots import tension_evolution

        if len(self.data.tension_stats):
            empty = self._empty_range_figure("How tensions move")
            if empty is not None:
                return empty
        return tension_evolution(self.tension_evolution(), self.tensions_in_range(), tension=self.tension)

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
        """Show these reflections' text (first page); returns them (id, created_at, title, content, pattern)."""
        self.selected = list(dict.fromkeys(str(i) for i in reflection_ids))
        self.selection_title = title
        self.selection_total = None
        self.selected_labels = {}
        self.page = 0
        return self.selected_frame()

    def select_pattern_period(self, pattern_id: str, period: Any) -> pd.DataFrame:
        """Select one pattern's reflections in one period of the charts (a click on the evolution
        chart: the clicked bar's pattern_id and period start, from its customdata)."""
        import pandas as pd

        from ..timeseries import period_start

        unit = self.period_in_use()
        p = pd.Timestamp(period)
        p = p.tz_convert("UTC").tz_localize(None) if p.tzinfo is not None else p
        start = period_start([p], unit).iloc[0]
        o = self.occurrences()
        o = o[o["pattern_id"] == pattern_id]
        o = o[(period_start(o["created_at"], unit) == start).to_numpy()] if len(o) else o
        label = (o["pattern"].iloc[0] if len(o) else
                 dict(zip(self.data.patterns["id"], self.data.patterns["label"], strict=True)).get(
                     pattern_id, pattern_id) if len(self.data.patterns) else pattern_id)
        fmt = {"day": "%Y-%m-%d", "week": "week of %Y-%m-%d", "month": "%B %Y", "quarter": "quarter from %B %Y"}[unit]
        sel = self.select(list(o["reflection_id"]), f"{label} · {start:{fmt}}")
        self.selected_labels = dict.fromkeys(self.selected, str(label))
        return sel

    def selected_frame(self) -> pd.DataFrame:
        """The selected reflections, oldest first: id, created_at, title, content, pattern (the clicked
        pattern, else the strongest chosen pattern, else "no pattern"; never missing)."""
        import pandas as pd

        r = self.data.reflections
        if not self.selected or not len(r):
            return pd.DataFrame(columns=["id", "created_at", "title", "content", "pattern"])
        labels = self.labels()
        r = self.reflections().assign(pattern=labels)
        r = r[r["id"].isin(set(self.selected))].copy()
        best = [self.selected_labels.get(i, p) for i, p in zip(r["id"], r["pattern"], strict=True)]
        r["pattern"] = pd.Series([p if isinstance(p, str) and p else NO_PATTERN for p in best], index=r.index,
                                 dtype=object)
        return r.sort_values(["created_at", "id"]).reset_index(drop=True)

    def page_count(self) -> int:
        """Pages of the selection panel (at least 1)."""
        return max(1, -(-len(self.selected_frame()) // SHOW_MAX))

    def selection_html(self, page: int | None = None) -> str:
        """One page of the selected reflections as escaped HTML cards (date, pattern, title, text).

        page: 0-based, clamped to the pages there are; default the current `self.page`.
        """
        df = self.selected_frame()
        if not len(df):
            if self.selected:
                return "<p><i>None of the selected reflections is in the current range.</i></p>"
            if self.selection_title:  # a search that found nothing says so
                return f"<p><i>{html.escape(self.selection_title)}.</i></p>"
            return "<p><i>Click or lasso-select points to read those reflections.</i></p>"
        pages = max(1, -(-len(df) // SHOW_MAX))
        self.page = min(max(0, self.page if page is None else int(page)), pages - 1)
        first = self.page * SHOW_MAX
        shown = df.iloc[first:first + SHOW_MAX]
        head = html.escape(self.selection_title) + " · " if self.selection_title else ""
        where = (f" (showing {first + 1}–{first + len(shown)}, page {self.page + 1} of {pages})"
                 if pages > 1 else "")
        total = self.selection_total
        count = (f"first {len(df):,} of {total:,} reflections" if total is not None and total > len(df)
                 else f"{len(df):,} reflection{'s' if len(df) != 1 else ''}")
        parts = [f"<p><b>{head}{count}</b>{where}</p>"]
        colours = self.pattern_colours()
        by_label = dict(zip(self.data.patterns["label"], self.data.patterns["id"], strict=True)) if len(
            self.data.patterns) else {}
        for r in shown.itertuples():
            c = colours.get(by_label.get(r.pattern, ""), "#BBBBBB")
            meta = f"{r.created_at:%Y-%m-%d %H:%M} · {html.escape(str(r.pattern))}"
            title = f"<b>{html.escape(str(r.title))}</b><br>" if isinstance(r.title, str) and r.title else ""
            body = html.escape(str(r.content)).replace("\n", "<br>")
            parts.append(f"<div class='mk-reflection' style='margin:0 0 10px 0;padding:6px 10px;"
                         f"border-left:4px solid {c}'><small>{meta}</small><br>{title}{body}</div>")
        return "\n".join(parts)

    # -- search and linked highlighting -------------------------------------------------------
    def search(self, query: str, k: int = SEARCH_MAX) -> pd.DataFrame:
        """Select the reflections in range holding every word of `query` (the journal's full-text
        search, `journal.search(mode="text")`, best first, at most `k`); an empty query clears the
        selection. When more match than `k`, `selection_total` holds how many (the panel says "first
        500 of 3,971 reflections"), counted by the same word rule.

        Returns the selected frame (as `select`). Raises MirrorKitError when the journal has no
        full-text index (an old file opened read-only), InvalidInputError for a query of no word or
        over the length limit (`mirror_kit.search_words.check_query`)."""
        if not query:  # an emptied box; blanks or no word are refused by journal.search, as everywhere
            return self.select([])
        hits = self.journal.search(query, identity=self.identity, k=k, since=self.since or None,
                                   until=self.until or None, mode="text")
        title = f"search “{query.strip()}”"
        sel = self.select(list(hits["reflection_id"]), title if len(hits) else f"{title}: no reflection in range matches")
        self.selection_total = hits.attrs.get("total")
        return sel

    def highlight_points(self, figures: dict[str, go.Figure]) -> dict[str, dict[int, list[int]]]:
        """Which points of each view hold the selected reflections: {view: {trace index: [point
        indices]}} for `FigureBoard.highlight` ({} when nothing is selected).

        map: the selected reflections' own points; patterns: the bars (pattern, period) they occur
        in; tension_map: the tensions they were scored on; tensions: those tensions' periods they
        fall in. Every point trace of a view is named (an empty list dims it all)."""
        from ..timeseries import period_start

        if not self.selected:
            return {}
        chosen = set(self.selected)
        out: dict[str, dict[int, list[int]]] = {}
        unit = self.period_in_use() if len(self.data.reflections) else "month"

        def starts(times) -> list[str]:
            return [f"{p:%Y-%m-%d}" for p in period_start(times, unit)]

        fig = figures.get("map")
        if fig is not None and not (fig.layout.meta or {}).get("empty"):
            out["map"] = {i: [k for k, cd in enumerate(tr.customdata) if cd[0] in chosen]
                          for i, tr in enumerate(fig.data) if tr.customdata is not None}
        occ = self.occurrences()
        occ = occ[occ["reflection_id"].isin(chosen)] if len(occ) else occ
        fig = figures.get("patterns")
        if fig is not None and not (fig.layout.meta or {}).get("empty"):
            bars = set(zip(occ["pattern_id"], starts(occ["created_at"]), strict=True)) if len(occ) else set()
            out["patterns"] = {i: [k for k, cd in enumerate(tr.customdata) if (cd[3], cd[4]) in bars]
                               for i, tr in enumerate(fig.data) if tr.customdata is not None}
        obs = self._selected_observations()
        fig = figures.get("tension_map")
        if fig is not None and not (fig.layout.meta or {}).get("empty") and len(fig.data):
            tids = set(obs["tension_id"]) if len(obs) else set()
            out["tension_map"] = {0: [k for k, cd in enumerate(fig.data[0].customdata) if cd[3] in tids]}
        fig = figures.get("tensions")
        if fig is not None and not (fig.layout.meta or {}).get("empty"):
            cells = set(zip(obs["tension_id"], starts(obs["created_at"]), strict=True)) if len(obs) else set()
            lines: dict[int, list[int]] = {}
            for i, tr in enumerate(fig.data):
                meta = str(tr.meta or "")
                if meta.startswith("tension-") and not meta.startswith("tension-band-"):
                    tid = meta.removeprefix("tension-")
                    lines[i] = [k for k, x in enumerate(starts(list(tr.x))) if (tid, x) in cells]
            out["tensions"] = lines
        return out
