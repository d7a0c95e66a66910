"""`journal.imports`: journals from other tools (text/Markdown folders, CSV, jrnl, Day One) and
mirror_kit exports, read by one reader per format and stored through one upsert."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

FORMATS = ("auto", "text", "markdown", "csv", "jrnl", "dayone", "mirror")
MIRROR_FORMAT = "mirror_os_export_v1"
# A passphrase-encrypted mirror_kit export (mirror_kit.export.crypto.MAGIC); kept here so detection
# does not import the crypto module.
ENCRYPTED_MAGIC = b"MKENC1"
# Options only the mirror_kit export format understands.
MIRROR_OPTIONS = ("mode", "passphrase", "on_conflict")
OPTIONS = ("text_column", "date_column", "id_column", "source_label", "title_column", "tags_column", "encoding",
           "default_date", "tz", "skip_bad", "dry_run", "progress",
           "dayfirst", "date_format", "follow_links") + MIRROR_OPTIONS


def _is_mirror_export(path: Path) -> bool:
    """A mirror_kit JSON export announces itself in its first bytes (`"format": "mirror_os_export_v1"`)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return re.search(rb'"format"\s*:\s*"' + MIRROR_FORMAT.encode() + rb'"', head) is not None


def detect_format(path: Path) -> str:
    """The importer for a path: folder -> text, .zip -> dayone, .csv/.tsv -> csv, JSON by its keys,
    .txt/.md by whether it looks like a jrnl journal file."""
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or directory")
    if path.is_dir():
        from .jrnl import folder_journal_files

        return "jrnl" if folder_journal_files(path) else "text"
    suffix = path.suffix.lower()
    if suffix == ".zip":
        from .dayone import refuse_mirror_backup

        refuse_mirror_backup(path)  # a backup is a ZIP too: say to restore it
        return "dayone"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path}: file is empty")
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith(b"PK\x03\x04"):
        from .dayone import refuse_mirror_backup

        refuse_mirror_backup(path)
        return "dayone"
    if head.startswith(ENCRYPTED_MAGIC):
        return "mirror"
    from .common import check_binary, decode_bytes
    from .jrnl import encrypted_kind

    if encrypted_kind(head):
        return "jrnl"  # whose reader refuses it with the way to export it
    check_binary(head, path.name)
    if head.lstrip().startswith("┏".encode()):
        from .jrnl import strip_banner

        # jrnl's output saved with its messages (`jrnl --format json > out.json 2>&1`)
        inner = strip_banner(head.decode("utf-8", "replace")).lstrip()
        if inner.startswith("{") and re.search(r'"entries"\s*:', inner):
            return "jrnl"
    if suffix == ".json" or head.lstrip().startswith(b"{"):
        if _is_mirror_export(path):
            return "mirror"
        if re.search(rb'"(uuid|creationDate)"\s*:', head) and re.search(rb'"metadata"\s*:', head):
            return "dayone"
        if re.search(rb'"entries"\s*:', head):
            return "jrnl"
        if len(head) < 65536:  # the whole file was read: say so if it is not JSON at all
            import json

            try:
                json.loads(head)
            except (ValueError, UnicodeDecodeError) as exc:
                from ..limits import json_lines_hint

                raise InvalidInputError(
                    f"{path}: invalid JSON ({str(exc).splitlines()[0]}){json_lines_hint(exc)}") from exc
        raise InvalidInputError(
            f"{path}: JSON that is neither a mirror_kit export, a jrnl export nor a Day One journal; "
            "pass --format"
        )
    if suffix == ".xml":
        from .jrnl import output_kind, strip_banner

        if output_kind(strip_banner(head.decode("utf-8", "replace"))) == "xml":
            return "jrnl"
    if suffix in (".txt", ".md", ".markdown", ".journal", ""):
        from .jrnl import journal_format, looks_like_text_journal, output_kind, strip_banner

        try:
            text, _ = decode_bytes(head, path.name, damaged=True)  # a cut head may end mid-character
        except InvalidInputError:
            text = ""
        text = strip_banner(text)
        # a jrnl journal (its timestamps by their shape, or by its config's format), or jrnl's
        # Markdown output (`jrnl --format markdown`)
        fmt = journal_format(path, text) if text.lstrip().startswith("[") else None
        jrnl = looks_like_text_journal(text) or looks_like_text_journal(text, fmt) or output_kind(text)
        return "jrnl" if jrnl else "text"
    raise InvalidInputError(f"{path}: cannot tell the format from the name or content; pass --format")


