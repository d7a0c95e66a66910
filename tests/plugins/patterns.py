"""Fixtures for pattern tests: a sample journal embedded once per session, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plugins.sample import cached_sample, sample_cache_dir


@pytest.fixture(scope="session")
def patterns_embedded_db(request) -> Path:
    """A closed journal file with the sample journal loaded and embedded (no patterns yet)."""
    return cached_sample(sample_cache_dir(request.config), "embedded")


@pytest.fixture(scope="session")
def patterns_analyzed_db(tmp_path_factory, patterns_embedded_db) -> Path:
    """The embedded sample journal after `analyze_patterns` for maya and sam (random_state=0)."""
    import mirror_kit

    path = tmp_path_factory.mktemp("patterns_analyzed") / "sample.db"
    shutil.copy(patterns_embedded_db, path)
    with mirror_kit.open(path) as j:
        j.patterns.analyze("maya")
        j.patterns.analyze("sam")
    return path


def _copy(src: Path, tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copy(src, dst)
    return dst


@pytest.fixture
def patterns_sample_journal(patterns_embedded_db, tmp_path):
    """A writable copy of the embedded sample journal."""
    import mirror_kit

    j = mirror_kit.open(_copy(patterns_embedded_db, tmp_path, "embedded.db"))
    yield j
    j.close()


@pytest.fixture
def patterns_analyzed_journal(patterns_analyzed_db, tmp_path):
    """A writable copy of the analysed sample journal."""
    import mirror_kit

    j = mirror_kit.open(_copy(patterns_analyzed_db, tmp_path, "analyzed.db"))
    yield j
    j.close()


@pytest.fixture
def patterns_analyzed_path(patterns_analyzed_db, tmp_path) -> Path:
    """A path to a private copy of the analysed sample journal (for CLI tests)."""
    return _copy(patterns_analyzed_db, tmp_path, "analyzed_cli.db")
