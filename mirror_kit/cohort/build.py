"""Build a cohort: SQLite journals (read-only) -> one pseudonymous, optionally redacted Parquet partition each.

Pseudonyms are keyed hashes (HMAC-SHA256 with the researcher's secret, truncated): the same person in
the same file gets the same id in every build with the same secret, a different one with another
secret, and without the secret nobody can test a guessed name against an id. Nothing in the output
names a person or a file: partitions and manifest entries are keyed hashes too, and the manifest
stores keyed hashes of names (never names) so a participants CSV can be matched when the secret is given.

Incremental: each source's size and mtime (and its WAL file's) are kept in the manifest; a rebuild
reads only sources whose fingerprint changed, drops partitions of sources that are gone, and rebuilds
everything when the secret or the redaction settings changed.
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import MirrorKitError

SECRET_ENV = "MIRROR_KIT_COHORT_SECRET"
MANIFEST = "_cohort.json"
FORMAT = 1
BATCH_ROWS = 20_000
MANIFEST_EVERY_S = 2.0
MIN_SECRET = 8  # shorter secrets make guessing names against pseudonyms cheap


class CohortError(MirrorKitError):
    """A cohort could not be built, embedded or analysed: names the file or setting at fault."""


def need_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as exc:
        raise CohortError("cohorts need pyarrow (pip install 'mirror_kit[cohort]')") from exc
    return pyarrow


# -- secrets and keyed ids ------------------------------------------------------------------------
def resolve_secret(secret: str | bytes | None) -> bytes:
    """The secret as bytes: the argument, else $MIRROR_KIT_COHORT_SECRET. Raises CohortError when
    neither is set or it is shorter than 8 characters."""
    if secret is None:
        secret = os.environ.get(SECRET_ENV) or None
    if secret is None:
        raise CohortError(f"a cohort needs a secret: pass --secret S or set ${SECRET_ENV} (keep it; "
                          "the same secret gives the same pseudonyms)")
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if len(raw) < MIN_SECRET:
        raise CohortError(f"the cohort secret must have at least {MIN_SECRET} characters")
    return raw


def keyed(secret: bytes, *parts: object) -> str:
    """Hex HMAC-SHA256 of the parts (joined by a unit separator) under the secret."""
    msg = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def participant_id(secret: bytes, file_identity: str, name: str) -> str:
    """The pseudonym of identity `name` in the source file `file_identity`: 'p_' + 16 hex digits."""
    return "p_" + keyed(secret, "participant", file_identity, name)[:16]


def source_key(secret: bytes, file_identity: str) -> str:
    return keyed(secret, "source", file_identity)[:12]


def name_key(secret: bytes, kind: str, value: str) -> str:
    """Keyed hash of a name or file identity, stored so a participants CSV can use original names."""
    return keyed(secret, kind, value.strip().casefold())[:16]


# -- sources --------------------------------------------------------------------------------------
def _static_prefix(pattern: str) -> Path:
    parts = Path(pattern).parts
    keep = []
    for p in parts:
        if glob.has_magic(p):
            break
        keep.append(p)
    return Path(*keep) if keep else Path(".")


def expand_sources(patterns: Sequence[str | os.PathLike]) -> list[tuple[Path, str]]:
    """(path, file identity) per journal file: the identity is the path relative to the pattern's
    fixed part (for 'study/*.db', 'p1.db'), so moving the study folder keeps every pseudonym.

    Raises CohortError for a pattern that matches nothing, a missing file or a directory.
    """
    out: dict[Path, str] = {}
    seen_ids: dict[str, Path] = {}
    if not patterns:
        raise CohortError("no journal files given (e.g. 'study/*.db')")
    for pat in patterns:
        pat = str(pat)
        if glob.has_magic(pat):
            base = _static_prefix(pat)
            matches = [Path(m) for m in sorted(glob.glob(pat, recursive=True)) if Path(m).is_file()]
            matches = [m for m in matches if not m.name.endswith(("-wal", "-shm", "-journal"))]
            if not matches:
                raise CohortError(f"{pat}: matches no file")
        else:
            p = Path(pat)
            if p.is_dir():
                raise CohortError(f"{pat}: is a directory; give its journal files, e.g. '{pat}/*.db'")
            if not p.is_file():
                raise CohortError(f"{pat}: no such file")
            base, matches = p.parent, [p]
        for m in matches:
            real = m.resolve()
            ident = real.relative_to(base.resolve()).as_posix()
            if real in out:
                continue
            if ident in seen_ids:
                raise CohortError(f"{m}: has the same name relative to its pattern as {seen_ids[ident]} "
                                  "(give the patterns from a common folder)")
            seen_ids[ident] = m
            out[real] = ident
    return sorted(out.items(), key=lambda kv: kv[1])


def fingerprint(path: Path) -> dict:
    """Size and mtime of the file and of its WAL (a write may only touch the WAL)."""
    st = path.stat()
    fp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        w = wal.stat()
        fp["wal"] = [w.st_size, w.st_mtime_ns]
    return fp


# -- redaction ------------------------------------------------------------------------------------
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
# A phone number: an optional +country code or (area code), then 2+ digit groups separated by at most
# one space, dot, dash or slash; counted as a phone only with 7..15 digits and not shaped like a date.
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,}(?:[ ./-]?\d{2,}){1,6}(?![\w])")
DATE = re.compile(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")
PLACEHOLDERS = {"email": "[EMAIL]", "url": "[URL]", "phone": "[PHONE]", "name": "[NAME]"}


def _phone(m: re.Match) -> str:
    s = m.group(0)
    digits = sum(c.isdigit() for c in s)
    if not 7 <= digits <= 15 or DATE.match(s) or re.fullmatch(r"\d{4}", s):
        return s
    return PLACEHOLDERS["phone"]


class Redactor:
    """Replaces e-mail addresses, URLs, phone numbers and the given names by placeholders.

    names: people's names (any case; matched as whole words, longest first).
    """

    def __init__(self, names: Sequence[str] = ()):
        # longest first (a full name before its parts), ties by text: the same order, and the same
        # settings fingerprint, in every process
        self.names = sorted({n.strip() for n in names if n.strip()}, key=lambda n: (-len(n), n))
        self._names = (re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in self.names) + r")(?!\w)",
                                  re.IGNORECASE) if self.names else None)

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        text = URL.sub(PLACEHOLDERS["url"], text)
        text = EMAIL.sub(PLACEHOLDERS["email"], text)
        text = PHONE.sub(_phone, text)
        if self._names is not None:
            text = self._names.sub(PLACEHOLDERS["name"], text)
        return text

    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.names).encode("utf-8")).hexdigest()


def load_names(path: str | os.PathLike) -> list[str]:
    """Names to redact, one per line (blank lines and '#' comments skipped). Raises CohortError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CohortError(f"{p}: names file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CohortError(f"{p}: cannot read the names file ({exc})") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


# -- reading one journal --------------------------------------------------------------------------
QUERY = (
    "SELECT r.id AS rid, i.name AS name, r.created_at AS created_at, r.tz AS tz, r.title AS title, "
    "r.content AS content FROM reflections r JOIN identities i ON i.id = r.identity_id "
    "ORDER BY i.name, r.created_at, r.id"
)


def read_journal(path: Path) -> Iterator[Any]:
    """pyarrow RecordBatches (rid, name, created_at, tz, title, content) of a journal, read-only.

    DuckDB's sqlite scanner when it loads (streams pages, cannot write); else sqlite3 in read-only
    URI mode. Raises CohortError when the file is not a mirror_kit journal.
    """
    pa = need_pyarrow()
    from ..db import readonly_uri, tidy_side_files

    uri = readonly_uri(path)
    side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    closed = not any(f.exists() for f in side)  # no program has the journal open
    try:
        yield from _read_batches(path, uri, pa)
    finally:
        if closed:
            tidy_side_files(path)


def _read_batches(path: Path, uri: str, pa: Any) -> Iterator[Any]:
    from ..sqlview import _quote, sqlite_extension_path

    # the scanner opens a WAL journal only where it may create the -shm file: on read-only storage
    # (an archive mount, a folder one may not write to) sqlite3 reads it as immutable instead
    ext = sqlite_extension_path() if "immutable=1" not in uri else None
    if ext is not None:
        import duckdb

        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        try:
            try:
                con.execute(f"LOAD '{_quote(str(ext))}'")
                con.execute(f"ATTACH '{_quote(str(path))}' AS src (TYPE sqlite, READ_ONLY)")
                con.execute("USE src")
                reader = con.execute(QUERY).fetch_record_batch(BATCH_ROWS)
            except duckdb.Error as exc:
                raise CohortError(f"{path}: not a readable mirror_kit journal ({str(exc).splitlines()[0]})") from None
            yield from reader
        finally:
            con.close()
        return
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise CohortError(f"{path}: cannot open ({exc})") from None
    try:
        try:
            cur = conn.execute(QUERY)
        except sqlite3.DatabaseError as exc:
            raise CohortError(f"{path}: not a readable mirror_kit journal ({exc})") from None
        cols = [d[0] for d in cur.description]
        while rows := cur.fetchmany(BATCH_ROWS):
            yield pa.RecordBatch.from_pylist([dict(zip(cols, r, strict=True)) for r in rows])
    finally:
        conn.close()


def out_schema() -> Any:
    pa = need_pyarrow()
    return pa.schema([
        ("participant", pa.string()), ("reflection", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")), ("tz", pa.string()),
        ("title", pa.string()), ("content", pa.string()), ("n_words", pa.int32()),
    ])


def _convert(batch: Any, secret: bytes, file_id: str, redactor: Redactor | None,
             participants: dict[str, str]) -> Any:
    import pandas as pd

    pa = need_pyarrow()
    d = batch.to_pydict()
    names = d["name"]
    pids = []
    for n in names:
        pid = participants.get(n)
        if pid is None:
            pid = participants[n] = participant_id(secret, file_id, n)
        pids.append(pid)
    rids = ["r_" + keyed(secret, "reflection", file_id, r)[:20] for r in d["rid"]]
    created = pd.to_datetime(pd.Series(d["created_at"], dtype="object"), utc=True, format="ISO8601",
                             errors="coerce")
    content, title = d["content"], d["title"]
    if redactor is not None:
        content = [redactor(t) for t in content]
        title = [redactor(t) for t in title]
    n_words = [len(t.split()) if t else 0 for t in content]
    return pa.RecordBatch.from_arrays([
        pa.array(pids, pa.string()), pa.array(rids, pa.string()),
        pa.array(created, pa.timestamp("us", tz="UTC")), pa.array(d["tz"], pa.string()),
        pa.array(title, pa.string()), pa.array(content, pa.string()), pa.array(n_words, pa.int32()),
    ], schema=out_schema())


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:32]


def write_partition(src: Path, file_id: str, root: Path, secret: bytes,
                    redactor: Redactor | None) -> dict:
    """Read one journal and (re)write its partition atomically; returns its manifest entry."""
    import pyarrow.parquet as pq

    key = source_key(secret, file_id)
    final = root / "reflections" / f"source={key}"
    tmp = root / "reflections" / f".tmp-source={key}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fp = fingerprint(src)  # before reading: a write during the read shows up as a change next time
    participants: dict[str, str] = {}
    rows = 0
    try:
        with pq.ParquetWriter(tmp / "part-0.parquet", out_schema(), compression="zstd") as w:
            for batch in read_journal(src):
                out = _convert(batch, secret, file_id, redactor, participants)
                w.write_batch(out)
                rows += out.num_rows
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    after = fingerprint(src)
    # Opening a WAL journal may create an empty WAL file (a new mtime, no new data): keep the
    # after-read fingerprint unless the data changed while reading, so that change is read next time.
    if after["size"] == fp["size"] and after["mtime_ns"] == fp["mtime_ns"] and \
            (after.get("wal") or [0])[0] == (fp.get("wal") or [0])[0]:
        fp = after
    old = root / "reflections" / f".old-source={key}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return {
        **fp,
        "rows": rows,
        "digest": file_digest(final / "part-0.parquet"),
        "participants": [
            {"id": pid, "name_key": name_key(secret, "name", n), "file_key": name_key(secret, "file", file_id),
             "key": name_key(secret, "file#name", f"{file_id}#{n}")}
            for n, pid in sorted(participants.items(), key=lambda kv: kv[1])
        ],
    }


