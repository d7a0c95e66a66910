"""`mirror-kit import`: bring a journal in from text/Markdown folders, CSV, jrnl, Day One or a mirror_kit export."""

from __future__ import annotations

import sys
from typing import Any

import click

from .common import emit, json_option, main, pass_ctx


@main.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@click.option("--identity", "-i", metavar="NAME",
              help="Whose journal this is (created if missing). Required except for mirror_kit exports.")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "text", "markdown", "csv", "jrnl", "dayone", "mirror"]),
              help="Source format; auto looks at the name and content.")
@click.option("--text-column", metavar="COL", help="CSV: column holding the entry text.")
@click.option("--date-column", metavar="COL", help="CSV: column holding the date.")
@click.option("--id-column", metavar="COL", help="CSV: column holding a stable id (the source id).")
@click.option("--source-label", metavar="NAME",
              help="CSV: whose ids the id column holds (default: the file name); give exports of one diary "
                   "saved under different names one label so an edited row updates its entry.")
@click.option("--title-column", metavar="COL", help="CSV: column holding the title.")
@click.option("--tags-column", metavar="COL", help="CSV: column holding tags (`a|b`, `a, b` or `#a #b`).")
@click.option("--encoding", metavar="NAME", help="Text encoding (default: detected; e.g. utf-16, cp1252).")
@click.option("--default-date", metavar="DATE", help="Date for entries without one (else they are rejected).")
@click.option("--tz", metavar="ZONE", help="Time zone of dates without one (e.g. Europe/Paris; default UTC). A time the zone skips "
              "when daylight saving time starts is refused; a repeated time is its first occurrence.")
@click.option("--dayfirst/--monthfirst", "dayfirst", default=None,
              help="Read `03/01/2024`-style dates day-first (or month-first) when no value in the column tells.")
@click.option("--date-format", metavar="FORMAT", help="strptime format of the dates (e.g. '%d/%m/%Y %H:%M').")
@click.option("--follow-links", is_flag=True, help="Follow symbolic links that lead outside the imported folder.")
@click.option("--skip-bad", is_flag=True, help="Import the good entries and report the bad ones.")
@click.option("--dry-run", is_flag=True, help="Report what would happen without writing anything.")
@click.option("--mode", type=click.Choice(["merge", "replace"]),
              help="mirror_kit JSON exports only: merge (default) or replace the identity's data.")
@click.option("--passphrase", metavar="TEXT", help="mirror_kit exports only: passphrase of an encrypted export.")
@click.option("--on-conflict", type=click.Choice(["ours", "theirs"]),
              help="mirror_kit exports, merge mode: when an id carries different content keep the journal's "
                   "version (ours, default) or take the file's (theirs).")
@json_option
@pass_ctx
def import_(ctx, path, identity, fmt, text_column, date_column, id_column, source_label, title_column, tags_column,
            encoding, default_date, tz, dayfirst, date_format, follow_links, skip_bad, dry_run, mode, passphrase, on_conflict, as_json):
    """Import a journal from PATH into the journal file; importing again adds only what is new.

    PATH is a folder of .txt/.md notes, a CSV/TSV file, a jrnl JSON export or journal file, a Day
    One export ZIP, or a mirror_kit JSON export. A bad entry aborts the whole import (nothing is
    written) unless --skip-bad.

    \b
    Examples:
      mirror-kit import ~/Notes/Daily --identity maya
      mirror-kit import diary.csv --identity maya --text-column Entry --date-column When
      mirror-kit import data/happydb/claff_happydb_labeled_10k.csv --identity happydb
      mirror-kit import export.zip --identity maya --dry-run
      mirror-kit import backup.json --mode merge
    """
    from ..errors import MirrorKitError
    from ..importers.api import run_import
    from ..importers.summary import format_summary

    fresh = not dry_run and not ctx.db_path.exists()
    # A dry run is a read: other formats plan on a read-only connection. A mirror_kit export's dry
    # run applies the plan inside a transaction it rolls back, which needs a writable connection.
    if dry_run and not ctx.db_path.exists():
        journal = _preview_journal(ctx)  # a preview of a first import creates no file
    else:
        journal = ctx.journal(create=not dry_run, readonly=dry_run and not _is_mirror(path, fmt))
    try:
        summary = run_import(
            journal, path, identity, fmt,
            text_column=text_column, date_column=date_column, id_column=id_column, title_column=title_column,
            tags_column=tags_column, encoding=encoding, default_date=default_date, tz=tz, skip_bad=skip_bad,
            dry_run=dry_run, progress=None if sys.stderr.isatty() else False, mode=mode, passphrase=passphrase,
            on_conflict=on_conflict, dayfirst=dayfirst, date_format=date_format,
            follow_links=follow_links or None, source_label=source_label,
        )
    except MirrorKitError:
        if fresh:
            _discard_if_empty(ctx)
        raise
    if as_json:
        emit(summary, True)
    elif isinstance(summary, dict) and isinstance(summary.get("counts"), dict):
        from ..export.import_summary import format_export_import

        click.echo(format_export_import(summary))
    elif isinstance(summary, dict) and "added" in summary and "format" in summary:
        click.echo(format_summary(summary))
    else:
        emit(summary, True)


def _preview_journal(ctx: Any) -> Any:
    """An empty, current-schema journal in memory standing in for the file a first import would
    create, so a dry run previews it (as `migrate up --dry-run` does) and no file appears; messages
    still name the journal's path. Closed with the command."""
    from ..db import connect
    from ..journal import Journal
    from ..migrate import Migrator

    conn = connect(":memory:")
    migrator = Migrator(conn, path=str(ctx.db_path))
    migrator.up()
    journal = Journal(conn, ctx.db_path, migrator)
    click.get_current_context().call_on_close(journal.close)
    return journal


def _discard_if_empty(ctx: Any) -> None:
    """Remove the journal this failed import created, if it still holds nothing: a refused first
    import leaves no empty file behind to be mistaken for a journal."""
    import contextlib

    j = ctx.journal()
    empty = not j.execute("SELECT 1 FROM reflections LIMIT 1").fetchone() and \
        not j.execute("SELECT 1 FROM identities LIMIT 1").fetchone()
    ctx.close()
    if empty:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                ctx.db_path.with_name(ctx.db_path.name + suffix).unlink()


def _is_mirror(path: str, fmt: str) -> bool:
    if fmt != "auto":
        return fmt == "mirror"
    from pathlib import Path

    from ..errors import MirrorKitError
    from ..importers.api import detect_format

    try:
        return detect_format(Path(path).expanduser()) == "mirror"
    except MirrorKitError:
        return False
