"""CLI: `mirror-kit report`: one self-contained offline HTML report for an identity."""

from __future__ import annotations

import click

from .common import emit, json_option, main, pass_ctx


@main.command()
@click.option("--identity", "-i", metavar="NAME", required=True, help="Identity (person) name or id.")
@click.option("--out", "-o", "out", metavar="FILE", default="report.html", show_default=True,
              type=click.Path(dir_okay=False, writable=True), help="HTML file to write (replaced atomically).")
@click.option("--since", metavar="DATE", help="Only reflections from this date (YYYY-MM-DD) on.")
@click.option("--until", metavar="DATE", help="Only reflections up to this date (YYYY-MM-DD, inclusive).")
@click.option("--period", type=click.Choice(["auto", "day", "week", "month", "quarter"]), default="auto",
              show_default=True, help="Time bins of the evolution charts.")
@json_option
@pass_ctx
def report(ctx, identity, out, since, until, period, as_json) -> None:
    """Write an offline HTML report: patterns and their trends, the reflection map, tensions and drifts.

    The report notebook runs in a local Jupyter kernel reached through Unix sockets (no network
    needed, not even the loopback); the HTML has Plotly inline and fetches nothing, so it opens
    anywhere without a network. Run `mirror-kit analyze --identity NAME` first.

    Example: mirror-kit report --identity maya --out report.html --since 2025-01-01
    """
    path = ctx.journal(readonly=True).viz.report(identity, out, since=since, until=until, period=period)
    if as_json:
        emit({"report": str(path), "bytes": path.stat().st_size}, True)
    else:
        click.echo(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB)")
