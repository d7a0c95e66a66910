"""Stable identifiers and content hashes: the same input always gives the same id."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

# Whitespace (str.isspace, as rstrip strips) other than a newline, just before a newline.
_SPACE_BEFORE_NEWLINE = re.compile(r"[^\S\n]\n")


def normalize_text(text: str) -> str:
    """NFC, Unix newlines, no trailing whitespace: what the content hash is computed over."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\r" not in text and ("\n" not in text or not _SPACE_BEFORE_NEWLINE.search(text)):
        return text.strip()  # no line to strip but the last (most texts): no split and join
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def content_hash(text: str) -> str:
    return hash_normalized(normalize_text(text))


def hash_normalized(normalized: str) -> str:
    """`content_hash` of a text already passed through `normalize_text` (saves normalising twice)."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def stable_id(prefix: str, *parts: object, length: int = 16) -> str:
    """`prefix_` + a hex digest of the parts: deterministic ids for deterministic inputs."""
    h = hashlib.sha256("\x1f".join([p if type(p) is str else "" if p is None else str(p) for p in parts])
                       .encode("utf-8"))
    return f"{prefix}_{h.hexdigest()[:length]}"


def random_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
