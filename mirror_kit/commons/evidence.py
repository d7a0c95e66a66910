"""Evidence for a tension proposal, measured on the proposer's own journal: numbers only, never text.

For the proposer's identity, every reflection with a stored embedding is scored with the current
definition (`before`) and the proposed one (`after`): how many reflections change side (the sign of
their position), the drift (Sen's slope per period, Mann-Kendall p-value) before and after, and, when the proposer passes
labelled reflections, the ROC AUC of each definition on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..tensions.definition import Tension

if TYPE_CHECKING:
    from ..journal import Journal


def _r(x: Any) -> float | None:
    x = float(x)
    return None if x != x else round(x, 4)


def tension_evidence(journal: Journal, identity_id: str, before: dict | None, after: dict | None,
                     labels: Any = None) -> dict:
    """Numbers measuring a tension change for one identity; `{"note": ...}` when it cannot be measured."""
    import numpy as np
    import pandas as pd

    from ..tensions import aggregate
    from ..tensions.model import TensionScorer
    from ..tensions.service import _CachingEncoder, _label_value, _read_labels

    ids, X = journal.embeddings.stored(identity_id)
    if not ids:
        return {"note": "no embedded reflections in the proposer's journal: evidence omitted"}
    created = dict(journal.execute("SELECT id, created_at FROM reflections WHERE identity_id = ?", (identity_id,))
                   .fetchall())
    encoder = _CachingEncoder(journal.embeddings.embedder())
    out: dict[str, Any] = {"reflections": len(ids)}
    frames = {}
    for side, d in (("before", before), ("after", after)):
        if d is None:
            continue
        t = Tension.from_dict(d)
        f = TensionScorer([t], embedder=encoder).fit().score_frame(X, ids)
        f["created_at"] = pd.to_datetime(f["reflection_id"].map(created), utc=True)
        frames[side] = (t, f)
        trend = aggregate.drift(aggregate.evolution(f))
        row = trend.iloc[0] if len(trend) else None
        out[side] = {
            "pole_a": int((f["position"] < 0).sum()), "pole_b": int((f["position"] > 0).sum()),
            "mean_position": _r(f["position"].mean()),
            "drift": None if row is None else _r(row["drift"]),
            "drift_p_value": None if row is None else _r(row["p_value"]),
        }
    if "before" in frames and "after" in frames:
        a = np.sign(frames["before"][1]["position"].to_numpy())
        b = np.sign(frames["after"][1]["position"].to_numpy())
        out["changed_side"] = int((a != b).sum())
    if labels is not None:
        from sklearn.metrics import roc_auc_score

        pairs = _read_labels(labels)
        for side, (t, f) in frames.items():
            pos = dict(zip(f["reflection_id"], f["position"], strict=True))
            ys, ss = [], []
            for where, rid, value in pairs:
                if rid in pos:
                    ys.append(_label_value(value, t, where))
                    ss.append(pos[rid])
            if len(set(ys)) == 2:
                out[side]["roc_auc"] = _r(roc_auc_score(ys, ss))
                out[side]["labels"] = len(ys)
    return out
