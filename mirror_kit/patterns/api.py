"""Journal methods for patterns (issue 7); heavy imports stay inside the methods."""

from __future__ import annotations


class PatternsMixin:
    """Mixed into `mirror_kit.Journal`."""
