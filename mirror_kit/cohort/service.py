"""`Cohort`: the Python API of a cohort directory; `mirror-kit cohort ...` calls exactly these methods."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import analyze as _analyze
from . import build as _build
from . import embed as _embed


class Cohort:
    """A cohort directory (de-identified Parquet data set of many journals) and what is derived from it.

    path: the cohort folder (`build` creates it). secret: the researcher's key (else
    $MIRROR_KIT_COHORT_SECRET); needed to build and to match original names in a participants CSV,
    not to embed or analyse by pseudonym.
    """

    def __init__(self, path: str | os.PathLike, *, secret: str | bytes | None = None):
        self.path = Path(path)
        self._secret = secret

    def __repr__(self) -> str:
        return f"Cohort({str(self.path)!r})"

    def _key(self, required: bool) -> bytes | None:
        if not required and self._secret is None and not os.environ.get(_build.SECRET_ENV):
            return None
        return _build.resolve_secret(self._secret)

    def build(self, sources: Sequence[str | os.PathLike], *, redact: bool = False,
              names: Sequence[str] | str | os.PathLike | None = None, progress: bool | None = None) -> dict:
        """Read journal files (paths or globs) into the cohort; only changed files are read again.

        names: names to redact (a list, or a file with one per line); implies redaction of them.
        Returns the summary of `mirror_kit.cohort.build.build`. Raises CohortError.
        """
        if isinstance(names, str | os.PathLike):
            names = _build.load_names(names)
        return _build.build(sources, self.path, secret=self._key(True), redact=redact, names=names or (),
                            progress=progress)

    def embed(self, *, engine: str = "local", address: str | None = None, **kwargs: Any) -> dict:
        """Embed shards without current vectors with `engine` ("local" or "ray"); see `cohort.embed.embed`."""
        return _embed.embed(self.path, engine=engine, address=address, **kwargs)

    def analyze(self, *, participants: str | os.PathLike | None = None, **kwargs: Any) -> dict:
        """Patterns, tension scores, trajectories and group comparison; see `cohort.analyze.analyze`."""
        return _analyze.analyze(self.path, participants=participants, secret=self._key(False), **kwargs)

    # -- frames --------------------------------------------------------------------------------
    def reflections(self) -> Any:
        """DataFrame of every reflection (participant, reflection, created_at, tz, title, content, n_words, source)."""
        import duckdb

        _embed.shards(self.path)  # raises CohortError when not a cohort
        glob = str(self.path / "reflections" / "source=*" / "*.parquet").replace("'", "''")
        return duckdb.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true) "
                          "ORDER BY participant, created_at, reflection").df()

    def embeddings(self, model: str | None = None) -> tuple[list[str], Any]:
        """(reflection ids, (n, dim) float32 matrix) of the finished shards, ordered by id."""
        import numpy as np
        import pandas as pd

        _, emb_root = _embed.embedding_files(self.path, model)
        metas, mats = [], []
        for meta, X in _analyze.shard_frames(self.path, emb_root):
            metas.append(meta["reflection"]), mats.append(X)
        if not mats:
            return [], np.zeros((0, 0), dtype=np.float32)
        ids = pd.concat(metas, ignore_index=True).to_numpy()
        X = np.vstack(mats)
        order = np.argsort(ids, kind="stable")
        return [str(i) for i in ids[order]], X[order]

    def frame(self, name: str) -> Any:
        """A result of `analyze` as a DataFrame: assignments, patterns, participants, trajectories, comparison.

        Raises CohortError when it has not been computed.
        """
        import pandas as pd

        names = ("assignments", "patterns", "participants", "trajectories", "comparison", "groups")
        if name not in names:
            raise _build.CohortError(f"unknown cohort frame {name!r}; one of {', '.join(names)}")
        p = self.path / _analyze.ANALYSIS / f"{name}.parquet"
        if not p.exists():
            raise _build.CohortError(f"{self.path}: no {name} yet (run `mirror-kit cohort analyze`)")
        return pd.read_parquet(p)

    def report(self, out: str | os.PathLike) -> Path:
        """Write one offline HTML file: the cohort's pattern and tension figures, group comparisons, tables.

        See `mirror_kit.cohort.report.write_report`. Raises CohortError before `analyze`.
        """
        from .report import write_report

        return write_report(self.path, out)
