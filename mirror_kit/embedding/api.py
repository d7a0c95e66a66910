"""Journal methods for embeddings (issue 4); heavy imports stay inside the methods."""

from __future__ import annotations


class EmbeddingMixin:
    """Mixed into `mirror_kit.Journal`."""
