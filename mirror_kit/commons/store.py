"""The Commons folder: content-addressed, append-only object files that many journals share.

Layout::

    COMMONS.json              {"format": "mirror-kit-commons/1", "genesis": "<sha256>"}
    policy.yaml               a readable copy of the policy (the genesis object is what counts)
    objects/<sha256>.json     one signed record each, named by the SHA-256 of its bytes

Objects are only ever added, never changed or deleted, and each is written to a private temporary file
(O_EXCL) then renamed into place (os.replace), so several journals pushing at once can neither lose nor
half-write anything: the same record has the same name and bytes everywhere. The folder can live in
git, on a network share or in a sync service.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import CommonsIntegrityError, InvalidInputError, MirrorKitError
from .records import content_hash, open_object

FORMAT = "mirror-kit-commons/1"
_NAME = re.compile(r"^[0-9a-f]{64}$")


def location_path(location: str | Path) -> Path:
    """The folder of a Commons location (a path or a file:// URL); other URLs are refused."""
    text = str(location)
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "file":
            raise InvalidInputError(f"{text}: only folder Commons (a path or file:// URL) are supported")
        text = parts.path
    return Path(text).expanduser()


def _write_exclusive(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically: a fresh O_EXCL temporary file in the same folder, then a rename."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class FolderStore:
    """One Commons folder (see the module docstring). Raises MirrorKitError when `path` is not one."""

    def __init__(self, path: str | Path):
        self.path = location_path(path)
        root = self.path / "COMMONS.json"
        try:
            meta = json.loads(root.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise MirrorKitError(f"{self.path}: not a Commons folder (no COMMONS.json; run `commons init`)") from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise MirrorKitError(f"{root}: cannot read: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or not _NAME.match(str(meta.get("genesis"))):
            raise MirrorKitError(f"{root}: not a {FORMAT} Commons description")
        self.genesis: str = meta["genesis"]
        self.objects = self.path / "objects"

    @property
    def location(self) -> str:
        """Where this Commons is, as a journal records it (the folder's path)."""
        return str(self.path)

    @classmethod
    def create(cls, path: str | Path, genesis: bytes, policy_yaml: str) -> FolderStore:
        """Make a new Commons folder around its genesis object; refuses a folder that already is one."""
        p = location_path(path)
        if (p / "COMMONS.json").exists():
            raise InvalidInputError(f"{p}: already a Commons folder")
        if p.exists() and not p.is_dir():
            raise InvalidInputError(f"{p}: exists and is not a folder")
        (p / "objects").mkdir(parents=True, exist_ok=True)
        name = content_hash(genesis)
        _write_exclusive(p / "objects" / f"{name}.json", genesis)
        _write_exclusive(p / "policy.yaml", policy_yaml.encode("utf-8"))
        meta = json.dumps({"format": FORMAT, "genesis": name}, indent=2) + "\n"
        try:
            fd = os.open(p / "COMMONS.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError as exc:
            raise InvalidInputError(f"{p}: already a Commons folder") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(meta)
        return cls(p)

    def names(self) -> set[str]:
        """The hashes of every object file present (temporary files and strays are not objects)."""
        try:
            return {f.name[:-5] for f in self.objects.iterdir()
                    if f.name.endswith(".json") and _NAME.match(f.name[:-5])}
        except FileNotFoundError as exc:
            raise MirrorKitError(f"{self.objects}: missing (not a Commons folder?)") from exc

    def read(self, name: str) -> tuple[bytes, dict]:
        """An object's bytes and record, checked (CommonsIntegrityError names the file and the reason)."""
        f = self.objects / f"{name}.json"
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise CommonsIntegrityError(f"{f}: cannot read: {exc}") from exc
        return data, open_object(data, name)

    def write(self, data: bytes) -> tuple[str, bool]:
        """Add an object (its bytes are checked first); returns (hash, True when it was new)."""
        name = content_hash(data)
        open_object(data, name)
        target = self.objects / f"{name}.json"
        if target.exists():
            try:
                if target.read_bytes() == data:
                    return name, False
            except OSError:
                pass
        # A same-named file with other bytes is a damaged copy: the rename replaces it with the true bytes.
        _write_exclusive(target, data)
        return name, True
