"""pandas frames and DuckDB SQL over a journal.

`journal.frame(name)` gives one typed DataFrame per kind of record (timestamps tz-aware UTC, ids as
the pandas string dtype, JSON columns parsed, tags as lists); `journal.frame("overview", identity)` joins
what a notebook wants first; `journal.sql(query)` is a read-only DuckDB relation over every table.
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError, MirrorKitError
from .timeutil import ISO_FORMAT, bound_iso

if TYPE_CHECKING:
    import pandas as pd

# The seed tensions: the overview always has a column for each, empty until scored.
TIMESTAMP_DTYPE = "datetime64[us, UTC]"
SEED_TENSIONS = ("solitude_connection", "surrender_agency", "stability_change", "being_doing", "reason_feeling")


@dataclass(frozen=True)
class _Spec:
    doc: str
    sql: str  # a SELECT; the filters are appended as WHERE ... and `order` after them
    order: str
    identity: str | None = None  # column compared with the identity id
    time: str | None = None  # column since/until filter on
    times: tuple[str, ...] = ()
    strings: tuple[str, ...] = ()
    json: tuple[str, ...] = ()
    bools: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    floats: tuple[str, ...] = ()
    shared_identity: bool = False  # rows with identity NULL belong to everyone (seed tensions)
    extra: dict = field(default_factory=dict)


_SPECS: dict[str, _Spec] = {
    "reflections": _Spec(
        "one row per reflection, with its identity name and tags (list)",
        "SELECT r.*, i.name AS identity FROM reflections r JOIN identities i ON i.id = r.identity_id",
        "r.created_at, r.id", "r.identity_id", "r.created_at",
        times=("created_at", "updated_at"),
        strings=("id", "identity_id", "identity", "tz", "title", "content", "source", "source_id",
                 "content_hash", "visibility", "language"),
        json=("metadata",), floats=("intensity",),
    ),
    "tags": _Spec(
        "one row per (reflection, tag)",
        "SELECT rt.reflection_id, r.identity_id, ltrim(t.name, '@') AS tag, r.created_at FROM reflection_tags rt "
        "JOIN tags t ON t.id = rt.tag_id JOIN reflections r ON r.id = rt.reflection_id",
        "r.created_at, rt.reflection_id, t.name", "r.identity_id", "r.created_at",
        times=("created_at",), strings=("reflection_id", "identity_id", "tag"),
    ),
    "patterns": _Spec(
        "one row per pattern (since/until keep patterns seen in the period)",
        "SELECT p.id, p.identity_id, i.name AS identity, p.label, p.keywords, p.confidence, p.size, p.status, "
        "p.first_seen, p.last_seen, p.representatives, p.created_at, p.updated_at, p.metadata "
        "FROM patterns p JOIN identities i ON i.id = p.identity_id",
        "p.identity_id, p.size DESC, p.id", "p.identity_id", None,
        times=("first_seen", "last_seen", "created_at", "updated_at"),
        strings=("id", "identity_id", "identity", "label", "status"),
        json=("keywords", "representatives", "metadata"), ints=("size",), floats=("confidence",),
        extra={"since": "p.last_seen >= ?", "until": "p.first_seen <= ?"},
    ),
    "occurrences": _Spec(
        "one row per (pattern, reflection) with the reflection's time and the pattern's label",
        "SELECT o.pattern_id, p.label AS pattern, o.reflection_id, r.identity_id, r.created_at, o.strength "
        "FROM pattern_occurrences o JOIN patterns p ON p.id = o.pattern_id "
        "JOIN reflections r ON r.id = o.reflection_id",
        "r.created_at, o.reflection_id, o.strength DESC, o.pattern_id", "r.identity_id", "r.created_at",
        times=("created_at",), strings=("pattern_id", "pattern", "reflection_id", "identity_id"),
        floats=("strength",),
    ),
    "tensions": _Spec(
        "one row per tension definition (seeds are shared by every identity; since/until do not apply)",
        "SELECT t.id, t.identity_id, t.name, t.axis_a, t.axis_b, t.is_seed, t.definition, t.calibration, "
        "t.created_at, t.updated_at FROM tensions t",
        "t.is_seed DESC, t.id", "t.identity_id", None, shared_identity=True,
        times=("created_at", "updated_at"), strings=("id", "identity_id", "name", "axis_a", "axis_b"),
        json=("definition", "calibration"), bools=("is_seed",),
    ),
    "observations": _Spec(
        "one row per (tension, reflection) score with the reflection's time",
        "SELECT ob.tension_id, t.name AS tension, ob.reflection_id, r.identity_id, r.created_at, ob.position, "
        "ob.intensity, ob.model, ob.created_at AS scored_at FROM tension_observations ob "
        "JOIN tensions t ON t.id = ob.tension_id JOIN reflections r ON r.id = ob.reflection_id",
        "r.created_at, ob.reflection_id, ob.tension_id", "r.identity_id", "r.created_at",
        times=("created_at", "scored_at"),
        strings=("tension_id", "tension", "reflection_id", "identity_id", "model"),
        floats=("position", "intensity"),
    ),
    "runs": _Spec(
        "one row per analysis run (embed, patterns, tensions, import...) with its telemetry",
        "SELECT a.id, a.identity_id, i.name AS identity, a.kind, a.status, a.started_at, a.duration_ms, "
        "a.parameters, a.counts, a.error, a.metadata FROM analysis_runs a "
        "LEFT JOIN identities i ON i.id = a.identity_id",
        "a.started_at, a.id", "a.identity_id", "a.started_at",
        times=("started_at",), strings=("id", "identity_id", "identity", "kind", "status", "error"),
        json=("parameters", "counts", "metadata"), floats=("duration_ms",),
    ),
    "embeddings": _Spec(
        "one row per stored vector (without the vector; `current` is False once the reflection changed)",
        "SELECT e.reflection_id, r.identity_id, e.model, e.dim, e.content_hash, "
        "e.content_hash = r.content_hash AS current, r.created_at, e.created_at AS embedded_at "
        "FROM embeddings e JOIN reflections r ON r.id = e.reflection_id",
        "r.created_at, e.reflection_id, e.model", "r.identity_id", "r.created_at",
        times=("created_at", "embedded_at"),
        strings=("reflection_id", "identity_id", "model", "content_hash"), ints=("dim",), bools=("current",),
    ),
    "mirrorbacks": _Spec(
        "one row per mirrorback (generated reply) with its validation",
        "SELECT m.id, m.reflection_id, r.identity_id, m.model, m.content, m.created_at, m.valid, m.validation, "
        "m.metadata FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id",
        "m.created_at, m.id", "r.identity_id", "m.created_at",
        times=("created_at",), strings=("id", "reflection_id", "identity_id", "model", "content"),
        json=("validation", "metadata"), bools=("valid",),
    ),
    "threads": _Spec(
        "one row per thread with its reflection ids in order (list)",
        "SELECT th.id, th.identity_id, th.title, th.created_at, th.metadata, "
        "(SELECT json_group_array(reflection_id) FROM (SELECT tr.reflection_id FROM thread_reflections tr "
        "WHERE tr.thread_id = th.id ORDER BY tr.position)) AS reflection_ids FROM threads th",
        "th.created_at, th.id", "th.identity_id", "th.created_at",
        times=("created_at",), strings=("id", "identity_id", "title"), json=("metadata", "reflection_ids"),
    ),
    "identities": _Spec(
        "one row per identity with its number of reflections",
        "SELECT i.id, i.name, i.created_at, i.metadata, "
        "(SELECT count(*) FROM reflections r WHERE r.identity_id = i.id) AS reflections FROM identities i",
        "i.name", "i.id", None,
        times=("created_at",), strings=("id", "name"), json=("metadata",), ints=("reflections",),
    ),
    "settings": _Spec(
        "the journal's settings (values parsed from JSON)",
        "SELECT s.key, s.value, s.updated_at FROM settings s", "s.key", None, None,
        times=("updated_at",), strings=("key",), json=("value",),
    ),
}
_ALIASES = {
    "pattern_occurrences": "occurrences",
    "tension_observations": "observations",
    "analysis_runs": "runs",
    "reflection_tags": "tags",
}
FRAME_NAMES = (*_SPECS, "overview")


def _read(conn: sqlite3.Connection, sql: str, params: list, spec: _Spec) -> Any:
    """A typed DataFrame straight from a cursor: plain tuples (not sqlite3.Row) and each column
    converted once from its Python list, never through an intermediate object column."""
    import pandas as pd

    cur = conn.cursor()
    cur.row_factory = None
    try:
        cur.execute(sql, params)
    except sqlite3.OperationalError as exc:
        from . import db

        raise db.translate(exc) from exc
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    columns = zip(*rows, strict=True) if rows else ([] for _ in cols)
    data = {}
    for name, values in zip(cols, columns, strict=True):
        data[name] = _column(name, values if isinstance(values, list) else list(values), spec)
    del rows
    return pd.DataFrame(data, copy=False)


def _column(name: str, values: list, spec: _Spec) -> Any:
    import pandas as pd

    if name in spec.times:
        try:
            return _timestamps(values)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"column {name!r} holds a time that is not ISO-8601: {exc}") from exc
    if name in spec.strings:
        return pd.array(values, dtype="string")
    if name in spec.json:
        return pd.array(_loads_many(values), dtype=object)
    if name in spec.bools:
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if name in spec.ints:
        return pd.array(values, dtype="Int64")
    if name in spec.floats:
        return pd.array([float("nan") if v is None else v for v in values], dtype="float64")
    return values if values else pd.array(values, dtype=object)


def _timestamps(values: Any) -> Any:
    import numpy as np
    import pandas as pd

    # Stored times are 'YYYY-MM-DDTHH:MM:SSZ': numpy parses them in C once the 'Z' is gone (several
    # times faster than pd.to_datetime(format=...)); anything else goes the pandas way below.
    if all(v is None or (len(v) == 20 and v[-1] == "Z") for v in values):
        try:
            naive = np.array([None if v is None else v[:-1] for v in values], dtype="datetime64[us]")
            return pd.DatetimeIndex(naive).tz_localize("UTC").astype(TIMESTAMP_DTYPE)
        except (ValueError, TypeError):
            pass
    try:
        out = pd.to_datetime(values, format=ISO_FORMAT, utc=True)
    except (ValueError, TypeError):  # written by something else: any ISO-8601 form
        out = pd.to_datetime(values, format="ISO8601", utc=True)
    # one resolution whatever the input (an empty column would otherwise come out as seconds)
    return out.astype(TIMESTAMP_DTYPE)


def _loads_many(values: list) -> list:
    """Parse a JSON column in one C-level call (a JSON array of the cells), not one call per row."""
    try:
        return json.loads("[" + ",".join("null" if v is None else v for v in values) + "]")
    except (TypeError, ValueError):  # a cell that is not valid JSON (written around the CHECK)
        return [_loads(v) for v in values]


def _loads(v: Any) -> Any:
    # most JSON cells are empty objects/lists: skip the parser, but give each row its own object
    if v == "{}":
        return {}
    if v == "[]":
        return []
    return None if v is None else json.loads(v)


class Frames:
    """Typed DataFrames and read-only DuckDB SQL over one journal (`journal.frame`, `journal.sql`)."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal

    @property
    def conn(self) -> sqlite3.Connection:
        return self.journal.conn

    @property
    def path(self) -> Any:
        return self.journal.path

    # -- frames --------------------------------------------------------------------------------
    def frame(
        self,
        name: str,
        identity: Any = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
    ) -> pd.DataFrame:
        """A typed pandas DataFrame of one kind of record.

        name: reflections, tags, patterns, occurrences, tensions, observations, runs, embeddings,
            mirrorbacks, threads, identities, settings, or overview (see `journal.frame_names()`).
        identity: name or id; None means every identity.
        since/until: bounds on the reflection time (runs: start time; patterns: seen in the period);
            a bare date `until` covers that whole day.
        """
        key = _ALIASES.get(name, name)
        if key == "overview":
            return self.overview(identity, since=since, until=until)
        spec = _SPECS.get(key)
        if spec is None:
            raise InvalidInputError(f"unknown frame {name!r}; valid frames: {', '.join(FRAME_NAMES)}")
        where, params = [], []
        if identity is not None and spec.identity:
            ident_id = self.journal.identities.get(identity).id
            if spec.shared_identity:
                where.append(f"({spec.identity} = ? OR {spec.identity} IS NULL)")
            else:
                where.append(f"{spec.identity} = ?")
            params.append(ident_id)
        for bound, value, end in (("since", since, False), ("until", until, True)):
            if value is None:
                continue
            cond = spec.extra.get(bound) or (spec.time and f"{spec.time} {'>=' if bound == 'since' else '<='} ?")
            if cond:
                where.append(cond)
                params.append(bound_iso(value, end=end))
        sql = spec.sql + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {spec.order}"
        df = _read(self.conn, sql, params, spec)
        if key == "reflections":
            df = self._with_tags(df, where, params)
        return df

    def names(self) -> pd.DataFrame:
        """DataFrame (name, row) of the frame names `journal.frame(name)` accepts, with what one row is."""
        import pandas as pd

        rows = [{"name": n, "row": s.doc} for n, s in _SPECS.items()]
        rows.append({"name": "overview", "row": "one row per reflection with tags, main pattern and tension "
                                                "positions (see journal.overview)"})
        return pd.DataFrame(rows)

    def _with_tags(self, df: Any, where: list[str], params: list) -> Any:
        import pandas as pd

        # ltrim: a tag stored `@work` by an older journal reads `work`, as textnorm.tag_display shows it
        sql = "SELECT rt.reflection_id, ltrim(t.name, '@') FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id"
        if where:  # the reflections join only to filter
            sql += " JOIN reflections r ON r.id = rt.reflection_id WHERE " + " AND ".join(where)
        sql += " ORDER BY t.name"
        by_id: dict[str, list[str]] = {}
        for rid, tag in self.conn.execute(sql, params):
            by_id.setdefault(rid, []).append(tag)
        order = ["id", "identity_id", "identity", "created_at", "tz", "title", "content", "tags"]
        df["tags"] = pd.Series([by_id.get(rid) or [] for rid in df["id"].to_numpy()], index=df.index, dtype=object)
        return df[[c for c in order if c in df] + [c for c in df.columns if c not in order]]

    def overview(
        self,
        identity: Any = None,
        *,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
    ) -> Any:
        """One row per reflection: time, text, tags, its main pattern (label and strength) and one
        column per tension holding its position (-1 .. 1). Columns exist, empty, before any analysis."""
        import pandas as pd

        refl = self.frame("reflections", identity, since, until)
        base = refl[["id", "identity", "created_at", "title", "content", "tags"]].copy()
        ids = list(base["id"])

        occ = self.frame("occurrences", identity, since, until)
        main = (
            occ.sort_values(["reflection_id", "strength", "pattern_id"], ascending=[True, False, True])
            .drop_duplicates("reflection_id")
            .set_index("reflection_id")
        )
        for col, src, dtype in (("pattern_id", "pattern_id", "string"), ("pattern", "pattern", "string"),
                                ("pattern_strength", "strength", "float64")):
            base[col] = pd.Series(main[src].reindex(ids).to_numpy(), index=base.index).astype(dtype)

        tension_ids = list(SEED_TENSIONS)
        for tid in self.frame("tensions", identity)["id"]:
            if tid not in tension_ids:
                tension_ids.append(str(tid))
        obs = self.frame("observations", identity, since, until)
        wide = (
            obs.pivot_table(index="reflection_id", columns="tension_id", values="position", aggfunc="mean")
            if len(obs) else pd.DataFrame()
        )
        taken = set(base.columns)
        for tid in tension_ids:
            col = tid if tid not in taken else f"tension_{tid}"
            values = wide[tid].reindex(ids) if tid in wide else pd.Series(float("nan"), index=ids)
            base[col] = pd.Series(values.to_numpy(), index=base.index, dtype="float64")
        return base.reset_index(drop=True)

    # -- SQL -----------------------------------------------------------------------------------
    def sql(self, query: str, params: Any = None, *, scanner: bool = False) -> Any:
        """A DuckDB relation for a read-only query over all the journal's tables; finish with `.df()`.

        Tables keep their SQLite names (reflections, tags, reflection_tags, patterns, pattern_occurrences,
        tensions, tension_observations, embeddings, analysis_runs, ...). Writes fail. One DuckDB
        connection per journal, closed with it. The tables a query names are read through the journal's
        own connection and kept until the next commit; `scanner=True` lets DuckDB's sqlite scanner read
        the file instead (faster on big tables), which is safe only in a process that keeps no other
        connection to the journal in use afterwards (see `mirror_kit.sqlview`).
        """
        return self._sqlview(scanner).query(query, params)

    @property
    def sql_backend(self) -> str:
        """'pandas' (tables read through the journal's connection) or 'sqlite_scanner' (DuckDB reads the
        file; only with `sql(..., scanner=True)`)."""
        return self._sqlview(False).backend

    def close_sql(self) -> None:
        """Close this journal's DuckDB connections now (they also close when the journal is collected)."""
        for key in ("_mk_sqlview", "_mk_sqlview_scanner"):
            view = self.__dict__.pop(key, None)
            if view is not None:
                view.close()

    def _sqlview(self, scanner: bool = False) -> Any:
        try:
            self.conn.execute("SELECT 1")
        except sqlite3.ProgrammingError as exc:  # closed: drop our DuckDB connection with it
            self.close_sql()
            raise MirrorKitError(f"{self.path}: the journal is closed") from exc
        key = "_mk_sqlview_scanner" if scanner else "_mk_sqlview"
        view = self.__dict__.get(key)
        if view is None:
            from .sqlview import SQLView

            view = SQLView(self.path, self.conn, scanner=scanner)
            self.__dict__[key] = view
            # Close DuckDB when the frames object (and so the journal) goes away without close().
            weakref.finalize(self, view.close)
        return view


