"""Cohort analysis: patterns fitted on a sample and assigned to every reflection shard by shard, tension
scores for every reflection, per-participant trajectories, and group comparisons that respect participants.

Memory is bounded by the sample and the largest shard, never the cohort: assignment and scoring
stream one shard at a time into analysis/assignments.parquet, and the aggregates are DuckDB queries
over that file. The sample is the `sample_size` reflections with the smallest pseudonymous ids
(keyed hashes, so a uniform random sample) and does not depend on how or where the shards were embedded.

Group comparisons: each participant is one unit (their mean pattern share / tension position), so
prolific writers do not weigh more; Welch's t-test with Cohen's d, and the Mann-Whitney U test with
the rank-biserial correlation; Benjamini-Hochberg q-values over the table.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from .build import CohortError, name_key, read_manifest
from .embed import embedding_files, shards

ANALYSIS = "analysis"


def _matrix(col: Any) -> np.ndarray:
    """(n, dim) float32 from a fixed-size-list (or list) Arrow column."""
    import pyarrow as pa

    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(arr)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    flat = np.asarray(arr.flatten(), dtype=np.float32)
    return flat.reshape(n, -1)


def weighted_position_sql(tension_id: str) -> str:
    """DuckDB expression of a tension's position over a group of rows of assignments.parquet: the
    intensity-weighted mean, plain mean when every weight is 0 (`tensions.aggregate.weighted_position`)."""
    p, w = f'"{tension_id}__position"', f'"{tension_id}__intensity"'
    return f"CASE WHEN sum({w}) > 1e-12 THEN sum({p} * {w}) / sum({w}) ELSE avg({p}) END"


def aggregator(folder: Path) -> Any:
    """A DuckDB connection for the aggregates over analysis files: its memory is capped (it spills to
    a hidden folder beside them), so aggregating does not grow with the cohort."""
    import duckdb

    return duckdb.connect(":memory:", config={"memory_limit": "512MB", "threads": 2,
                                              "temp_directory": str(Path(folder) / ".duckdb-spill")})


def shard_frames(root: Path, emb_root: Path, *, content: bool = True) -> Any:
    """Yield (meta DataFrame [participant, reflection, created_at, content], X (n, dim)) per shard, joined
    on the reflection id (content: False leaves the texts unread). Raises CohortError when a shard has
    no finished embeddings."""
    import pandas as pd
    import pyarrow.parquet as pq

    from .embed import is_done

    for key, part, entry in shards(root):
        if not is_done(emb_root, key, entry):
            raise CohortError(f"{root}: shard {key} has no current embeddings (run `mirror-kit cohort embed`)")
        files = sorted((emb_root / f"source={key}").glob("*.parquet"))
        cols = ["participant", "reflection", "created_at"] + (["content"] if content else [])
        meta = pq.read_table(part, columns=cols).to_pandas()
        if not files or meta.empty:
            continue
        emb = pq.read_table(files, columns=["reflection", "embedding"])
        X = _matrix(emb.column("embedding"))
        idx = pd.Index(emb.column("reflection").to_pandas()).get_indexer(meta["reflection"])
        if (idx < 0).any():
            raise CohortError(f"{root}: shard {key} has reflections without embeddings; embed again")
        yield meta, X[idx]


def build_stamp(root: Path) -> str:
    """sha256 of the cohort's manifest: which build an analysis was made from ("" without one)."""
    import hashlib

    from .build import MANIFEST

    try:
        return hashlib.sha256((Path(root) / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        return ""


def sample(root: Path, emb_root: Path, n: int) -> tuple[Any, np.ndarray]:
    """The n reflections with the smallest ids (a uniform sample, the same on every engine) and their vectors.

    Each shard contributes only its own n smallest ids; the candidates are cut back to n whenever
    they pass 2n, so memory is about two samples plus one shard and the work is linear in shards.
    """
    import pandas as pd

    metas: list[Any] = []
    mats: list[np.ndarray] = []
    held = 0

    def cut() -> None:
        nonlocal held
        meta = pd.concat(metas, ignore_index=True)
        X = np.vstack(mats)
        keep = np.argsort(meta["reflection"].to_numpy(), kind="stable")[:n]
        metas[:], mats[:] = [meta.iloc[keep].reset_index(drop=True)], [X[keep]]
        held = len(keep)

    for meta, X in shard_frames(root, emb_root):
        if len(meta) > n:
            keep = np.argsort(meta["reflection"].to_numpy(), kind="stable")[:n]
            meta, X = meta.iloc[keep].reset_index(drop=True), X[keep]
        metas.append(meta[["participant", "reflection", "created_at", "content"]])
        mats.append(np.ascontiguousarray(X))
        held += len(meta)
        if held > 2 * n:
            cut()
    if not metas:
        raise CohortError(f"{root}: fewer than 2 embedded reflections; nothing to analyse")
    cut()
    if held < 2:
        raise CohortError(f"{root}: fewer than 2 embedded reflections; nothing to analyse")
    return metas[0], mats[0]


def refine(pm: Any, root: Path, emb_root: Path, *, batch_rows: int = 4096, random_state: int = 0) -> dict:
    """Mini-batch k-means over every shard, started from the sample's centroids; updates `pm` in place.

    Pattern i stays pattern i (the centroids are the initial state, and no centre is ever reassigned);
    rows below the outlier threshold are left out so unassigned reflections do not pull the patterns.
    Shards and rows are read in a fixed order, so a `random_state` gives the same centroids on every
    engine. Memory: one shard. Returns {"rows": rows used, "batches", "moved": mean cosine distance
    the centroids moved}.
    """
    from sklearn.cluster import MiniBatchKMeans

    k = int(pm.n_patterns_)
    if k < 2:
        return {"rows": 0, "batches": 0, "moved": 0.0}
    start = np.asarray(pm.cluster_centers_, dtype=np.float64)
    km = MiniBatchKMeans(n_clusters=k, init=start, n_init=1, batch_size=batch_rows, random_state=random_state,
                         reassignment_ratio=0.0, compute_labels=False)
    rows = batches = 0
    buf: list[np.ndarray] = []
    held = 0

    def step(E: np.ndarray) -> None:
        nonlocal rows, batches
        km.partial_fit(E)
        rows += len(E)
        batches += 1

    for _meta, X in shard_frames(root, emb_root, content=False):
        E = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        E = E[pm.predict(E) >= 0].astype(np.float64)
        buf.append(E)
        held += len(E)
        if held >= batch_rows:  # batches span shards, so many small shards do not make many small steps
            allE = np.vstack(buf)
            i = 0
            while len(allE) - i >= batch_rows:
                step(allE[i:i + batch_rows])
                i += batch_rows
            buf, held = [allE[i:]], len(allE) - i
    if held:
        step(np.vstack(buf))
    if not batches:
        return {"rows": 0, "batches": 0, "moved": 0.0}
    C = km.cluster_centers_
    C = C / np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)
    moved = float(np.mean(1.0 - np.sum(C * start, axis=1)))
    pm.cluster_centers_ = C.astype(np.float32)
    return {"rows": rows, "batches": batches, "moved": round(moved, 6)}


def read_groups(path: str | os.PathLike, manifest: dict, secret: bytes | None) -> dict[str, str]:
    """{pseudonym: group} from a CSV with columns `participant` and `group`.

    A participant is a pseudonym (p_...), or, with the cohort secret, an original identity name, a
    journal file (as matched, e.g. 'p1.db') or 'file#name'. Raises CohortError naming the row.
    """
    p = Path(path)
    entries = [e for src in manifest["sources"].values() for e in src["participants"]]
    ids = {e["id"] for e in entries}
    try:
        fh = open(p, encoding="utf-8-sig", newline="")  # noqa: SIM115  (closed by the `with fh` below)
    except OSError as exc:
        raise CohortError(f"{p}: cannot read the participants file ({exc.strerror or exc})") from None
    out: dict[str, str] = {}
    with fh:
        try:
            text = fh.read()
            # a spreadsheet saved in a comma-decimal locale writes `;` (or tabs): read it as the
            # journal importer reads such a file
            from ..importers.csvfile import sniff_delimiter

            rows = list(csv.DictReader(io.StringIO(text), delimiter=sniff_delimiter(text)))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CohortError(f"{p}: not a readable CSV ({exc})") from None
        fields = {(f or "").strip().lower(): f for f in (rows[0].keys() if rows else [])}
        if "participant" not in fields or "group" not in fields:
            raise CohortError(f"{p}: needs the columns 'participant' and 'group'")
        for i, row in enumerate(rows, start=2):
            who = (row.get(fields["participant"]) or "").strip()
            grp = (row.get(fields["group"]) or "").strip()
            if not who or not grp:
                raise CohortError(f"{p}: row {i}: empty participant or group")
            if who in ids:
                matches = [who]
            elif secret is None:
                raise CohortError(f"{p}: row {i}: {who!r} is not a pseudonym of this cohort (give the cohort "
                                  "secret to match original names)")
            else:
                hashes = {name_key(secret, "name", who), name_key(secret, "file", who),
                          name_key(secret, "file#name", who)}
                matches = sorted({e["id"] for e in entries
                                  if {e["name_key"], e["file_key"], e["key"]} & hashes})
            if not matches:
                raise CohortError(f"{p}: row {i}: participant {who!r} is not in this cohort")
            if len(matches) > 1:
                raise CohortError(f"{p}: row {i}: {who!r} matches {len(matches)} participants; "
                                  "give 'file#name' or the pseudonym")
            if out.get(matches[0], grp) != grp:
                raise CohortError(f"{p}: row {i}: participant {who!r} is in two groups")
            out[matches[0]] = grp
    return out


def compare_groups(summary: Any, groups: dict[str, str], features: list[str]) -> Any:
    """Per feature and pair of groups: per-participant means compared (rows = participants).

    summary: DataFrame with `participant` and the feature columns (one row per participant).
    Returns a DataFrame: feature, group_a, group_b, n_a, n_b, mean_a, mean_b, diff, welch_t, welch_p,
    cohens_d, mannwhitney_u, mannwhitney_p, rank_biserial, q_welch, q_mannwhitney (Benjamini-Hochberg).
    """
    import pandas as pd
    from scipy import stats

    df = summary.assign(group=summary["participant"].map(groups)).dropna(subset=["group"])
    rows = []
    for ga, gb in itertools.combinations(sorted(df["group"].unique()), 2):
        A, B = df[df["group"] == ga], df[df["group"] == gb]
        for f in features:
            a, b = A[f].dropna().to_numpy(float), B[f].dropna().to_numpy(float)
            r: dict[str, Any] = {"feature": f, "group_a": ga, "group_b": gb, "n_a": len(a), "n_b": len(b),
                                 "mean_a": a.mean() if len(a) else np.nan, "mean_b": b.mean() if len(b) else np.nan}
            r["diff"] = r["mean_a"] - r["mean_b"]
            if len(a) >= 2 and len(b) >= 2:
                with np.errstate(all="ignore"):
                    t = stats.ttest_ind(a, b, equal_var=False)
                    sp = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
                    u = stats.mannwhitneyu(a, b, alternative="two-sided")
                r.update(welch_t=float(t.statistic), welch_p=float(t.pvalue),
                         cohens_d=float(r["diff"] / sp) if sp > 0 else np.nan,
                         mannwhitney_u=float(u.statistic), mannwhitney_p=float(u.pvalue),
                         rank_biserial=float(2 * u.statistic / (len(a) * len(b)) - 1))
            rows.append(r)
    out = pd.DataFrame(rows, columns=["feature", "group_a", "group_b", "n_a", "n_b", "mean_a", "mean_b", "diff",
                                      "welch_t", "welch_p", "cohens_d", "mannwhitney_u", "mannwhitney_p",
                                      "rank_biserial"])
    for p, q in (("welch_p", "q_welch"), ("mannwhitney_p", "q_mannwhitney")):
        out[q] = np.nan
        ok = out[p].notna()
        if ok.any():
            out.loc[ok, q] = stats.false_discovery_control(out.loc[ok, p].to_numpy(float))
    return out


class _Phases:
    """CPU seconds, wall seconds and the process's peak RSS (MB) at the end of each named phase."""

    def __init__(self) -> None:
        self.out: dict[str, dict] = {}
        self._mark()

    def _mark(self) -> None:
        import time

        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def done(self, name: str) -> None:
        import resource
        import sys
        import time

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        self.out[name] = {"cpu_s": round(time.process_time() - self._cpu, 3),
                          "wall_s": round(time.perf_counter() - self._wall, 3), "peak_rss_mb": round(peak, 1)}
        self._mark()


def analyze(root: str | os.PathLike, *, model: str | None = None, sample_size: int = 20_000,
            random_state: int = 0, participants: str | os.PathLike | None = None,
            secret: bytes | None = None, period: str = "month", refine_batch: int | None = 4096) -> dict[str, Any]:
    """Fit patterns on a sample, refine them over every shard, assign and score every reflection; aggregate.

    Patterns are fitted on the `sample_size` reflections with the smallest ids, then refined by
    mini-batch k-means streamed over all shards (`refine_batch` rows per step; None skips it), then
    every reflection is assigned shard by shard. Writes analysis/*.parquet (and groups.parquet, the
    pseudonym -> group table, with a participants CSV).
    Returns {"patterns", "participants", "trajectories", "comparison" (None without a participants
    CSV)} DataFrames and {"reflections", "sample", "patterns_found", "model", "refine", "phases"}
    under "summary" ("phases": cpu_s, wall_s, peak_rss_mb of fit, refine, assign, aggregate).
    Raises CohortError (not a cohort, not embedded, bad participants CSV).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..embedding import get_embedder
    from ..patterns.model import PatternModel
    from ..tensions.model import TensionScorer

    if period not in ("day", "week", "month", "quarter", "year"):
        raise CohortError(f"period must be day, week, month, quarter or year, not {period!r}")
    root = Path(root)
    manifest = read_manifest(root)
    if manifest is None:
        raise CohortError(f"{root}: not a cohort (run `mirror-kit cohort build` first)")
    groups = read_groups(participants, manifest, secret) if participants is not None else None
    model_name, emb_root = embedding_files(root, model)
    phases = _Phases()
    smeta, sX = sample(root, emb_root, int(sample_size))
    pm = PatternModel(random_state=random_state).fit(sX, texts=smeta["content"].tolist(),
                                                    ids=smeta["reflection"].tolist())
    n_sample = len(smeta)
    del sX, smeta
    scorer = TensionScorer(embedder=get_embedder(model, precision="fp32")).fit()
    tcols = [str(c) for c in scorer.get_feature_names_out()]
    phases.done("fit")
    refined = (refine(pm, root, emb_root, batch_rows=int(refine_batch), random_state=random_state)
               if refine_batch else {"rows": 0, "batches": 0, "moved": 0.0})
    phases.done("refine")
    out_dir = root / ANALYSIS
    out_dir.mkdir(exist_ok=True)
    tmp = out_dir / ".assignments.parquet.tmp"
    writer = None
    n = 0
    try:
        for meta, X in shard_frames(root, emb_root, content=False):
            sims = pm.transform(X)
            labels = pm.predict(X)
            strength = np.where(labels >= 0, sims[np.arange(len(X)), np.maximum(labels, 0)], 0.0) \
                if sims.shape[1] else np.zeros(len(X))
            T = scorer.transform(X)
            cols = {"participant": meta["participant"].to_numpy(), "reflection": meta["reflection"].to_numpy(),
                    "created_at": meta["created_at"], "pattern": labels.astype(np.int32),
                    "strength": np.clip(strength, 0, 1).astype(np.float32)}
            for j, c in enumerate(tcols):
                cols[c] = T[:, j].astype(np.float32)
            table = pa.Table.from_pandas(__import__("pandas").DataFrame(cols), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
            n += len(X)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out_dir / "assignments.parquet")
    phases.done("assign")

    con = aggregator(out_dir)
    src = f"read_parquet('{str(out_dir / 'assignments.parquet').replace(chr(39), chr(39) * 2)}')"
    k = pm.n_patterns_
    pos = [c for c in tcols if c.endswith("__position")]
    shares = ", ".join(f"avg(CASE WHEN pattern = {i} THEN 1.0 ELSE 0.0 END) AS pattern_{i}" for i in range(k))
    # a participant's position is weighted as everywhere else (`weighted_position_sql`)
    means = ", ".join(f'{weighted_position_sql(c[:-len("__position")])} AS "{c}"' for c in pos)
    sel = ", ".join(x for x in (shares, means) if x)
    summary = con.sql(f"SELECT participant, count(*) AS n, {sel} FROM {src} GROUP BY 1 ORDER BY 1").df()
    traj = con.sql(f"SELECT participant, date_trunc('{period}', created_at) AS period, count(*) AS n, {sel} "
                   f"FROM {src} GROUP BY 1, 2 ORDER BY 1, 2").df()
    sizes = con.sql(f"SELECT pattern, count(*) AS size, count(DISTINCT participant) AS participants "
                    f"FROM {src} GROUP BY 1").df()
    con.close()
    patterns = pm.patterns_.copy()
    patterns = patterns.rename(columns={"size": "sample_size"})
    patterns = patterns.merge(sizes, on="pattern", how="left").fillna({"size": 0, "participants": 0})
    for c in patterns.columns:  # lists/dicts of the one-journal description -> text, for Parquet
        if patterns[c].dtype == object:
            patterns[c] = patterns[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple) else v)
    features = [f"pattern_{i}" for i in range(k)] + pos
    comparison = compare_groups(summary, groups, features) if groups is not None else None
    group_frame = None
    if groups is not None:
        import pandas as pd

        group_frame = pd.DataFrame(sorted(groups.items()), columns=["participant", "group"])
    for name, df in (("patterns", patterns), ("participants", summary), ("trajectories", traj),
                     ("comparison", comparison), ("groups", group_frame)):
        if df is not None:
            df.to_parquet(out_dir / f"{name}.parquet", index=False)
        elif (out_dir / f"{name}.parquet").exists():
            (out_dir / f"{name}.parquet").unlink()
    import json

    meta = {"period": period, "model": model_name, "patterns": k, "refine": refined,
            "built": build_stamp(root),
            "tensions": [{"tension_id": t.id, "name": t.name, "axis_a": t.axis_a, "axis_b": t.axis_b}
                         for t in scorer.tensions_]}
    (out_dir / "_analysis.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    phases.done("aggregate")
    return {"patterns": patterns, "participants": summary, "trajectories": traj, "comparison": comparison,
            "summary": {"reflections": n, "sample": n_sample, "patterns_found": k, "model": model_name,
                        "refine": refined, "phases": phases.out}}
