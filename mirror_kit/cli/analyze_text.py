"""Plain lines for what `mirror-kit analyze` did, one per step (the full record is `--json`)."""

from __future__ import annotations

from typing import Any


def _seconds(info: dict[str, Any]) -> str:
    s = info.get("seconds")
    if isinstance(s, dict):
        s = s.get("total")
    return f" ({s:.1f} s)" if isinstance(s, int | float) else ""


def embeddings_line(info: dict[str, Any]) -> str:
    """`embeddings: 30 embedded, 3000 unchanged (model ...) (1.3 s)`."""
    return (f"embeddings: {info.get('embedded', 0)} embedded, {info.get('cached', 0)} already up to date "
            f"of {info.get('total', 0)} reflections{_seconds(info)}")


def patterns_line(info: dict[str, Any]) -> str:
    """`patterns: incremental (reason): 13 patterns ...`: the mode, why, and what the patterns cover."""
    line = f"patterns: {info.get('mode', 'refit')} ({info.get('reason', '')}): {info.get('patterns', 0)} patterns"
    if info.get("new"):
        line += f" ({info['new']} new)"
    line += (f", {info.get('assigned', 0)} of {info.get('reflections', 0)} reflections in one, "
             f"{info.get('unassigned', 0)} in none")
    poor = (info.get("incremental") or {}).get("poorly_fitting")
    if poor:
        line += f"; {poor} new ones fit their pattern poorly"
    return line + _seconds(info)


def drift_phrase(d: dict[str, Any], poles: dict[str, tuple[str, str]] | None = None) -> str:
    """`solitude_connection moving towards solitude (p = 0.004)`: one drifting tension in words.

    d: a `drifting` item of the tensions summary (tension_id, direction towards_a/towards_b, p_value);
    poles: tension id -> (pole a, pole b) names; without them the poles are called "pole a"/"pole b".
    """
    if not isinstance(d, dict):
        return str(d)
    tid = str(d.get("tension_id", "?"))
    a, b = (poles or {}).get(tid, ("pole a", "pole b"))
    direction = d.get("direction")
    towards = a if direction == "towards_a" else b if direction == "towards_b" else None
    text = f"{tid} moving towards {towards}" if towards else f"{tid} {direction or 'drifting'}"
    p = d.get("p_value")
    return text + (f" (p = {p:.3g})" if isinstance(p, int | float) else "")


def tensions_line(info: dict[str, Any], poles: dict[str, tuple[str, str]] | None = None) -> str:
    """`tensions: incremental (reason): 30 of 3030 reflections scored on 5 tensions; most active: ...`.

    poles: tension id -> (pole a, pole b) names, for saying where a drifting tension is moving.
    """
    line = (f"tensions: {info.get('mode', 'full')} ({info.get('reason', '')}): {info.get('scored', 0)} of "
            f"{info.get('reflections', 0)} reflections scored on {info.get('tensions', 0)} tensions")
    if info.get("most_active"):
        line += f"; most active: {', '.join(info['most_active'])}"
    if info.get("drifting"):
        line += f"; drifting: {', '.join(drift_phrase(d, poles) for d in info['drifting'])}"
    return line


def analysis_lines(summary: dict[str, Any], poles: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """One line per step of `Journal.analyze`'s summary, in its order; an unknown step as it is."""
    known = {"embeddings": embeddings_line, "patterns": patterns_line,
             "tensions": lambda info: tensions_line(info, poles)}
    return [known[step](info) if step in known and isinstance(info, dict) else f"{step}: {info}"
            for step, info in summary.items()]


def pole_names(journal: Any, identity: Any) -> dict[str, tuple[str, str]]:
    """Tension id -> (pole a, pole b) of the definitions an identity's tensions use; {} when unreadable."""
    try:
        defs = journal.tensions.definitions(identity)
        return {str(r.id): (str(r.axis_a), str(r.axis_b)) for r in defs.itertuples()}
    except Exception:  # only wording depends on it: the line then says "pole a"/"pole b"
        return {}
