"""Notebooks run under nbval (`pytest --nbval notebooks`): point them at the analysed sample journal
before the first kernel starts (the hook lives in tests/plugins/viz.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.plugins.viz import pytest_runtest_setup as _sample_db_for_notebooks  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _sample_db_for_notebooks(item)
