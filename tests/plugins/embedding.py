"""Session fixtures for anything built on embeddings: the default `embedder`, and
`happydb_embeddings` -> (df, E) for the HappyDB corpus, cached on disk across runs and xdist workers."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HAPPYDB_CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"


@pytest.fixture(scope="session")
def embedder():
    """The default Embedder (all-MiniLM-L6-v2, precision auto); the model loads once per worker."""
    from mirror_kit.embedding import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def happydb_embeddings(request, embedder):
    """(df, E): the HappyDB CSV as a DataFrame and its float32 L2-normalised embeddings, row-aligned.

    Computed once with our Embedder and kept in pytest's cache dir, keyed by model, precision and the
    CSV's sha256; a file lock stops two xdist workers from computing it at the same time.
    """
    import numpy as np
    import pandas as pd

    data = HAPPYDB_CSV.read_bytes()
    key = hashlib.sha256(
        "\x1f".join([embedder.model_name, embedder.resolved_precision, str(embedder.window),
                     hashlib.sha256(data).hexdigest()]).encode()
    ).hexdigest()[:20]
    cache = request.config.cache
    cache_dir = Path(cache.mkdir("happydb") if hasattr(cache, "mkdir") else cache.makedir("happydb"))
    target = cache_dir / f"happydb_{key}.npy"
    df = pd.read_csv(HAPPYDB_CSV)
    with open(cache_dir / f"happydb_{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if target.exists():
                E = np.load(target)
                if E.shape[0] == len(df):
                    return df, E
            E = embedder.encode(df["moment"].astype(str).tolist(), progress=False)
            tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, E)
            os.replace(tmp, target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return df, E
