"""Embeddings: a local, offline transformer sentence encoder and the journal's stored vectors.

>>> from mirror_kit.embedding import Embedder
>>> Embedder().encode(["a quiet walk by the river"]).shape
(1, 384)
"""

from __future__ import annotations

from .model import DEFAULT_MODEL, Embedder, ModelNotAvailableError, cpu_supports_bf16, get_embedder

__all__ = ["DEFAULT_MODEL", "Embedder", "ModelNotAvailableError", "cpu_supports_bf16", "get_embedder"]
