"""Embed a cohort's shards with the project's embedder, in this process or on a Ray cluster.

Both engines run the same batch function (`EmbedBatch`: texts -> L2-normalised vectors from
`mirror_kit.embedding`), so they give the same vectors. `ray` hands it to Ray Data (`map_batches`
with an actor pool: one model per actor, CPU or GPU nodes, Ray schedules and retries); `local` calls
it in this process on this machine's cores. There is no scheduler or worker pool of our own.

Output: embeddings/<model>/source=<key>/*.parquet (reflection, embedding) beside each shard's key, plus
a `_done.json` marker naming the shard digest it was computed from. A shard is skipped when its
marker matches (resumable; a rebuilt shard is embedded again). Shards are embedded in groups of about
`group_rows` reflections, written to a staging folder and moved into place when the group is done,
so an interruption loses at most one group and never leaves half a shard.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .build import CohortError, need_pyarrow, read_manifest

ENGINES = ("local", "ray")
DONE = "_done.json"
_SOURCE = re.compile(r"source=([0-9a-f]+)")


def model_slug(model_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"


class EmbedBatch:
    """The batch function of both engines: a pyarrow Table with `reflection`, `content` (and
    `source`) -> Table with `reflection`, `source`, `embedding` (fixed-size list of float32, dim).

    Constructed once per worker (a Ray actor, or once locally) so the model loads once.
    """

    def __init__(self, model: str | None = None, batch_size: int | None = None, precision: str = "fp32",
                 num_threads: int | None = None):
        from ..embedding import get_embedder

        self.embedder = get_embedder(model, batch_size=batch_size, precision=precision, num_threads=num_threads)

    def __call__(self, batch: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        texts = [t or "" for t in batch.column("content").to_pylist()]
        vecs = np.ascontiguousarray(self.embedder.encode(texts, progress=False), dtype=np.float32)
        dim = self.embedder.dim
        emb = pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float32()), dim)
        cols = {"reflection": batch.column("reflection"), "embedding": emb}
        if "path" in batch.column_names:  # Ray: the shard's file, .../source=<key>/part-0.parquet
            cols["source"] = pa.array([_SOURCE.search(p).group(1) for p in batch.column("path").to_pylist()],
                                      pa.string())
        return pa.table(cols)


def shards(root: Path) -> list[tuple[str, Path, dict]]:
    """(source key, shard file, manifest entry) of every partition, in key order."""
    manifest = read_manifest(root)
    if manifest is None:
        raise CohortError(f"{root}: not a cohort (run `mirror-kit cohort build` first)")
    out = []
    for key, entry in sorted(manifest["sources"].items()):
        part = root / "reflections" / f"source={key}" / "part-0.parquet"
        if not part.exists():
            raise CohortError(f"{part}: missing; rebuild the cohort")
        out.append((key, part, entry))
    return out


def is_done(emb_root: Path, key: str, entry: dict, precision: str | None = None) -> bool:
    """True when the shard's vectors were computed from its current digest (and, when `precision` is
    given, at that precision: markers written before precisions were recorded are fp32)."""
    marker = emb_root / f"source={key}" / DONE
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(done, dict) or done.get("digest") != entry["digest"]:
        return False
    return precision is None or done.get("precision", "fp32") == precision


def _groups(pending: list[tuple[str, Path, dict]], group_rows: int) -> list[list[tuple[str, Path, dict]]]:
    groups, cur, n = [], [], 0
    for item in pending:
        cur.append(item)
        n += item[2]["rows"]
        if n >= group_rows:
            groups.append(cur)
            cur, n = [], 0
    if cur:
        groups.append(cur)
    return groups


def _run_local(group, staging: Path, fn: EmbedBatch, batch_rows: int, bar: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for key, part, _entry in group:
        d = staging / f"source={key}"
        d.mkdir(parents=True)
        writer = None
        try:
            for b in pq.ParquetFile(part).iter_batches(batch_size=batch_rows, columns=["reflection", "content"]):
                out = fn(pa.Table.from_batches([b]))
                if writer is None:
                    writer = pq.ParquetWriter(d / "part-0.parquet", out.schema, compression="zstd")
                writer.write_table(out)
                if bar is not None:
                    bar.update(out.num_rows)
        finally:
            if writer is not None:
                writer.close()


def ray_init(address: str | None = None) -> Any:
    """Import Ray and connect: to `address` (or $RAY_ADDRESS) when given, else a local instance.

    An already initialised Ray (e.g. `ray.init(num_cpus=2)` in a notebook) is used as it is.
    Raises CohortError when Ray is not installed or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise CohortError("--engine ray needs Ray (pip install 'mirror_kit[cohort]')") from None
    if not ray.is_initialized():
        try:
            if address or os.environ.get("RAY_ADDRESS"):
                ray.init(address=address or None, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise CohortError(f"cannot connect to Ray at {address or os.environ.get('RAY_ADDRESS')}: "
                              f"{str(exc).splitlines()[0]}") from None
    return ray


def _run_ray(group, staging: Path, kwargs: dict, batch_rows: int, workers: int | None,
             cpus_per_worker: float, gpus_per_worker: float, bar: Any) -> None:
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = bar is not None
    # include_paths: the shard's key comes from its path (not from Ray's partition inference).
    ds = ray.data.read_parquet([str(p.resolve()) for _, p, _ in group], columns=["reflection", "content"],
                               include_paths=True)
    # Leave one CPU to the read and write tasks: an actor pool holding every CPU starves them (deadlock).
    cpus = float(ray.available_resources().get("CPU", 1))
    n_workers = workers or max(1, int(cpus // max(cpus_per_worker, 1)) - 1)
    opts: dict = {"num_cpus": cpus_per_worker}
    if gpus_per_worker:
        opts["num_gpus"] = gpus_per_worker
    out = ds.map_batches(EmbedBatch, fn_constructor_kwargs=kwargs, batch_size=batch_rows,
                         batch_format="pyarrow", concurrency=n_workers, **opts)
    out.write_parquet(str(staging), partition_cols=["source"])
    if bar is not None:
        bar.update(sum(e["rows"] for _, _, e in group))


def embed(root: str | os.PathLike, *, engine: str = "local", model: str | None = None,
          address: str | None = None, workers: int | None = None, threads: int | None = None,
          gpus_per_worker: float = 0.0, batch_rows: int = 1024, batch_size: int | None = None,
          precision: str = "fp32", group_rows: int = 100_000, progress: bool | None = None) -> dict:
    """Embed every shard of the cohort at `root` that has no current embeddings.

    engine: "local" (this process, `threads` torch threads) or "ray" (Ray Data actor pool of
        `workers` actors with `threads` CPUs each; `address` or $RAY_ADDRESS names a cluster).
    batch_rows: reflections per map_batches call; batch_size: the Embedder's batch (see Embedder).
    precision: "fp32" by default so every node gives the same vectors whatever its CPU.
    Returns {"engine", "model", "shards", "embedded_shards", "skipped_shards", "rows", "seconds",
    "rows_per_second"}. Raises CohortError (not a cohort, unknown engine, Ray missing/unreachable).
    """
    need_pyarrow()
    if engine not in ENGINES:
        raise CohortError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    root = Path(root)
    t0 = time.perf_counter()
    from ..embedding.model import resolve_model

    model_name, _ = resolve_model(model)
    emb_root = root / "embeddings" / model_slug(model_name)
    emb_root.mkdir(parents=True, exist_ok=True)
    items = shards(root)
    keys = {k for k, _, _ in items}
    for d in emb_root.iterdir():  # vectors of shards that no longer exist, and interrupted groups
        if d.is_dir() and (d.name.startswith(".") or d.name.removeprefix("source=") not in keys):
            shutil.rmtree(d, ignore_errors=True)
    # a shard embedded at another precision is embedded again, never kept beside this one's vectors
    resolved = "fp32" if precision in ("auto", "fp32") else precision
    pending = [it for it in items if not is_done(emb_root, it[0], it[2], resolved)]
    total = sum(e["rows"] for _, _, e in pending)
    kwargs = {"model": model, "batch_size": batch_size, "precision": precision,
              "num_threads": threads if engine == "local" else int(threads or 1)}
    bar = None
    if pending and (progress or (progress is None and os.isatty(2))):
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"cohort embed ({engine})", unit="text")
    fn = None
    try:
        if pending and engine == "ray":
            ray_init(address)
        for group in _groups(pending, group_rows):
            staging = emb_root / f".staging-{uuid.uuid4().hex[:8]}"
            try:
                if engine == "local":
                    fn = fn or EmbedBatch(**kwargs)
                    _run_local(group, staging, fn, batch_rows, bar)
                else:
                    _run_ray(group, staging, kwargs, batch_rows, workers, float(threads or 1),
                             gpus_per_worker, bar)
                for key, _part, entry in group:
                    src, dst = staging / f"source={key}", emb_root / f"source={key}"
                    src.mkdir(parents=True, exist_ok=True)  # an empty shard has no rows to write
                    shutil.rmtree(dst, ignore_errors=True)
                    src.rename(dst)
                    (dst / DONE).write_text(json.dumps({"digest": entry["digest"], "rows": entry["rows"],
                                                        "model": model_name, "precision": resolved}),
                                               encoding="utf-8")
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    finally:
        if bar is not None:
            bar.close()
    secs = time.perf_counter() - t0
    return {
        "engine": engine, "model": model_name, "shards": len(items), "embedded_shards": len(pending),
        "skipped_shards": len(items) - len(pending), "rows": total, "seconds": round(secs, 3),
        "rows_per_second": round(total / secs, 1) if total and secs > 0 else None,
    }


def embedding_files(root: Path, model: str | None = None) -> tuple[str, Path]:
    """(model name, embeddings folder) of the cohort; raises CohortError when nothing is embedded."""
    from ..embedding.model import resolve_model

    model_name, _ = resolve_model(model)
    emb_root = Path(root) / "embeddings" / model_slug(model_name)
    if not emb_root.is_dir():
        raise CohortError(f"{root}: no embeddings for {model_name} (run `mirror-kit cohort embed` first)")
    return model_name, emb_root


__all__: Sequence[str] = ["EmbedBatch", "embed", "ray_init", "embedding_files", "model_slug"]
