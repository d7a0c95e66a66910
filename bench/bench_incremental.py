"""Incremental `analyze`: a 10k-reflection journal analysed cold, then 1 % new reflections (unseen
HappyDB rows with their real vectors) analysed again. Target: the second run costs <= 5 % of the cold one.

CPU seconds of the whole child process (library imports, ~1.5-2 s here, included) and of the `analyze`
call alone (libraries imported before it starts); peer: the merge-base code on the same journals, which refits and rescores everything each time.
A third row adds 1 % off-topic reflections (random directions): drift must be detected and refit.
"""

from __future__ import annotations

import numpy as np

from .bench_analyze_scale import ROOT, add_reflections, fresh_copy, happydb, journal, peer_checkout, run_child

N = 10_000


def _add(path, start: int, stop: int, texts, E, *, off_topic: bool = False) -> None:
    import mirror_kit

    with mirror_kit.open(path) as j:
        if off_topic:
            R = np.zeros((stop, E.shape[1]), dtype=np.float32)
            R[start:] = np.random.default_rng(5).normal(size=(stop - start, E.shape[1]))
            add_reflections(j, start, stop, [f"off-topic note {i}" for i in range(stop)], R)
        else:
            add_reflections(j, start, stop, texts, E)


def main() -> None:
    import shutil

    texts, E = happydb()
    src = journal(N, texts, E)
    peer = peer_checkout()
    new = N // 100
    print(f"{N} reflections, then {new} new (1 %); CPU s of the child process / of the analyze call\n")
    print(f"{'code':5s} {'step':22s} {'child cpu':>9s} {'analyze cpu':>11s} {'wall':>6s} {'mode':12s} reason")
    res = {}
    for who, code in (("ours", str(ROOT)), ("peer", peer)):
        path = fresh_copy(src, f"incr_{who}.db")
        cold = run_child(path, code)
        _add(path, N, N + new, texts, E)
        warm = run_child(path, code)
        res[who] = (cold, warm)
        for step, r in (("cold", cold), ("after 1 % new", warm)):
            print(f"{who:5s} {step:22s} {r['cpu']:9.2f} {r['cpu_analyze']:11.2f} {r['wall']:6.1f} "
                  f"{r['mode']:12s} {r['reason'][:70]}", flush=True)
        if who == "ours":
            _add(path, N + new, N + 2 * new, texts, E, off_topic=True)
            drift = run_child(path, code)
            print(f"{who:5s} {'after 1 % off-topic':22s} {drift['cpu']:9.2f} {drift['cpu_analyze']:11.2f} "
                  f"{drift['wall']:6.1f} {drift['mode']:12s} {drift['reason'][:70]}", flush=True)
        path.unlink()
    shutil.rmtree(peer, ignore_errors=True)
    (oc, ow), (pc, pw) = res["ours"], res["peer"]
    print(f"\nours: after 1 % new / cold = {ow['cpu_analyze'] / oc['cpu_analyze']:.1%} of the analyze call's CPU, "
          f"{ow['cpu'] / oc['cpu']:.1%} of the whole process (target <= 5 %)")
    print(f"peer: {pw['cpu_analyze'] / pc['cpu_analyze']:.1%} of the analyze call's CPU; "
          f"ours / peer on the second run: {ow['cpu_analyze'] / pw['cpu_analyze']:.3f}")


if __name__ == "__main__":
    main()
