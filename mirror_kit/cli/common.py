"""Shared CLI plumbing: the root group, the `--db` resolution and output helpers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

DB_ENV = "MIRROR_KIT_DB"


class Context:
    """What every command gets: where the journal is and a lazily opened Journal."""

    def __init__(self, db: str | None):
        self.db_path = Path(db or os.environ.get(DB_ENV) or "mirror.db")
        self._journal = None

    def journal(self, *, create: bool = False, readonly: bool = False):
        """Open the journal. Read commands pass create=False so a typo does not make an empty file."""
        if self._journal is None:
            from ..journal import open_journal

            self._journal = open_journal(self.db_path, create=create, readonly=readonly)
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db",
    metavar="PATH",
    help=f"Journal file. Default: ${DB_ENV}, else ./mirror.db.",
)
@click.version_option(package_name="mirror_kit", prog_name="mirror-kit")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """mirror_kit: understand your own journal, locally.

    Every command works on one journal file (--db PATH, else $MIRROR_KIT_DB, else ./mirror.db).
    """
    ctx.obj = Context(db)
    ctx.call_on_close(ctx.obj.close)


pass_ctx = click.make_pass_decorator(Context)


def emit(data: Any, as_json: bool) -> None:
    """Print data as JSON (for scripts) or let the caller print a table."""
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def advise_compact(journal: Any) -> None:
    """Print on stderr the suggestion to compact a journal with small pages and many vectors, if any."""
    from ..compact import advice

    line = advice(journal)
    if line:
        click.echo(line, err=True)


def table(rows: list[dict], columns: list[str] | None = None) -> None:
    """A plain aligned text table (no extra dependency)."""
    if not rows:
        click.echo("(none)")
        return
    columns = columns or list(rows[0])
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    widths = [min(w, 60) for w in widths]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
identity_option = click.option("--identity", "-i", metavar="NAME", help="Identity (person) name or id.")


def llm_options(f: Any) -> Any:
    """The options that choose a language model (mirrorbacks, pattern names): --llm, --base-url, --model,
    --api-key-env, --timeout."""
    for opt in reversed([
        click.option("--llm", "llm", metavar="ADAPTER",
                     help="'openai' (an OpenAI-compatible server), 'local' (the local model) or a model path. "
                          "Default: $MIRROR_KIT_LLM_BASE_URL if set, else the journal's mirrorback.llm setting, "
                          "else the local model if installed."),
        click.option("--base-url", metavar="URL",
                     help="Server URL, e.g. http://localhost:11434/v1 (implies --llm openai)."),
        click.option("--model", metavar="NAME", help="Model name on the server (default $MIRROR_KIT_LLM_MODEL)."),
        click.option("--api-key-env", metavar="VAR", help="Environment variable holding the API key "
                                                            "(default MIRROR_KIT_LLM_API_KEY)."),
        click.option("--timeout", type=float, metavar="SECONDS", help="Per-request timeout for the server."),
    ]):
        f = opt(f)
    return f
