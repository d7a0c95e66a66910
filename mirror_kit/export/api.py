"""Journal methods for export, backup and restore (issue 5); heavy imports stay inside the methods."""

from __future__ import annotations


class ExportMixin:
    """Mixed into `mirror_kit.Journal`."""
