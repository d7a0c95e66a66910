"""CLI commands for embed (filled in by its issue)."""

from __future__ import annotations

from .common import main  # noqa: F401
