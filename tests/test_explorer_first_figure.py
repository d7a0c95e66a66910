"""What the Explorer's first figure reads and imports: only what it shows, with the same frames and
figures as the general readers give, and plotly's renderers configured when first used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mirror_kit.patterns.evolution import evolution_frame
from mirror_kit.viz.state import ExplorerState, _reflection_columns

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_explorer_reads_the_reflection_columns_it_shows_as_the_full_frame_has_them(viz_journal):
    full = viz_journal.frame("reflections", "maya")[["id", "created_at", "title", "content"]]
    pd.testing.assert_frame_equal(_reflection_columns(viz_journal, "maya"), full)
    assert len(ExplorerState(viz_journal, "maya").data.reflections) == len(full)


@pytest.mark.slow
def test_patterns_without_the_trend_column_are_the_same_patterns(viz_journal):
    with_trend = viz_journal.patterns.frame("maya")
    without = viz_journal.patterns.frame("maya", trend=False)
    assert without["trend"].isna().all() and with_trend["trend"].notna().all()
    pd.testing.assert_frame_equal(without.drop(columns="trend"), with_trend.drop(columns="trend"))


def test_pattern_evolution_of_a_date_series_equals_that_of_its_values_one_by_one():
    dates = pd.Series(pd.date_range("2024-01-01", periods=400, freq="19h", tz="UTC"), index=range(1000, 1400))
    occ = pd.DataFrame({"pattern_id": ["a", "b"] * 100, "created_at": dates.iloc[::2].to_numpy()})
    for period in ("day", "week", "month", "auto"):
        pd.testing.assert_frame_equal(evolution_frame(occ, dates, period=period),
                                      evolution_frame(occ, list(dates), period=period))


def test_importing_the_explorer_leaves_plotly_renderers_for_their_first_use_which_gets_the_private_config():
    code = (
        "import sys\n"
        "import mirror_kit.viz.explorer\n"
        "assert 'plotly.io._renderers' not in sys.modules and 'nbformat' not in sys.modules\n"
        "import plotly.io as pio\n"
        "for name in ('plotly_mimetype', 'jupyterlab', 'notebook', 'vscode', 'iframe'):\n"
        "    conf = pio.renderers[name].config\n"
        "    assert conf['displaylogo'] is False and 'sendDataToCloud' in conf['modeBarButtonsToRemove'], name\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
