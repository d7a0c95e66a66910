"""CLI: `mirror-kit search`: find reflections by words and meaning (a read; the journal is not changed)."""

from __future__ import annotations

import click

from ..search_words import MAX_K
from .common import emit, json_option, main, pass_ctx, table


@main.command()
@click.argument("query", required=False)
@click.option("--identity", "-i", metavar="NAME", required=True, help="Identity (person) name or id.")
@click.option("--k", "--limit", "k", type=int, default=10, show_default=True,
              help=f"How many results, 1 to {MAX_K} (--limit, as in the other list commands).")
@click.option("--since", metavar="DATE", help="Only reflections from this date (YYYY-MM-DD) on.")
@click.option("--until", metavar="DATE", help="Only reflections up to this date (YYYY-MM-DD, inclusive).")
@click.option("--tag", metavar="TAG", help="Only reflections with this tag.")
@click.option("--like", metavar="REFLECTION_ID", help="Reflections like this one instead of a QUERY.")
@click.option("--mode", type=click.Choice(["hybrid", "text", "meaning"]), default="hybrid", show_default=True,
              help="Rank by words and meaning fused, by words only (BM25) or by meaning only.")
@click.option("--min-similarity", type=float, metavar="COSINE", default=None,
              help="Leave out meaning matches below this cosine similarity (-1 to 1; meaning and hybrid "
                   "modes). Without it a meaning search always returns --k neighbours, even for nonsense.")
@json_option
@pass_ctx
def search(ctx, query, identity, k, since, until, tag, like, mode, min_similarity, as_json) -> None:
    """Find reflections by their words and their meaning: id, date, score and a snippet, best first.

    Word matches come from the journal's full-text index and hold every word of QUERY (stems, case
    and accents aside, common words left out), meaning from the stored embeddings; the two rankings
    are fused by reciprocal rank fusion. Any text is accepted as it is typed if it holds a
    letter or digit (a query past the length limit is refused, naming the limit).

    \b
    QUERY syntax (the same in Python, the HTTP API, the Explorer and the report):
      caf*              a word's start: cafe, cafes, caffeine (run* finds running, runner)
      "new job"         a phrase: the words next to each other, in this order
      cafe -coffee      leave out reflections holding coffee (also: cafe NOT coffee)
      race OR marathon  either word (OR and NOT in capitals)

    Meaning (and the meaning half of hybrid) embeds the wanted words only and also leaves out what
    an exclusion names; a query of only exclusions is refused.

    Example: mirror-kit search "race training" --identity maya --k 5 --since 2025-01-01

    A query starting with '-' goes after `--`, or it is read as an option:

    \b
    mirror-kit search --identity maya -- "-coffee cafe"
    """
    if (query is None) == (like is None):
        raise click.UsageError("give a QUERY or --like REFLECTION_ID")
    df = ctx.journal(readonly=True).search(query, identity=identity, k=k, since=since, until=until, tag=tag,
                                           like=like, mode=mode, min_similarity=min_similarity)
    total = df.attrs.get("total")  # text mode only: the other modes rank every reflection
    if total is not None and total > len(df):
        # on stderr, so `--json` output stays the list it always was
        click.echo(f"showing {len(df):,} of {total:,} matches (--k to see more, up to {MAX_K})", err=True)
    if as_json:
        import json

        emit(json.loads(df.to_json(orient="records")), True)
        return
    if df.empty:
        click.echo("no matching reflections")
        return
    table([{"id": r.reflection_id, "date": str(r.created_at)[:10], "score": f"{r.score:.4f}",
            "why": r.why, "snippet": r.snippet[:90]} for r in df.itertuples()],
          ["id", "date", "score", "why", "snippet"])
