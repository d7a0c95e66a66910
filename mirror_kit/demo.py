"""`make demo` / `mirror-kit demo`: the sample journal, the whole analysis and the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def describe(name: str, summary: dict) -> str:
    """One readable line per analysed identity (the full summary is returned as data)."""
    e, p, t = summary.get("embeddings", {}), summary.get("patterns", {}), summary.get("tensions", {})
    drifting = ", ".join(
        f"{d['tension_id']} ({d.get('direction', '')}, p={d.get('p_value', float('nan')):.3g})"
        for d in t.get("drifting", [])
    ) or "none"
    return (
        f"{name}: {e.get('embedded', 0)} embedded ({e.get('cached', 0)} cached), "
        f"{p.get('patterns', '?')} patterns ({p.get('unassigned', 0)} reflections unassigned), "
        f"{t.get('tensions', '?')} tensions scored; drifting: {drifting}"
    )


def run_demo(out: Path, *, quick: bool = False, echo: Callable[[str], None] = print) -> dict:
    """Build OUT/sample.db from the committed sample journal, analyse every identity, write the report."""
    from .journal import open_journal
    from .sample import load_sample

    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "sample.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    result: dict = {"db": str(db_path)}
    with open_journal(db_path) as j:
        counts = load_sample(j)
        echo(f"sample journal: {db_path} ({counts})")
        if not quick:
            for ident in j.identities():
                summary = j.analyze(ident.name, random_state=0)
                result.setdefault("analysis", {})[ident.name] = summary
                echo(describe(ident.name, summary))
            main_identity = j.identities()[0].name
            for ident in j.identities():
                if ident.name == "maya":
                    main_identity = "maya"
            report = out / "report.html"
            j.report(main_identity, report)
            result["report"] = str(report)
            echo(f"report: {report}")
    echo(f"done in {time.perf_counter() - t0:.1f} s")
    return result
