"""CLI: migrate status|up|down|history|verify."""

from __future__ import annotations

import click

from .common import emit, json_option, main, pass_ctx, table


def _migrator(ctx, *, create: bool = False, readonly: bool = False, dry_run: bool = False):
    """A Migrator on the journal; its connection closes with the command.

    A dry run on a file that does not exist yet runs on an empty in-memory database (shows what
    `up` would do to a new file) and creates nothing.
    """
    from ..db import connect
    from ..migrate import Migrator

    if dry_run and not ctx.db_path.exists():
        conn = connect(":memory:")
    else:
        conn = connect(ctx.db_path, create=create and not dry_run, readonly=readonly)
    click.get_current_context().call_on_close(conn.close)
    return Migrator(conn, path=str(ctx.db_path))


@main.group()
def migrate() -> None:
    """Inspect and change the journal's schema version (versioned up/down SQL files)."""


@migrate.command("status")
@json_option
@pass_ctx
def status(ctx, as_json: bool) -> None:
    """Current version, latest known and pending migrations. Example: mirror-kit migrate status"""
    s = _migrator(ctx, readonly=True).status()
    if as_json:
        emit(s.as_dict(), True)
        return
    click.echo(f"current: {s.current:04d}\nlatest:  {s.latest:04d}")
    click.echo("pending: " + (", ".join(s.as_dict()["pending"]) or "none"))


def _print_steps(steps, dry_run: bool, show_sql: bool) -> None:
    if not steps:
        click.echo("nothing to do")
        return
    for s in steps:
        verb = "would apply" if dry_run and s.direction == "up" else (
            "would roll back" if dry_run else ("applied" if s.direction == "up" else "rolled back"))
        click.echo(f"{verb} {s.version:04d}_{s.name} ({s.ms:.1f} ms)")
        if show_sql:
            click.echo("    " + s.sql.strip().replace("\n", "\n    "))
    if dry_run:
        click.echo("dry run: every statement succeeded on a copy; the journal was not changed")


@migrate.command("up")
@click.argument("target", required=False, type=int)
@click.option("--dry-run", is_flag=True, help="Show the SQL and prove it succeeds, without changing the file.")
@pass_ctx
def up(ctx, target: int | None, dry_run: bool) -> None:
    """Apply pending migrations (to TARGET version, default latest).

    Example: mirror-kit migrate up --dry-run
    """
    steps = _migrator(ctx, create=True, dry_run=dry_run).up(target, dry_run=dry_run)
    _print_steps(steps, dry_run, dry_run)


@migrate.command("down")
@click.argument("steps", required=False, default=1, type=int)
@click.option("--dry-run", is_flag=True, help="Show the SQL and prove it succeeds, without changing the file.")
@click.option("--force", is_flag=True,
              help="Roll back even when tables or columns (and their data) are dropped; a backup copy is "
                   "written next to the journal first.")
@pass_ctx
def down(ctx, steps: int, dry_run: bool, force: bool) -> None:
    """Roll back the last STEPS migrations (default 1).

    A rollback that drops tables or columns is refused unless --force.
    Example: mirror-kit migrate down 1 --dry-run
    """
    m = _migrator(ctx)
    done = m.down(steps, dry_run=dry_run, force=force)
    if m.backup_path is not None:
        click.echo(f"backup of the journal before the rollback: {m.backup_path}")
    _print_steps(done, dry_run, dry_run)


@migrate.command("history")
@json_option
@pass_ctx
def history(ctx, as_json: bool) -> None:
    """Every migration applied to this file: when, how long, rolled back or not.

    Example: mirror-kit migrate history
    """
    rows = _migrator(ctx, readonly=True).history()
    if as_json:
        emit(rows, True)
    else:
        table(rows, ["version", "name", "applied_at", "execution_ms", "rolled_back", "rolled_back_at"])


@migrate.command("verify")
@json_option
@pass_ctx
def verify(ctx, as_json: bool) -> None:
    """Integrity check: integrity_check, foreign_key_check, orphaned rows, migration checksums.

    Exits 1 when a problem is found. Example: mirror-kit migrate verify
    """
    report = _migrator(ctx, readonly=True).verify()
    if as_json:
        emit(report, True)
    else:
        for p in report["problems"]:
            click.echo(f"problem: {p}")
        click.echo(
            f"{'ok' if report['ok'] else 'FAILED'}: schema {report['schema_version']:04d}/"
            f"{report['latest']:04d}, checked in {report['ms']:.1f} ms"
        )
    if not report["ok"]:
        from ..errors import MirrorKitError

        raise MirrorKitError(f"{ctx.db_path}: verify found {len(report['problems'])} problem(s)")
