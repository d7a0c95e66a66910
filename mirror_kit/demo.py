"""`make demo` / `mirror-kit demo`: the sample journal, the whole analysis and the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


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
                echo(f"analysed {ident.name}: {summary}")
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
