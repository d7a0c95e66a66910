"""Mirrorback benchmarks, each against a peer measured in the same run.

1. Validator: the rule-based checks vs the model-based embedding-similarity check (MiniLM), per reply,
   over the labelled set in tests/fixtures.
2. Engine: a whole `journal.mirrorbacks.generate()` (context, generate, validate, store, run record) vs the bare
   chat-completions round trip it wraps, against the loopback test server (so the model costs ~0 and
   what remains is mirror_kit's own overhead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _labelled() -> tuple[list[str], list[str]]:
    data = yaml.safe_load((ROOT / "tests" / "fixtures" / "mirrorbacks_labelled.yaml").read_text(encoding="utf-8"))
    return [data["reflections"][it["reflection"]] for it in data["items"]], [it["mirrorback"] for it in data["items"]]


def _per_item(fn, n_items: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / n_items * 1000


def bench_validator() -> list[tuple]:
    from mirror_kit.embedding import get_embedder
    from mirror_kit.mirrorback.validator import Constitution, validate

    refl, mbs = _labelled()
    const = Constitution.load()
    pairs = list(zip(refl, mbs, strict=True))
    rules = _per_item(lambda: [validate(r, m, constitution=const) for r, m in pairs], len(pairs), 5)
    emb = get_embedder()
    emb.encode(["warm up"])
    embedding = _per_item(lambda: [validate(r, m, constitution=const, embedder=emb) for r, m in pairs],
                          len(pairs), 2)
    return [("validate: rule-based checks", rules, None),
            ("peer: + embedding similarity (MiniLM)", embedding, embedding / rules)]


def bench_engine(n: int = 30) -> list[tuple]:
    import mirror_kit
    from mirror_kit.mirrorback.llm import OpenAICompatibleLLM

    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "llm_server.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = json.loads(proc.stdout.readline())["port"]
        llm = OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1", "bench", timeout=10)
        refl, _ = _labelled()
        with tempfile.TemporaryDirectory() as d:
            j = mirror_kit.open(os.path.join(d, "bench.db"))
            j.identities.add("bench")
            ids = j.reflections.add_many("bench", [
                {"content": refl[i % len(refl)], "created_at": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"}
                for i in range(n)])
            from mirror_kit.mirrorback.engine import MirrorbackEngine

            eng = MirrorbackEngine(j, llm)
            prompts = [eng.messages(j.reflections.get(r), eng.context(j.reflections.get(r))) for r in ids]
            t0 = time.perf_counter()
            for p in prompts:
                llm.complete(p)
            raw = (time.perf_counter() - t0) / n * 1000
            t0 = time.perf_counter()
            for r in ids:
                j.mirrorbacks.generate(r, llm=llm)
            whole = (time.perf_counter() - t0) / n * 1000
            j.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return [("peer: bare chat-completions round trip", raw, None),
            ("journal.mirrorbacks.generate() end to end", whole, whole / raw)]


def main() -> None:
    rows = bench_validator() + bench_engine()
    print(f"{'what':44s} {'ms per reply':>13s} {'ratio':>8s}")
    for name, ms, ratio in rows:
        print(f"{name:44s} {ms:13.3f} {'' if ratio is None else f'{ratio:7.1f}x':>8s}")
    print("\nratio: vs the row above it (the peer of the same group).")


if __name__ == "__main__":
    main()
