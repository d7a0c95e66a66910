"""Day One: its JSON export ZIP (one `<Journal>.json` per journal, plus `photos/`, `videos/`, ...).

Each entry's `uuid` is its source id; `creationDate` (UTC) and `timeZone` give the date; the text
loses Day One's Markdown backslash escapes (`\\.` -> `.`) and its `![](dayone-moment://ID)` media
links of every kind (photos, videos, audios, PDFs; any case), which are kept in metadata (`media`:
kind, identifier, md5 and the real file name in the archive, e.g. `audios/<md5>.m4a`) together with
the journal name, `starred`, `location`, `weather`, `modifiedDate` and the creation device.
An entry without text once its media links are removed is skipped and counted as without text.
A bare `Journal.json` (an unzipped export) works too.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..errors import InvalidInputError
from ..timeutil import resolve_tz
from .common import (
    DAMAGED_UTF8,
    Context,
    Damage,
    Entry,
    Rejection,
    Skipped,
    decode_bytes,
    load_entries_json,
    open_zip,
    read_bytes,
    read_member,
    undamaged,
)
from .dates import parse_value

SOURCE = "dayone"
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# Media links in any case and form Day One writes: `![](dayone-moment://ID)`,
# `![](dayone-moment:/pdfAttachment/ID)`, `[](dayone-moment:/audio/ID)`, or a bare link.
_MOMENT = re.compile(
    r"!?\[[^\]\n]*\]\(\s*dayone-moment:/{1,3}(?:[a-z]+/)?([a-z0-9-]+)\s*\)|dayone-moment:/{1,3}(?:[a-z]+/)?[a-z0-9-]+",
    re.I,
)
MEDIA_KEYS = {"photos": "photos", "videos": "videos", "audios": "audios", "pdfAttachments": "pdfs"}
KIND = {"photos": "photo", "videos": "video", "audios": "audio", "pdfAttachments": "pdf"}
# The extension Day One gives each kind's files when the entry does not say (audio `format` is the
# codec, and AAC audio is written as `.m4a`).
DEFAULT_EXT = {"photos": "jpeg", "videos": "mov", "audios": "m4a", "pdfAttachments": "pdf"}
AUDIO_EXT = {"aac": "m4a", "mp4a": "m4a", "m4a": "m4a", "mp3": "mp3", "wav": "wav", "caf": "caf",
             "opus": "opus", "ogg": "ogg"}
ENTRY_KEYS_IN_METADATA = {"location": "location", "weather": "weather", "modifiedDate": "modified_at",
                          "creationDevice": "creation_device", "isPinned": "pinned", "isAllDay": "all_day",
                          "duration": "duration"}


def unescape(text: str) -> str:
    """Day One's Markdown escapes removed: `Hello\\!` -> `Hello!`."""
    return _ESCAPE.sub(r"\1", text)


def _journal_docs(path: Path, ctx: Context) -> tuple[list[tuple[str, dict, Damage | None]], set[str]]:
    """(journal name, parsed JSON) pairs and the archive's member names."""
    if path.suffix.lower() == ".json":
        return [(path.stem, *_load(read_bytes(path), path.name, ctx))], set()
    refuse_mirror_backup(path)
    try:
        zf = open_zip(path)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc} (expected a Day One JSON export ZIP)") from exc
    with zf:
        names = {i.filename for i in zf.infolist()}
        _refuse_backup_members(path, names)
        if any(i.flag_bits & 0x1 for i in zf.infolist()):
            raise InvalidInputError(
                f"{path}: the archive is password-protected, but Day One exports are not encrypted: export the "
                "journal again from Day One (File > Export > JSON) and import that ZIP as it is")
        docs = []
        for info in zf.infolist():
            p = PurePosixPath(info.filename)
            if info.is_dir() or p.suffix.lower() != ".json" or p.name.startswith("._"):
                continue
            docs.append((p.stem, *_load(read_member(zf, info, path), f"{path.name}:{info.filename}", ctx)))
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InvalidInputError(f"{path}: damaged or truncated ZIP ({exc})") from exc
        if bad:
            raise InvalidInputError(f"{path}: member {bad!r} is damaged (CRC mismatch)")
    if not docs:
        raise InvalidInputError(f"{path}: no Day One journal (<Journal>.json) in this archive")
    return docs, names


def refuse_mirror_backup(path: Path) -> None:
    """Refuse a mirror_kit backup ZIP (plain or encrypted) given to the importer, saying what to do.

    A backup is a ZIP too, so it would otherwise be read as a Day One export and fail obscurely.
    Raises InvalidInputError for a backup; anything else returns.
    """
    from ..export.crypto import MAGIC

    try:
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC))
    except OSError:
        return
    if head == MAGIC:
        raise InvalidInputError(
            f"{path} is an encrypted mirror_kit backup (or export): restore a backup with `mirror-kit restore "
            f"{path} --to NEW.db --ask-passphrase`; import an export with --format mirror --passphrase")
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return  # the Day One reader explains what is wrong with it
        _refuse_backup_members(path, names)


def _refuse_backup_members(path: Path, names: set[str]) -> None:
    from ..export.backup import DB_MEMBER, META_MEMBER

    if {META_MEMBER, DB_MEMBER} <= names:
        raise InvalidInputError(
            f"{path} is a mirror_kit backup, not a Day One export: restore it with `mirror-kit restore {path} "
            "--to NEW.db`, or import the export.json inside it (`mirror-kit import export.json`)")


