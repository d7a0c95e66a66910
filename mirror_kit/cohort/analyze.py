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


def shard_frames(root: Path, emb_root: Path) -> Any:
    """Yield (meta DataFrame [participant, reflection, created_at, content], X (n, dim)) per shard, joined
    on the reflection id. Raises CohortError when a shard has no finished embeddings."""
    import pyarrow.parquet as pq

    from .embed import is_done

    for key, part, entry in shards(root):
        if not is_done(emb_root, key, entry):
            raise CohortError(f"{root}: shard {key} has no current embeddings (run `mirror-kit cohort embed`)")
        files = sorted((emb_root / f"source={key}").glob("*.parquet"))
        meta = pq.read_table(part, columns=["participant", "reflection", "created_at", "content"]).to_pandas()
        if not files or meta.empty:
            continue
        emb = pq.read_table(files, columns=["reflection", "embedding"])
        X = _matrix(emb.column("embedding"))
        pos = {r: i for i, r in enumerate(emb.column("reflection").to_pylist())}
        idx = np.array([pos.get(r, -1) for r in meta["reflection"]], dtype=int)
        if (idx < 0).any():
            raise CohortError(f"{root}: shard {key} has reflections without embeddings; embed again")
        yield meta, X[idx]


def sample(root: Path, emb_root: Path, n: int) -> tuple[Any, np.ndarray]:
    """The n reflections with the smallest ids (a uniform sample, the same on every engine) and their vectors."""
    import pandas as pd

    best_meta, best_X = None, None
    for meta, X in shard_frames(root, emb_root):
        if best_meta is None:
            best_meta, best_X = meta, X
        else:
            best_meta = pd.concat([best_meta, meta], ignore_index=True)
            best_X = np.vstack([best_X, X])
        if len(best_meta) > n:
            keep = np.argsort(best_meta["reflection"].to_numpy(), kind="stable")[:n]
            best_meta, best_X = best_meta.iloc[keep].reset_index(drop=True), best_X[keep]
    if best_meta is None or len(best_meta) < 2:
        raise CohortError(f"{root}: fewer than 2 embedded reflections; nothing to analyse")
    order = np.argsort(best_meta["reflection"].to_numpy(), kind="stable")
    return best_meta.iloc[order].reset_index(drop=True), best_X[order]


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
            rows = list(csv.DictReader(fh))
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


def analyze(root: str | os.PathLike, *, model: str | None = None, sample_size: int = 20_000,
            random_state: int = 0, participants: str | os.PathLike | None = None,
            secret: bytes | None = None, period: str = "month") -> dict[str, Any]:
    """Fit patterns on a sample, assign and score every reflection, aggregate; write analysis/*.parquet.

    Returns {"patterns", "participants", "trajectories", "comparison" (None without a participants
    CSV)} DataFrames and {"reflections", "sample", "patterns_found"} counts under "summary".
    Raises CohortError (not a cohort, not embedded, bad participants CSV).
    """
    import duckdb
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
    smeta, sX = sample(root, emb_root, int(sample_size))
    pm = PatternModel(random_state=random_state).fit(sX, texts=smeta["content"].tolist(),
                                                    ids=smeta["reflection"].tolist())
    scorer = TensionScorer(embedder=get_embedder(model, precision="fp32")).fit()
    tcols = [str(c) for c in scorer.get_feature_names_out()]
    out_dir = root / ANALYSIS
    out_dir.mkdir(exist_ok=True)
    tmp = out_dir / ".assignments.parquet.tmp"
    writer = None
    n = 0
    try:
        for meta, X in shard_frames(root, emb_root):
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

    con = duckdb.connect(":memory:")
    src = f"read_parquet('{str(out_dir / 'assignments.parquet').replace(chr(39), chr(39) * 2)}')"
    k = pm.n_patterns_
    pos = [c for c in tcols if c.endswith("__position")]
    shares = ", ".join(f"avg(CASE WHEN pattern = {i} THEN 1.0 ELSE 0.0 END) AS pattern_{i}" for i in range(k))
    means = ", ".join(f'avg("{c}") AS "{c}"' for c in pos)
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
    for name, df in (("patterns", patterns), ("participants", summary), ("trajectories", traj),
                     ("comparison", comparison)):
        if df is not None:
            df.to_parquet(out_dir / f"{name}.parquet", index=False)
        elif (out_dir / f"{name}.parquet").exists():
            (out_dir / f"{name}.parquet").unlink()
    return {"patterns": patterns, "participants": summary, "trajectories": traj, "comparison": comparison,
            "summary": {"reflections": n, "sample": len(smeta), "patterns_found": k, "model": model_name}}
