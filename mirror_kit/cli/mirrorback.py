"""CLI: `mirror-kit mirrorback REFLECTION_ID` and `mirror-kit mirrorback --identity NAME --pending`."""

from __future__ import annotations

import sys

import click

from .common import emit, identity_option, json_option, llm_options, main, pass_ctx, table


@main.command()
@click.argument("reflection_id", required=False)
@identity_option
@click.option("--pending", is_flag=True, help="Every reflection of --identity that has no mirrorback yet.")
@click.option("--limit", type=int, help="With --pending: at most this many reflections (oldest first).")
@llm_options
@click.option("--max-retries", type=int, default=2, show_default=True,
              help="Rewrites asked for when a reply breaks the constitution.")
@click.option("--constitution", type=click.Path(dir_okay=False, exists=True), help="A constitution YAML file.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@json_option
@pass_ctx
def mirrorback(ctx, reflection_id, identity, pending, limit, llm, base_url, model, api_key_env, timeout,
               max_retries, constitution, progress, as_json) -> None:
    """Write a mirrorback (a reply that mirrors a reflection back) and store it with its validation.

    The reply is checked against the constitution (no advice, no diagnosis, no judgement, tentative,
    grounded, short) and rewritten up to --max-retries times. Crisis language gets a fixed reply with
    where to find help. Nothing leaves the machine unless a server is configured.

    \b
    Examples:
      mirror-kit mirrorback r_0123456789abcdef --base-url http://localhost:11434/v1 --model llama3.2
      export MIRROR_KIT_LLM_BASE_URL=http://127.0.0.1:8080/v1 MIRROR_KIT_LLM_MODEL=local
      mirror-kit mirrorback --identity maya --pending
    """
    if pending == bool(reflection_id):
        raise click.UsageError("give a REFLECTION_ID, or --identity NAME --pending")
    if pending and not identity:
        raise click.UsageError("--pending needs --identity NAME")
    j = ctx.journal()
    if base_url and llm is None:
        llm = "openai"
    # Resolved by the engine on first need: a crisis reply works with no model configured.
    opts = {"max_retries": max_retries, "llm_options": {"base_url": base_url, "model": model,
                                                         "api_key_env": api_key_env, "timeout": timeout}}
    if constitution:
        opts["constitution"] = constitution
    if reflection_id:
        mb = j.mirrorbacks.generate(reflection_id, llm=llm, **opts)
        if as_json:
            emit({"id": mb.id, "reflection_id": mb.reflection_id, "content": mb.content, "model": mb.model,
                  "valid": mb.valid, "validation": mb.validation}, True)
            return
        click.echo(mb.content)
        if mb.validation.get("crisis"):
            click.echo("(crisis language detected: a fixed reply with where to find help was stored)", err=True)
        elif not mb.valid:
            names = ", ".join(dict.fromkeys(v["principle"] for v in mb.validation.get("violations", [])))
            click.echo(f"warning: stored as invalid, still breaks: {names}", err=True)
        click.echo(f"stored {mb.id} ({mb.model}, {mb.validation.get('attempts', 0)} attempt(s))", err=True)
        return
    show = progress if progress is not None else sys.stderr.isatty()
    df = j.mirrorbacks.generate_pending(identity, llm=llm, progress=bool(show), limit=limit, **opts)
    rows = df.drop(columns=["content"]).assign(
        created_at=df["created_at"].astype(str), violations=df["violations"].map(lambda v: ",".join(v))
    ).to_dict("records") if len(df) else []
    if as_json:
        emit(df.assign(created_at=df["created_at"].astype(str)).to_dict("records"), True)
        return
    table(rows, ["reflection_id", "mirrorback_id", "valid", "attempts", "violations", "crisis", "model"])
    n_invalid = int((~df["valid"].astype(bool)).sum()) if len(df) else 0
    click.echo(f"{len(df)} mirrorback(s) written, {n_invalid} invalid", err=True)
