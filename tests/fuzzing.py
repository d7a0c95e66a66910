"""Seeded mutation fuzzing of every reader mirror_kit imports from (shared by tests/test_fuzz_readers.py
and bench/bench_fuzz.py).

Each case writes a mutated input next to a small journal, runs the import through the Python API and
classifies the outcome: `ok` (imported), `refused` (a MirrorKitError: one line for the user) or
`crash` (any other exception: a traceback a user could reach). A refused import must leave the
journal's bytes unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import random
import shutil
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mirror_kit
from mirror_kit.errors import MirrorKitError

READERS = ("csv", "jrnl_json", "markdown", "dayone_zip", "mirror_export", "backup_zip")
CASE_TIME_LIMIT_S = 10.0
# How often a slice may be repeated to make a huge value: the test keeps inputs small (fast), the
# benchmark raises it to reach megabyte-sized fields and files.
MAX_REPEAT = 500


@dataclass
class Result:
    reader: str
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "refused": 0, "crash": 0})
    crashes: list[str] = field(default_factory=list)
    changed_after_refusal: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- seeds ------------------------------------------------------------------------------------------
def _csv_seed() -> bytes:
    return (b"id,date,text,tags,title\n"
            b"1,2024-01-01 08:00,Walked by the river.,walk|calm,River\n"
            b'2,2024-01-02,"Rain all day, stayed in.",rain,\n'
            b"3,2024-01-03T21:30:00+01:00,Talked with Sam about work.,work;sam,Sam\n")


def _jrnl_doc() -> dict:
    return {"tags": {"@calm": 1}, "entries": [
        {"date": "2024-03-01", "time": "09:00", "title": "Morning walk.", "body": "I felt calm @calm",
         "tags": ["@calm"], "starred": False},
        {"date": "2024-03-02", "time": "21:30", "title": "Late.", "body": "Tired.", "tags": [], "starred": True},
    ]}


def _dayone_doc() -> dict:
    return {"metadata": {"version": "1.0"}, "entries": [
        {"uuid": "A1", "creationDate": "2024-02-01T10:00:00Z", "timeZone": "Europe/Paris",
         "text": "Back at school\\!", "tags": ["school"], "starred": False},
        {"uuid": "A2", "creationDate": "2024-02-02T10:00:00Z", "text": "Exam day", "tags": []},
    ]}


def _md_seed() -> bytes:
    return b"---\ndate: 2024-01-01 08:00\ntitle: A note\ntags: [calm, river]\n---\nWalked by the river. #walk\n"


def make_journal(path: Path) -> Path:
    """The small journal every case starts from (closed, checkpointed)."""
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "already here", "2024-01-01", tags=["calm"])
    return path


def seeds(work: Path, journal: Path) -> dict[str, object]:
    """Seed input per reader: bytes, or a parsed document for JSON-based readers."""
    with mirror_kit.open(journal) as j:
        j.exports.json(work / "seed_export.json")
        j.exports.backup(work / "seed_backup.zip")
    return {
        "csv": _csv_seed(),
        "jrnl_json": _jrnl_doc(),
        "markdown": _md_seed(),
        "dayone_zip": _dayone_doc(),
        "mirror_export": json.loads((work / "seed_export.json").read_text(encoding="utf-8")),
        "backup_zip": (work / "seed_backup.zip").read_bytes(),
    }


# -- mutations ---------------------------------------------------------------------------------------
_ODD_VALUES = [None, True, 0, -1, 10**30, 1e308, "", "x" * 100_000, [], {}, [[[]]], {"a": {"b": None}},
               "2024-13-45", "9999-99-99T99:99:99Z", "\u0000", "\ud7ff\ue000", "é" * 5000, 3.5, "NaN"]


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(6)
    if op == 0 and b:  # truncation
        return bytes(b[: rng.randrange(len(b))])
    if op == 1 and b:  # byte flips
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if op == 2:  # NULs
        for _ in range(rng.randint(1, 4)):
            b.insert(rng.randrange(len(b) + 1), 0)
        return bytes(b)
    if op == 3 and b:  # a slice repeated many times (huge values, long lines)
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 64))
        return bytes(b[:j] + b[i:j] * rng.randint(2, MAX_REPEAT) + b[j:])
    if op == 4 and b:  # random bytes overwrite a region
        i = rng.randrange(len(b))
        n = rng.randint(1, 32)
        b[i:i + n] = bytes(rng.randrange(256) for _ in range(n))
        return bytes(b)
    return bytes(b) + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))  # trailing junk


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def mutate_doc(rng: random.Random, doc: object) -> bytes:
    """A JSON document with one value replaced by a value of a wrong type or size (or dropped), or,
    one time in three, its serialisation mutated bytewise."""
    if rng.randrange(3) == 0:
        return mutate_bytes(rng, json.dumps(doc).encode())
    d = copy.deepcopy(doc)
    path = rng.choice(_paths(d)[1:] or [()])
    if not path:
        return json.dumps(rng.choice(_ODD_VALUES)).encode()
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    if rng.randrange(4) == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(_ODD_VALUES)
    return json.dumps(d, ensure_ascii=rng.randrange(2) == 0).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return buf.getvalue()


def _backup_case(rng: random.Random, seed: bytes) -> bytes:
    """Bytes of the archive mutated, or one member mutated with the checksums recomputed."""
    if rng.randrange(2) == 0:
        return mutate_bytes(rng, seed)
    with zipfile.ZipFile(io.BytesIO(seed)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["metadata.json"])
    name = rng.choice(sorted(members))
    if name == "metadata.json":
        members[name] = mutate_doc(rng, meta)
    else:
        members[name] = mutate_doc(rng, json.loads(members[name])) if name.endswith(".json") else \
            mutate_bytes(rng, members[name])
        meta["members"][name]["sha256"] = hashlib.sha256(members[name]).hexdigest()
        members["metadata.json"] = json.dumps(meta).encode()
    return _zip(members)


# -- running one case ----------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        p = Path(f"{path}{suffix}")
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()


def _write_case(reader: str, rng: random.Random, seed: object, case: Path) -> Callable[[object], object]:
    """Write the mutated input under `case`; returns the call that imports it into a journal."""
    case.mkdir()
    if reader == "csv":
        f = case / "in.csv"
        f.write_bytes(mutate_bytes(rng, seed))
        return lambda j: j.imports.run(f, "maya", format="csv")
    if reader == "jrnl_json":
        f = case / "in.json"
        f.write_bytes(mutate_doc(rng, seed))
        return lambda j: j.imports.run(f, "maya", format="jrnl")
    if reader == "markdown":
        (case / "notes").mkdir()
        (case / "notes" / "a.md").write_bytes(mutate_bytes(rng, seed))
        return lambda j: j.imports.run(case / "notes", "maya", format="markdown")
    if reader == "dayone_zip":
        f = case / "in.zip"
        if rng.randrange(3) == 0:
            f.write_bytes(mutate_bytes(rng, _zip({"Journal.json": json.dumps(seed).encode()})))
        else:
            f.write_bytes(_zip({"Journal.json": mutate_doc(rng, seed)}))
        return lambda j: j.imports.run(f, "maya", format="dayone")
    if reader == "mirror_export":
        f = case / "in.json"
        f.write_bytes(mutate_doc(rng, seed))
        return lambda j: j.imports.run(f, format="mirror")
    if reader == "backup_zip":
        from mirror_kit.export import restore
        from mirror_kit.export.backup import verify_backup

        f = case / "in.zip"
        f.write_bytes(_backup_case(rng, seed))

        def run(_j):
            verify_backup(f)
            return restore(f, case / "restored.db")
        return run
    raise ValueError(reader)


def fuzz(reader: str, n: int, seed: int, work: Path) -> Result:
    """`n` mutated inputs for `reader` (deterministic for a given `seed`), each imported into a copy of
    the same small journal."""
    res = Result(reader)
    work.mkdir(parents=True, exist_ok=True)
    pristine = make_journal(work / "pristine.db")
    seed_input = seeds(work, pristine)[reader]
    rng = random.Random(f"{reader}:{seed}")
    journal = work / "j.db"
    shutil.copy(pristine, journal)
    t_all = time.perf_counter()
    for k in range(n):
        case = work / f"case{k}"
        call = _write_case(reader, rng, seed_input, case)
        before = _digest(journal)
        t0 = time.perf_counter()
        outcome = "ok"
        try:
            with mirror_kit.open(journal) as j:
                call(j)
        except MirrorKitError:
            outcome = "refused"
        except Exception:  # noqa: BLE001 - the point: anything else is a reachable traceback
            outcome = "crash"
            tb = traceback.format_exc().strip().splitlines()
            res.crashes.append(f"case {k}: {tb[-1][:200]} (at {tb[-3].strip()[:160] if len(tb) > 2 else ''})")
        took = time.perf_counter() - t0
        res.counts[outcome] += 1
        if took > CASE_TIME_LIMIT_S:
            res.slow.append(f"case {k}: {took:.1f} s")
        if outcome == "refused" and _digest(journal) != before:
            res.changed_after_refusal.append(f"case {k}")
        if outcome != "refused" or _digest(journal) != before:
            shutil.copy(pristine, journal)  # start the next case from the same journal
            for suffix in ("-wal", "-shm"):
                Path(f"{journal}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(case, ignore_errors=True)
    res.seconds = time.perf_counter() - t_all
    return res
