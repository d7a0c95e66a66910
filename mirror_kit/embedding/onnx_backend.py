"""Run a sentence encoder with ONNX Runtime: the model's graph (token ids -> mean-pooled, L2-normalised
vectors) is exported from the local weights once, checked against the torch model, and cached.

Why: ONNX Runtime needs neither torch nor transformers at run time (a call that embeds a few texts
starts in well under a second instead of importing torch), and its fused fp32 kernels do more texts per
CPU-second than torch's. The export itself needs torch, once per model version.

Cache: `cache_dir()/onnx/<key>/` holding `model.onnx` and `meta.json`; the key hashes the model's files
(weights, config, tokenizer), the onnxruntime version and `EXPORT_VERSION`, so a new model or runtime
gets a new graph. `meta.json` keeps the torch model's vectors for `CHECK_TEXTS`; every load recomputes
them with the cached graph and rebuilds it when they differ (a damaged or stale file is never used).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

EXPORT_VERSION = "1"  # bump when the exported graph changes (wrapper, opset, fusion)
OPSET = 17
MIN_COSINE = 0.9999  # the graph must reproduce the torch model's vectors this closely
CACHE_ENV = "MIRROR_KIT_CACHE_DIR"
# Files whose bytes define the model; the graph is rebuilt when any of them changes.
_MODEL_FILES = ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json",
                "sentence_bert_config.json")
# Mixed lengths (one padded batch), an empty text and a long one: padding and masking must not matter.
CHECK_TEXTS = (
    "I walked by the river this morning and felt calm for the first time in weeks.",
    "",
    "ok",
    "Je me sens seul ce soir, mais c'est une solitude douce. 今日はとても疲れた 😊",
    "Work was overwhelming: three deadlines, no sleep, and my manager wants more. " * 8,
    "Should I move to Lisbon? Change feels necessary but stability matters too.",
)

_SESSIONS: dict[tuple[str, int], Any] = {}
_LOCK = threading.Lock()


class OnnxUnavailable(Exception):
    """The ONNX path cannot be used here (missing package, failed export or check); the caller falls back."""


def cache_dir() -> Path:
    """The user's cache directory for mirror_kit (`$MIRROR_KIT_CACHE_DIR`, else the platform's)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("mirror_kit", appauthor=False))
    except ImportError:
        return Path.home() / ".cache" / "mirror_kit"


def _file_digest(path: Path, memo: dict[str, Any]) -> str:
    """sha256 of a file, remembered by (size, mtime) so a 90 MB weights file is hashed once per version."""
    st = path.stat()
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    hit = memo.get(str(path))
    if isinstance(hit, dict) and hit.get("stamp") == stamp:
        return str(hit["sha256"])
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    memo[str(path)] = {"stamp": stamp, "sha256": digest}
    return digest


def model_key(location: str | os.PathLike) -> str:
    """Cache key of a local model directory: its files' hashes, the onnxruntime version, `EXPORT_VERSION`."""
    import onnxruntime

    root = cache_dir()
    memo_path = root / "file_hashes.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
        if not isinstance(memo, dict):
            memo = {}
    except (OSError, ValueError):
        memo = {}
    before = dict(memo)
    parts = [f"export={EXPORT_VERSION}", f"onnxruntime={onnxruntime.__version__}", f"opset={OPSET}"]
    for name in _MODEL_FILES:
        p = Path(location) / name
        if p.is_file():
            parts.append(f"{name}={_file_digest(p, memo)}")
    if memo != before:
        with contextlib.suppress(OSError):
            root.mkdir(parents=True, exist_ok=True)
            tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(memo), encoding="utf-8")
            os.replace(tmp, memo_path)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def default_threads() -> int:
    """Intra-op threads: 1 on machines with <= 2 usable cores (shared CPUs spend more in synchronisation
    than they gain), else min(cores, 4)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return 1 if n <= 2 else min(n, 4)


class OnnxEncoder:
    """A cached ONNX Runtime session of a pooled encoder graph.

    `run(ids, mask)` takes int64 arrays of shape (batch, sequence) and returns float32 (batch, dim)
    L2-normalised mean-pooled vectors.
    """

    def __init__(self, path: Path, threads: int):
        self.path = path
        self.session = _session(path, threads)
        self.inputs = {i.name for i in self.session.get_inputs()}

    def run(self, ids: Any, mask: Any) -> Any:
        import numpy as np

        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        return self.session.run(None, feed)[0]


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    key = (str(path), int(threads))
    with _LOCK:
        sess = _SESSIONS.get(key)
        if sess is None:
            so = ort.SessionOptions()
            so.intra_op_num_threads = int(threads)
            so.inter_op_num_threads = 1
            # Idle workers sleep instead of spinning: on a shared CPU spinning burns other work's time.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.log_severity_level = 3
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            _SESSIONS[key] = sess
    return sess


def padded(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """(ids, mask) int64 arrays of shape (len(seqs), longest), right-padded with `pad_id`."""
    import numpy as np

    width = max(1, max(len(s) for s in seqs))
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = s
        mask[row, : len(s)] = 1
    return ids, mask


def _cosines(a: Any, b: Any) -> Any:
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """Serialise builds of one graph across processes (a second process waits, then finds it built)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # no fcntl (Windows): builds write to a temp dir and rename, still safe
            pass
        yield


