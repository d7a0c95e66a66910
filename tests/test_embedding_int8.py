"""precision="int8": vectors within cosine 0.999 of fp32, a cached quantized graph that is checked and
rebuilt, and int8 vectors stored apart from fp32 ones in a journal (never silently mixed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mirror_kit
from mirror_kit.embedding import Embedder, ModelNotAvailableError, onnx_backend, quantized
from mirror_kit.embedding import model as model_mod
from mirror_kit.errors import InvalidInputError

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HAPPYDB = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
EXTRA = ["", "ok", "Je me sens seul ce soir, mais c'est une solitude douce.", "今日はとても疲れたけど、少し幸せだった。",
         " ".join(["A long reflection about rest, work and the people I miss."] * 30)]


def _texts() -> list[str]:
    return pd.read_csv(HAPPYDB, nrows=20)["moment"].astype(str).tolist() + EXTRA


@pytest.fixture(scope="module")
def int8_embedder(embedder):
    emb = Embedder(precision="int8")
    assert emb.backend == "onnx" and emb.resolved_precision == "int8"
    return emb


def _fresh(monkeypatch, cache: Path) -> None:
    """Point the cache at `cache` and forget this process's loaded graphs and sessions."""
    monkeypatch.setenv(onnx_backend.CACHE_ENV, str(cache))
    monkeypatch.setattr(model_mod, "_ONNX", {})
    monkeypatch.setattr(onnx_backend, "_SESSIONS", {})


def _copy_cache(int8_embedder, tmp_path: Path) -> tuple[Path, Path]:
    """The fp32 and int8 graph folders copied into a fresh cache under tmp_path: (cache, int8 folder)."""
    int8_dir = int8_embedder._onnx.path.parent
    fp32_dir = int8_dir.with_name(int8_dir.name.split("-int8")[0])
    cache = tmp_path / "cache"
    for d in (fp32_dir, int8_dir):
        shutil.copytree(d, cache / "onnx" / d.name)
    return cache, cache / "onnx" / int8_dir.name


def test_int8_vectors_stay_within_0999_of_fp32_on_real_texts(int8_embedder, embedder):
    texts = _texts()
    got, ref = int8_embedder.encode(texts), embedder.encode(texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * ref).sum(1)
    assert cos.min() >= 0.999, (float(cos.min()), texts[int(cos.argmin())][:60])
    assert not np.array_equal(got, ref)  # a quantized graph really ran, not the fp32 one
    assert int8_embedder._onnx.path != embedder._onnx.path


def test_build_keeps_the_most_quantized_graph_that_passes_and_refuses_the_rest(int8_embedder):
    meta = json.loads((int8_embedder._onnx.path.parent / "meta.json").read_text())
    tried = meta["candidates_tried"]  # (quantized nodes, min cosine) from most to least quantized
    assert tried[-1][1] == meta["min_cosine_to_fp32"] >= quantized.MIN_COSINE
    assert all(cos < quantized.MIN_COSINE for _, cos in tried[:-1])
    assert [n for n, _ in tried] == sorted((n for n, _ in tried), reverse=True)
    assert len(meta["quantized_nodes"]) == tried[-1][0] > 0


def test_damaged_int8_graph_is_rebuilt(int8_embedder, monkeypatch, tmp_path):
    cache, target = _copy_cache(int8_embedder, tmp_path)
    _fresh(monkeypatch, cache)
    damaged = target / "model.onnx"
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 3])  # an interrupted copy
    emb = Embedder(precision="int8")
    assert emb._onnx.path == damaged and damaged.stat().st_size > len(data) // 2
    texts = _texts()[:8]
    np.testing.assert_allclose(emb.encode(texts), int8_embedder.encode(texts), atol=1e-5)


def test_int8_graph_off_the_fp32_vectors_is_refused_not_used(int8_embedder, monkeypatch, tmp_path):
    cache, target = _copy_cache(int8_embedder, tmp_path)
    _fresh(monkeypatch, cache)
    meta = json.loads((target / "meta.json").read_text())
    meta["reference"] = (-np.asarray(meta["reference"])).tolist()  # as if the file held other weights
    (target / "meta.json").write_text(json.dumps(meta))
    monkeypatch.setattr(quantized, "_build", lambda *a, **k: None)  # no rebuild: the check must refuse
    # int8 is an explicit choice: no silent fp32 or torch stand-in, one line naming the reason
    with pytest.raises(ModelNotAvailableError, match="ONNX Runtime") as info:
        Embedder(precision="int8")
    assert "\n" not in str(info.value)


def test_int8_refuses_the_torch_backend(embedder):
    with pytest.raises(InvalidInputError, match="int8"):
        Embedder(precision="int8", backend="torch")
    with pytest.raises(InvalidInputError, match="precision"):
        Embedder(precision="int4")


def test_journal_keeps_int8_vectors_apart_from_fp32_ones(int8_embedder, embedder, tmp_path):
    texts = _texts()[:6]
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": t or "(empty)", "created_at": f"2024-01-0{i + 1}T00:00:00Z",
                                         "source": "test", "source_id": str(i)} for i, t in enumerate(texts)])
        fp32 = j.embeddings.embed("maya")
        int8 = j.embeddings.embed("maya", precision="int8")
        assert fp32["model"] == embedder.model_name and int8["model"] == embedder.model_name + "#int8"
        assert int8["embedded"] == 6  # fp32 vectors do not count as current int8 ones
        ids, fp32_vecs = j.embeddings.stored("maya")
        assert j.embeddings.model_name() == embedder.model_name
        j.settings.set("embedding.precision", "int8")
        assert j.embeddings.model_name() == embedder.model_name + "#int8"
        ids8, int8_vecs = j.embeddings.stored("maya")
        assert ids8 == ids and not np.array_equal(int8_vecs, fp32_vecs)
        assert ((int8_vecs * fp32_vecs).sum(1) >= 0.999).all()
        # with the setting, matrix() reads the int8 vectors and embeds nothing more
        assert j.embeddings.embed("maya")["embedded"] == 0
        np.testing.assert_array_equal(j.embeddings.matrix("maya")[1], int8_vecs)
        # each embed run records the precision that made its vectors
        made = {(r["parameters"]["model"], r["parameters"].get("precision")) for r in j.runs.rows("embed")
                if r["counts"]["embedded"]}
        assert made == {(embedder.model_name, "fp32"), (embedder.model_name + "#int8", "int8")}
        j.settings.set("embedding.precision", "int4")
        with pytest.raises(InvalidInputError, match="embedding.precision"):
            j.embeddings.model_name()


def test_cli_embed_precision_int8_stores_under_its_own_name(int8_embedder, tmp_path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [{"content": t, "created_at": "2024-01-02T00:00:00Z", "source": "test",
                                         "source_id": str(i)} for i, t in enumerate(_texts()[:5])])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", "from mirror_kit.cli import run; run()", "--db", str(db), "embed", "--json"]
    out = subprocess.run([*cmd, "--precision", "int8"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert summary["model"].endswith("#int8") and summary["embedded"] == 5
    bad = subprocess.run([*cmd, "--precision", "int4"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "int4" in bad.stderr
