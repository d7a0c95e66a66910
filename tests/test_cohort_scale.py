"""Cohort analysis at scale: sample across shards, mini-batch refinement streamed over every shard,
and the HTML report built from the project's figures."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow", reason="cohorts need pyarrow (pip install 'mirror_kit[cohort]')")

from mirror_kit.cohort import Cohort  # noqa: E402
from mirror_kit.cohort.analyze import sample  # noqa: E402
from mirror_kit.cohort.embed import DONE, embedding_files, shards  # noqa: E402
from tests.plugins.cohort import make_study  # noqa: E402

SECRET = "a-long-study-secret"


def write_embeddings(root: Path, vectors: dict[str, np.ndarray]) -> None:
    """Each shard's vectors looked up by text (the study's moments were embedded once for the session)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mirror_kit.cohort.embed import model_slug
    from mirror_kit.embedding.model import resolve_model

    emb_root = root / "embeddings" / model_slug(resolve_model(None)[0])
    for key, part, entry in shards(root):
        t = pq.read_table(part, columns=["reflection", "content"]).to_pandas()
        X = np.vstack([next(v for m, v in vectors.items() if c.startswith(m)) for c in t["content"]])
        d = emb_root / f"source={key}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"reflection": t["reflection"], "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(X.astype(np.float32).reshape(-1)), X.shape[1])}), d / "part-0.parquet")
        (d / DONE).write_text(json.dumps({"digest": entry["digest"], "rows": entry["rows"]}))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, happydb_embeddings) -> tuple[Path, dict, Path]:
    """4 participants x 60 reflections, embedded from the session's HappyDB vectors, analysed with groups."""
    df, E = happydb_embeddings
    base = tmp_path_factory.mktemp("cohort_scale")
    make_study(base / "study", per_person=60)
    root = base / "c"
    Cohort(root, secret=SECRET).build([str(base / "study" / "*.db")])
    write_embeddings(root, {m: E[i] for i, m in enumerate(df["moment"].astype(str).head(240))})
    ids = sorted(Cohort(root).reflections()["participant"].unique())
    groups = base / "groups.csv"
    groups.write_text("participant,group\n" + "".join(f"{p},{'AB'[i % 2]}\n" for i, p in enumerate(ids)))
    r = Cohort(root).analyze(participants=groups, sample_size=120, refine_batch=64)
    return root, r, groups


def test_sample_is_the_smallest_ids_of_all_shards_whatever_the_shard_sizes(analysed):
    root, _, _ = analysed
    _, emb_root = embedding_files(root)
    all_ids = sorted(Cohort(root).reflections()["reflection"])
    for n in (1_000, 150, 37, 5):
        meta, X = sample(root, emb_root, n)
        assert meta["reflection"].tolist() == all_ids[:n]
        assert X.shape == (min(n, 240), 384)


