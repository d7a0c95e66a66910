"""Heavy imports stay lazy: `import mirror_kit` is light, and the store, migrate, import and export
paths work in a Python where torch, transformers, plotly and ipywidgets cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("torch", "transformers", "plotly", "ipywidgets", "sklearn", "duckdb", "pandas")

BLOCKER = textwrap.dedent(
    """
    import sys
    BLOCKED = {"torch", "transformers", "plotly", "ipywidgets", "sentence_transformers"}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked in this test: {name}")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_import_mirror_kit_and_its_cli_load_no_heavy_module(tmp_path):
    code = (
        "import sys, mirror_kit, mirror_kit.cli\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    res = _run(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "", f"imported at `import mirror_kit`: {res.stdout.strip()}"


def test_store_migrate_import_and_export_work_without_heavy_packages(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "2025-03-14.md").write_text("# A walk\nWalked by the river. #outside\n", encoding="utf-8")
    code = BLOCKER + textwrap.dedent(
        f"""
        from mirror_kit.cli import main
        db = {str(tmp_path / "j.db")!r}
        steps = [
            ["init", db],
            ["--db", db, "identity", "add", "maya"],
            ["--db", db, "add", "--identity", "maya", "--date", "2025-03-15", "A quiet evening."],
            ["--db", db, "import", {str(notes)!r}, "--identity", "maya"],
            ["--db", db, "stats"],
            ["--db", db, "migrate", "down", "1", "--force"],
            ["--db", db, "migrate", "up"],
            ["--db", db, "migrate", "verify"],
            ["--db", db, "export", "json", "--out", {str(tmp_path / "out.json")!r}],
            ["--db", db, "export", "markdown", "--out", {str(tmp_path / "md")!r}],
            ["--db", db, "backup", "--out", {str(tmp_path / "b.zip")!r}],
            ["backup", "verify", {str(tmp_path / "b.zip")!r}],
        ]
        for argv in steps:
            rc = main(argv)
            assert rc == 0, (argv, rc)
        import sys
        assert not any(m in sys.modules for m in ("torch", "transformers", "plotly", "ipywidgets"))
        print("ok")
        """
    )
    res = _run(code, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().endswith("ok")
    assert "A quiet evening." in (tmp_path / "out.json").read_text(encoding="utf-8")
    assert (tmp_path / "md").is_dir() and (tmp_path / "b.zip").stat().st_size > 0
