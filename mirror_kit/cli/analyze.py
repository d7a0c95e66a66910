"""CLI: analyze (embeddings, patterns, tensions) for an identity."""

from __future__ import annotations

import click

from .common import advise_compact, emit, identity_option, json_option, main, pass_ctx


def _require(identity: str | None) -> str:
    if not identity:
        raise click.UsageError("--identity is required")
    return identity


@main.group(invoke_without_command=True)
@identity_option
@json_option
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed for every stochastic step.")
@click.option("--refit", is_flag=True, help="Fit the patterns and score the tensions again from scratch, "
              "instead of assigning only the new reflections.")
@click.pass_context
def analyze(cctx: click.Context, identity: str | None, as_json: bool, random_state: int, refit: bool) -> None:
    """Run the whole analysis for an identity: embeddings, then patterns, then tensions.

    Example: mirror-kit analyze --identity maya
    """
    if cctx.invoked_subcommand is not None:
        return
    ctx = cctx.find_object(type(cctx.obj))
    j = ctx.journal()
    summary = j.analyze(_require(identity), random_state=random_state, refit=refit)
    if as_json:
        emit(summary, True)
    else:
        from .analyze_text import analysis_lines, pole_names

        for line in analysis_lines(summary, pole_names(j, _require(identity))):
            click.echo(line)
        click.echo(_mode_line(summary["patterns"]))
    advise_compact(j)


def _mode_line(patterns: dict) -> str:
    """`incremental: N assigned` or `refit: reason`: what the pattern step did."""
    if patterns.get("mode") == "incremental":
        return f"incremental: {patterns['incremental']['assigned']} assigned"
    return f"refit: {patterns.get('reason', '')}"


@analyze.command("patterns")
@identity_option
@json_option
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed for every stochastic step.")
@click.option("--n-patterns", type=int, default=None, help="Ask for this many patterns (2 to a third of the reflections) instead of choosing.")
@click.option("--refit", is_flag=True, help="Fit again from scratch instead of assigning only the new reflections.")
@pass_ctx
def analyze_patterns(ctx, identity, as_json, random_state, n_patterns, refit) -> None:
    """Detect and update patterns for an identity. Example: mirror-kit analyze patterns --identity maya"""
    j = ctx.journal()
    if n_patterns is not None:
        j.patterns.check_n_patterns(_require(identity), n_patterns, "--n-patterns")
    res = j.patterns.analyze(_require(identity), random_state=random_state, n_patterns=n_patterns, refit=refit)
    if as_json:
        emit(res, True)
    else:
        from .analyze_text import patterns_line

        click.echo(patterns_line(res))
        click.echo(_mode_line(res))


@analyze.command("tensions")
@identity_option
@json_option
@click.option("--refit", is_flag=True, help="Score every reflection again, not only the new ones.")
@pass_ctx
def analyze_tensions(ctx, identity, as_json, refit) -> None:
    """Score an identity's reflections on every tension. Example: mirror-kit analyze tensions --identity maya"""
    j = ctx.journal()
    res = j.tensions.analyze(_require(identity), refit=refit)
    if as_json:
        emit(res, True)
    else:
        from .analyze_text import pole_names, tensions_line

        click.echo(tensions_line(res, pole_names(j, _require(identity))))
