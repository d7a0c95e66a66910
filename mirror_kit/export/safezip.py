"""Reading ZIP files we did not necessarily write, safely.

Refused with a clear message: not a ZIP / truncated archives, member names that are absolute, contain
`..`, backslashes or drive letters, symlinks, duplicate names, too many members, declared sizes beyond
the limits or compression ratios typical of ZIP bombs, and members whose actual size differs from the
declared one (checked while reading, in chunks, so a lying header cannot make us inflate gigabytes).
Members are only ever read into memory or into files whose names we choose; nothing is extracted by
its own name.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .. import limits
from ..errors import InvalidInputError

READ_CHUNK = 1 << 20


def _bad_zip_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                                         NotImplementedError]
    try:
        import pyzipper.zipfile

        errors.append(pyzipper.zipfile.BadZipFile)  # pyzipper has its own class, not zipfile's
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


@dataclass(frozen=True)
class Limits:
    max_members: int = 64
    max_member_size: int = 16 * 1024**3
    max_total_size: int = 32 * 1024**3
    # Deflate tops out near 1032:1; real journals and JSON compress 3-20x. Small members are exempt
    # (a 4 KiB page of zeros compresses far better than that and is harmless).
    max_ratio: float = limits.ZIP_MAX_RATIO
    ratio_exempt_below: int = limits.ZIP_RATIO_EXEMPT_BELOW


DEFAULT_LIMITS = Limits()


def _bad_name(name: str) -> str | None:
    if not name or "\x00" in name:
        return "empty name or NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if any(part == ".." for part in name.split("/")):
        return "'..' in path"
    return None


def open_zip(path: str | Path, *, passphrase: str | None = None, limits: Limits = DEFAULT_LIMITS,
             name: str | Path | None = None):
    """An open, checked ZipFile (pyzipper's when it may be AES-encrypted). Caller closes it.

    name: how messages call the archive when `path` is a decrypted copy in private staging.
    """
    p = Path(path)
    shown = Path(name) if name is not None else p
    if not p.is_file():
        raise InvalidInputError(f"{shown}: no such file")
    try:
        import pyzipper

        zf = pyzipper.AESZipFile(p)
    except ImportError:  # pragma: no cover - pyzipper is a dependency of the crypto extra
        zf = zipfile.ZipFile(p)
    except _bad_zip_errors() as exc:
        raise InvalidInputError(f"{shown}: not a ZIP archive or truncated ({exc})") from exc
    try:
        check(zf, p, limits, shown)
        if passphrase:
            zf.setpassword(passphrase.encode("utf-8"))
    except BaseException:
        zf.close()
        raise
    return zf


def encrypted_members(zf: zipfile.ZipFile) -> list[str]:
    """Names of the members stored with ZIP encryption (ZipCrypto or WinZip-AES)."""
    return [i.filename for i in zf.infolist() if i.flag_bits & 0x1]


def check(zf: zipfile.ZipFile, path: Path, limits: Limits = DEFAULT_LIMITS, name: Path | None = None) -> None:
    """Refuse hostile structure (names, links, duplicates, sizes, ratios); messages call it `name`."""
    p = name if name is not None else path
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise InvalidInputError(f"{p}: {len(infos)} members, more than the limit of {limits.max_members}")
    seen: set[str] = set()
    total = 0
    archive_size = path.stat().st_size
    for info in infos:
        why = _bad_name(info.filename)
        if why:
            raise InvalidInputError(f"{p}: refusing member {info.filename!r}: {why}")
        if info.filename in seen:
            raise InvalidInputError(f"{p}: member {info.filename!r} appears twice")
        seen.add(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvalidInputError(f"{p}: refusing member {info.filename!r}: symbolic link")
        if info.file_size > limits.max_member_size:
            raise InvalidInputError(
                f"{p}: member {info.filename!r} declares {info.file_size} bytes, over the limit of "
                f"{limits.max_member_size}")
        if info.header_offset + info.compress_size > archive_size:
            raise InvalidInputError(f"{p}: member {info.filename!r} extends past the end of the file (truncated)")
        if info.file_size > limits.ratio_exempt_below and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise InvalidInputError(
                f"{p}: member {info.filename!r} would expand {info.file_size / max(info.compress_size, 1):.0f}x "
                f"(limit {limits.max_ratio:.0f}x): refusing a possible ZIP bomb")
        total += info.file_size
    if total > limits.max_total_size:
        raise InvalidInputError(f"{p}: members total {total} bytes, over the limit of {limits.max_total_size}")


def iter_member(zf: zipfile.ZipFile, name: str, p: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[bytes]:
    """The member's bytes in chunks, refusing more (or fewer) bytes than its header declares."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise InvalidInputError(f"{p}: member {name!r} is missing") from None
    declared = info.file_size
    seen = 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(READ_CHUNK)
                if not chunk:
                    break
                seen += len(chunk)
                if seen > declared or seen > limits.max_member_size:
                    raise InvalidInputError(
                        f"{p}: member {name!r} is larger than its declared {declared} bytes: refusing")
                yield chunk
    except InvalidInputError:
        raise
    except RuntimeError as exc:  # zipfile/pyzipper: password required or bad password
        msg = str(exc).lower()
        if "password" in msg:
            raise InvalidInputError(
                f"{p}: {'wrong passphrase' if 'bad' in msg else 'the archive is password-protected'}"
                f" (member {name!r})") from exc
        raise InvalidInputError(f"{p}: cannot read member {name!r}: {exc}") from exc
    except _bad_zip_errors() as exc:
        text = str(exc)
        if "password" in text.lower() or "hmac" in text.lower():
            raise InvalidInputError(f"{p}: wrong passphrase or altered data (member {name!r})") from exc
        raise InvalidInputError(f"{p}: member {name!r} is corrupted or truncated ({exc})") from exc
    if seen != declared:
        raise InvalidInputError(f"{p}: member {name!r} has {seen} bytes but declares {declared}: refusing")


def read_member(zf: zipfile.ZipFile, name: str, p: Path, *, max_size: int = 1 << 30) -> bytes:
    """A (small) member's bytes, within `max_size`."""
    info = zf.getinfo(name) if name in zf.namelist() else None
    if info is not None and info.file_size > max_size:
        raise InvalidInputError(f"{p}: member {name!r} declares {info.file_size} bytes, over {max_size}")
    return b"".join(iter_member(zf, name, p))


def copy_member(zf: zipfile.ZipFile, name: str, p: Path, out: IO[bytes]) -> str:
    """Write a member to `out`; returns its SHA-256."""
    h = hashlib.sha256()
    for chunk in iter_member(zf, name, p):
        h.update(chunk)
        out.write(chunk)
    return h.hexdigest()


def sha256_member(zf: zipfile.ZipFile, name: str, p: Path) -> str:
    h = hashlib.sha256()
    for chunk in iter_member(zf, name, p):
        h.update(chunk)
    return h.hexdigest()
