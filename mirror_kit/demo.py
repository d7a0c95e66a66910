"""`make demo` / `mirror-kit demo`: the sample journal, the whole analysis and the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .safefiles import private_mkdir


def describe(name: str, summary: dict, poles: dict[str, tuple[str, str]] | None = None) -> str:
    """One readable line per analysed identity (the full summary is returned as data).

    poles: tension id -> (first pole, second pole), to say which way a drift goes.
    """
    e, p, t = summary.get("embeddings", {}), summary.get("patterns", {}), summary.get("tensions", {})
    poles = poles or {}
    drifts = []
    for d in t.get("drifting", []):
        a, b = poles.get(d["tension_id"], ("first pole", "second pole"))
        towards = b if d.get("direction") == "towards_b" else a
        pv = d.get("p_value", float("nan"))
        drifts.append(f"{d['tension_id']} towards {towards} ({'p<0.001' if pv < 0.001 else f'p={pv:.3f}'})")
    return (
        f"{name}: {e.get('embedded', 0)} embedded ({e.get('cached', 0)} cached), "
        f"{p.get('patterns', '?')} patterns ({p.get('unassigned', 0)} reflections unassigned), "
        f"{t.get('tensions', '?')} tensions scored; drifting: {', '.join(drifts) or 'none'}"
    )


def run_demo(out: Path, *, quick: bool = False, echo: Callable[[str], None] = print) -> dict:
    """Build OUT/sample.db from the committed sample journal, analyse every identity, write the report."""
    from .journal import open_journal
    from .sample import load_sample

    private_mkdir(out)
    db_path = out / "sample.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    result: dict = {"db": str(db_path)}
    with open_journal(db_path) as j:
        counts = load_sample(j)
        echo(f"sample journal: {db_path} ({counts})")
        if not quick:
            for ident in j.identities.rows():
                summary = j.analyze(ident.name, random_state=0)
                result.setdefault("analysis", {})[ident.name] = summary
                tmap = j.tensions.map(ident.name)
                poles = {r.tension_id: (r.axis_a, r.axis_b) for r in tmap.itertuples()}
                echo(describe(ident.name, summary, poles))
            main_identity = j.identities.rows()[0].name
            for ident in j.identities.rows():
                if ident.name == "maya":
                    main_identity = "maya"
            report = out / "report.html"
            j.viz.report(main_identity, report)
            result["report"] = str(report)
            echo(f"report: {report}")
    echo(f"done in {time.perf_counter() - t0:.1f} s")
    return result
