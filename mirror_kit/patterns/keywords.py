"""Pattern keywords and labels: class-based TF-IDF over 1-2-gram phrases, English stop words removed."""

from __future__ import annotations

import re

import numpy as np

# Words that are everywhere in journals and say nothing about a theme.
JOURNAL_STOP = {
    "today", "yesterday", "day", "got", "get", "really", "just", "happy", "feel", "felt", "feeling", "went",
    "time", "made", "make", "able", "good", "great", "nice", "lot", "things", "thing", "did", "week",
    "going", "came", "like", "ve", "ll", "don", "didn", "finally", "little", "bit", "im", "wa", "isn", "wasn",
    "doesn", "couldn", "wouldn", "haven", "re",
}


def _stop_words() -> set[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return set(ENGLISH_STOP_WORDS) | JOURNAL_STOP


def class_keywords(texts: list[str], labels, n_classes: int, *, top_n: int = 8) -> list[list[tuple[str, float]]]:
    """Top (phrase, score) per class by c-TF-IDF: term frequency in the class x log(1 + avg / frequency overall).

    Bigrams are kept only when they beat their own words, so labels read "new job" rather than "new".
    """
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    docs = ["" if t is None else str(t) for t in texts]
    out: list[list[tuple[str, float]]] = [[] for _ in range(n_classes)]
    if n_classes == 0 or not any(d.strip() for d in docs):
        return out
    stop = _stop_words()
    vec = CountVectorizer(
        ngram_range=(1, 2), stop_words=sorted(stop), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
        min_df=1 if len(docs) < 200 else 2, lowercase=True,
    )
    try:
        X = vec.fit_transform(docs)
    except ValueError:  # only stop words
        return out
    vocab = vec.get_feature_names_out()
    # Presence per document (a word repeated in one entry should not dominate a theme).
    X.data = np.ones_like(X.data)
    rows = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        rows.append(np.asarray(X[idx].sum(0)).ravel() if len(idx) else np.zeros(len(vocab)))
    tf = np.vstack(rows).astype(float)
    total = tf.sum(0)
    avg = tf.sum() / max(n_classes, 1)
    tfn = tf / np.maximum(tf.sum(1, keepdims=True), 1)
    idf = np.log(1 + avg / np.maximum(total, 1))
    scores = tfn * idf
    is_bigram = np.array([" " in v for v in vocab])
    for c in range(n_classes):
        sizes = max(int((labels == c).sum()), 1)
        # a phrase must appear in >= 2 members (or 5%) to describe a theme
        support = tf[c] >= max(2, 0.02 * sizes) if sizes >= 4 else tf[c] >= 1
        # a phrase must repeat to be a phrase of the theme (else it is one entry's wording)
        support &= ~is_bigram | (tf[c] >= 2)
        cand = np.flatnonzero(support & (scores[c] > 0))
        if len(cand) < 3:  # tiny or very diverse cluster: any word of its members will do
            cand = np.flatnonzero((tf[c] >= 1) & ~is_bigram & (scores[c] > 0))
        cand = cand[np.lexsort((vocab[cand], -scores[c][cand]))]
        chosen: list[tuple[str, float]] = []
        for j in cand:
            term = str(vocab[j])
            if is_bigram[j]:
                # drop the bigram's words already chosen (the phrase is the better label)
                parts = term.split()
                chosen = [(w, s) for w, s in chosen if w not in parts]
            elif any(term in w.split() for w, _ in chosen if " " in w):
                continue
            chosen.append((term, round(float(scores[c][j]), 5)))
            if len(chosen) >= top_n:
                break
        out[c] = chosen
    return out


def make_label(keywords: list[tuple[str, float]] | list[str], n: int = 3) -> str:
    """A short human-readable label: the top keywords joined, without repeated words."""
    words: list[str] = []
    seen: set[str] = set()
    for kw in keywords:
        term = kw[0] if isinstance(kw, tuple) else kw
        toks = re.findall(r"[\w']+", term)
        if any(t in seen for t in toks):
            continue
        seen.update(toks)
        words.append(term)
        if len(words) >= n:
            break
    return ", ".join(words) if words else "misc"