def test_refinement_streams_every_assigned_reflection_and_keeps_pattern_ids(analysed):
    root, r, groups = analysed
    s = r["summary"]
    assigned = (Cohort(root).frame("assignments")["pattern"] >= 0).sum()
    # the refinement saw every above-threshold reflection of all shards, in batches of 64
    assert s["refine"]["batches"] == -(-s["refine"]["rows"] // 64) and s["refine"]["rows"] >= 0.5 * 240
    assert abs(s["refine"]["rows"] - assigned) <= 0.2 * 240
    assert set(s["phases"]) == {"fit", "refine", "assign", "aggregate"}
    # without refinement the same sample fit gives the same ids: refined pattern i is still the one
    # nearest to unrefined pattern i, so most reflections keep their id
    again = Cohort(root).analyze(participants=groups, sample_size=120, refine_batch=64)
    a = Cohort(root).frame("assignments").sort_values("reflection")["pattern"].to_numpy()
    Cohort(root).analyze(participants=groups, sample_size=120, refine_batch=None)
    b = Cohort(root).frame("assignments").sort_values("reflection")["pattern"].to_numpy()
    assert again["summary"]["refine"] == s["refine"]  # deterministic for a random_state
    assert (a == b).mean() > 0.8
    Cohort(root).analyze(participants=groups, sample_size=120, refine_batch=64)  # leave it refined


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        for k, v in attrs:
            if k in ("src", "href", "action", "data") and v:
                self.urls.append((tag, k, v))


def test_report_has_the_projects_figures_with_data_and_loads_nothing_from_outside(analysed, tmp_path):
    root, r, _ = analysed
    page = Cohort(root).report(tmp_path / "cohort.html").read_text(encoding="utf-8")
    p = _Page()
    p.feed(page)
    assert p.urls == []  # no script, stylesheet or link to anywhere
    assert page.count("plotly.js v") == 1 and page.count("Plotly.newPlot(") == 4
    figs = {}
    for name in ("pattern-evolution", "tension-evolution", "group-patterns", "group-tensions"):
        assert page.count(f'id="fig-{name}"') == 1
        start = page.index(f'"fig-{name}",')
        payload = page[start + len(f'"fig-{name}",'):]
        data, _ = json.JSONDecoder().raw_decode(payload.lstrip())
        config = json.loads(re.search(r"\{\"displaylogo\".*?\}", payload).group(0))
        assert config["displaylogo"] is False and "sendDataToCloud" in config["modeBarButtonsToRemove"]
        figs[name] = data
    k = r["summary"]["patterns_found"]
    bars = [t for t in figs["pattern-evolution"] if t["type"] == "bar"]
    assert len(bars) == k and all(t.get("y") for t in bars)
    assert len([t for t in figs["tension-evolution"] if t.get("mode") == "lines+markers"]) == 5
    # group figures: one bar series per group, one bar per pattern / tension, with interval whiskers
    for name, n in (("group-patterns", k), ("group-tensions", 5)):
        assert sorted(t["name"] for t in figs[name]) == ["A", "B"]
        for t in figs[name]:
            assert len(t["x"]) == n and t["error_y"]["visible"] is True
    # the bars are the groups' means of per-participant shares (2 participants each)
    parts = Cohort(root).frame("participants").merge(Cohort(root).frame("groups"), on="participant")
    want = parts.groupby("group")["pattern_0"].mean()
    got = {t["name"]: _values(t["y"])[0] for t in figs["group-patterns"]}
    assert got == pytest.approx(want.to_dict())


def _values(y) -> list[float]:
    """Plotly writes numeric arrays as lists or as typed-array objects (dtype + base64 bdata)."""
    import base64

    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return [float(v) for v in y]


def test_report_before_analyze_names_the_missing_step(tmp_path):
    from mirror_kit.cohort import CohortError

    make_study(tmp_path / "s", per_person=3)
    Cohort(tmp_path / "c", secret=SECRET).build([str(tmp_path / "s" / "*.db")])
    with pytest.raises(CohortError, match="run `mirror-kit cohort analyze`"):
        Cohort(tmp_path / "c").report(tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_analyze_without_refinement_reports_no_refine_steps(analysed):
    import subprocess
    import sys

    root, _, groups = analysed
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        out = subprocess.run([sys.executable, "-c", "from mirror_kit.cli import run; run()", "cohort", "analyze",
                              str(root), "--sample", "120",
                              "--refine-batch", "0", "--json"], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        s = json.loads(out.stdout)
        assert s["refine"] == {"rows": 0, "batches": 0, "moved": 0.0} and s["reflections"] == 240
        assert json.loads((root / "analysis" / "_analysis.json").read_text())["refine"]["batches"] == 0
    finally:
        Cohort(root).analyze(participants=groups, sample_size=120, refine_batch=64)


def test_participant_positions_are_intensity_weighted_like_one_journal(analysed):
    """participants.parquet holds each participant's position as `tensions.aggregate` defines it."""
    import pandas as pd

    from mirror_kit.tensions.aggregate import weighted_position

    root, _, _ = analysed
    out = root / "analysis"
    rows = pd.read_parquet(out / "assignments.parquet")
    people = pd.read_parquet(out / "participants.parquet").set_index("participant")
    cols = [c for c in people.columns if c.endswith("__position")]
    assert cols
    checked = 0
    for pid, g in rows.groupby("participant"):
        for c in cols:
            w = g[c.replace("__position", "__intensity")].to_numpy(float)
            expected, _ = weighted_position(g[c].to_numpy(float), w)
            assert people.loc[pid, c] == pytest.approx(expected, abs=1e-5), (pid, c)
            checked += 1
    # the weights matter on this data: a plain mean would differ somewhere
    plain = rows.groupby("participant")[cols].mean()
    assert (plain - people[cols]).abs().to_numpy().max() > 1e-4
    assert checked == len(people) * len(cols)


def test_report_says_when_the_cohort_was_rebuilt_after_its_analysis(analysed, tmp_path):
    import shutil

    from mirror_kit.cohort.build import MANIFEST

    root, _, _ = analysed
    page = Cohort(root).report(tmp_path / "fresh.html").read_text(encoding="utf-8")
    assert "rebuilt after this analysis" not in page
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    manifest["sources"].popitem()  # what a rebuild without one journal writes
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    page = Cohort(copy).report(tmp_path / "stale.html").read_text(encoding="utf-8")
    assert "The cohort was rebuilt after this analysis" in page