def run_sql_rows(journal: Any, query: str, *, limit: int | None = None) -> tuple[list[str], list[tuple], bool]:
    """(columns, rows, truncated) of a query, for the CLI."""
    import duckdb

    from .sqlview import SQLError

    # A one-shot read in a process that closes the journal right after: the scanner is safe here.
    rel = journal.frames.sql(query, scanner=True)
    if rel is None:  # a statement without a result
        return [], [], False
    columns = list(rel.columns)
    # DuckDB hands TIMESTAMP WITH TIME ZONE to Python through pytz (not a dependency): print it as text.
    if any(str(t) == "TIMESTAMP WITH TIME ZONE" for t in rel.types):
        rel = rel.project(", ".join(
            f'CAST("{c.replace(chr(34), chr(34) * 2)}" AS VARCHAR)' if str(t) == "TIMESTAMP WITH TIME ZONE"
            else f'"{c.replace(chr(34), chr(34) * 2)}"'
            for c, t in zip(columns, rel.types, strict=True)
        ))
    try:  # the query runs here (relations are lazy): conversion and runtime errors surface now
        rows = rel.fetchmany(limit + 1) if limit is not None else rel.fetchall()
    except duckdb.Error as exc:
        raise SQLError(f"{journal.path}: {str(exc).splitlines()[0]}") from exc
    truncated = limit is not None and len(rows) > limit
    return columns, rows[:limit] if limit is not None else rows, truncated
