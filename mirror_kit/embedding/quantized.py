"""An int8 ONNX Runtime graph of a sentence encoder: the checked fp32 graph (`onnx_backend`) with
dynamically quantized weights (onnxruntime.quantization.quantize_dynamic: int8 weights per output
channel, uint8 activations scaled per call), built once and cached beside the fp32 graph.

Why only part of the graph: quantizing every weight of all-MiniLM-L6-v2 does ~2.3x more texts per
CPU-second than fp32 but moves the vectors to cosine 0.971 of sentence-transformers' (min over 1,000
HappyDB texts; p1 0.985, mean 0.992), and even the weights alone (fp32 activations) reach only
0.9989. The feed-forward layers, the query/key/value projections and the token embeddings are the
sensitive part (activation outliers; SmoothQuant-style rescaling made it worse). So the build tries
node sets from the most to the least quantized (`_candidates`) and keeps the first whose vectors
stay within `MIN_COSINE` of the fp32 graph's on `CHECK_TEXTS`. For all-MiniLM-L6-v2 only the
attention output projections pass (about 8% of the encoder's weights): adding the first layer's
query/key/value and the last layer's feed-forward pair still gives 0.9994 on HappyDB but 0.998 on
near-empty texts ("", "ok"), whose vector is the mean of two or three tokens. The result is
within cosine 0.9997 of fp32 and only a few percent faster (numbers in `Embedder`'s docstring).

Cache: `cache_dir()/onnx/<fp32 key>-int8-q<QUANT_VERSION>[-rr]/` with `model.onnx` and `meta.json`
(the fp32 graph's vectors of `CHECK_TEXTS`, the quantized nodes). Every load recomputes those vectors with the cached
graph and rebuilds it when their min cosine is below `MIN_COSINE` (a damaged or stale file is never
used). `-rr` marks a reduced-range (7-bit) weight graph, used on x86 CPUs without VNNI instructions,
where 8-bit products can saturate.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import onnx_backend
from .onnx_backend import OnnxEncoder, OnnxUnavailable, padded

QUANT_VERSION = "1"  # bump when the quantization recipe changes
MIN_COSINE = 0.999  # an int8 graph must keep the fp32 vectors this closely (min over the check texts)
# More texts than the fp32 check: quantization error varies with the text, and one bad candidate
# must not pass on six lucky ones. Everyday journal sentences of varied length and topic.
CHECK_TEXTS = onnx_backend.CHECK_TEXTS + (
    "My daughter took her first steps today and we all cried a little.",
    "I finally finished the marathon I had been training for since January.",
    "Got a promotion at work after two years of hard effort.",
    "Had dinner with old friends from college; we laughed until midnight.",
    "I am anxious about the surgery next week, though the doctor sounds confident.",
    "The garden is blooming: tomatoes, basil and the roses my grandmother planted.",
    "Argued with my brother again about money. I wish we could just talk.",
    "Spent the afternoon reading in the park while it rained softly.",
    "I cooked a new recipe and it actually turned out great!",
    "Couldn't sleep. Kept thinking about whether I chose the right career.",
    "My dog was so happy to see me when I got home.",
    "We bought our first house today after months of searching.",
    "Meditation helped me notice how tense my shoulders always are.",
    "The exam went better than expected, I think I passed.",
    "Lonely weekend. Everyone seems busy with their own lives.",
    "Volunteered at the food bank and met some wonderful people.",
    "I got a letter from my pen pal in Japan.",
    "Watched the sunrise from the top of the hill with my partner.",
)


def has_vnni() -> bool:
    """True when the CPU multiplies int8 without saturating (x86 VNNI/AMX, or not x86 at all)."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    except OSError:
        pass
    return False  # unknown x86: reduced range is the safe choice


def load(fp32: OnnxEncoder, seqs: list[list[int]], pad_id: int, *, threads: int) -> OnnxEncoder:
    """The checked int8 encoder derived from the checked fp32 encoder `fp32`, built and cached on first use.

    seqs: token ids (special tokens included) of `CHECK_TEXTS`.
    Raises OnnxUnavailable when the quantizer is missing or no quantized graph keeps cosine >= MIN_COSINE.
    """
    reduce_range = not has_vnni()
    # beside the fp32 graph, named by its key, the recipe's version and the weight range
    name = f"{fp32.path.parent.name}-int8-q{QUANT_VERSION}" + ("-rr" if reduce_range else "")
    target = fp32.path.parent.with_name(name)
    enc = _checked(target, threads, seqs, pad_id)
    if enc is not None:
        return enc
    with onnx_backend._build_lock(target.with_suffix(".lock")):
        enc = _checked(target, threads, seqs, pad_id)  # another process may have built it meanwhile
        if enc is not None:
            return enc
        _build(target, fp32, seqs, pad_id, threads, reduce_range)
    enc = _checked(target, threads, seqs, pad_id)
    if enc is None:
        raise OnnxUnavailable("the quantized graph does not keep the fp32 vectors")
    return enc


def _forget(path: Path, threads: int) -> None:
    with onnx_backend._LOCK:
        onnx_backend._SESSIONS.pop((str(path), int(threads)), None)


