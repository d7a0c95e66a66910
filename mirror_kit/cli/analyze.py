"""CLI: analyze (embeddings, patterns, tensions) for an identity."""

from __future__ import annotations

import click

from .common import emit, identity_option, json_option, main, pass_ctx


def _require(identity: str | None) -> str:
    if not identity:
        raise click.UsageError("--identity is required")
    return identity


@main.group(invoke_without_command=True)
@identity_option
@json_option
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed for every stochastic step.")
@click.pass_context
def analyze(cctx: click.Context, identity: str | None, as_json: bool, random_state: int) -> None:
    """Run the whole analysis for an identity: embeddings, then patterns, then tensions.

    Example: mirror-kit analyze --identity maya
    """
    if cctx.invoked_subcommand is not None:
        return
    ctx = cctx.find_object(type(cctx.obj))
    j = ctx.journal()
    summary = j.analyze(_require(identity), random_state=random_state)
    if as_json:
        emit(summary, True)
    else:
        for step, info in summary.items():
            click.echo(f"{step}: {info}")


@analyze.command("patterns")
@identity_option
@json_option
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed for every stochastic step.")
@click.option("--n-patterns", type=int, default=None, help="Ask for this many patterns instead of choosing.")
@pass_ctx
def analyze_patterns(ctx, identity, as_json, random_state, n_patterns) -> None:
    """Detect and update patterns for an identity. Example: mirror-kit analyze patterns --identity maya"""
    res = ctx.journal().patterns.analyze(_require(identity), random_state=random_state, n_patterns=n_patterns)
    emit(res, as_json) if as_json else click.echo(res)


@analyze.command("tensions")
@identity_option
@json_option
@pass_ctx
def analyze_tensions(ctx, identity, as_json) -> None:
    """Score an identity's reflections on every tension. Example: mirror-kit analyze tensions --identity maya"""
    res = ctx.journal().tensions.analyze(_require(identity))
    emit(res, as_json) if as_json else click.echo(res)
