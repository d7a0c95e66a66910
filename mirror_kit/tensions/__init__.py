"""Tensions: two-pole axes (e.g. solitude <-> connection) that reflections are scored on.

`TensionScorer` (in `model.py`) is the scikit-learn-style estimator; definitions and the five seeds
in `definition.py` / `seeds.yaml`; aggregation and drift in `aggregate.py`; `journal.tensions` in
`service.py`. Imported lazily so that `import mirror_kit` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TensionScorer"]


def __getattr__(name: str) -> Any:
    if name == "TensionScorer":
        from .model import TensionScorer

        return TensionScorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