def _checked(target: Path, threads: int, seqs: list[list[int]], pad_id: int) -> OnnxEncoder | None:
    """The cached int8 encoder when it loads and keeps its stored fp32 reference vectors, else None."""
    return onnx_backend._checked(target, threads, seqs, pad_id, min_cosine=MIN_COSINE)


def _roles(graph: Any) -> dict[str, list[str]]:
    """Quantizable nodes (those with a constant weight) by role, in graph (layer) order.

    Roles of a fused BERT graph: "embeddings" (EmbedLayerNormalization, Gather of a table), "qkv"
    (Attention), "attention-output" (MatMul after Attention), "ffn-out" (MatMul after GELU),
    "other" (the remaining MatMuls: the feed-forward input projections).
    """
    consts = {i.name for i in graph.initializer}
    producer = {out: n.op_type for n in graph.node for out in n.output}
    roles: dict[str, list[str]] = {k: [] for k in ("embeddings", "qkv", "attention-output", "ffn-out", "other")}
    for n in graph.node:
        if n.op_type == "EmbedLayerNormalization" or (n.op_type == "Gather" and n.input and n.input[0] in consts):
            roles["embeddings"].append(n.name)
        elif n.op_type == "Attention" and len(n.input) > 1 and n.input[1] in consts:
            roles["qkv"].append(n.name)
        elif n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and n.input[1] in consts:
            before = producer.get(n.input[0], "")
            if before == "Attention":
                roles["attention-output"].append(n.name)
            elif before in ("BiasGelu", "Gelu", "FastGelu", "QuickGelu"):
                roles["ffn-out"].append(n.name)
            else:
                roles["other"].append(n.name)
    return roles


def _candidates(graph: Any) -> list[list[str]]:
    """Node sets to quantize, most quantized (fastest) first; each later one leaves out more of the
    sensitive nodes (measured on all-MiniLM-L6-v2: token embeddings and feed-forward layers)."""
    r = _roles(graph)
    every = r["embeddings"] + r["qkv"] + r["attention-output"] + r["ffn-out"] + r["other"]
    ordered = [
        every,
        r["qkv"] + r["attention-output"] + r["ffn-out"] + r["other"],
        r["qkv"] + r["attention-output"],
        r["attention-output"] + r["qkv"][:1] + r["ffn-out"][-1:] + r["other"][-1:],
        r["attention-output"],
    ]
    out: list[list[str]] = []
    for names in ordered:
        if names and sorted(names) not in [sorted(o) for o in out]:
            out.append(names)
    return out


def quantize(model: Any, dst: Path, names: list[str], *, reduce_range: bool) -> None:
    """Write `model` (an onnx.ModelProto, left unchanged) to `dst` with the nodes `names` dynamically
    quantized: int8 weights per output channel (7-bit when `reduce_range`), uint8 activations."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    work = onnx.ModelProto()
    work.CopyFrom(model)  # the quantizer may edit the model it is given
    _quiet(lambda: quantize_dynamic(
        work, str(dst), per_channel=True, reduce_range=reduce_range, weight_type=QuantType.QInt8,
        nodes_to_quantize=names,
        # the fused graph's contrib ops defeat ONNX shape inference; their tensors are float
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT}))


def _build(target: Path, fp32: OnnxEncoder, seqs: list[list[int]], pad_id: int, threads: int,
           reduce_range: bool) -> None:
    """Quantize candidates of the fp32 graph until one keeps its vectors; move it into place atomically."""
    import numpy as np

    try:
        import onnx
        import onnxruntime.quantization  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailable(f"int8 needs onnx and onnxruntime's quantization tools ({exc})") from exc
    ref = np.asarray(fp32.run(*padded(seqs, pad_id)), dtype=np.float32)
    graph = onnx.load(str(fp32.path))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        tried: list[tuple[int, float]] = []
        chosen: tuple[Path, list[str], float] | None = None
        for k, names in enumerate(_candidates(graph.graph)):
            path = Path(tmp) / f"candidate{k}.onnx"
            try:
                quantize(graph, path, names, reduce_range=reduce_range)
                got = OnnxEncoder(path, threads).run(*padded(seqs, pad_id))
                cos = float(onnx_backend._cosines(got, ref).min())
            except Exception:
                cos = 0.0
            finally:
                _forget(path, threads)
            tried.append((len(names), cos))
            if cos >= MIN_COSINE:
                chosen = (path, names, cos)
                break
            path.unlink(missing_ok=True)
        if chosen is None:
            best = max(c for _, c in tried) if tried else 0.0
            raise OnnxUnavailable(f"no int8 graph keeps cosine >= {MIN_COSINE} to fp32 (best {best:.6f})")
        path, names, cos = chosen
        out = Path(tmp) / "out"
        out.mkdir()
        os.replace(path, out / "model.onnx")
        (out / "meta.json").write_text(json.dumps({
            "quant_version": QUANT_VERSION, "reduce_range": reduce_range, "quantized_nodes": names,
            "min_cosine_to_fp32": cos, "candidates_tried": tried, "reference": ref.tolist(),
        }), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(out, target)


def _quiet(fn: Callable[[], Any]) -> Any:
    """Run the quantizer without its per-node warnings and info lines."""
    import logging
    import warnings

    log = logging.getLogger()
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    finally:
        log.setLevel(level)
