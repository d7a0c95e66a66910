"""Embedding throughput in texts per CPU-second: ours (ONNX Runtime backend, fp32 and int8) vs a plain
ONNX Runtime session on the same model, our torch path (fp32 and bf16) and sentence-transformers; plus
the wall time of a CLI `embed` call that embeds 40 new reflections. `ours-int8-all` is the graph with
every weight quantized, which the int8 build refuses (cosine ~0.98): the speed the cosine rule costs.

Run: .venv/bin/python -m bench embed      (BENCH_EMBED_N texts per run, default 1000; BENCH_ROUNDS, default 2;
BENCH_EMBED_ONLY=ours-onnx,ours-int8,sentence-transformers runs only those, e.g. in a short idle window)

Every contender runs as its own process, in rotating order over several rounds, so load on a shared
machine hits them alike; CPU-seconds (getrusage of the encode call) are what to compare, wall is shown
only for the CLI call.

GFLOP/CPU-s is texts/CPU-s times the encoder's arithmetic per text (unpadded tokens, from the model's
config), printed beside one core's measured matrix-multiply ceiling in fp32 and bf16. It shows how
close each contender runs to the hardware: at idle sentence-transformers reaches about 100 of the
~160 fp32 GFLOP/CPU-s, so no fp32 encoder of this model can do 3x its texts per CPU-second; only a
narrower number format (bf16 on AMX, int8) can.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "happydb" / "claff_happydb_labeled_10k.csv"

# One contender per process: argv = name, n texts, output .npy; prints {"cpu": s, "wall": s}.
_WORKER = r'''
import json, os, resource, sys, time
import numpy as np, pandas as pd
name, n, out, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
plain = os.path.join(tmp, "plain.onnx")
texts = pd.read_csv(os.environ["BENCH_CSV"])["moment"].astype(str).tolist()[:n]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if name == "ours-onnx":
    from mirror_kit.embedding import Embedder
    e = Embedder(backend="onnx"); fn = lambda b: e.encode(b, progress=False)
elif name in ("ours-int8", "ours-int8-all"):
    from mirror_kit.embedding import Embedder
    from mirror_kit.embedding.onnx_backend import OnnxEncoder
    e = Embedder(precision="int8"); fn = lambda b: e.encode(b, progress=False)
    if name == "ours-int8-all":
        e._onnx = OnnxEncoder(__import__("pathlib").Path(tmp) / "int8_all.onnx", e._threads())
elif name.startswith("ours-torch-"):
    from mirror_kit.embedding import Embedder
    e = Embedder(backend="torch", precision=name.rsplit("-", 1)[1]); fn = lambda b: e.encode(b, progress=False)
elif name == "sentence-transformers":
    from sentence_transformers import SentenceTransformer
    from mirror_kit.embedding.model import default_model_dir
    st = SentenceTransformer(str(default_model_dir()), device="cpu")
    fn = lambda b: st.encode(b, normalize_embeddings=True, batch_size=32)
elif name == "onnxruntime-plain":
    # What a user of onnxruntime would write: default session, batches of 32 in the given order padded
    # to the longest, truncated to the window, mean pooling and L2 norm in numpy.
    import onnxruntime as ort
    from tokenizers import Tokenizer
    from mirror_kit.embedding.model import default_model_dir
    tok = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    tok.enable_truncation(256); tok.enable_padding()
    sess = ort.InferenceSession(plain, providers=["CPUExecutionProvider"])
    def fn(b):
        res = []
        for i in range(0, len(b), 32):
            enc = tok.encode_batch(b[i:i + 32])
            ids = np.asarray([x.ids for x in enc], dtype=np.int64)
            mask = np.asarray([x.attention_mask for x in enc], dtype=np.int64)
            h = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            m = mask[..., None].astype(np.float32)
            v = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            res.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return np.concatenate(res)
fn(texts[:32])  # warm-up: kernels picked, arenas allocated
c, t = cpu(), time.perf_counter()
v = np.asarray(fn(texts), dtype=np.float32)
print(json.dumps({"cpu": cpu() - c, "wall": time.perf_counter() - t}))
np.save(out, v)
'''

CONTENDERS = ["ours-onnx", "ours-int8", "ours-int8-all", "onnxruntime-plain", "ours-torch-fp32", "ours-torch-bf16",
              "sentence-transformers"]


def _plain_export(path: Path) -> None:
    """The model's last_hidden_state as a plain ONNX graph (transformers' default attention, no fusion)."""
    import torch
    from transformers import AutoModel

    from mirror_kit.embedding.model import default_model_dir

    inner = AutoModel.from_pretrained(str(default_model_dir())).eval()

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    m = Hidden()
    ids = torch.ones((2, 16), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(path), input_names=names,
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={k: {0: "batch", 1: "sequence"} for k in [*names, "last_hidden_state"]})


# The fp32 and bf16 matrix-multiply rate of one core on the encoder's feed-forward shape (a batch of
# 32 texts of 17 tokens): the ceiling any fp32 encoder of the same model can reach per CPU-second.
_CEILING = r'''
import json, resource, torch
torch.set_num_threads(1)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
out = {}
for dt in (torch.float32, torch.bfloat16):
    a, b = torch.rand(544, 384).to(dt), torch.rand(384, 1536).to(dt)
    a @ b
    c = cpu()
    for _ in range(200):
        a @ b
    out[str(dt).split(".")[1]] = 200 * 2 * 544 * 384 * 1536 / (cpu() - c) / 1e9
print(json.dumps(out))
'''


def _flops_per_text(texts: list[str]) -> float:
    """Mean GFLOP the encoder spends per text without padding: 2 x multiply-adds of the dense layers per
    token plus attention's two (L x L x hidden) products, from the model's config and its tokenizer."""
    import numpy as np
    from tokenizers import Tokenizer

    from mirror_kit.embedding.model import default_model_dir

    cfg = json.loads((default_model_dir() / "config.json").read_text())
    d, ff, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    tok = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    lengths = np.asarray([len(e.ids) for e in tok.encode_batch(texts)], dtype=np.float64)
    dense = layers * (4 * d * d + 2 * d * ff) * 2 * lengths
    attention = layers * 2 * 2 * d * lengths**2
    return float((dense + attention).mean() / 1e9)


def throughput(n: int, rounds: int, tmp: Path) -> None:
    import numpy as np
    import onnxruntime
    import sentence_transformers
    import torch

    plain = tmp / "plain.onnx"
    _plain_export(plain)
    env = dict(os.environ, BENCH_CSV=str(CSV), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    # build our cached graph outside the timed runs
    subprocess.run([sys.executable, "-c", "from mirror_kit.embedding import Embedder; Embedder(backend='onnx'); "
                    "Embedder(precision='int8')"], env=env, check=True)
    from bench.bench_int8 import int8_all_embedder

    int8_all_embedder(tmp)  # writes tmp/int8_all.onnx
    only = [c for c in os.environ.get("BENCH_EMBED_ONLY", "").split(",") if c]
    contenders = [c for c in CONTENDERS if not only or c in only or c == "sentence-transformers"]
    cpu = {c: [] for c in contenders}
    loads = []
    for r in range(rounds):
        order = contenders[r % len(contenders):] + contenders[: r % len(contenders)]
        for name in order:
            loads.append(os.getloadavg()[0])
            out = subprocess.run([sys.executable, "-c", _WORKER, name, str(n), str(tmp / f"{name}.npy"), str(tmp)],
                                 env=env, capture_output=True, text=True, check=True)
            cpu[name].append(json.loads(out.stdout.strip().splitlines()[-1])["cpu"])
    ref = np.load(tmp / "sentence-transformers.npy")
    from mirror_kit.embedding import Embedder

    fits = np.asarray([len(Embedder(backend="onnx").windows(t)) == 1 for t in _texts()[:n]])
    print(f"{n} HappyDB texts per run, {rounds} rounds in rotating order, one process per run; "
          f"load average during runs {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs; "
          f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, "
          f"sentence-transformers {sentence_transformers.__version__}\n"
          f"cosine to sentence-transformers over the {int(fits.sum())} texts that fit one window\n")
    rate = {c: n * len(v) / sum(v) for c, v in cpu.items()}
    plain = rate.get("onnxruntime-plain", float("nan"))
    gflop = _flops_per_text(_texts()[:n])
    ceiling = json.loads(subprocess.run([sys.executable, "-c", _CEILING], env=env, capture_output=True, text=True,
                                        check=True).stdout.strip().splitlines()[-1])
    print(f"{gflop:.3f} GFLOP per text (unpadded); one core's matrix-multiply ceiling on the feed-forward shape: "
          f"fp32 {ceiling['float32']:.0f}, bf16 {ceiling['bfloat16']:.0f} GFLOP/CPU-s; 3x sentence-transformers "
          f"would need {3 * rate['sentence-transformers'] * gflop:.0f} GFLOP/CPU-s\n")
    print(f"{'contender':<24} {'texts/CPU-s':>12} {'min..max':>14} {'GFLOP/CPU-s':>12} {'vs ORT plain':>13} "
          f"{'vs ST':>7} {'min cos':>9} {'p1 cos':>9} {'mean cos':>9}")
    for c in contenders:
        v = np.load(tmp / f"{c}.npy")
        cos = (v * ref).sum(1)[fits]
        spread = f"{n / max(cpu[c]):.0f}..{n / min(cpu[c]):.0f}"
        vs_plain = f"{rate[c] / plain:>12.2f}x" if plain == plain else f"{'-':>13}"  # NaN: not run
        print(f"{c:<24} {rate[c]:>12.0f} {spread:>14} {rate[c] * gflop:>12.0f} {vs_plain} "
              f"{rate[c] / rate['sentence-transformers']:>6.2f}x {cos.min():>9.6f} {np.percentile(cos, 1):>9.6f} "
              f"{cos.mean():>9.6f}")


def cli_40(tmp: Path) -> None:
    """Wall time of `mirror-kit embed` when 40 reflections are new (the model graph already cached)."""
    import mirror_kit

    db = tmp / "cli.db"
    texts = _texts()
    with mirror_kit.open(db) as j:
        j.identities.add("bench")
        j.reflections.add_many("bench", [{"content": t, "created_at": "2020-01-01T00:00:00Z", "source": "bench",
                                          "source_id": str(i)} for i, t in enumerate(texts[:40])])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "from mirror_kit.cli import run; run()", "--db", str(db), "embed", "--json"],
                         env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    print(f"\nCLI embed of 40 new reflections: {wall:.2f} s wall (exit {out.returncode}), "
          f"load average {os.getloadavg()[0]:.1f}; target < 2 s on an idle machine")
    if out.returncode:
        print(out.stderr[-500:])


def _texts() -> list[str]:
    import pandas as pd

    return pd.read_csv(CSV)["moment"].astype(str).tolist()


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as d:
        throughput(int(os.environ.get("BENCH_EMBED_N", "1000")), int(os.environ.get("BENCH_ROUNDS", "2")), Path(d))
        cli_40(Path(d))


if __name__ == "__main__":
    main()