def run_import(journal: Any, path: str | Path, identity: str | None, format: str = "auto",
               **options: Any) -> dict:
    """Import `path` into `journal` (see `Imports.run`)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"unknown import option(s): {', '.join(unknown)}")
    if options.get("date_format") is not None and not str(options["date_format"]).strip():
        raise InvalidInputError("--date-format must not be empty (e.g. '%d/%m/%Y %H:%M')")
    if options.get("date_format") is not None:
        from .dates import check_date_format

        check_date_format(str(options["date_format"]))  # once, before any row is read
    if format not in FORMATS:
        raise InvalidInputError(f"unknown format {format!r} (one of {', '.join(FORMATS)})")
    if options.get("tz"):
        from ..timeutil import resolve_tz

        try:  # once for the whole file, not once per entry
            resolve_tz(str(options["tz"]))
        except InvalidInputError as exc:
            raise InvalidInputError(f"--tz: {exc}") from exc
    p = Path(path).expanduser()
    if format == "auto":
        try:
            format = detect_format(p)
        except InvalidInputError:
            # --mode/--passphrase say "this is a mirror_kit export": let its importer explain what is wrong.
            if not any(options.get(k) is not None for k in MIRROR_OPTIONS) or not p.is_file():
                raise
            format = "mirror"
    if format == "mirror":
        return _import_mirror(journal, p, identity, options)
    used = [k for k in MIRROR_OPTIONS if options.get(k) is not None]
    if used:
        raise InvalidInputError(
            f"--{used[0]} only applies to mirror_kit JSON exports (format mirror), not to {format}"
        )
    if not identity or not str(identity).strip():
        raise InvalidInputError(f"an identity is required to import {format} (--identity NAME)")
    if options.get("source_label") is not None and (format != "csv" or not str(options["source_label"]).strip()):
        raise InvalidInputError("--source-label must not be empty" if format == "csv"
                                else f"--source-label only applies to CSV files, not to {format}")
    from .common import Context
    from .summary import ImportSummary
    from .upsert import store_entries

    ctx = Context(p, {k: v for k, v in options.items() if k not in ("skip_bad", "dry_run", "progress")})
    reader = _reader(format)
    items = reader(p, ctx)
    summary = ImportSummary(format=format, path=str(p), identity=str(identity).strip(), source=ctx.source,
                            dry_run=bool(options.get("dry_run")))
    store_entries(journal, summary.identity, items, summary, source=ctx.source,
                  skip_bad=bool(options.get("skip_bad")), dry_run=bool(options.get("dry_run")),
                  progress=options.get("progress"))
    summary.warnings = ctx.warnings + summary.warnings
    summary.skipped_files = ctx.skipped_files
    return summary.as_dict()


def _reader(format: str):
    if format in ("text", "markdown"):
        from .textdir import read_textdir

        return read_textdir
    if format == "csv":
        from .csvfile import read_csv

        return read_csv
    if format == "jrnl":
        from .jrnl import read_jrnl

        return read_jrnl
    from .dayone import read_dayone

    return read_dayone


def _import_mirror(journal: Any, path: Path, identity: str | None, options: dict) -> dict:
    other = [k for k in OPTIONS if k not in MIRROR_OPTIONS + ("dry_run", "progress", "skip_bad")
             and options.get(k) is not None]
    if other:
        raise InvalidInputError(f"--{other[0].replace('_', '-')} does not apply to mirror_kit JSON exports")
    from ..export.importer import import_export_file

    return import_export_file(
        journal, path, mode=options.get("mode") or "merge", identity=identity,
        dry_run=bool(options.get("dry_run")), passphrase=options.get("passphrase"),
        on_conflict=options.get("on_conflict") or "ours",
    )


class Imports:
    """Imports into a journal: `run(path, identity, format="auto", **options)` returns the summary."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal

    def run(self, path: str | Path, identity: str | None = None, format: str = "auto",
            **options: Any) -> dict:
        """Import a journal from another tool into `identity` (created if missing); returns the summary.

        format: auto (default: from the path and content), text, markdown, csv, jrnl, dayone, or
            mirror (a mirror_kit JSON export, handed to `mirror_kit.export.importer`).
        options: text_column, date_column, id_column, title_column, tags_column (CSV columns);
            source_label (CSV: the scope of its ids, default the file name: files of one label
            share ids, files of different labels never do);
            encoding (else detected); default_date (for entries without a date); tz (time zone of
            naive dates, default UTC; a time the zone skips
            when daylight saving time starts is a bad entry, a repeated time its first occurrence); skip_bad (store the good entries, list the bad ones; default:
            any bad entry aborts and nothing is written); dry_run (report only); progress (True,
            False, None = a bar on terminals); mode/passphrase/on_conflict (mirror exports only);
            dayfirst (True/False: day/month order of `03/01/2024`-style dates when no value proves
            it); date_format (strptime format of the dates); follow_links (follow symbolic links
            leading outside the imported folder).
        Summary keys: format, path, identity, source, dry_run, total, added, updated, skipped
        (duplicates), skipped_empty (entries without text), skipped_files (templates, drawings,
        plugin files), conflicts (updates not applied: the new text shares almost nothing with
        the stored one), rejected (list of {file, line or entry, reason}), warnings.
        Raises InvalidInputError naming file and line/entry; nothing is written then.
        """
        return run_import(self.journal, path, identity, format, **options)
