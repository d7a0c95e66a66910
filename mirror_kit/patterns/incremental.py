"""Incremental pattern analysis: new reflections join the stored patterns unless the themes moved.

A fit records a mark of the stored vectors (`Embeddings.mark`) and how many reflections it saw. The
next `analyze` lists the reflections whose vector came after the mark (new or edited ones). When they
are few (together with the removed ones, at most `MAX_CHANGED_SHARE` of what the fit saw, and at most
`MAX_SINCE_FIT_SHARE` added incrementally since that fit), each is assigned to the nearest stored
centroid with the fit's outlier threshold, as `PatternModel.predict` would. A new reflection fits
poorly when it is an outlier or less similar to its pattern than the pattern's p95 radius (the 5th
percentile of its members' similarity, stored by the fit); when more than `DRIFT_SHARE` of them fit
poorly (and at least `DRIFT_MIN_ROWS` do), the themes have moved and the patterns are refitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..journal import Journal

MAX_CHANGED_SHARE = 0.05
MAX_SINCE_FIT_SHARE = 0.25
DRIFT_SHARE = 0.3
DRIFT_MIN_ROWS = 5


@dataclass
class Plan:
    """What the next pattern analysis does: `mode` "incremental" or "refit", and why."""

    mode: str
    reason: str
    new_ids: list[str] = field(default_factory=list)
    removed: int = 0
    analysed: int = 0
    since_fit: int = 0


def last_fit_run(journal: Journal, identity_id: str, kind: str, model_name: str) -> dict | None:
    """The newest successful run of `kind` for the identity that stored a mark for this model."""
    for r in journal.execute(
            "SELECT parameters, metadata FROM analysis_runs WHERE identity_id = ? AND kind = ? AND status = 'ok' "
            "ORDER BY started_at DESC, rowid DESC LIMIT 20", (identity_id, kind)):
        meta = json.loads(r["metadata"] or "{}")
        if meta.get("model") == model_name and isinstance(meta.get("mark"), dict):
            return {"parameters": json.loads(r["parameters"] or "{}"), "metadata": meta}
        if meta.get("model") == model_name:
            return None  # the newest fit of this model left no mark: it cannot be continued
    return None


def plan(journal: Journal, identity_id: str, model_name: str, params: dict, *, refit: bool,
         have_patterns: bool) -> Plan:
    """Decide between assigning the new reflections and refitting (with the reason)."""
    if refit:
        return Plan("refit", "asked for (--refit)")
    if not have_patterns:
        return Plan("refit", "no stored patterns of this model yet")
    last = last_fit_run(journal, identity_id, "patterns", model_name)
    if last is None:
        return Plan("refit", "no record of which reflections the stored patterns were fitted on")
    if last["parameters"] != params:
        return Plan("refit", "analysis parameters changed")
    meta = last["metadata"]
    analysed = int(meta.get("analysed", 0))
    since = int(meta.get("since_fit", 0))
    new_ids = journal.embeddings.changed_since(identity_id, meta["mark"])
    now = journal.embeddings.count_current(identity_id)
    removed = max(0, analysed - (now - len(new_ids)))
    changed = len(new_ids) + removed
    base = max(analysed, 1)
    p = Plan("incremental", "", new_ids, removed, analysed, since)
    if changed > MAX_CHANGED_SHARE * base:
        p.mode, p.reason = "refit", (f"{len(new_ids)} new or edited and {removed} removed reflections are more "
                                     f"than {MAX_CHANGED_SHARE:.0%} of the {analysed} fitted")
    elif since + len(new_ids) > MAX_SINCE_FIT_SHARE * base:
        p.mode, p.reason = "refit", (f"{since + len(new_ids)} reflections assigned since the last fit are more "
                                     f"than {MAX_SINCE_FIT_SHARE:.0%} of the {analysed} fitted")
    return p


def assign(vectors: Any, centroids: Any, thresholds: Any, radius: Any) -> tuple[Any, Any, Any]:
    """(labels (n,), -1 for outliers; strengths (n,) in [0, 1]; poorly fitting (n,) bool) of unit-normed
    float rows against stored unit centroids (k, d), with per-pattern outlier thresholds and p95 radii."""
    import numpy as np

    X = np.asarray(vectors, dtype=np.float64)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    S = X @ np.asarray(centroids, dtype=np.float64).T
    lab = S.argmax(1)
    best = S[np.arange(len(S)), lab]
    out = best < np.asarray(thresholds)[lab]
    poor = out | (best < np.asarray(radius)[lab])
    lab = np.where(out, -1, lab)
    strength = np.where(out, 0.0, np.clip(best, 0.0, 1.0))
    return lab, strength, poor