def _load(data: bytes, name: str, ctx: Context) -> tuple[dict, Damage | None]:
    # a damaged byte costs the entry holding it (the skip unit of a journal), not the journal
    text, enc = decode_bytes(data, name, ctx.opt("encoding"), damaged=True)
    return load_entries_json(text, name, "Day One journal"), Damage(data) if enc == DAMAGED_UTF8 else None


def read_dayone(path: Path, ctx: Context) -> Iterator[Entry | Rejection]:
    """Entries of every journal in a Day One export ZIP (or one Journal.json)."""
    docs, members = _journal_docs(path, ctx)
    ctx.source = SOURCE
    return _entries(docs, members, path.name, ctx)


def member_index(members: set[str]) -> dict[tuple[str, str], str]:
    """(folder, md5) -> the member's real name (`audios/<md5>.m4a`), whatever its extension."""
    index = {}
    for name in members:
        p = PurePosixPath(name)
        if len(p.parts) >= 2:
            index[(p.parts[-2].lower(), p.stem.lower())] = name
    return index


def _media(entry: dict, index: dict[tuple[str, str], str]) -> list[dict]:
    """Every attachment of an entry, each with its kind and its file name in the export."""
    out = []
    for key, folder in MEDIA_KEYS.items():
        for m in entry.get(key) or []:
            if not isinstance(m, dict):
                continue
            item = {"kind": KIND[key],
                    **{k: m[k] for k in ("identifier", "md5", "type", "format", "duration", "filename")
                       if m.get(k) is not None}}
            if m.get("md5"):
                md5 = str(m["md5"])
                real = index.get((folder, md5.lower()))
                if real is None:
                    ext = str(m.get("type") or "").lower()
                    if key == "audios":
                        ext = AUDIO_EXT.get(str(m.get("format") or ext).lower(), ext) or DEFAULT_EXT[key]
                    real = f"{folder}/{md5}.{ext or DEFAULT_EXT[key]}"
                item["file"] = real
            out.append(item)
    return out


def _entries(docs: list[tuple[str, dict, Damage | None]], members: set[str], archive: str, ctx: Context):
    for journal_name, doc, damage in docs:
        yield from undamaged(_doc_entries(journal_name, doc, members, archive, ctx), damage)


def _doc_entries(journal_name: str, doc: dict, members: set[str], archive: str, ctx: Context):
    index = member_index(members)
    meta_block = doc.get("metadata")
    version = meta_block.get("version") if isinstance(meta_block, dict) else None
    for i, e in enumerate(doc["entries"], 1):
        where = {"file": f"{archive}:{journal_name}.json", "entry": i}
        if not isinstance(e, dict):
            yield Rejection(where, "entry is not a JSON object")
            continue
        uuid = e.get("uuid")
        if uuid:
            where = {**where, "entry": f"{i} ({uuid})"}
        if not uuid:
            yield Rejection(where, "missing 'uuid'")
            continue
        if not e.get("creationDate"):
            yield Rejection(where, "missing 'creationDate'")
            continue
        try:
            created = parse_value(str(e["creationDate"]))
        except InvalidInputError as exc:
            yield Rejection(where, str(exc).replace("cannot read date", "cannot read creationDate", 1))
            continue
        tz = e.get("timeZone") or None
        if tz:
            try:
                if not isinstance(tz, str):  # newer exports nest it: {"identifier": ...}
                    tz = tz.get("identifier") if isinstance(tz, dict) else None
                    if not isinstance(tz, str):
                        raise InvalidInputError("not a zone name")
                zone = resolve_tz(tz)
            except InvalidInputError:
                ctx.warn(f"{where['file']}: entry {uuid}: unknown timeZone {e.get('timeZone')!r}, dropped")
                tz = None
            else:
                # creationDate is written in UTC (`...Z`) and timeZone is where it was written: the
                # time in that zone carries both (an offset other than the zone's would win).
                if isinstance(created, datetime) and created.tzinfo is not None:
                    try:
                        created = created.astimezone(zone)
                    except (OverflowError, ValueError):
                        pass  # out of range: refused with its reason when stored
        text = _MOMENT.sub("", unescape(str(e.get("text") or "")))
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        first = text.split("\n", 1)[0]
        m = re.match(r"^#{1,6}\s+(.+?)\s*$", first)
        meta: dict = {"journal": journal_name, "starred": bool(e.get("starred"))}
        if version:
            meta["dayone_version"] = version
        for key, target in ENTRY_KEYS_IN_METADATA.items():
            if e.get(key) is not None:
                meta[target] = e[key]
        media = _media(e, index)
        if media:
            meta["media"] = media
            # Whether the file is in this archive is a property of the export, not of the entry:
            # a warning, not metadata (else a text-only export would "update" every entry).
            missing = [m["file"] for m in media if "file" in m and members and m["file"] not in members]
            if missing:
                ctx.warn(f"{where['file']}: entry {uuid}: media not in the archive: {', '.join(missing)}")
        if not text:
            yield Skipped(where, "no text (photo-only or empty entry)")
            continue
        yield Entry(
            content=text, created_at=created, where=where, title=m.group(1) if m else None,
            tags=[str(t) for t in e["tags"]] if isinstance(e.get("tags"), list) else [], source_id=str(uuid), tz=tz, metadata=meta,
        )
