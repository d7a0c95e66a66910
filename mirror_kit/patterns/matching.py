"""Stable pattern identity across re-runs: match new clusters to stored patterns by centroid similarity.

A new cluster inherits the id (and history, and a name the user gave it) of the stored pattern it
matches one-to-one (Hungarian assignment on cosine similarity; pairs below `threshold` do not count,
nor, when members are known, pairs sharing fewer than `MIN_OVERLAP` of their members by Jaccard
index: a centroid near the old one is not enough, since a refit with more patterns splits a theme
into parts whose centroids all stay near it, and a part is not the theme the user named); a cluster with no match is a
new theme and gets a deterministic id from the identity and its sorted member ids; stored patterns
left without a match become dormant (kept, with their occurrences, as history).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ids import content_hash, stable_id

MATCH_THRESHOLD = 0.8
# Jaccard index of members (counted over reflections both fits saw) a matched pair needs at least.
MIN_OVERLAP = 0.5


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
    overlap: np.ndarray | None = None,
    min_overlap: float = MIN_OVERLAP,
) -> Matching:
    """Ids for new clusters given stored patterns (ids and L2-normalised centroids, same model).

    overlap: (k, n_stored) Jaccard index of each new cluster's members with each stored pattern's
    (`member_overlap`); None matches on centroids alone. Pairs below `min_overlap` never match.
    """
    from scipy.optimize import linear_sum_assignment

    k = len(centroids)
    ids: list[str | None] = [None] * k
    result = Matching(ids=[])
    taken: set[str] = set()
    if stored_ids and stored_centroids is not None and len(stored_centroids) and k:
        S = np.asarray(centroids, float) @ np.asarray(stored_centroids, float).T
        ok = np.greater_equal(S, threshold)
        if overlap is not None:
            ok &= np.asarray(overlap, float) >= min_overlap
        # pairs that may not match weigh nothing, so the assignment pairs up the ones that may
        rows, cols = linear_sum_assignment(-np.where(ok, S, -2.0))
        for r, c in zip(rows, cols, strict=True):
            if ok[r, c]:
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


def member_overlap(labels: np.ndarray, k: int, stored_members: list[np.ndarray]) -> np.ndarray:
    """(k, n_stored) Jaccard index of new clusters and stored patterns, over the reflections a stored
    pattern could have held (those in any stored pattern): reflections added since count for neither.

    labels: (n,) new cluster per current reflection (-1 none); stored_members: per stored pattern the
    positions (into labels) of its members that still exist.
    """
    labels = np.asarray(labels)
    known = np.zeros(len(labels), dtype=bool)
    for idx in stored_members:
        known[idx] = True
    lab_known = labels[known]
    new_sizes = np.bincount(lab_known[lab_known >= 0], minlength=k)[:k].astype(float)
    out = np.zeros((k, len(stored_members)))
    for c, idx in enumerate(stored_members):
        lab = labels[idx]
        inter = np.bincount(lab[lab >= 0], minlength=k)[:k].astype(float)
        union = len(idx) + new_sizes - inter
        out[:, c] = np.divide(inter, union, out=np.zeros(k), where=union > 0)
    return out
