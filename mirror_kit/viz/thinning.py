"""Deterministic thinning of a dense 2-D scatter: at most about `max_points` points, dense regions
sampled, sparse regions and outliers kept whole.

The plane is cut into a `grid` x `grid` lattice over the points' bounding box. Every cell keeps its
points up to one common cap, the largest cap for which the total stays within `max_points` (so a
cell with few points, an outlier's for example, keeps all of them, and only crowded cells are
sampled). Inside a crowded cell the points kept are those with the smallest stable hash of their id:
the same ids give the same picture on every run and machine, and a point kept at one size of the
journal tends to stay kept as it grows. Points listed in `keep` (a selection) are always kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

GRID = 64  # cells per axis


def stable_hash(ids: Sequence[Any]) -> np.ndarray:
    """uint64 per id, the same on every run and machine (pandas' keyed SipHash of the id's text)."""
    import pandas as pd

    return pd.util.hash_array(np.asarray([str(i) for i in ids], dtype=object))


def thin_points(x: Any, y: Any, ids: Sequence[Any], max_points: int, *, keep: Iterable[Any] = (),
                grid: int = GRID) -> np.ndarray:
    """Positions (ascending) of the points to draw: all of them when there are at most `max_points`.

    x, y: coordinates (same length as `ids`; NaN points are always kept, they are not on the grid).
    keep: ids that must be drawn whatever the density (selections); they may take the total over
    `max_points` by their number.
    Raises ValueError when the lengths differ or `max_points` < 1.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(ids)
    if len(x) != n or len(y) != n:
        raise ValueError(f"x, y and ids differ in length ({len(x)}, {len(y)}, {n})")
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    if n <= max_points:
        return np.arange(n)
    finite = np.isfinite(x) & np.isfinite(y)
    cell = np.full(n, -1, dtype=np.int64)
    if finite.any():
        cx, cy = (_bin(v[finite], grid) for v in (x, y))
        cell[finite] = cx * grid + cy
    counts = np.bincount(cell[finite], minlength=grid * grid) if finite.any() else np.zeros(grid * grid, int)
    cap = _cap(counts, max_points - int((~finite).sum()))
    # Rank of each point inside its cell by stable hash: sort by (cell, hash), then number within cell.
    h = stable_hash(ids)
    order = np.lexsort((h, cell))
    sorted_cells = cell[order]
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts
    chosen = (rank < cap) | ~finite
    wanted = {str(i) for i in keep}
    if wanted:
        chosen |= np.fromiter((str(i) in wanted for i in ids), dtype=bool, count=n)
    return np.flatnonzero(chosen)


def _bin(v: np.ndarray, grid: int) -> np.ndarray:
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return np.zeros(len(v), dtype=np.int64)
    return np.minimum(((v - lo) / (hi - lo) * grid).astype(np.int64), grid - 1)


def _cap(counts: np.ndarray, budget: int) -> int:
    """The largest per-cell cap c with sum(min(count, c)) <= budget (at least 1: no cell vanishes)."""
    lo, hi = 1, int(counts.max()) if len(counts) else 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(np.minimum(counts, mid).sum()) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def thinned_caption(shown: int, total: int) -> str:
    """'showing 20,000 of 100,000' when points were left out, else ''."""
    return f"showing {shown:,} of {total:,}" if shown < total else ""
