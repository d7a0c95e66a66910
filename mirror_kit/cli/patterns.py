"""CLI: `mirror-kit patterns list|show|evolution` (detection itself: `mirror-kit analyze patterns`)."""

from __future__ import annotations

import click

from .common import emit, identity_option, json_option, llm_options, main, pass_ctx, table


def _require(identity: str | None) -> str:
    if not identity:
        raise click.UsageError("--identity is required")
    return identity


def _records(df) -> list[dict]:
    import json

    return json.loads(df.to_json(orient="records", date_format="iso"))


@main.group()
def patterns() -> None:
    """Recurring themes found in an identity's reflections.

    Example: mirror-kit patterns list --identity maya --min-confidence 0.5 --limit 10
    """


@patterns.command("list")
@identity_option
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=None, help="Hide less confident patterns.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Show at most this many.")
@click.option("--sort", type=click.Choice(["size", "confidence", "first_seen", "last_seen", "label"]),
              default="size", show_default=True, help="Order: biggest, most confident, oldest, newest or A-Z.")
@click.option("--active", is_flag=True, help="Only active patterns (hide dormant ones).")
@json_option
@pass_ctx
def list_patterns(ctx, identity, min_confidence, limit, sort, active, as_json) -> None:
    """List an identity's patterns with label, size, confidence, status and trend.

    Example: mirror-kit patterns list --identity maya --sort confidence --limit 5
    """
    df = ctx.journal(readonly=True).patterns.frame(
        _require(identity), min_confidence=min_confidence, limit=limit, sort=sort, include_dormant=not active)
    if as_json:
        emit(_records(df), True)
        return
    rows = [{**r, "keywords": ", ".join(r["keywords"][:4]), "confidence": f"{r['confidence']:.2f}",
             "first_seen": (r["first_seen"] or "")[:10], "last_seen": (r["last_seen"] or "")[:10]}
            for r in _records(df)]
    table(rows, ["id", "label", "size", "confidence", "status", "trend", "first_seen", "last_seen", "keywords"])


@patterns.command("show")
@click.argument("pattern_id")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Show at most this many occurrences.")
@json_option
@pass_ctx
def show_pattern(ctx, pattern_id, limit, as_json) -> None:
    """One pattern: label, keywords, confidence, trend and its occurrences (strongest first with --limit).

    Example: mirror-kit patterns show p_1a2b3c4d5e6f7a8b --limit 10
    """
    d = ctx.journal(readonly=True).patterns.get(pattern_id).as_dict()
    occ = d.pop("occurrences")
    evo = d.pop("evolution")
    if limit is not None:
        occ = occ.sort_values(["strength", "reflection_id"], ascending=[False, True]).head(limit)
    if as_json:
        d = {k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()}
        d["occurrences"] = _records(occ)
        d["evolution"] = _records(evo)
        emit(d, True)
        return
    click.echo(f"{d['id']}  {d['label']}  ({d['status']}, trend {d.get('trend')})")
    click.echo(f"keywords: {', '.join(d['keywords'])}")
    click.echo(f"size {d['size']}  confidence {d['confidence']:.2f}  seen {d['first_seen']} .. {d['last_seen']}")
    rows = [{"reflection_id": r["reflection_id"], "created_at": r["created_at"][:10],
             "strength": f"{r['strength']:.3f}", "content": " ".join(str(r["content"]).split())[:70]}
            for r in _records(occ)]
    table(rows, ["reflection_id", "created_at", "strength", "content"])


@patterns.command("evolution")
@identity_option
@click.option("--period", type=click.Choice(["auto", "day", "week", "month", "quarter"]), default="auto",
              show_default=True, help="Time bin; auto picks one giving at most ~60 points.")
@click.option("--pattern", "pattern_ids", multiple=True, metavar="ID", help="Only this pattern (repeatable).")
@json_option
@pass_ctx
def evolution(ctx, identity, period, pattern_ids, as_json) -> None:
    """Per pattern and period: count, total and share (gaps are zeros), then each pattern's trend.

    Example: mirror-kit patterns evolution --identity maya --period month --json
    """
    j = ctx.journal(readonly=True)
    evo = j.patterns.evolution(_require(identity), period=period, patterns=list(pattern_ids) or None)
    from ..patterns.evolution import trends_frame

    trends = trends_frame(evo)
    if as_json:
        emit({"evolution": _records(evo), "trends": _records(trends)}, True)
        return
    rows = [{**r, "period": r["period"][:10], "share": f"{r['share']:.3f}"} for r in _records(evo)]
    table(rows, ["pattern_id", "label", "period", "count", "total", "share"])
    click.echo("")
    table([{**r, "slope": f"{r['slope']:+.4f}", "p_value": f"{r['p_value']:.3f}"} for r in _records(trends)],
          ["pattern_id", "label", "trend", "slope", "p_value"])


@patterns.command("rename")
@click.argument("pattern_id")
@click.argument("name")
@pass_ctx
def rename_pattern(ctx, pattern_id, name) -> None:
    """Give a pattern your own name; it is kept when patterns are analysed again ("" restores the computed one).

    Example: mirror-kit patterns rename p_1a2b3c4d5e6f7a8b "Marathon training"
    """
    label = ctx.journal(readonly=False).patterns.rename(pattern_id, name)
    click.echo(f"{pattern_id}  {label}")


@patterns.command("relabel")
@identity_option
@llm_options
@click.option("--dry-run", is_flag=True, help="Show the suggested names; change nothing.")
@json_option
@pass_ctx
def relabel_patterns(ctx, identity, llm, base_url, model, api_key_env, timeout, dry_run, as_json) -> None:
    """Ask a language model for names a person would give the patterns (your own names are kept).

    The model sees each pattern's key words and up to 5 of its reflections. Nothing leaves the
    machine unless a server is configured. A kept name survives later analyses; `patterns rename ID ""`
    goes back to the computed one.

    Example: mirror-kit patterns relabel --identity maya --base-url http://localhost:11434/v1 --model llama3.2
    """
    if base_url and llm is None:
        llm = "openai"
    df = ctx.journal(readonly=dry_run).patterns.relabel(
        _require(identity), llm=llm, dry_run=dry_run,
        llm_options={"base_url": base_url, "model": model, "api_key_env": api_key_env, "timeout": timeout})
    rows = _records(df)
    if as_json:
        emit(rows, True)
        return
    # The suggestion is the point of a dry run (its label is still the old one), so it is shown too.
    table(rows, ["pattern_id", "status", "before", "suggested", "label"])
