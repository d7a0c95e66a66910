"""Journal methods for mirrorbacks (issue 6); heavy imports stay inside the methods."""

from __future__ import annotations


class MirrorbackMixin:
    """Mixed into `mirror_kit.Journal`."""
