"""CLI: compact (rebuild the journal file densely with 16 KB pages)."""

from __future__ import annotations

import click

from .common import emit, json_option, main, pass_ctx


@main.command("compact")
@json_option
@pass_ctx
def compact(ctx, as_json: bool) -> None:
    """Rebuild the journal file densely with 16 KB pages (journals made before they were the default).

    Needs free disk space of about twice the file and no other program holding the journal open;
    otherwise it refuses and changes nothing. Example: mirror-kit compact
    """
    out = ctx.journal().compact()
    if as_json:
        emit(out, True)
        return
    click.echo(f"compacted {out['path']}: {out['bytes_before'] / 1e6:,.1f} MB -> {out['bytes_after'] / 1e6:,.1f} MB, "
               f"page size {out['page_size_before']} -> {out['page_size_after']} bytes ({out['seconds']:.1f} s)")
    if out["bytes_after"] > out["bytes_before"]:
        # a small journal grows: every table and index starts with a page of its own, now 16 KB
        click.echo("the file grew: each table and index takes at least one 16 KB page; stored vectors "
                   "take about 1.26x their size with 16 KB pages against 1.5x with 4 KB pages")
