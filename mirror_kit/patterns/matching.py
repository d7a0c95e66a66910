"""Stable pattern identity across re-runs: match new clusters to stored patterns by centroid similarity.

A new cluster inherits the id (and history) of the stored pattern it matches one-to-one (Hungarian
assignment on cosine similarity, pairs below `threshold` do not count); a cluster with no match is a
new theme and gets a deterministic id from the identity and its sorted member ids; stored patterns
left without a match become dormant (kept, with their occurrences, as history).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ids import content_hash, stable_id

MATCH_THRESHOLD = 0.8


@dataclass
class Matching:
    ids: list[str]  # id per new cluster, in cluster order
    matched: dict[int, str] = field(default_factory=dict)  # cluster -> existing id
    similarity: dict[int, float] = field(default_factory=dict)
    new: list[int] = field(default_factory=list)  # clusters that got new ids
    dormant: list[str] = field(default_factory=list)  # stored ids left without a match


def new_pattern_id(identity_id: str, member_ids: list[str]) -> str:
    """Deterministic id of a brand-new pattern: same identity and members, same id."""
    return stable_id("p", identity_id, content_hash("\n".join(sorted(map(str, member_ids)))))


def match_patterns(
    identity_id: str,
    centroids: np.ndarray,
    members: list[list[str]],
    stored_ids: list[str],
    stored_centroids: np.ndarray | None,
    *,
    threshold: float = MATCH_THRESHOLD,
) -> Matching:
    """Ids for new clusters given stored patterns (ids and L2-normalised centroids, same model)."""
    from scipy.optimize import linear_sum_assignment

    k = len(centroids)
    ids: list[str | None] = [None] * k
    result = Matching(ids=[])
    taken: set[str] = set()
    if stored_ids and stored_centroids is not None and len(stored_centroids) and k:
        S = np.asarray(centroids, float) @ np.asarray(stored_centroids, float).T
        rows, cols = linear_sum_assignment(-S)
        for r, c in zip(rows, cols, strict=True):
            if S[r, c] >= threshold:
                ids[r] = stored_ids[c]
                taken.add(stored_ids[c])
                result.matched[int(r)] = stored_ids[c]
                result.similarity[int(r)] = round(float(S[r, c]), 4)
    for c in range(k):
        if ids[c] is None:
            pid = new_pattern_id(identity_id, members[c])
            if pid in taken:  # identical member set as a matched one cannot happen; guard anyway
                pid = stable_id("p", identity_id, pid, c)
            ids[c] = pid
            taken.add(pid)
            if pid in stored_ids:  # same members as a stored (dormant) pattern: it is that pattern
                result.matched[c] = pid
            else:
                result.new.append(c)
    result.ids = [str(i) for i in ids]
    result.dormant = [s for s in stored_ids if s not in taken]
    return result
