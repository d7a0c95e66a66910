"""Re-execute every notebook in place on the analysed sample journal and store the outputs nbval
compares against: `.venv/bin/python notebooks/refresh.py` (after a change to the analysis code).

Uses the same cached sample journal as the tests (.pytest_cache/d/sample_journal, built if missing).
Widget state and per-cell timing metadata are dropped so the files stay small and diff cleanly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = ("quickstart", "patterns", "tensions", "explorer", "report")


def main() -> None:
    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT))
    from tests.plugins.viz import analysed_sample

    cache = ROOT / ".pytest_cache" / "d" / "sample_journal"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["MIRROR_KIT_DB"] = str(analysed_sample(cache))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in sys.argv[1:] or NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}},
                       store_widget_state=False).execute()
        nb.metadata.pop("widgets", None)
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
