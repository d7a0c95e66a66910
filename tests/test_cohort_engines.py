"""Cohort embed and analyze: Ray Data and the local engine give the same vectors and the same patterns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow", reason="cohorts need pyarrow (pip install 'mirror_kit[cohort]')")

from mirror_kit.cohort import Cohort  # noqa: E402
from tests.plugins.cohort import make_study  # noqa: E402

SECRET = "a-long-study-secret"
pytestmark = pytest.mark.slow  # the transformer model and a local Ray instance (about 1-2 min)


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory) -> tuple[Path, Path, dict, dict]:
    """The same 4-journal cohort (80 reflections) embedded once with each engine."""
    ray = pytest.importorskip("ray", reason="the ray engine needs Ray (pip install 'mirror_kit[cohort]')")
    base = tmp_path_factory.mktemp("cohort")
    make_study(base / "study", per_person=20)
    local, remote = base / "local", base / "ray"
    for p in (local, remote):
        Cohort(p, secret=SECRET).build([str(base / "study" / "*.db")])
    s_local = Cohort(local).embed(engine="local", progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        s_ray = Cohort(remote).embed(engine="ray", progress=False)
    finally:
        ray.shutdown()
    return local, remote, s_local, s_ray


def test_ray_and_local_engines_give_the_same_embeddings(cohorts):
    local, remote, s_local, s_ray = cohorts
    assert s_local["embedded_shards"] == s_ray["embedded_shards"] == 4
    ids_l, X_l = Cohort(local).embeddings()
    ids_r, X_r = Cohort(remote).embeddings()
    assert ids_l == ids_r and len(ids_l) == 80 and X_l.shape == (80, 384)
    assert np.allclose(X_l, X_r, atol=1e-5)
    assert np.allclose(np.linalg.norm(X_l, axis=1), 1.0, atol=1e-4)


def test_ray_and_local_engines_give_the_same_patterns_and_tension_scores(cohorts, tmp_path):
    local, remote, _, _ = cohorts
    ids = sorted(Cohort(local).reflections()["participant"].unique())
    groups = tmp_path / "groups.csv"
    groups.write_text("participant,group\n" + "".join(f"{p},{'AB'[i % 2]}\n" for i, p in enumerate(ids)))
    a = Cohort(local).analyze(participants=groups)
    b = Cohort(remote).analyze(participants=groups)
    fa = Cohort(local).frame("assignments").sort_values("reflection").reset_index(drop=True)
    fb = Cohort(remote).frame("assignments").sort_values("reflection").reset_index(drop=True)
    assert a["summary"]["patterns_found"] == b["summary"]["patterns_found"] >= 2
    assert (fa["pattern"] == fb["pattern"]).all()
    pos = [c for c in fa.columns if c.endswith("__position")]
    assert len(pos) == 5 and np.allclose(fa[pos], fb[pos], atol=1e-4)
    cmp = a["comparison"]
    assert set(cmp["feature"]) == {f"pattern_{i}" for i in range(a["summary"]["patterns_found"])} | set(pos)
    assert (cmp[["n_a", "n_b"]] == 2).all().all()  # one unit per participant, not per reflection
    assert cmp["welch_p"].between(0, 1).all() and cmp["rank_biserial"].between(-1, 1).all()


def test_embed_skips_finished_shards_and_redoes_a_rebuilt_one(cohorts, tmp_path):
    local, _, _, _ = cohorts
    assert Cohort(local).embed(engine="local", progress=False)["embedded_shards"] == 0
    done = sorted((local / "embeddings").glob("*/source=*/_done.json"))
    done[0].unlink()  # as if interrupted before this shard was finished
    s = Cohort(local).embed(engine="local", progress=False)
    assert (s["embedded_shards"], s["skipped_shards"], s["rows"]) == (1, 3, 20)


def test_participants_csv_matches_original_names_with_the_secret_and_names_bad_rows(cohorts, tmp_path):
    from mirror_kit.cohort import CohortError

    local, _, _, _ = cohorts
    csv = tmp_path / "g.csv"
    csv.write_text("participant,group\nalice_walker,A\nbob_stone.db,A\ncarla_mendes,B\ndmitri_olsen,B\n")
    r = Cohort(local, secret=SECRET).analyze(participants=csv)
    assert set(r["comparison"]["n_a"]) == {2}
    with pytest.raises(CohortError, match="row 2: 'alice_walker' is not a pseudonym"):
        Cohort(local).analyze(participants=csv)
    csv.write_text("participant,group\nalice_walker,A\nnobody,B\n")
    with pytest.raises(CohortError, match="row 3: participant 'nobody' is not in this cohort"):
        Cohort(local, secret=SECRET).analyze(participants=csv)
    report = Cohort(local).report(tmp_path / "r.html")
    assert "Group comparison" in report.read_text() or "Patterns" in report.read_text()


def test_embed_at_another_precision_redoes_every_shard_instead_of_mixing(cohorts):
    local, _, _, _ = cohorts
    _, fp32 = Cohort(local).embeddings()
    s = Cohort(local).embed(engine="local", progress=False, precision="int8")
    assert (s["embedded_shards"], s["skipped_shards"]) == (4, 0)  # fp32 shards are not int8 ones
    _, int8 = Cohort(local).embeddings()
    assert not np.array_equal(int8, fp32) and ((int8 * fp32).sum(1) >= 0.999).all()
    assert Cohort(local).embed(engine="local", progress=False, precision="int8")["embedded_shards"] == 0
    back = Cohort(local).embed(engine="local", progress=False)  # and back: fp32 everywhere again
    assert back["embedded_shards"] == 4
    np.testing.assert_allclose(Cohort(local).embeddings()[1], fp32, atol=1e-6)
