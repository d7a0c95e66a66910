"""Patterns: recurring themes found by clustering reflection embeddings.

`PatternModel` (in `model.py`) is the scikit-learn-style estimator; `journal.patterns` lives in
`service.py`; keywords, stable ids and evolution in their own modules. Imported lazily so that
`import mirror_kit` does not pull in numpy and scikit-learn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PatternModel"]


def __getattr__(name: str) -> Any:
    if name == "PatternModel":
        from .model import PatternModel

        return PatternModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