def load(
    location: str | os.PathLike,
    *,
    threads: int,
    check_seqs: Callable[[], list[list[int]]],
    pad_id: int,
    reference: Callable[[list[list[int]]], Any],
    export: Callable[[Path], None],
) -> OnnxEncoder:
    """The checked ONNX encoder of a local model, built and cached on first use.

    check_seqs: token ids (special tokens included) of `CHECK_TEXTS`.
    reference: vectors of those sequences from the torch model (called only when building).
    export: writes the graph to the path given (called only when building; needs torch).
    Raises OnnxUnavailable when onnxruntime is missing or the graph cannot be built or fails its check.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailable("onnxruntime is not installed") from exc
    try:
        key = model_key(location)
    except OSError as exc:
        raise OnnxUnavailable(f"cannot read the model files ({exc})") from exc
    target = cache_dir() / "onnx" / key
    seqs = check_seqs()
    enc = _checked(target, threads, seqs, pad_id)
    if enc is not None:
        return enc
    with _build_lock(target.with_suffix(".lock")):
        enc = _checked(target, threads, seqs, pad_id)  # another process may have built it meanwhile
        if enc is not None:
            return enc
        _build(target, seqs, pad_id, reference, export, threads)
    enc = _checked(target, threads, seqs, pad_id)
    if enc is None:
        raise OnnxUnavailable("the exported graph does not reproduce the torch model's vectors")
    return enc


def _checked(target: Path, threads: int, seqs: list[list[int]], pad_id: int,
             min_cosine: float = MIN_COSINE) -> OnnxEncoder | None:
    """The cached encoder when its files load and reproduce the stored reference vectors (min cosine
    `min_cosine`), else None."""
    import numpy as np

    model, meta = target / "model.onnx", target / "meta.json"
    if not (model.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        ref = np.asarray(info["reference"], dtype=np.float32)
        enc = OnnxEncoder(model, threads)
        got = enc.run(*padded(seqs, pad_id))
        if got.shape == ref.shape and float(_cosines(got, ref).min()) >= min_cosine:
            return enc
    except Exception:  # a damaged or foreign file: rebuild it
        pass
    with _LOCK:
        _SESSIONS.pop((str(model), int(threads)), None)
    return None


def _build(
    target: Path,
    seqs: list[list[int]],
    pad_id: int,
    reference: Callable[[list[list[int]]], Any],
    export: Callable[[Path], None],
    threads: int,
) -> None:
    """Export, fuse when that keeps the vectors, check, and move into place atomically."""
    import numpy as np

    target.parent.mkdir(parents=True, exist_ok=True)
    ref = np.asarray(reference(seqs), dtype=np.float32)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        try:
            export(raw)
        except Exception as exc:
            raise OnnxUnavailable(f"export failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
        candidates = []
        fused = Path(tmp) / "fused.onnx"
        if _fuse(raw, fused):
            candidates.append(fused)
        candidates.append(raw)
        chosen, cos = None, 0.0
        for path in candidates:
            try:
                got = OnnxEncoder(path, threads).run(*padded(seqs, pad_id))
                cos = float(_cosines(got, ref).min())
            except Exception:
                cos = 0.0
            finally:
                with _LOCK:
                    _SESSIONS.pop((str(path), int(threads)), None)
            if cos >= MIN_COSINE:
                chosen = path
                break
        if chosen is None:
            raise OnnxUnavailable(f"exported graph reproduces the torch vectors only to cosine {cos:.6f}")
        out = Path(tmp) / "out"
        out.mkdir()
        os.replace(chosen, out / "model.onnx")
        (out / "meta.json").write_text(json.dumps({
            "export_version": EXPORT_VERSION, "fused": chosen == fused, "min_cosine_to_torch": cos,
            "reference": ref.tolist(),
        }), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(out, target)


def _fuse(src: Path, dst: Path) -> bool:
    """Fuse attention, layer-norm and GELU subgraphs (onnxruntime's transformer optimizer); False when
    the optimizer is unavailable or fails, so the plain export is used."""
    import logging
    import warnings

    try:
        import onnx
        from onnxruntime.transformers.optimizer import optimize_model

        cfg = onnx.load(str(src), load_external_data=False)
        meta = {p.key: p.value for p in cfg.metadata_props}
        heads, hidden = int(meta.get("num_heads", 0)), int(meta.get("hidden_size", 0))
        quiet = logging.getLogger("onnxruntime")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                opt = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                                     opt_level=1, use_gpu=False)
                opt.save_model_to_file(str(dst))
        finally:
            quiet.setLevel(level)
        return dst.is_file()
    except Exception:
        return False


def export_torch(model: Any, path: Path, *, num_heads: int, hidden_size: int) -> None:
    """Write `model` (a transformers encoder in eval mode) with mean pooling and L2 normalisation as an
    ONNX graph: inputs input_ids, attention_mask[, token_type_ids] (batch, sequence); output
    `embedding` (batch, hidden). Pooling matches the torch path: sum(h * mask) / max(sum(mask), 1e-9)."""
    import warnings

    import onnx
    import torch

    uses_types = "token_type_ids" in model.forward.__code__.co_varnames

    class Pooled(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            kw = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            h = self.inner(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    ids = torch.ones((2, 16), dtype=torch.long)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if uses_types else [])
    args = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if uses_types else ())
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["embedding"] = {0: "batch"}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(model), args, str(path), input_names=names, output_names=["embedding"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    graph = onnx.load(str(path))
    for k, v in (("num_heads", num_heads), ("hidden_size", hidden_size)):
        prop = graph.metadata_props.add()
        prop.key, prop.value = k, str(v)
    onnx.save(graph, str(path))
