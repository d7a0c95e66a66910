"""Stable identifiers and content hashes: the same input always gives the same id."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid


def normalize_text(text: str) -> str:
    """NFC, Unix newlines, no trailing whitespace: what the content hash is computed over."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def stable_id(prefix: str, *parts: object, length: int = 16) -> str:
    """`prefix_` + a hex digest of the parts: deterministic ids for deterministic inputs."""
    h = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8"))
    return f"{prefix}_{h.hexdigest()[:length]}"


def random_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
