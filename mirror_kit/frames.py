"""pandas frames and DuckDB SQL over a journal (issue 4)."""

from __future__ import annotations


class FramesMixin:
    """Mixed into `mirror_kit.Journal`."""
