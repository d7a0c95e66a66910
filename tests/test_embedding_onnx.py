"""The ONNX Runtime backend: same vectors as the torch path, a cached graph reused across processes
without importing torch, a damaged cache rebuilt, and a one-line fallback to torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirror_kit.embedding import Embedder, onnx_backend
from mirror_kit.embedding import model as model_mod
from mirror_kit.errors import InvalidInputError

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HAPPYDB = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
EXTRA = ["", "ok", "Feeling 😊 after the run!!! 10k in 52:13 #running", "今日はとても疲れたけど、少し幸せだった。",
         " ".join(["This is a moderately long reflection about learning to rest."] * 40)]


def _texts() -> list[str]:
    return pd.read_csv(HAPPYDB, nrows=45)["moment"].astype(str).tolist() + EXTRA


@pytest.fixture(scope="module")
def onnx_embedder(embedder):
    emb = Embedder(backend="onnx")
    assert emb.backend == "onnx"
    return emb


def _fresh(monkeypatch, cache: Path) -> None:
    """Point the cache at `cache` and forget this process's loaded graphs and sessions."""
    monkeypatch.setenv(onnx_backend.CACHE_ENV, str(cache))
    monkeypatch.setattr(model_mod, "_ONNX", {})
    monkeypatch.setattr(onnx_backend, "_SESSIONS", {})


def test_onnx_vectors_match_the_torch_path_on_50_texts(onnx_embedder):
    texts = _texts()
    torch_emb = Embedder(precision="fp32", backend="torch", batch_size=5)
    # the Rust tokenizer read from tokenizer.json gives exactly the transformers tokenizer's ids
    assert onnx_embedder._content_ids(texts) == [
        torch_emb.tokenizer(t.strip(), add_special_tokens=False)["input_ids"] for t in texts]
    ours, ref = onnx_embedder.encode(texts), torch_emb.encode(texts)
    assert ours.shape == (50, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() >= 0.9999, float(cos.min())
    assert len(onnx_embedder.windows(EXTRA[-1])) > 1  # the long text went through windowing too


def test_cached_graph_is_reused_by_a_new_process_without_torch_or_transformers(onnx_embedder):
    graph = onnx_embedder._onnx.path
    mtime = graph.stat().st_mtime_ns
    script = textwrap.dedent("""
        import json, sys
        from mirror_kit.embedding import Embedder
        emb = Embedder(backend="onnx")
        v = emb.encode(["a quiet walk by the river", "a loud party"])
        print(json.dumps({"backend": emb.backend, "graph": str(emb._onnx.path), "vec": v[0].tolist(),
                          "loaded": sorted(m for m in ("torch", "transformers") if m in sys.modules)}))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["backend"] == "onnx" and res["loaded"] == []
    assert res["graph"] == str(graph) and graph.stat().st_mtime_ns == mtime  # reused, not rebuilt
    here = onnx_embedder.encode(["a quiet walk by the river"])[0]
    assert float(np.dot(here, res["vec"])) >= 0.99999


def test_damaged_cached_graph_is_rebuilt(onnx_embedder, monkeypatch, tmp_path):
    src = onnx_embedder._onnx.path.parent
    cache = tmp_path / "cache"
    shutil.copytree(src, cache / "onnx" / src.name)
    _fresh(monkeypatch, cache)
    damaged = cache / "onnx" / src.name / "model.onnx"
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 3])  # an interrupted copy
    emb = Embedder(backend="onnx")
    assert emb._onnx.path == damaged and damaged.stat().st_size > len(data) // 2
    texts = _texts()[:8]
    assert ((emb.encode(texts) * onnx_embedder.encode(texts)).sum(1) >= 0.9999).all()


def test_graph_giving_other_vectors_is_not_used(onnx_embedder, monkeypatch, tmp_path):
    src = onnx_embedder._onnx.path.parent
    cache = tmp_path / "cache"
    target = cache / "onnx" / src.name
    shutil.copytree(src, target)
    _fresh(monkeypatch, cache)
    meta = json.loads((target / "meta.json").read_text())
    meta["reference"] = (-np.asarray(meta["reference"])).tolist()  # as if the file held other weights
    (target / "meta.json").write_text(json.dumps(meta))
    monkeypatch.setattr(onnx_backend, "_build", lambda *a, **k: None)  # no rebuild: the check must refuse
    with pytest.raises(model_mod.ModelNotAvailableError, match="ONNX Runtime"):
        Embedder(backend="onnx")


def test_failed_export_falls_back_to_torch_with_one_line_warning(embedder, monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path / "empty-cache")

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded\nwith a long traceback-like tail")

    monkeypatch.setattr(onnx_backend, "export_torch", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = Embedder()
    assert emb.backend == "torch"
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1 and "\n" not in msgs[0] and "exporter exploded" in msgs[0]
    assert emb.encode(["still works"]).shape == (1, 384)
    with pytest.raises(InvalidInputError, match="backend"):
        Embedder(backend="tensorrt")


def test_cli_embed_of_new_reflections_imports_neither_torch_nor_transformers(onnx_embedder, tmp_path):
    import mirror_kit

    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        j.reflections.add_many("maya", [
            {"content": t, "created_at": "2024-01-02T00:00:00Z", "source": "test", "source_id": str(i)}
            for i, t in enumerate(_texts()[:40])])
    script = textwrap.dedent("""
        import atexit, sys
        atexit.register(lambda: print("LOADED", [m for m in ("torch", "transformers") if m in sys.modules]))
        sys.argv = ["mirror-kit", "--db", sys.argv[1], "embed", "--json"]
        from mirror_kit.cli import run
        run()
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script, str(db)], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"
    with mirror_kit.open(db) as j:
        ids, matrix = j.embeddings.stored("maya")
    assert len(ids) == 40 and matrix.shape == (40, 384)
