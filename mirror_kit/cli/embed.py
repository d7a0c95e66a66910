"""CLI: embed (store embeddings for an identity's reflections) and sql (query the journal with DuckDB)."""

from __future__ import annotations

import click

from ..embedding.model import PRECISIONS  # names only: loads neither torch nor onnxruntime
from .common import advise_compact, emit, identity_option, json_option, main, pass_ctx, table


@main.command()
@identity_option
@click.option("--model", "-m", metavar="NAME_OR_DIR", default=None,
              help="Model name or local model directory (default: all-MiniLM-L6-v2, shipped offline).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None,
              help="Precision of the vectors (default: the journal's embedding.precision setting, else auto = "
                   "fp32); each precision's vectors are stored apart.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@json_option
@pass_ctx
def embed(ctx, identity: str | None, model: str | None, precision: str | None, progress: bool | None,
          as_json: bool) -> None:
    """Embed reflections that have no current vector (new or edited ones, or a new model).

    Without --identity every identity's reflections are embedded. Nothing is downloaded: the model
    is read from local files.

    Example: mirror-kit embed --identity maya
    """
    summary = ctx.journal().embeddings.embed(identity, model=model, precision=precision, progress=progress)
    if as_json:
        emit(summary, True)
    else:
        click.echo(
            f"{summary['model']}: {summary['embedded']} embedded, {summary['cached']} up to date "
            f"({summary['total']} reflections, {summary['seconds']:.1f} s)"
        )
    advise_compact(ctx.journal())


@main.command()
@click.argument("query")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option("--limit", type=int, default=1000, show_default=True, help="Print at most this many rows.")
@pass_ctx
def sql(ctx, query: str, as_json: bool, as_csv: bool, limit: int) -> None:
    """Run a read-only SQL query (DuckDB) over the journal's tables and print the result.

    Tables: reflections, identities, tags, reflection_tags, patterns, pattern_occurrences, tensions,
    tension_observations, embeddings, analysis_runs, mirrorbacks, threads, settings, ...

    Example: mirror-kit sql "SELECT identity_id, count(*) AS n FROM reflections GROUP BY 1"
    """
    from ..frames import run_sql_rows

    columns, rows, truncated = run_sql_rows(ctx.journal(readonly=True), query, limit=limit)
    records = [dict(zip(columns, r, strict=True)) for r in rows]
    if as_json:
        emit(records, True)
    elif as_csv:
        import csv
        import sys

        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows(rows)
    else:
        if not records:
            click.echo("  ".join(columns) if columns else "(none)")
        else:
            table(records, columns)
    if truncated:
        click.echo(f"(first {limit} rows shown; use --limit)", err=True)
