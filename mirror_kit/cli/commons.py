"""CLI: the Commons, shared tension definitions and mirrorback principles changed by signed proposals and votes."""

from __future__ import annotations

import click

from .common import emit, json_option, main, pass_ctx, table


def _need(identity: str | None) -> str:
    if not identity:
        raise click.UsageError("--identity is required")
    return identity


def _short(h: str | None) -> str:
    return "" if not h else h[:12]


def _print_changes(changes: list[dict]) -> None:
    if not changes:
        click.echo("  no definition changes")
    for c in changes:
        click.echo(f"  {c['change']:8} {c['kind']} {c['id']}")
        for f in c["fields"] if c["change"] == "changed" else []:
            click.echo(f"      {f}")


identity_required = click.option("--identity", "-i", metavar="NAME", help="Identity (person) who signs.")


@main.group()
def commons() -> None:
    """The Commons: tension definitions and mirrorback principles shared by a group, changed by vote.

    Only definitions, proposals, votes, public keys and evidence numbers travel; reflections never do.

    Example: mirror-kit commons add family /shared/family-commons
    """


@commons.command("init")
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="Policy file (YAML/JSON).")
@click.option("--quorum", type=int, help="Votes needed for a decision (default 2).")
@click.option("--threshold", type=float, help="Share of yes among yes+no that accepts (default 0.5).")
@click.option("--window-hours", type=float, help="Hours a vote stays open (default 72).")
@click.option("--voters", help="Comma-separated names who may vote (default: every member).")
@json_option
def init_cmd(path, policy_file, quorum, threshold, window_hours, voters, as_json) -> None:
    """Make a new Commons folder with its policy (a journal joins it with `commons add`).

    Example: mirror-kit commons init /shared/family-commons --quorum 2 --voters maya,sam,lee
    """
    from ..commons.policy import Policy
    from ..commons.service import init_commons

    policy = Policy.load(policy_file).as_dict() if policy_file else {}
    for key, value in (("quorum", quorum), ("threshold", threshold), ("window_hours", window_hours)):
        if value is not None:
            policy[key] = value
    if voters:
        policy["voters"] = [v.strip() for v in voters.split(",") if v.strip()]
    res = init_commons(path, policy)
    if as_json:
        emit(res, True)
        return
    p = res["policy"]
    click.echo(f"made Commons {res['path']} (genesis {_short(res['genesis'])}): quorum {p['quorum']}, "
               f"threshold {p['threshold']}, window {p['window_hours']} h, voters {p['voters']}")


@commons.command("add")
@click.argument("name")
@click.argument("location")
@click.option("--token", metavar="TOKEN",
              help="Bearer token for a served Commons (default $MIRROR_KIT_COMMONS_TOKEN); kept as a secret setting.")
@click.option("--insecure", is_flag=True, help="Allow plain http to another machine (the token travels readable).")
@json_option
@pass_ctx
def add_cmd(ctx, name, location, token, insecure, as_json) -> None:
    """Join a Commons (a folder or a server's URL) as NAME and fetch its records.

    LOCATION is a folder, or the URL of `mirror-kit serve --commons` (https://host:port).

    Example: mirror-kit commons add family https://192.168.1.20:8765 --token mk_...
    """
    res = ctx.journal(create=True).commons.add(name, location, token=token, insecure=insecure)
    if as_json:
        emit(res, True)
        return
    click.echo(f"joined {res['name']} at {res['location']}: {res['received']} record(s) fetched, newest "
               f"version {res['head']['number']} ({_short(res['head']['hash'])}); `commons pull --accept` uses it")
    for r in res["refused"]:
        click.echo(f"refused {r}", err=True)


@commons.command("propose")
@click.option("--tension", "tension", type=click.Path(dir_okay=False), help="A tension file: adds or amends it.")
@click.option("--principle", "principle", type=click.Path(dir_okay=False),
              help="A principle file (id, description, checks): adds or amends it.")
@click.option("--retire-tension", metavar="ID", help="Retire a shared tension.")
@click.option("--retire-principle", metavar="ID", help="Retire a principle.")
@click.option("--title", required=True, help="Short title.")
@click.option("--rationale", default="", help="Why.")
@click.option("--labels", type=click.Path(dir_okay=False),
              help="CSV reflection_id,label of your own labelled reflections: adds ROC AUC to the evidence.")
@identity_required
@json_option
@pass_ctx
def propose_cmd(ctx, tension, principle, retire_tension, retire_principle, title, rationale, labels, identity,
                as_json) -> None:
    """Propose a change to one shared definition; prints the proposal id (then `commons push`).

    A tension proposal carries evidence measured on your own journal: how many of your reflections
    change side, drift before and after, ROC AUC on labels. Only these numbers travel.

    Example: mirror-kit commons propose --tension work_family.yaml --title "Add work/family" --identity maya
    """
    res = ctx.journal().commons.propose(_need(identity), title=title, rationale=rationale, tension=tension,
                                        principle=principle, retire_tension=retire_tension,
                                        retire_principle=retire_principle, labels=labels)
    if as_json:
        emit(res, True)
        return
    click.echo(res["id"])
    ev = res.get("evidence") or {}
    if "note" in ev:
        click.echo(f"  {ev['note']}", err=True)
    elif ev:
        click.echo(f"  evidence on {ev['reflections']} reflections: {ev.get('changed_side', 'n/a')} change side",
                   err=True)


