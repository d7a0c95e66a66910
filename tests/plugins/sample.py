"""The sample journal, built once and cached in pytest's cache dir (across runs and xdist workers):
loaded and embedded (`embedded`), or fully analysed (`analysed`). Fixtures copy these files before
writing; notebooks read the analysed one through `MIRROR_KIT_DB`."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the cached journals depend on: the data, the schema and the analysis code.
_KEY_FILES = ("data/sample_journal.jsonl", "migrations", "mirror_kit/sample", "mirror_kit/embedding",
              "mirror_kit/patterns", "mirror_kit/tensions", "mirror_kit/collections", "mirror_kit/records.py",
              "mirror_kit/timeseries.py",
              "mirror_kit/journal.py")
STAGES = ("embedded", "analysed")


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


def cached_sample(cache_dir: Path, stage: str) -> Path:
    """The sample journal at `stage` in `cache_dir`, built if missing under a file lock. Read-only:
    it is in rollback-journal mode so a read-only open creates no -wal/-shm files; copy it to write."""
    import mirror_kit
    from mirror_kit.sample import load_sample

    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = sample_key()
    target = cache_dir / f"sample_{stage}_{key}.db"
    with open(cache_dir / f"sample_{stage}_{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not target.exists():
                tmp = cache_dir / f"sample_{stage}_{key}.{os.getpid()}.tmp.db"
                tmp.unlink(missing_ok=True)
                if stage == "analysed":  # start from the embedded one: the model runs once per key
                    shutil.copyfile(cached_sample(cache_dir, "embedded"), tmp)
                with mirror_kit.open(tmp) as j:
                    j.conn.execute("PRAGMA journal_mode=WAL")
                    if stage == "embedded":
                        load_sample(j)
                    for ident in j.identities.rows():
                        if stage == "embedded":
                            j.embeddings.embed(ident.name, progress=False)
                        else:
                            j.analyze(ident.name, random_state=0)
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
    """Drop journals built for older code (kept 10 minutes in case another run still reads one)."""
    stage = keep.stem.split("_")[1]
    for old in cache_dir.glob(f"sample_{stage}_*"):
        if not old.name.startswith(keep.stem) and old.stat().st_mtime < time.time() - 600:
            old.unlink(missing_ok=True)


def sample_cache_dir(config) -> Path:
    return Path(config.cache.mkdir("sample_journal"))
