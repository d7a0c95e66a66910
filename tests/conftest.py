"""Shared fixtures. Feature-specific fixtures live in tests/plugins/<feature>.py (loaded here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in (ROOT / "tests" / "plugins").glob("*.py") if p.stem != "__init__"
)


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def journal(journal_path: Path):
    """A new, empty, fully migrated journal file."""
    import mirror_kit

    j = mirror_kit.open(journal_path)
    yield j
    j.close()
