"""Run every benchmark (`python -m bench`) or some (`python -m bench store embed`).

Each `bench/bench_<name>.py` has a `main()` that prints its own table, with the peer measured in
the same run.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    # `python -m bench cohort --sizes ...`: names first, then options for the chosen benchmarks
    cut = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    argv, options = argv[:cut], argv[cut:]
    sys.argv = [sys.argv[0], *options]
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE.parent))
    for name in chosen:
        print(f"\n## bench {name}\n", flush=True)
        t0 = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"\n(bench {name} took {time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
