"""Journal methods for figures, explorer and reports (issue 9); heavy imports stay inside the methods."""

from __future__ import annotations


class VizMixin:
    """Mixed into `mirror_kit.Journal`."""
