"""CLI: `mirror-kit serve` (the local HTTP API) and `mirror-kit token create|list|revoke`."""

from __future__ import annotations

import ipaddress

import click

from .common import emit, json_option, main, pass_ctx, table


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --allow-remote.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (others on the network can connect).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM): serve HTTPS.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM) for --cert.")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Browser origin allowed to call the API, e.g. http://localhost:3000 (repeatable; none by default).")
@click.option("--rate-limit", type=click.IntRange(min=0), default=600, show_default=True,
              help="Requests a minute per token (0: no limit).")
@click.option("--max-body", type=click.IntRange(min=1), default=1 << 20, show_default=True,
              help="Largest request body in bytes.")
@click.option("--commons", "commons_path", type=click.Path(file_okay=False), metavar="PATH",
              help="Also serve this Commons folder under /api/commons (journals join it with `commons add NAME URL`).")
@pass_ctx
def serve(ctx, host, port, allow_remote, cert, key, cors_origins, rate_limit, max_body, commons_path) -> None:
    """Serve the journal over a local HTTP API (JSON; docs at /docs, schema at /openapi.json).

    Every request needs a bearer token from `mirror-kit token create`.

    Example: mirror-kit serve --port 8765
    """
    if not _is_loopback(host) and not allow_remote:
        raise click.UsageError(f"--host {host} is not a loopback address; add --allow-remote to accept "
                               "connections from other machines")
    if bool(cert) != bool(key):
        raise click.UsageError("--cert and --key go together")
    try:
        import uvicorn

        from ..server import create_app
    except ImportError as exc:
        raise click.ClickException(f"the HTTP server needs `pip install 'mirror_kit[serve]'` ({exc.name} missing)") from exc
    app = create_app(ctx.db_path, cors_origins=cors_origins, rate_limit=rate_limit or None, max_body_bytes=max_body,
                     commons=commons_path)
    if not _is_loopback(host):
        click.echo(f"WARNING: listening on {host}: anyone who can reach this machine can try tokens"
                   + ("" if cert else " and traffic is not encrypted (use --cert/--key)"), err=True)
    scheme = "https" if cert else "http"
    click.echo(f"serving {ctx.db_path} at {scheme}://{host}:{port} (docs: /docs); Ctrl-C to stop", err=True)
    uvicorn.run(app, host=host, port=port, ssl_certfile=cert, ssl_keyfile=key, log_level="warning",
                server_header=False)


@main.group()
def token() -> None:
    """Bearer tokens of the HTTP API (stored hashed; each shown once).

    Example: mirror-kit token create --identity maya --scope read --expires 30d
    """


@token.command("create")
@click.option("--identity", "-i", metavar="NAME", help="The identity the token may read (and write).")
@click.option("--all", "all_identities", is_flag=True, help="Every identity (the journal owner's token).")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="read: GET routes only; write: also create, change, delete and analyze.")
@click.option("--expires", metavar="DURATION", help="Lifetime like 30d, 12h, 2w (default: never expires).")
@click.option("--label", metavar="TEXT", help="A note to tell tokens apart in `token list`.")
@pass_ctx
def create_token(ctx, identity, all_identities, scope, expires, label) -> None:
    """Create a token and print it alone on stdout (it is stored hashed and cannot be shown again).

    Example: TOKEN=$(mirror-kit token create --identity maya --scope write --expires 30d)
    """
    if bool(identity) == all_identities:
        raise click.UsageError("give exactly one of --identity NAME or --all")
    secret, rec = ctx.journal().tokens.create(None if all_identities else identity, scope,
                                              expires=expires, label=label)
    click.echo(secret)
    click.echo(f"token {rec.id}: {scope} scope, {rec.identity or 'all identities'}, "
               f"expires {rec.expires_at or 'never'}", err=True)


@token.command("list")
@json_option
@pass_ctx
def list_tokens(ctx, as_json) -> None:
    """Tokens (never their secrets): id, identity, scope, label, created, expires, revoked, active.

    Example: mirror-kit token list --json
    """
    rows = [t.as_dict() for t in ctx.journal(readonly=True).tokens.rows()]
    if as_json:
        emit(rows, True)
        return
    table([{**r, "identity": r["identity"] or "(all)"} for r in rows],
          ["id", "identity", "scope", "label", "created_at", "expires_at", "revoked_at", "active"])


@token.command("revoke")
@click.argument("token_id")
@pass_ctx
def revoke_token(ctx, token_id) -> None:
    """Revoke a token by its id (from `token list`); requests with it get 401 from then on.

    Example: mirror-kit token revoke 1a2b3c4d5e6f7a8b
    """
    rec = ctx.journal().tokens.revoke(token_id)
    click.echo(f"revoked token {rec.id} ({rec.identity or 'all identities'}, {rec.scope})")
