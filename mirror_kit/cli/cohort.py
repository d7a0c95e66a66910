"""CLI: cohort build|embed|analyze|report (many people's journals as one de-identified Parquet data set)."""

from __future__ import annotations

import click

from .common import emit, json_option, main

secret_option = click.option("--secret", metavar="S", default=None,
                             help="Key of the pseudonyms (default: $MIRROR_KIT_COHORT_SECRET). Keep it safe.")


def _cohort(path: str, secret: str | None = None):
    from ..cohort import Cohort

    return Cohort(path, secret=secret)


@main.group()
def cohort() -> None:
    """Cohorts: many journals as one pseudonymous Parquet data set, embedded locally or on Ray."""


@cohort.command("build")
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "out", required=True, metavar="DIR", help="Cohort folder to create or update.")
@secret_option
@click.option("--redact", is_flag=True, help="Replace e-mail addresses, phone numbers and URLs by placeholders.")
@click.option("--names", "names", metavar="FILE", default=None,
              help="File of names to replace by [NAME], one per line.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@json_option
def build_cmd(sources, out, secret, redact, names, progress, as_json) -> None:
    """Read journal files (SQLite, read-only) into a pseudonymous, partitioned Parquet data set.

    SOURCES are files or quoted glob patterns. A rebuild reads only files that changed.

    Example: mirror-kit cohort build 'study/*.db' --out cohort/ --redact --names names.txt
    """
    s = _cohort(out, secret).build(list(sources), redact=redact, names=names, progress=progress)
    if as_json:
        emit(s, True)
    else:
        click.echo(f"{s['sources']} journals ({s['read']} read, {s['unchanged']} unchanged, {s['removed']} removed): "
                   f"{s['reflections']} reflections of {s['participants']} participants ({s['seconds']:.1f} s)")


@cohort.command("embed")
@click.argument("path", metavar="COHORT")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process; ray: Ray Data actor pool (a local instance or a cluster).")
@click.option("--address", default=None, metavar="ADDR",
              help="Ray cluster to use (e.g. ray://head:10001 or auto); default $RAY_ADDRESS, else local.")
@click.option("--model", "-m", default=None, metavar="NAME_OR_DIR", help="Embedding model (default: all-MiniLM-L6-v2).")
@click.option("--workers", type=int, default=None, help="Ray actors (default: the cluster's CPUs / --threads, less one).")
@click.option("--threads", type=int, default=None, help="Torch threads per worker (Ray: CPUs per actor).")
@click.option("--gpus", "gpus", type=float, default=0.0, show_default=True, help="GPUs per Ray actor.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@json_option
def embed_cmd(path, engine, address, model, workers, threads, gpus, progress, as_json) -> None:
    """Embed every shard that has no current vectors (finished shards are skipped: resumable).

    Example: mirror-kit cohort embed cohort/ --engine ray --address auto
    """
    s = _cohort(path).embed(engine=engine, address=address, model=model, workers=workers, threads=threads,
                            gpus_per_worker=gpus, progress=progress)
    if as_json:
        emit(s, True)
    else:
        click.echo(f"{s['engine']}: {s['embedded_shards']} shards embedded, {s['skipped_shards']} up to date "
                   f"({s['rows']} reflections, {s['seconds']:.1f} s)")


@cohort.command("analyze")
@click.argument("path", metavar="COHORT")
@click.option("--participants", metavar="CSV", default=None,
              help="CSV with columns participant,group (pseudonym, or original name with the secret).")
@secret_option
@click.option("--sample", "sample_size", type=int, default=20_000, show_default=True,
              help="Reflections the patterns are fitted on.")
@click.option("--period", type=click.Choice(["day", "week", "month", "quarter", "year"]), default="month",
              show_default=True, help="Period of the trajectories.")
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed of the pattern fit.")
@click.option("--refine-batch", type=click.IntRange(min=0), default=4096, show_default=True,
              help="Rows per mini-batch step refining the patterns over every shard (0: keep the sample fit).")
@json_option
def analyze_cmd(path, participants, secret, sample_size, period, random_state, refine_batch, as_json) -> None:
    """Patterns (fitted on a sample, refined over all, assigned to all), tension scores, trajectories, groups.

    Results go to COHORT/analysis/*.parquet.

    Example: mirror-kit cohort analyze cohort/ --participants groups.csv
    """
    r = _cohort(path, secret).analyze(participants=participants, sample_size=sample_size, period=period,
                                      random_state=random_state, refine_batch=refine_batch or None)
    if as_json:
        emit({**r["summary"], "comparison": None if r["comparison"] is None
              else r["comparison"].to_dict(orient="records")}, True)
    else:
        s = r["summary"]
        click.echo(f"{s['reflections']} reflections, {s['patterns_found']} patterns (fitted on {s['sample']}); "
                   f"results in {path}/analysis/")


@cohort.command("report")
@click.argument("path", metavar="COHORT")
@click.option("--out", "out", required=True, metavar="FILE", help="HTML file to write.")
def report_cmd(path, out) -> None:
    """Write an offline HTML report: pattern and tension figures for the cohort, group comparisons.

    Example: mirror-kit cohort report cohort/ --out cohort.html
    """
    from pathlib import Path

    from ..cohort.report import stale_analysis

    written = _cohort(path).report(out)
    stale = stale_analysis(Path(path))
    if stale:
        click.echo(f"warning: {stale}", err=True)
    click.echo(str(written))
