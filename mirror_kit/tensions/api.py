"""Journal methods for tensions (issue 8); heavy imports stay inside the methods."""

from __future__ import annotations


class TensionsMixin:
    """Mixed into `mirror_kit.Journal`."""
