"""BLAS threading for small batches: a few matrix products on one thread.

Scoring or assigning a hundred new reflections is a handful of small products (100 x 384 by
384 x 200); OpenBLAS wakes its threads for each and they spin waiting for work, which cost ~15x the
CPU of the products themselves (measured: 0.08 s against 0.005 s for 100 reflections on 5
tensions). Large batches (a full analysis) keep every thread.
"""

from __future__ import annotations

import contextlib
from typing import Any

SMALL_BATCH = 2048  # rows under which BLAS runs on one thread


def small_batch(rows: int | None) -> Any:
    """A context running BLAS on one thread when `rows` < SMALL_BATCH (None: unknown, left alone).

    Without threadpoolctl (a scikit-learn dependency) it changes nothing.
    """
    if rows is None or rows >= SMALL_BATCH:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
