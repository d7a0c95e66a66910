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
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


_CONTROLLER: list[Any] = []


def _controller() -> Any:
    """threadpoolctl's view of the loaded thread pools, made once per process (None without it).

    Making it walks every loaded shared library (hundreds once scikit-learn and torch are in):
    5-10 ms, more than the products it saves when made for each batch. Libraries loaded later are
    not in it; the BLAS the products run on comes with numpy, loaded before any call here.
    """
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # an optional speed-up
            return None
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]
