"""CLI: `export json|markdown`, `backup` (+ `backup verify`) and `restore`."""

from __future__ import annotations

import click

from .common import Context, emit, identity_option, json_option, main, pass_ctx

PASSPHRASE_ENV = "MIRROR_KIT_PASSPHRASE"


def passphrase_options(f):
    f = click.option("--ask-passphrase", "-P", is_flag=True,
                     help="Prompt for the passphrase (hidden) instead of --passphrase.")(f)
    return click.option("--passphrase", metavar="TEXT", envvar=PASSPHRASE_ENV, show_envvar=True,
                        help="Encrypt/decrypt with this passphrase (AES-256).")(f)


def _passphrase(passphrase: str | None, ask: bool, confirm: bool) -> str | None:
    if ask:
        return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return passphrase or None


@main.group("export")
def export_group() -> None:
    """Export the journal as JSON (complete, re-importable) or Markdown (readable)."""


@export_group.command("json")
@identity_option
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="File to write (mode 0600).")
@passphrase_options
@json_option
@pass_ctx
def export_json(ctx: Context, identity: str | None, out: str, passphrase: str | None, ask_passphrase: bool,
                as_json: bool) -> None:
    """Write everything (or one identity) as mirror_os_export_v1 JSON, streamed.

    Re-import it with `mirror-kit import FILE.json --mode merge|replace`.

    \b
    Examples:
      mirror-kit export json --out journal.json
      mirror-kit export json --identity maya --out maya.json --ask-passphrase
    """
    res = ctx.journal(readonly=True).exports.json(out, identity=identity,
                                                  passphrase=_passphrase(passphrase, ask_passphrase, True))
    if as_json:
        emit(res, True)
    else:
        c = res["counts"]
        click.echo(f"wrote {res['path']}{' (encrypted)' if res['encrypted'] else ''}: {c['identities']} "
                   f"identities, {c['reflections']} reflections, {c['mirrorbacks']} mirrorbacks, "
                   f"{c['patterns']} patterns, {c['tensions']} tensions, {c['analysis_runs']} analysis runs")


@export_group.command("markdown")
@identity_option
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@json_option
@pass_ctx
def export_markdown(ctx: Context, identity: str | None, out: str, as_json: bool) -> None:
    """Write a readable folder per identity: README.md, reflections.md, patterns.md, tensions.md.

    \b
    Example:
      mirror-kit export markdown --identity maya --out journal-md/
    """
    res = ctx.journal(readonly=True).exports.markdown(out, identity=identity)
    if as_json:
        emit(res, True)
    else:
        for name, info in res["identities"].items():
            click.echo(f"wrote {info['folder']}/ for {name}: {info['reflections']} reflections, "
                       f"{info['patterns']} patterns, {info['tensions']} tensions")


@main.group("backup", invoke_without_command=True)
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="ZIP file to write (mode 0600).")
@passphrase_options
@json_option
@click.pass_context
def backup_group(cctx: click.Context, out: str | None, passphrase: str | None, ask_passphrase: bool,
                 as_json: bool) -> None:
    """Back up the journal into a ZIP: a consistent database snapshot (safe while the journal is in
    use), the JSON export and metadata.json with the SHA-256 of every member.

    \b
    Examples:
      mirror-kit backup --out backup-2024-06-01.zip
      mirror-kit backup --out backup.zip --ask-passphrase
      mirror-kit backup verify backup.zip
    """
    if cctx.invoked_subcommand is not None:
        return
    if not out:
        raise click.UsageError("give the file to write: mirror-kit backup --out FILE.zip")
    ctx = cctx.find_object(Context)
    res = ctx.journal(readonly=True).exports.backup(out, passphrase=_passphrase(passphrase, ask_passphrase, True))
    if as_json:
        emit(res, True)
    else:
        c = res["counts"]
        click.echo(f"wrote {res['path']}{' (encrypted)' if res['encrypted'] else ''}: schema v"
                   f"{res['schema_version']}, {c.get('identities', 0)} identities, {c.get('reflections', 0)} "
                   f"reflections")


@backup_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@passphrase_options
@json_option
def backup_verify(file: str, passphrase: str | None, ask_passphrase: bool, as_json: bool) -> None:
    """Check a backup: ZIP structure, checksums of every member, database integrity and counts.

    Exit status 0 when it is sound; otherwise one `error:` line says what is wrong.

    \b
    Example:
      mirror-kit backup verify backup.zip
    """
    from ..export.service import verify_backup

    res = verify_backup(file, passphrase=_passphrase(passphrase, ask_passphrase, False))
    for note in res.get("notes") or []:
        click.echo(note, err=True)
    if as_json:
        emit(res, True)
    else:
        click.echo(f"ok: {res['path']} (created {res['created_at']}, schema v{res['schema_version']}, "
                   f"{res['counts'].get('reflections', 0)} reflections, members: {', '.join(res['members'])})")


@main.command("restore")
@click.argument("file", type=click.Path())  # a folder is refused by restore, saying what it is
@click.option("--to", "to", required=True, type=click.Path(dir_okay=False), help="New journal file to create.")
@click.option("--force", is_flag=True, help="Overwrite the --to file if it exists.")
@passphrase_options
@json_option
def restore_cmd(file: str, to: str, force: bool, passphrase: str | None, ask_passphrase: bool,
                as_json: bool) -> None:
    """Restore a backup ZIP into a new journal file (verified first; never overwrites unless --force).

    \b
    Example:
      mirror-kit restore backup.zip --to restored.db
    """
    from ..export.service import restore

    res = restore(file, to, force, passphrase=_passphrase(passphrase, ask_passphrase, False))
    for note in res.get("notes") or []:
        click.echo(note, err=True)
    if as_json:
        emit(res, True)
    else:
        click.echo(f"restored {res['from']} into {res['path']} (schema v{res['schema_version']}, "
                   f"{res['counts'].get('reflections', 0)} reflections)")