@commons.command("vote")
@click.argument("proposal_id")
@click.argument("choice", type=click.Choice(["yes", "no", "abstain"], case_sensitive=False))
@click.option("--comment", default="", help="Optional comment.")
@identity_required
@json_option
@pass_ctx
def vote_cmd(ctx, proposal_id, choice, comment, identity, as_json) -> None:
    """Vote on an open proposal (a new vote replaces your earlier one); then `commons push`.

    Example: mirror-kit commons vote 3f2a9c41b7d0 yes --identity sam
    """
    res = ctx.journal().commons.vote(proposal_id, choice, _need(identity), comment)
    if as_json:
        emit(res, True)
    else:
        click.echo(f"{res['voter']} voted {res['choice']} on {_short(res['proposal'])}")


@commons.command("withdraw")
@click.argument("proposal_id")
@identity_required
@pass_ctx
def withdraw_cmd(ctx, proposal_id, identity) -> None:
    """Withdraw your own open proposal.

    Example: mirror-kit commons withdraw 3f2a9c41b7d0 --identity maya
    """
    res = ctx.journal().commons.withdraw(proposal_id, _need(identity))
    click.echo(f"withdrew {_short(res['id'])}")


@commons.command("proposals")
@click.option("--status", type=click.Choice(["open", "accepted", "rejected", "withdrawn", "conflicted"]),
              help="Only proposals with this status.")
@json_option
@pass_ctx
def proposals_cmd(ctx, status, as_json) -> None:
    """Proposals with their status and votes (as of the last pull).

    Example: mirror-kit commons proposals --status open
    """
    df = ctx.journal(readonly=True).commons.proposals(status)
    rows = [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    if as_json:
        emit(rows, True)
        return
    for r in rows:
        r["id"] = _short(r["id"])
    table(rows, ["id", "status", "kind", "action", "target", "title", "author", "yes", "no", "abstain",
                 "closes_at", "version"])


@commons.command("push")
@json_option
@pass_ctx
def push_cmd(ctx, as_json) -> None:
    """Copy your proposals and votes to the Commons (folder or server).

    Example: mirror-kit commons push
    """
    res = ctx.journal().commons.push()
    emit(res, True) if as_json else click.echo(f"pushed {res['pushed']} record(s) ({res['already']} already there)")


@commons.command("pull")
@click.option("--accept", is_flag=True, help="Use the newest version (else only show what would change).")
@json_option
@pass_ctx
def pull_cmd(ctx, accept, as_json) -> None:
    """Fetch new records; show what the newest version would change here, and with --accept use it.

    Damaged or badly signed files are refused (listed on stderr, exit code 1).

    Example: mirror-kit commons pull --accept
    """
    res = ctx.journal().commons.pull(accept=accept)
    if as_json:
        emit(res, True)
    else:
        pinned = res["pinned"]
        click.echo(f"fetched {res['received']} record(s); newest version {res['head']['number']} "
                   f"({_short(res['head']['hash'])}), this journal uses "
                   f"{'built-in definitions' if pinned is None else pinned['number']}")
        _print_changes(res["changes"])
        if res["applied"]:
            click.echo(f"now using version {res['head']['number']}")
        elif res["changes"] and not accept:
            click.echo("run `mirror-kit commons pull --accept` to use it")
    for r in res["refused"]:
        click.echo(f"refused {r}", err=True)
    if res["refused"]:
        raise click.exceptions.Exit(1)


@commons.command("status")
@json_option
@pass_ctx
def status_cmd(ctx, as_json) -> None:
    """Which Commons, the version in use and the newest, what is waiting to push or pull.

    Example: mirror-kit commons status
    """
    res = ctx.journal(readonly=True).commons.status()
    if as_json:
        emit(res, True)
        return
    pinned = res["pinned"]
    click.echo(f"Commons {res['name']} at {res['location']}")
    click.echo(f"  using version: {'built-in definitions' if pinned is None else pinned['number']}; newest "
               f"{res['head']['number']} ({_short(res['head']['hash'])})")
    click.echo(f"  members: {', '.join(res['members']) or '(none)'}; open proposals: {res['open_proposals']}")
    if res["reachable"]:
        click.echo(f"  to push: {res['to_push']} record(s); to pull: {res['to_pull']}")
    else:
        click.echo(f"  Commons unreachable: {res['error']}")


@commons.command("log")
@json_option
@pass_ctx
def log_cmd(ctx, as_json) -> None:
    """The versions of the shared definitions, oldest first.

    Example: mirror-kit commons log
    """
    rows = ctx.journal(readonly=True).commons.log()
    if as_json:
        emit(rows, True)
        return
    for r in rows:
        r["hash"], r["proposal"] = _short(r["hash"]), _short(r["proposal"])
    table(rows, ["number", "hash", "at", "title", "proposal", "tensions", "principles"])


@commons.command("diff")
@click.argument("a")
@click.argument("b")
@json_option
@pass_ctx
def diff_cmd(ctx, a, b, as_json) -> None:
    """What changes between versions A and B (numbers or hash prefixes).

    Example: mirror-kit commons diff 0 2
    """
    rows = ctx.journal(readonly=True).commons.diff(a, b)
    emit(rows, True) if as_json else _print_changes(rows)


@commons.command("pin")
@click.argument("version")
@pass_ctx
def pin_cmd(ctx, version) -> None:
    """Use version VERSION (number or hash prefix), e.g. to move back to an earlier one.

    Example: mirror-kit commons pin 1
    """
    res = ctx.journal().commons.pin(version)
    click.echo(f"now using version {res['number']} ({_short(res['hash'])})")
