"""Fixtures for tensions (issue 8): the sample journal with its embeddings computed once (kept in
pytest's cache dir across runs and xdist workers), and per-test writable copies analysed for tensions."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample_journal.jsonl"
TRUTH = ROOT / "data" / "sample_truth.json"


@pytest.fixture(scope="session")
def sample_embedded_db(request, embedder) -> Path:
    """A journal file with the sample journal loaded and embedded (read it, never write it: copy it)."""
    import mirror_kit
    from mirror_kit.sample import load_sample

    key = hashlib.sha256(
        "\x1f".join([embedder.model_name, embedder.resolved_precision, str(embedder.window),
                     hashlib.sha256(SAMPLE.read_bytes()).hexdigest(),
                     hashlib.sha256((ROOT / "migrations").joinpath("0001_initial.up.sql").read_bytes()).hexdigest(),
                     str(sorted(p.name for p in (ROOT / "migrations").glob("*.sql")))]).encode()
    ).hexdigest()[:20]
    cache_dir = Path(request.config.cache.makedir("tensions_sample"))
    target = cache_dir / f"sample_{key}.db"
    with open(cache_dir / f"sample_{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not target.exists():
                tmp = cache_dir / f"sample_{key}.{os.getpid()}.tmp.db"
                tmp.unlink(missing_ok=True)
                with mirror_kit.open(tmp) as j:
                    load_sample(j)
                    for ident in j.identities():
                        j.embed(ident.name, progress=False)
                    j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                for side in ("-wal", "-shm"):
                    Path(str(tmp) + side).unlink(missing_ok=True)
                os.replace(tmp, target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


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
    j.analyze_tensions("maya")
    yield j
    j.close()


@pytest.fixture(scope="session")
def sample_truth() -> dict:
    import json

    return json.loads(TRUTH.read_text(encoding="utf-8"))
