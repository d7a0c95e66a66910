"""Journal methods for journal import (issue 3); heavy imports stay inside the methods."""

from __future__ import annotations


class ImportsMixin:
    """Mixed into `mirror_kit.Journal`."""
