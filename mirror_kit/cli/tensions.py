"""CLI: tensions (two-pole axes): list, show, map, seeds, add, calibrate, export."""

from __future__ import annotations

import math

import click

from .common import emit, identity_option, json_option, main, pass_ctx, table


def _need(identity: str | None) -> str:
    if not identity:
        raise click.UsageError("--identity is required")
    return identity


def _records(df) -> list[dict]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            elif isinstance(v, float):
                # 4 decimals, but keep tiny values (p-values) readable instead of printing 0.0
                v = None if math.isnan(v) else (float(f"{v:.3g}") if 0 < abs(v) < 1e-3 else round(v, 4))
            elif hasattr(v, "item"):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


@main.group()
def tensions() -> None:
    """Tensions: two-pole axes (e.g. solitude <-> connection) a person moves between.

    Example: mirror-kit tensions list --identity maya
    """


@tensions.command("list")
@identity_option
@json_option
@click.option("--period", default="auto", show_default=True, help="day, week, month, quarter or auto (drift).")
@pass_ctx
def list_cmd(ctx, identity, as_json, period) -> None:
    """An identity's tensions, most active first (run `mirror-kit analyze tensions` first).

    Example: mirror-kit tensions list --identity maya --json
    """
    identity = _need(identity)
    rows = _with_lean(_records(ctx.journal(readonly=True).tensions.frame(identity, period=period)))
    if as_json:
        emit(rows, True)
    else:
        table(rows, ["rank", "tension_id", "axis_a", "axis_b", "lean", "position", "intensity", "occurrences",
                     "spread", "drift", "p_value", "direction"])


def _with_lean(rows: list[dict]) -> list[dict]:
    """Each row with `lean` in words (`aggregate.lean_phrase`: too little data when nothing engages it)."""
    from ..tensions.aggregate import lean_phrase

    return [{**r, "lean": lean_phrase(r["position"], r["axis_a"], r["axis_b"], r["occurrences"])} for r in rows]


@tensions.command("show")
@click.argument("tension")
@identity_option
@json_option
@click.option("--period", default="auto", show_default=True, help="day, week, month, quarter or auto.")
@pass_ctx
def show_cmd(ctx, tension, identity, as_json, period) -> None:
    """One tension (by id or name) for an identity, with its evolution per period.

    Example: mirror-kit tensions show solitude_connection --identity maya --period month
    """
    from ..tensions.aggregate import lean_phrase

    identity = _need(identity)
    info = ctx.journal(readonly=True).tensions.get(tension, identity, period=period).as_dict()
    evo = _records(info.pop("evolution"))
    if as_json:
        info["evolution"] = evo
        emit(_records_value(info), True)
        return
    click.echo(f"{info['name']} ({info['id']}): {info['axis_a']} (-1) <-> {info['axis_b']} (+1)")
    click.echo(f"  lean: {lean_phrase(info['position'], info['axis_a'], info['axis_b'], info['occurrences'])}")
    for key in ("position", "intensity", "occurrences", "spread", "drift", "p_value", "direction"):
        v = info.get(key)
        click.echo(f"  {key}: {(f'{v:.3g}' if 0 < abs(v) < 1e-3 else round(v, 4)) if isinstance(v, float) else v}")
    if info["calibration"]:
        c = info["calibration"]
        click.echo(f"  calibrated on {c['n_labels']} labels, held-out AUC {c['cv_auc']}")
    table(evo, ["period", "position", "intensity", "count", "occurrences"])


def _records_value(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


@tensions.command("map")
@identity_option
@json_option
@pass_ctx
def map_cmd(ctx, identity, as_json) -> None:
    """2D map data: per tension its poles, position, intensity and occurrences.

    Example: mirror-kit tensions map --identity maya --json
    """
    identity = _need(identity)
    rows = _records(ctx.journal(readonly=True).tensions.map(identity))
    emit(rows, True) if as_json else table(_with_lean(rows))


@tensions.command("seeds")
@json_option
@pass_ctx
def seeds_cmd(ctx, as_json) -> None:
    """The five built-in seed tensions and their poles.

    Example: mirror-kit tensions seeds
    """
    from ..tensions.definition import seed_tensions

    if as_json:
        emit([t.as_dict() for t in seed_tensions()], True)
        return
    table([{"id": t.id, "axis_a": t.axis_a, "axis_b": t.axis_b, "a": t.a.description, "b": t.b.description}
           for t in seed_tensions()])


@tensions.command("defs")
@identity_option
@json_option
@pass_ctx
def defs_cmd(ctx, identity, as_json) -> None:
    """Every tension stored in the journal (seeds, shared and the identity's own).

    Example: mirror-kit tensions defs --identity maya
    """
    rows = _records(ctx.journal(readonly=True).tensions.definitions(identity))
    emit(rows, True) if as_json else table(rows)


@tensions.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@identity_option
@click.option("--replace", is_flag=True, help="Overwrite a user tension with the same id.")
@json_option
@pass_ctx
def add_cmd(ctx, file, identity, replace, as_json) -> None:
    """Add user tensions from a YAML/JSON file (one tension, or a list under `tensions:`).

    Without --identity they apply to every identity. File format:

    \b
      id: work_family
      name: Work / Family
      a: {name: work, description: job and career, anchors: [I stayed late at the office.]}
      b: {name: family, description: time with family, anchors: [I had dinner with my kids.]}

    Example: mirror-kit tensions add work_family.yaml --identity maya
    """
    from ..tensions.definition import load_tensions

    j = ctx.journal()
    items = load_tensions(file)  # validate every tension before storing any
    with j.transaction():
        out = [j.tensions.define(t, identity=identity, replace=replace) for t in items]
    if as_json:
        emit(out, True)
    else:
        for r in out:
            click.echo(f"{'replaced' if r['replaced'] else 'added'} {r['id']}: {r['axis_a']} <-> {r['axis_b']}")


@tensions.command("calibrate")
@click.argument("tension")
@click.argument("labels", type=click.Path(dir_okay=False))
@identity_option
@click.option("--no-rescore", is_flag=True, help="Do not re-score stored observations with the new axis.")
@json_option
@pass_ctx
def calibrate_cmd(ctx, tension, labels, identity, no_rescore, as_json) -> None:
    """Learn a tension's axis from a CSV of labelled reflections (columns reflection_id,label).

    A label is a or b, a pole name, or a number (<= 0 pole a, > 0 pole b). Prints the held-out
    (cross-validated) ROC AUC of the calibrated axis next to the zero-shot one.

    Example: mirror-kit tensions calibrate solitude_connection labels.csv
    """
    res = ctx.journal().tensions.calibrate(tension, labels, identity=identity, rescore=not no_rescore)
    if as_json:
        emit(res, True)
        return
    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"

    click.echo(f"calibrated {res['tension_id']} on {res['n_labels']} labels ({res['n_a']} a, {res['n_b']} b): "
               f"held-out AUC {fmt(res['cv_auc'])} (zero-shot {fmt(res['zero_shot_auc'])}); "
               f"re-scored {res['rescored']} observations")


@tensions.command("export")
@click.argument("tension")
@click.argument("file", type=click.Path(dir_okay=False))
@identity_option
@pass_ctx
def export_cmd(ctx, tension, file, identity) -> None:
    """Write a tension's definition to a YAML/JSON file to share it (re-import with `tensions add`).

    Example: mirror-kit tensions export solitude_connection solitude.yaml
    """
    from ..tensions.definition import save_tensions

    t = ctx.journal(readonly=True).tensions.definition(tension, identity)
    click.echo(f"wrote {save_tensions(t, file)}")
