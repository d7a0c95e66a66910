"""Choosing the number of patterns: a silhouette curve over a grid of k, read by a fixed rule.

The silhouette of sentence-embedding clusterings keeps creeping up as big themes split, so its
maximum over-splits. Two readings of the curve are offered:

- "plateau" (default): the smallest k whose silhouette reaches `plateau` of the curve's range
  above its start, i.e. where most of the attainable separation is already there. On labelled
  journal-like text it lands on the same k across subsamples and seeds, where the knee wanders.
- "knee": the Kneedle knee of the curve (Satopaa et al. 2011), the earlier rule.

A short grid (a corpus of a few dozen entries, capped at ~sqrt(n) patterns) has no creep to guard
against, and a curve with a clear interior maximum has an answer: both use the maximum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidInputError

RULES = ("plateau", "knee")


def knee(xs: list[int], ys: list[float]) -> int:
    """Kneedle (Satopaa et al. 2011): index of the point farthest above the chord from first to last."""
    if len(xs) <= 2:
        return int(np.argmax(ys))
    x = (np.asarray(xs, float) - xs[0]) / max(xs[-1] - xs[0], 1)
    y = np.asarray(ys, float)
    lo, hi = y.min(), y.max()
    if hi - lo < 1e-12:
        return 0
    y = (y - lo) / (hi - lo)
    chord = y[0] + (y[-1] - y[0]) * x
    return int(np.argmax(y - chord))


def plateau_index(ys: list[float], fraction: float) -> int:
    """Index of the first point whose value reaches `fraction` of the way from the first value to the maximum."""
    y = np.asarray(ys, float)
    lo, hi = float(y[0]), float(y.max())
    if hi - lo < 1e-12:
        return 0
    return int(np.flatnonzero(y >= lo + fraction * (hi - lo))[0])


def k_grid(n: int, max_patterns: int) -> list[int]:
    """Candidate k for n rows: 2..k_hi with k_hi ~ sqrt(n) capped at max_patterns (a prior against tiny
    clusters); every k up to 16 (a geometric grid from 2 skipped some, e.g. 8), beyond that 8 geometric steps."""
    k_hi = int(min(max_patterns, max(2, round(n ** 0.5)), n - 1))
    dense = list(range(2, min(k_hi, 16) + 1))
    if k_hi <= 16:
        return dense
    return sorted(set(dense) | {int(round(v)) for v in np.geomspace(16, k_hi, num=8)})


def choose_k(S: np.ndarray, cluster: Callable[[int, int], Any], silhouette: Callable[[np.ndarray, np.ndarray], float],
             *, n: int, max_patterns: int, seeds: list[int], rule: str = "plateau",
             plateau: float = 0.7) -> tuple[int, dict]:
    """Pick k for the (m, d) sample S of an n-row corpus; returns (k, info with grid and silhouettes).

    cluster(k, seed) returns an unfitted clusterer with fit_predict; silhouette(S, labels) a float.
    The silhouette at each k is averaged over `seeds`. rule: "plateau" or "knee" (see the module).
    Raises InvalidInputError for an unknown rule or a plateau fraction outside (0, 1].
    """
    if rule not in RULES:
        raise InvalidInputError(f"k selection rule must be one of {', '.join(RULES)}, got {rule!r}")
    if not 0 < float(plateau) <= 1:
        raise InvalidInputError(f"plateau must be in (0, 1], got {plateau!r}")
    grid = k_grid(n, max_patterns)
    sils = []
    for k in grid:
        sils.append(float(np.mean([silhouette(S, cluster(k, seed).fit_predict(S)) for seed in seeds])))
    best = int(np.argmax(sils))
    after = sils[best + 1:]
    if len(grid) >= 6 and (not after or min(after) > sils[best] - 0.1 * abs(sils[best])):
        best = plateau_index(sils, plateau) if rule == "plateau" else knee(grid, sils)
    return grid[best], {"grid": grid, "silhouette": [round(s, 4) for s in sils], "rule": rule}
