"""Do pattern names point at the theme a person would name? HappyDB (CL-Aff 2019, 15 human themes).

For each pattern, its majority human theme over the single-theme rows; its name counts as right when,
of the 15 theme names, the one most similar to the name (cosine of MiniLM embeddings) is that
majority theme. Compared in the same run, on the same embeddings: our phrase names
(mirror_kit.patterns.labels), BERTopic's default topic name (c-TF-IDF words) and its KeyBERTInspired
representation. Reports the share of patterns named right and the share of reflections whose pattern
is named right.

Data: argument 1, else $MIRROR_KIT_HAPPYDB, else /work/shared/data/claff_happydb_labeled_10k.csv.
Run: python -m bench.bench_labels [CSV]
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

DEFAULT = Path("/work/shared/data/claff_happydb_labeled_10k.csv")


def _csv() -> Path:
    p = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MIRROR_KIT_HAPPYDB", DEFAULT))
    if not p.exists():
        sys.exit(f"HappyDB CSV not found at {p}: pass its path or set MIRROR_KIT_HAPPYDB")
    return p


def score_names(names: dict[int, str], labels: np.ndarray, truth: np.ndarray, single: np.ndarray,
                themes: list[str], encode) -> tuple[float, float, int]:
    """(share of patterns named right, share of single-theme rows in a pattern named right, patterns)."""
    T = encode(themes)
    ok_p, ok_rows, n_p, total = 0, 0, 0, int(single.sum())
    for c, name in names.items():
        members = (labels == c) & single
        if not members.any() or not name:
            continue
        major = Counter(truth[members]).most_common(1)[0][0]
        v = encode([name])[0]
        guess = themes[int(np.argmax(T @ v))]
        n_p += 1
        if guess == major:
            ok_p += 1
            ok_rows += int(members.sum())
    return ok_p / max(n_p, 1), ok_rows / max(total, 1), n_p


def main() -> None:
    import pandas as pd

    from mirror_kit.embedding import get_embedder
    from mirror_kit.patterns.labels import phrase_labels
    from mirror_kit.patterns.model import PatternModel

    df = pd.read_csv(_csv())
    texts = df["moment"].astype(str).tolist()
    single = (~df["concepts"].str.contains("|", regex=False)).to_numpy()
    truth = df["concepts"].astype(str).to_numpy()
    themes = sorted(set(truth[single]))
    emb = get_embedder()

    def encode(xs):
        return emb.encode(list(xs), progress=False)

    t0 = time.perf_counter()
    E = encode(texts)
    print(f"HappyDB: {len(df)} rows, {single.sum()} single-theme; embedded in {time.perf_counter() - t0:.0f} s\n")

    rows = []
    t0 = time.perf_counter()
    model = PatternModel(random_state=0).fit(E, texts=texts)
    names = phrase_labels(texts, model.labels_, model.cluster_centers_, encode)
    ours = {c: n for c, n in enumerate(names)}
    kw = {c: model.patterns_.iloc[c]["label"].replace(",", "") for c in range(model.n_patterns_)}
    secs = time.perf_counter() - t0
    rows.append(("mirror_kit phrase names", *score_names(ours, model.labels_, truth, single, themes, encode), secs))
    rows.append(("mirror_kit keyword labels (before)", *score_names(kw, model.labels_, truth, single, themes, encode),
                 secs))
    examples = [(ours[c], kw[c]) for c in range(min(8, model.n_patterns_))]

    from bertopic import BERTopic
    from bertopic.backend import BaseEmbedder
    from bertopic.representation import KeyBERTInspired
    from umap import UMAP

    class Ours(BaseEmbedder):  # the same MiniLM for BERTopic's word embeddings
        def embed(self, documents, verbose=False):
            return encode(documents)

    t0 = time.perf_counter()
    bt = BERTopic(embedding_model=Ours(), umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0,
                                                          metric="cosine", random_state=0),
                  representation_model={"KeyBERT": KeyBERTInspired()})
    topics = np.asarray(bt.fit_transform(texts, embeddings=E)[0])
    secs = time.perf_counter() - t0
    info = bt.get_topic_info().set_index("Topic")
    default = {t: " ".join(info.loc[t, "Name"].split("_")[1:]) for t in info.index if t >= 0}
    keybert = {t: " ".join(w for w, _ in bt.topic_aspects_["KeyBERT"][t][:4]) for t in info.index if t >= 0}
    rows.append(("BERTopic default name", *score_names(default, topics, truth, single, themes, encode), secs))
    rows.append(("BERTopic KeyBERTInspired", *score_names(keybert, topics, truth, single, themes, encode), secs))

    print("| names | patterns named right | reflections in a pattern named right | patterns | fit+name s |")
    print("| --- | --- | --- | --- | --- |")
    for name, p, r, n, s in rows:
        print(f"| {name} | {p:.2f} | {r:.2f} | {n} | {s:.0f} |")
    print("\nexamples (ours | keyword label before):")
    for a, b in examples:
        print(f"  {a} | {b}")


if __name__ == "__main__":
    main()
