"""The shared `happydb_embeddings` fixture other features' tests build on."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_happydb_embeddings_fixture(happydb_embeddings, embedder, request):
    df, E = happydb_embeddings
    assert len(df) == 10_560 and E.shape == (len(df), embedder.dim) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-4)
    # rows line up with the CSV: re-embed a spread-out sample
    rows = np.linspace(0, len(df) - 1, 12).astype(int)
    fresh = embedder.encode(df["moment"].astype(str).iloc[rows].tolist())
    assert ((fresh * E[rows]).sum(axis=1) >= 0.9999).all()
    # the vectors carry meaning: single-theme moments sit closer to their own theme's centroid
    single = df["concepts"].astype(str).str.count(r"\|").eq(0).to_numpy()
    labels = df["concepts"].astype(str).to_numpy()[single]
    X = E[single]
    themes = sorted(set(labels))
    centroids = np.stack([X[labels == t].mean(axis=0) for t in themes])
    nearest = np.asarray(themes)[(X @ centroids.T).argmax(axis=1)]
    assert (nearest == labels).mean() > 0.5  # 15 themes: chance is ~0.07
    # and the on-disk cache exists for the next run and the other workers
    cached = list(request.config.cache.mkdir("happydb").glob("happydb_*.npy"))
    assert cached