# -- manifest -------------------------------------------------------------------------------------
def read_manifest(root: Path) -> dict | None:
    p = root / MANIFEST
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CohortError(f"{p}: unreadable cohort manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sources"), dict):
        raise CohortError(f"{p}: not a cohort manifest of format {FORMAT}")
    return data


def write_manifest(root: Path, data: dict) -> None:
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, root / MANIFEST)


def build(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *, secret: str | bytes | None = None,
          redact: bool = False, names: Sequence[str] = (), progress: bool | None = None) -> dict:
    """Build or update the cohort at `out` from journal files (paths or glob patterns).

    Returns {"sources", "read", "unchanged", "removed", "reflections", "participants", "seconds"}.
    Raises CohortError for a missing secret, no matching files, a file that is not a journal, or an
    `out` that exists but is not a cohort; a failure leaves the earlier partitions and manifest as they were.
    """
    t0 = time.perf_counter()
    need_pyarrow()
    key = resolve_secret(secret)
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise CohortError(f"{root}: exists and is not a directory")
    manifest = read_manifest(root) if root.exists() else None
    if manifest is None and root.exists() and any(root.iterdir()):
        raise CohortError(f"{root}: is not empty and not a cohort (no {MANIFEST}); give a new folder")
    files = expand_sources(sources)
    redactor = Redactor(names) if (redact or names) else None
    settings = keyed(key, "settings", FORMAT, bool(redactor), redactor.digest() if redactor else "")[:16]
    if manifest is None or manifest.get("settings") != settings:
        manifest = {"format": FORMAT, "settings": settings, "sources": {}}
    created = not root.exists()
    try:
        return _build_into(root, manifest, files, key, redactor, progress, t0)
    except BaseException:
        # A first build that fails leaves no half-made cohort folder behind (an update keeps the
        # earlier partitions and manifest, which stay consistent).
        if created and read_manifest(root) is None:
            shutil.rmtree(root, ignore_errors=True)
        raise


