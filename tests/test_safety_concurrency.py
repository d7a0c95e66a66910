"""Two processes on one journal: the same file imported twice at once skips the second time as a
sequential re-import does; an analysis whose reflections are replaced meanwhile stores nothing and
says, in one line, to run it again."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mirror_kit.analysis_writes import JournalChangedError
from tests.plugins.store import MIRROR_KIT, assert_one_line_error

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def test_the_same_file_imported_by_two_processes_at_once_is_added_once_and_skipped_once(tmp_path):
    src = tmp_path / "a.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "text"])
        for i in range(20000):
            w.writerow([i, "2024-01-01 10:00", f"entry {i}"])
    db = tmp_path / "j.db"
    subprocess.run([str(MIRROR_KIT), "init", str(db)], env=ENV, check=True, capture_output=True)
    cmd = [str(MIRROR_KIT), "--db", str(db), "import", str(src), "--identity", "maya"]
    procs = [subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = sorted(tuple(int(n) for n in re.search(r"(\d+) added, \d+ updated, (\d+) skipped", o).groups())
                    for o, _ in outs)
    assert counts == [(0, 20000), (20000, 0)], outs
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM reflections").fetchone()[0] == 20000
    con.close()


def _analysis_with_a_replace_in_the_middle(db: Path, step: str) -> subprocess.CompletedProcess:
    """`mirror-kit analyze STEP` in a process where, after the reflections are read and before the
    results are written, another connection deletes half of them (what a replace-import does)."""
    code = f"""
        import sqlite3, sys
        from mirror_kit.patterns.model import PatternModel
        from mirror_kit.tensions import service

        def replace_half():
            con = sqlite3.connect({str(db)!r}, isolation_level=None)
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("BEGIN IMMEDIATE")
            con.execute("DELETE FROM reflections WHERE rowid % 2 = 0")
            con.execute("COMMIT")
            con.close()

        if {step!r} == "patterns":
            fit = PatternModel.fit
            def fit_then_replace(self, *a, **k):
                out = fit(self, *a, **k)
                replace_half()
                return out
            PatternModel.fit = fit_then_replace
        else:
            scorer = service.Tensions._tension_scorer
            def scorer_then_replace(self, rows):
                out = scorer(self, rows)
                replace_half()
                return out
            service.Tensions._tension_scorer = scorer_then_replace
        from mirror_kit.cli import main
        sys.exit(main(["--db", {str(db)!r}, "analyze", {step!r}, "--identity", "maya"]))
    """
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=ENV, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("step", ["patterns", "tensions"])
def test_an_analysis_whose_reflections_are_replaced_meanwhile_stores_nothing_and_says_run_again(
        patterns_embedded_db, tmp_path, step):
    import shutil

    db = tmp_path / "j.db"
    shutil.copy(patterns_embedded_db, db)
    con = sqlite3.connect(db)
    before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("pattern_occurrences", "tension_observations")}
    con.close()
    p = _analysis_with_a_replace_in_the_middle(db, step)
    con = sqlite3.connect(db)
    after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("pattern_occurrences", "tension_observations")}
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    left = con.execute("SELECT count(*) FROM reflections r JOIN identities i ON i.id = r.identity_id "
                       "WHERE i.name = 'maya'").fetchone()[0]
    con.close()
    if step == "patterns":
        assert_one_line_error(p, "the journal changed during the", "run it again")
        assert after == before  # nothing of the failed analysis was stored
    else:
        # tension scores read the vectors inside their write transaction, so a replace that lands
        # before it is simply seen: the reflections still there are scored, none of the deleted ones
        assert p.returncode == 0, p.stderr
        assert after["tension_observations"] == before["tension_observations"] + 5 * left


def test_a_foreign_key_failure_in_analysis_writes_becomes_journal_changed(journal):
    from mirror_kit.analysis_writes import analysis_transaction

    journal.identities.add("maya")
    with pytest.raises(JournalChangedError, match="run it again"), \
            analysis_transaction(journal, "tension analysis"):
        journal.conn.execute("INSERT INTO pattern_occurrences (pattern_id, reflection_id, strength) "
                             "VALUES ('nope', 'gone', 0.5)")
