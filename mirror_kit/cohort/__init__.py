"""Cohorts: many people's journals as one de-identified, partitioned Parquet data set.

`Cohort(path, secret=...)` (in `service.py`) is the Python API the `mirror-kit cohort` commands call:
`build` (SQLite journals -> pseudonymous, optionally redacted Parquet; incremental), `embed` (the
project's embedder over the shards, in this process or on a Ray cluster; resumable), `analyze`
(patterns on a sample assigned to everything, tension scores, trajectories, group comparisons) and
`report` (one HTML file). Layout of a cohort directory:

    cohort/_cohort.json                                   manifest (no names, no paths: keyed hashes only)
    cohort/reflections/source=<key>/part-0.parquet        one partition per source journal file
    cohort/embeddings/<model>/source=<key>/*.parquet      vectors, beside each shard's key; _done.json markers
    cohort/analysis/*.parquet                             assignments, patterns, trajectories, comparison
"""

from __future__ import annotations

from typing import Any

__all__ = ["Cohort", "CohortError"]


def __getattr__(name: str) -> Any:
    if name == "Cohort":
        from .service import Cohort

        return Cohort
    if name == "CohortError":
        from .build import CohortError

        return CohortError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
