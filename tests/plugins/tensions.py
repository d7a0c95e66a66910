"""Fixtures for tensions: the sample journal with its embeddings computed once (kept in
pytest's cache dir across runs and xdist workers), and per-test writable copies analysed for tensions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plugins.sample import cached_sample, sample_cache_dir

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample_journal.jsonl"
TRUTH = ROOT / "data" / "sample_truth.json"


@pytest.fixture(scope="session")
def sample_embedded_db(request) -> Path:
    """A journal file with the sample journal loaded and embedded (read it, never write it: copy it)."""
    return cached_sample(sample_cache_dir(request.config), "embedded")


@pytest.fixture
def sample_journal_path(tmp_path: Path, sample_embedded_db: Path) -> Path:
    """A private copy of the embedded sample journal file (tensions not analysed yet)."""
    dst = tmp_path / "sample.db"
    shutil.copyfile(sample_embedded_db, dst)
    return dst


@pytest.fixture
def sample_journal(sample_journal_path: Path):
    """The embedded sample journal, opened, with maya's tensions analysed."""
    import mirror_kit

    j = mirror_kit.open(sample_journal_path)
    j.tensions.analyze("maya")
    yield j
    j.close()


@pytest.fixture(scope="session")
def sample_truth() -> dict:
    import json

    return json.loads(TRUTH.read_text(encoding="utf-8"))
