"""Reader fuzzing at scale: thousands of seeded mutations per reader (CSV, jrnl JSON, Markdown with
front matter, Day One ZIP, mirror_kit export, backup ZIP), with larger generated values than the test.

Prints per reader: imported / refused / crashed counts, journal changes after a refusal (must be 0),
cases over the time limit, cases per second. Crashes are listed with the line that raised.

Run: .venv/bin/python -m bench fuzz   (MIRROR_KIT_FUZZ_CASES=N to change the 2,000 cases per reader)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import fuzzing  # noqa: E402

CASES = int(os.environ.get("MIRROR_KIT_FUZZ_CASES", "2000"))
SEED = 1


def main() -> None:
    fuzzing.MAX_REPEAT = 20_000  # megabyte-sized fields and files
    print(f"{'reader':<15}{'ok':>7}{'refused':>9}{'crash':>7}{'changed':>9}{'slow':>6}{'cases/s':>9}")
    with tempfile.TemporaryDirectory(prefix="mk-fuzz-") as tmp:
        for reader in fuzzing.READERS:
            res = fuzzing.fuzz(reader, CASES, SEED, Path(tmp) / reader)
            c = res.counts
            print(f"{reader:<15}{c['ok']:>7}{c['refused']:>9}{c['crash']:>7}{len(res.changed_after_refusal):>9}"
                  f"{len(res.slow):>6}{CASES / res.seconds:>9.1f}", flush=True)
            for line in res.crashes[:10] + res.slow[:5]:
                print(f"    {line}")


if __name__ == "__main__":
    main()
