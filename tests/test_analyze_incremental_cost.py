"""What a second `analyze` after a few new reflections does not repeat: the check of which vectors are
current (once per analysis, still right after vectors are written), the YAML parse of the seed
tensions (once per machine), sklearn's validation pass over plain arrays, and DataFrames for the
new observations; each with the same results as the longer way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mirror_kit.embedding import store as emb_store
from mirror_kit.errors import InvalidInputError
from mirror_kit.ids import content_hash

ROOT = Path(__file__).resolve().parent.parent
_STALE_SQL = "LEFT JOIN embeddings e ON e.reflection_id = r.id"
_COUNT_CURRENT_SQL = "SELECT count(*) FROM embeddings e JOIN reflections r"


def _add_with_vectors(j, n: int, first: int = 0) -> list[str]:
    """n new reflections of maya stored with vectors of older ones (no model runs); `first`: where
    in maya's reflections the old ones are taken from (and the new ones' December day)."""
    model = j.embeddings.model_name()
    olds = j.reflections.rows("maya")[first:first + n]
    ids, rows = [], []
    for i, o in enumerate(olds, start=first):
        text = o.content + " Again today."
        rid = j.reflections.add("maya", text, f"2025-12-{i + 1:02d}T08:00:00Z").id
        vec = j.execute("SELECT vector FROM embeddings WHERE reflection_id = ? AND model = ?",
                        (o.id, model)).fetchone()[0]
        rows.append((rid, content_hash(text), np.frombuffer(vec, dtype="<f4")))
        ids.append(rid)
    with j.transaction():
        emb_store.write(j.conn, model, rows)
    return ids


def _traced(j):
    seen: list[str] = []
    j.conn.set_trace_callback(seen.append)
    return seen


def test_analyze_checks_which_vectors_are_current_once(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya")
    _add_with_vectors(j, 3)
    seen = _traced(j)
    out = j.analyze("maya")
    j.conn.set_trace_callback(None)
    assert out["patterns"]["mode"] == "incremental" and out["tensions"]["scored"] == 3
    assert sum(_STALE_SQL in s for s in seen) == 1  # embed's; the patterns and tensions steps reuse it
    assert not any(s.startswith(_COUNT_CURRENT_SQL) for s in seen)
    # the counts it reports are the ones the database gives outside an analysis
    current = j.embeddings.count_current("maya")
    assert out["patterns"]["reflections"] == out["tensions"]["reflections"] == current
    assert out["embeddings"]["total"] == current


def test_new_vectors_are_listed_once_for_both_steps(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya")
    new = _add_with_vectors(j, 3)
    seen = _traced(j)
    out = j.analyze("maya")
    j.conn.set_trace_callback(None)
    assert out["patterns"]["incremental"]["assigned"] + out["patterns"]["incremental"]["unassigned"] == 3
    assert out["tensions"]["scored"] == 3
    assert sum(s.startswith("SELECT e.reflection_id, e.rowid, e.created_at FROM embeddings") for s in seen) == 1
    assert {r[0] for r in j.execute(
        f"SELECT reflection_id FROM tension_observations WHERE reflection_id IN ({','.join('?' * 3)})", new)} == set(new)


def test_a_vector_another_program_stores_between_steps_is_scored(patterns_analyzed_journal, monkeypatch):
    import mirror_kit

    j = patterns_analyzed_journal
    j.tensions.analyze("maya")
    _add_with_vectors(j, 2)
    fit = j.patterns.analyze
    late: list[str] = []

    def patterns_then_another_program(*args, **kwargs):
        out = fit(*args, **kwargs)
        with mirror_kit.open(j.path) as other:  # commits while the analysis is between its steps
            late.extend(_add_with_vectors(other, 1, first=20))
        return out

    monkeypatch.setattr(j.patterns, "analyze", patterns_then_another_program)
    out = j.analyze("maya")
    assert out["tensions"]["scored"] == 3  # the two new ones and the one stored meanwhile
    assert out["tensions"]["reflections"] == j.embeddings.count_current("maya")
    assert j.execute("SELECT count(*) FROM tension_observations WHERE reflection_id = ?", (late[0],)).fetchone()[0] == 5


def test_vectors_written_during_analyze_are_counted(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya")
    before = j.embeddings.count_current("maya")
    rid = j.reflections.add("maya", "Walked to the lake with my sister and we talked for hours.",
                            "2025-12-20T09:00:00Z").id
    out = j.analyze("maya")  # the model embeds the new reflection: what was read before is stale
    assert out["embeddings"]["embedded"] == 1
    assert out["tensions"]["reflections"] == out["patterns"]["reflections"] == before + 1
    assert out["tensions"]["scored"] == 1
    assert j.execute("SELECT count(*) FROM tension_observations WHERE reflection_id = ?", (rid,)).fetchone()[0] == 5


def _observations(j) -> list[tuple]:
    return j.execute("SELECT tension_id, reflection_id, position, intensity, model FROM tension_observations "
                     "ORDER BY tension_id, reflection_id").fetchall()


def test_a_full_analysis_reads_the_vectors_once_with_the_same_scores(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya", refit=True)  # the steps one by one: each reads the vectors itself
    separately = [tuple(r) for r in _observations(j)]
    seen = _traced(j)
    out = j.analyze("maya", refit=True)
    j.conn.set_trace_callback(None)
    assert out["patterns"]["mode"] == "refit" and out["tensions"]["mode"] == "full"
    vector_reads = [s for s in seen if "vector FROM embeddings" in s]
    assert len(vector_reads) == 1, vector_reads
    assert [tuple(r) for r in _observations(j)] == separately
    # outside an analysis nothing is kept: a later read asks the database and may be changed by its caller
    ids, E = j.embeddings.matrix("maya")
    assert E.flags.writeable and len(ids) == out["tensions"]["reflections"]


def test_pattern_sizes_and_dates_match_their_occurrences_after_assignment(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya")
    _add_with_vectors(j, 4)
    # a deleted reflection makes every pattern's numbers be recounted, not only the ones joined
    gone = j.reflections.rows("maya")[10].id
    with j.transaction():
        j.execute("DELETE FROM reflections WHERE id = ?", (gone,))
    assert j.analyze("maya")["patterns"]["mode"] == "incremental"
    ident = j.identities.get("maya").id
    for r in j.execute(
            "SELECT p.size, p.first_seen, p.last_seen, (SELECT count(*) FROM pattern_occurrences o "
            "WHERE o.pattern_id = p.id), (SELECT min(x.created_at) FROM pattern_occurrences o JOIN reflections x "
            "ON x.id = o.reflection_id WHERE o.pattern_id = p.id), (SELECT max(x.created_at) FROM "
            "pattern_occurrences o JOIN reflections x ON x.id = o.reflection_id WHERE o.pattern_id = p.id) "
            "FROM patterns p WHERE p.identity_id = ? AND p.status = 'active'", (ident,)):
        assert tuple(r[:3]) == tuple(r[3:])


def _seed_json(cache: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MIRROR_KIT_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)


def test_seed_tensions_come_from_the_cache_without_the_yaml_parser(tmp_path):
    code = ("import json, sys\nfrom mirror_kit.tensions.definition import seed_tensions\n"
            "print(json.dumps([t.as_dict() for t in seed_tensions()]))\nprint('yaml' in sys.modules)")
    first = _seed_json(tmp_path, code).stdout.splitlines()
    assert list((tmp_path / "seeds").glob("*.json"))
    second = _seed_json(tmp_path, code).stdout.splitlines()
    assert first[0] == second[0]
    assert (first[1], second[1]) == ("True", "False")


def test_damaged_seed_cache_is_parsed_again(tmp_path, monkeypatch):
    from mirror_kit.tensions import definition

    monkeypatch.setenv("MIRROR_KIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(definition, "_SEEDS_PARSED", {})
    want = [t.as_dict() for t in definition.seed_tensions()]
    (cache,) = (tmp_path / "seeds").glob("*.json")
    for damage in ("{not json", json.dumps({"tensions": 1}), "[]"):
        cache.write_text(damage, encoding="utf-8")
        monkeypatch.setattr(definition, "_SEEDS_PARSED", {})
        assert [t.as_dict() for t in definition.seed_tensions()] == want
        assert json.loads(cache.read_text(encoding="utf-8")) == want  # rewritten


def _scorer():
    from mirror_kit.tensions.definition import Tension
    from mirror_kit.tensions.model import TensionScorer
    from tests.test_estimators_sklearn import TENSIONS, HashEmbedder

    other = Tension.from_dict({"id": "u", "a": {"name": "c", "anchors": ["three"]},
                               "b": {"name": "d", "anchors": ["four"]}})
    return TensionScorer([*TENSIONS, other], embedder=HashEmbedder()).fit()


def test_score_columns_hold_the_score_frame_rows():
    sc = _scorer()
    X = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    ids = [f"r{i}" for i in range(7)]
    frame = sc.score_frame(X, ids)
    rids, tids, pos, inten, cal = sc.score_columns(X, ids)
    assert rids == frame["reflection_id"].tolist() and tids == frame["tension_id"].tolist()
    assert pos.tolist() == frame["position"].tolist() and inten.tolist() == frame["intensity"].tolist()
    assert cal == frame["calibrated"].tolist()
    with pytest.raises(InvalidInputError, match="6 reflection ids for 7 embeddings"):
        sc.score_columns(X, ids[:6])


def test_plain_arrays_skip_sklearn_validation_but_bad_ones_still_fail():
    sc = _scorer()
    X = np.random.default_rng(2).normal(size=(3, 4))
    assert np.array_equal(sc.transform(X), sc.transform(X.astype(np.float32).tolist()))
    words = np.ones((2, 4), dtype=object)
    words[0, 0] = "x"
    for bad, why in ((np.full((2, 4), np.nan), "NaN"), (np.ones((2, 5)), "features"), (words, "could not convert")):
        with pytest.raises(InvalidInputError, match=why):
            sc.transform(bad)