def _build_into(root: Path, manifest: dict, files: list, key: bytes, redactor: Any, progress: bool | None,
                t0: float) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reflections").mkdir(exist_ok=True)
    old = manifest["sources"]
    current = {source_key(key, fid): (path, fid) for path, fid in files}
    read = unchanged = 0
    saved = time.perf_counter()
    items = list(current.items())
    bar = None
    if progress or (progress is None and len(items) > 20 and os.isatty(2)):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="cohort build", unit="file")
    try:
        for skey, (path, fid) in items:
            entry = old.get(skey)
            part = root / "reflections" / f"source={skey}" / "part-0.parquet"
            fp = fingerprint(path)
            if entry is not None and part.exists() and all(entry.get(k) == v for k, v in fp.items()) \
                    and ("wal" in entry) == ("wal" in fp):
                unchanged += 1
            else:
                old[skey] = write_partition(path, fid, root, key, redactor)
                read += 1
                # Progress survives an interruption; at most every 2 s, since rewriting the manifest
                # after each of thousands of files would make the build quadratic in files.
                if time.perf_counter() - saved >= MANIFEST_EVERY_S:
                    write_manifest(root, manifest)
                    saved = time.perf_counter()
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    removed = 0
    for skey in [k for k in old if k not in current]:
        del old[skey]
        removed += 1
    write_manifest(root, manifest)
    # Partitions no manifest entry accounts for: gone sources, an old secret/settings, interrupted writes.
    for d in (root / "reflections").iterdir():
        if d.is_dir() and (d.name.startswith(".") or d.name.removeprefix("source=") not in old):
            shutil.rmtree(d, ignore_errors=True)
    return {
        "sources": len(current), "read": read, "unchanged": unchanged, "removed": removed,
        "reflections": sum(e["rows"] for e in old.values()),
        "participants": sum(len(e["participants"]) for e in old.values()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
