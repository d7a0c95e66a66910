"""Fixtures for figures, explorer, notebooks and reports.

The sample journal, loaded and fully analysed (`journal.analyze` per identity, a few minutes on a
busy CPU), is built once into pytest's cache dir, keyed by a hash of the sample data, the migrations
and the analysis code, under a file lock (safe with xdist workers). Notebook runs (nbval) find it
through `MIRROR_KIT_DB`, set before the first notebook kernel starts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.plugins.sample import cached_sample, sample_cache_dir


def analysed_sample(cache_dir: Path) -> Path:
    """The analysed sample journal in `cache_dir` (built if missing). Treat it as read-only."""
    return cached_sample(cache_dir, "analysed")


def _cache_dir(config) -> Path:
    return sample_cache_dir(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """Before the first notebook cell of a session (i.e. before nbval starts its kernel), point
    MIRROR_KIT_DB at the analysed sample journal; other tests never pay for building it."""
    if item.__class__.__name__ != "IPyNbCell" or os.environ.get("MIRROR_KIT_NBVAL_DB_READY"):
        return
    os.environ["MIRROR_KIT_DB"] = str(analysed_sample(_cache_dir(item.config)))
    os.environ["MIRROR_KIT_NBVAL_DB_READY"] = "1"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def viz_sample_db(request) -> Path:
    """The analysed sample journal file (maya and sam): open it read-only, or copy it to write."""
    return analysed_sample(_cache_dir(request.config))


@pytest.fixture
def viz_journal(viz_sample_db: Path):
    """The analysed sample journal opened read-only."""
    import mirror_kit

    j = mirror_kit.open(viz_sample_db, readonly=True)
    yield j
    j.close()


@pytest.fixture
def viz_journal_copy(viz_sample_db: Path, tmp_path: Path):
    """A private writable copy of the analysed sample journal."""
    import mirror_kit

    dst = tmp_path / "sample.db"
    shutil.copyfile(viz_sample_db, dst)
    j = mirror_kit.open(dst)
    yield j
    j.close()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the headless browser (Debian's `chromium`, installed by `make system-deps`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed: run `make system-deps` (apt-get install chromium)")


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser(chromium):
    """A headless Chromium driven by Playwright (Debian's binary; Playwright's download is never used)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the `test` extra)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/: screenshots a reviewer can look at (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def serve_directory(directory: Path):
    """A loopback HTTP server for `directory` (a real origin, so the network rules apply); returns
    (server, base URL). Stop it with `server.shutdown()`."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest's output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"
