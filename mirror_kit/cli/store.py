"""CLI: init, identity, add, stats, demo."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ..errors import InvalidInputError, UnknownIdentityError
from ..timeutil import format_utc
from .common import emit, identity_option, json_option, main, pass_ctx, table


@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@pass_ctx
def init(ctx, path: str | None) -> None:
    """Create a journal file (or migrate an existing one to the latest schema).

    Example: mirror-kit init ~/journal/mirror.db
    """
    from ..journal import open_journal

    target = Path(path) if path else ctx.db_path
    existed = target.exists()
    with open_journal(target, create=True) as j:
        v = j.migrator.current_version()
    click.echo(f"{'opened' if existed else 'created'} {target} (schema version {v})")


@main.group()
def identity() -> None:
    """Manage identities (the people whose reflections a journal holds)."""


@identity.command("add")
@click.argument("name")
@pass_ctx
def identity_add(ctx, name: str) -> None:
    """Add an identity. Example: mirror-kit identity add maya"""
    ident = ctx.journal(create=True).identities.add(name)
    click.echo(f"added identity {ident.name} ({ident.id})")


@identity.command("list")
@json_option
@pass_ctx
def identity_list(ctx, as_json: bool) -> None:
    """List identities. Example: mirror-kit identity list"""
    rows = [
        {"id": i.id, "name": i.name, "created_at": format_utc(i.created_at)}
        for i in ctx.journal(readonly=True).identities.rows()
    ]
    if as_json:
        emit(rows, True)
    else:
        table(rows)


@main.command()
@click.argument("text", required=False)
@identity_option
@click.option("--date", "created_at", metavar="WHEN", help="When it was written (default: now).")
@click.option("--tz", metavar="ZONE", help="Writer's time zone, e.g. Europe/Paris (naive --date is read in it; a --date "
              "with its own offset records that offset unless the zone has it then).")
@click.option("--title", help="Title.")
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@pass_ctx
def add(ctx, text: str | None, identity: str | None, created_at, tz, title, tags) -> None:
    """Add a reflection from TEXT or standard input.

    Example: echo "Walked by the river today." | mirror-kit add --identity maya --tag walk
    """
    if not identity:
        raise click.UsageError("--identity is required")
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("give the reflection as an argument or on standard input")
        text = sys.stdin.read()
    # No create: an unknown identity on a new file could only fail, and must leave nothing behind.
    j = ctx.journal()
    try:
        r = j.reflections.add(identity, text, created_at, tz=tz, title=title, tags=tags)
    except InvalidInputError as exc:
        raise InvalidInputError(_as_typed(str(exc))) from exc
    except UnknownIdentityError as exc:
        # Not created here (unlike `import`): one hand-typed entry under a mistyped name would
        # start a second person silently; the known names show the typo, the command the way on.
        raise UnknownIdentityError(f"{exc}; create it with `mirror-kit identity add {shlex.quote(identity)}` "
                                   "(or import into it: `import` creates it)") from exc
    click.echo(f"added {r.id} ({format_utc(r.created_at)})")


def _as_typed(message: str) -> str:
    """A record error in the words the user typed: `--date`, `--tz`, TEXT (not the stored field names)."""
    date_field = "reflection: field 'created_at': "
    if message.startswith(date_field):
        reason = message[len(date_field):]
        # A zone named inside the date value (`10:00 EST`) is a fault of --date, not of --tz.
        return f"--tz: {reason}" if reason.startswith(("time zone", "unknown time zone")) else f"--date: {reason}"
    if message.startswith("reflection: field 'tz': "):
        return "--tz: " + message[len("reflection: field 'tz': "):]
    if message == "reflection: field 'content' is missing or empty":
        return "the reflection's text is empty (give TEXT or pipe it on standard input)"
    return message


@main.command()
@json_option
@pass_ctx
def stats(ctx, as_json: bool) -> None:
    """Counts per identity and date range. Example: mirror-kit stats"""
    rows = ctx.journal(readonly=True).stats()
    if as_json:
        emit(rows, True)
    else:
        table(rows, ["name", "reflections", "first", "last", "tags", "patterns", "tensions", "mirrorbacks"])


@main.command()
@click.option("--out", "out", default="demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for sample.db and the report.")
@click.option("--quick", is_flag=True, help="Build the sample journal only; skip model-based analysis.")
def demo(out: str, quick: bool) -> None:
    """Build the sample journal into OUT/sample.db, run every analysis and write OUT/report.html.

    Example: mirror-kit demo --out demo
    """
    from ..demo import run_demo

    run_demo(Path(out), quick=quick, echo=click.echo)
