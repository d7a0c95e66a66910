"""Fixtures for figures, explorer, notebooks and reports (issue 9).

The sample journal, loaded and fully analysed (`journal.analyze` per identity, a few minutes on a
busy CPU), is built once into pytest's cache dir, keyed by a hash of the sample data, the migrations
and the analysis code, under a file lock (safe with xdist workers). Notebook runs (nbval) find it
through `MIRROR_KIT_DB`, set before the first notebook kernel starts.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the analysed journal depends on: the data, the schema and the analysis code.
_KEY_FILES = ("data/sample_journal.jsonl", "migrations", "mirror_kit/sample", "mirror_kit/embedding",
              "mirror_kit/patterns", "mirror_kit/tensions", "mirror_kit/store.py", "mirror_kit/timeseries.py",
              "mirror_kit/journal.py")


def sample_key() -> str:
    h = hashlib.sha256()
    for rel in _KEY_FILES:
        p = ROOT / rel
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file() and f.suffix in (".py", ".sql", ".yaml", ".jsonl", ".json"):
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:20]


def analysed_sample(cache_dir: Path) -> Path:
    """The analysed sample journal in `cache_dir` (built if missing). Treat it as read-only."""
    import mirror_kit
    from mirror_kit.sample import load_sample

    key = sample_key()
    target = cache_dir / f"sample_analysed_{key}.db"
    with open(cache_dir / f"sample_analysed_{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not target.exists():
                tmp = cache_dir / f"sample_analysed_{key}.{os.getpid()}.tmp.db"
                tmp.unlink(missing_ok=True)
                with mirror_kit.open(tmp) as j:
                    load_sample(j)
                    for ident in j.identities():
                        j.analyze(ident.name, random_state=0)
                    # A rollback-journal file opens read-only without creating -wal/-shm files.
                    j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    j.conn.execute("PRAGMA journal_mode=DELETE")
                for side in ("-wal", "-shm"):
                    Path(str(tmp) + side).unlink(missing_ok=True)
                os.replace(tmp, target)
                _prune(cache_dir, keep=target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _prune(cache_dir: Path, keep: Path) -> None:
    """Drop journals built for older code (kept 10 minutes in case another session still reads one)."""
    import time

    for old in cache_dir.glob("sample_analysed_*"):
        if old.stem != keep.stem and old.stat().st_mtime < time.time() - 600:
            old.unlink(missing_ok=True)


def _cache_dir(config) -> Path:
    return Path(config.cache.makedir("viz_sample"))


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
