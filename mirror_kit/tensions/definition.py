"""A tension: an axis between two poles (name, description, anchor phrases each), shareable as a small file.

File format (YAML or JSON), one tension or a list under `tensions:`::

    id: work_family            # optional; derived from the pole names when missing
    name: Work / Family
    a: {name: work, description: ..., anchors: [I stayed late at the office., ...]}
    b: {name: family, description: ..., anchors: [I had dinner with my kids., ...]}

Position -1 is pole `a`, +1 is pole `b`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

SEED_IDS = ("solitude_connection", "surrender_agency", "stability_change", "being_doing", "reason_feeling")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_SEEDS_FILE = Path(__file__).with_name("seeds.yaml")


@dataclass
class Pole:
    name: str
    description: str = ""
    anchors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "anchors": list(self.anchors)}


@dataclass
class Tension:
    """Two poles; `a` is position -1, `b` is +1. Anchors are example sentences of each pole."""

    id: str
    name: str
    a: Pole
    b: Pole

    @property
    def axis_a(self) -> str:
        return self.a.name

    @property
    def axis_b(self) -> str:
        return self.b.name

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "a": self.a.as_dict(), "b": self.b.as_dict()}

    @classmethod
    def from_dict(cls, data: Any, where: str = "tension") -> Tension:
        """Validate a mapping (from YAML/JSON/the database); errors name `where` and the field."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"{where}: expected a mapping with id, name, a, b; got {type(data).__name__}")
        poles = []
        for key in ("a", "b"):
            p = data.get(key)
            if not isinstance(p, dict):
                raise InvalidInputError(f"{where}: field {key!r} (pole) must be a mapping with name and anchors")
            pname = str(p.get("name") or "").strip()
            if not pname:
                raise InvalidInputError(f"{where}: field {key}.name must not be empty")
            anchors = p.get("anchors", [])
            if isinstance(anchors, str):
                anchors = [anchors]
            if not isinstance(anchors, list) or not all(isinstance(s, str) for s in anchors):
                raise InvalidInputError(f"{where}: field {key}.anchors must be a list of sentences")
            anchors = [s.strip() for s in anchors if s.strip()]
            desc = str(p.get("description") or "").strip()
            if not anchors and not desc:
                raise InvalidInputError(f"{where}: pole {key} ({pname}) needs anchors or a description")
            poles.append(Pole(pname, desc, anchors))
        name = str(data.get("name") or f"{poles[0].name.title()} / {poles[1].name.title()}").strip()
        tid = data.get("id") or f"{_slug(poles[0].name)}_{_slug(poles[1].name)}"
        tid = str(tid).strip()
        if not _ID_RE.match(tid):
            raise InvalidInputError(f"{where}: field id {tid!r} must be lowercase letters, digits, '_' or '-'")
        return cls(tid, name, poles[0], poles[1])

    def phrases(self, pole: str) -> list[str]:
        """The sentences that define a pole: its anchors, else its description."""
        p = self.a if pole == "a" else self.b
        return p.anchors or [p.description]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:30] or "pole"


def _parse(text: str, where: str) -> Any:
    from ..limits import safe_yaml_load

    return safe_yaml_load(text, where, "not valid YAML/JSON")  # YAML is a superset of JSON


def load_tensions(path: str | Path) -> list[Tension]:
    """Read one tension or a `tensions:` list from a YAML or JSON file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{p}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{p}: cannot read: {exc}") from exc
    return _tensions_of(_parse(text, str(p)), p)


def _tensions_of(data: Any, p: Path) -> list[Tension]:
    items = data.get("tensions") if isinstance(data, dict) and "tensions" in data else data
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise InvalidInputError(f"{p}: expected a tension mapping or a non-empty 'tensions' list")
    out = [Tension.from_dict(it, f"{p}: tension {i + 1}") for i, it in enumerate(items)]
    ids = [t.id for t in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InvalidInputError(f"{p}: duplicate tension id(s) {', '.join(dup)}")
    return out


def load_tension(path: str | Path) -> Tension:
    """Read a file holding exactly one tension."""
    ts = load_tensions(path)
    if len(ts) != 1:
        raise InvalidInputError(f"{path}: expected one tension, found {len(ts)}")
    return ts[0]


def save_tensions(tensions: Tension | list[Tension], path: str | Path) -> Path:
    """Write tensions as YAML (`.yaml`/`.yml`) or JSON (anything else), atomically."""
    import tempfile

    import yaml

    items = [tensions] if isinstance(tensions, Tension) else list(tensions)
    p = Path(path)
    data = {"version": 1, "tensions": [t.as_dict() for t in items]}
    if p.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def seed_tensions() -> list[Tension]:
    """The five built-in archetypal tensions, in their fixed order (fresh objects on every call)."""
    return [Tension.from_dict(d, "seed tension") for d in _seed_dicts()]


_SEEDS_PARSED: dict[tuple, list[dict]] = {}


def _seed_dicts() -> list[dict]:
    # Parsing the YAML took ~0.4 s and ran several times per tension list: parsed once per file
    # version (size and modification time), as plain dicts each caller rebuilds its own objects from.
    st = _SEEDS_FILE.stat()
    key = (st.st_size, st.st_mtime_ns)
    if key not in _SEEDS_PARSED:
        _SEEDS_PARSED.clear()
        text = _SEEDS_FILE.read_text(encoding="utf-8")
        cache = _seed_cache_file(text)
        dicts = _read_seed_cache(cache)
        if dicts is None:
            import yaml

            # The file ships with the package (not user input): libyaml's parser, ~20x faster than the
            # pure-Python one the limits of `safe_yaml_load` need, and the same checks of its contents.
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
            dicts = [t.as_dict() for t in _tensions_of(data, _SEEDS_FILE)]
            _write_seed_cache(cache, dicts)
        _SEEDS_PARSED[key] = dicts
    return _SEEDS_PARSED[key]


def _seed_cache_file(text: str) -> Path:
    """Where the parsed seeds of this seed file's text are kept as JSON (the user's cache directory):
    a new process reads them without importing and running the YAML parser (~10 ms, and thousands
    of objects for the garbage collector to trace, in every short command)."""
    import hashlib

    from ..embedding.onnx_backend import cache_dir

    return cache_dir() / "seeds" / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()[:24]}.json"


def _read_seed_cache(path: Path) -> list[dict] | None:
    try:
        dicts = json.loads(path.read_text(encoding="utf-8"))
    except Exception:  # missing, damaged or unreadable: parsed from the YAML again
        return None
    # keyed by the file's text, so only a damaged copy differs: each is checked by `seed_tensions`
    # (Tension.from_dict) on use; the shape is checked here so that damage means a re-parse
    if not isinstance(dicts, list) or not dicts or not all(isinstance(d, dict) for d in dicts):
        return None
    return dicts


def _write_seed_cache(path: Path, dicts: list[dict]) -> None:
    import tempfile

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dicts, fh, ensure_ascii=False)
        os.replace(tmp, path)
        tmp = None
    except Exception:  # a cache that cannot be written only costs time next run
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
