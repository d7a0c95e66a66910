"""Pattern names a person would give: a short noun phrase taken from the pattern's own reflections.

Candidates are the 1-3 word phrases of the members that do not begin or end with a function word and
end on a noun-like word (a small heuristic, no tagger: no "-ly" adverbs, no past-tense "-ed" verbs).
Each candidate is scored by class-based TF-IDF (how typical it is of this pattern against the others,
as in BERTopic's c-TF-IDF, Grootendorst 2022) and by the cosine similarity of its sentence embedding to
the pattern's centroid (as in KeyBERT); the best one is picked, and a second, different phrase is
joined with "and" by maximal marginal relevance (Carbonell and Goldstein 1998) when the name stays
within five words: "Half marathon and training plan".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .keywords import JOURNAL_STOP, _stop_words

# Words that may sit inside a phrase ("walks in the park") but never start or end one.
_CONNECTORS = {"of", "at", "in", "with", "for", "on"}
# Adjectives that open a good phrase ("new job", "long run", "half marathon") but name nothing alone.
_WEAK_ALONE = {"new", "old", "big", "small", "long", "short", "first", "last", "second", "half", "whole", "better",
               "best", "early", "late"}
# Frequent diary words that are not what a theme is about (added to the keyword stop list).
_NOT_A_TOPIC = JOURNAL_STOP | {
    "honestly", "right", "anyway", "okay", "ok", "maybe", "probably", "pretty", "kind", "sort", "way", "stuff",
    "morning", "evening", "afternoon", "night", "tonight", "weekend", "today", "lately", "days", "hours",
    "minutes", "year", "month", "years", "months", "weeks", "said", "says", "told", "know", "think", "thought",
    "want", "wanted", "need", "needed", "tried", "try", "let", "enjoyed", "love", "loved", "happy",
    "glad", "excited", "proud", "note", "side", "point", "worth", "looking", "back", "taking",
    "took", "having", "doing", "getting", "start", "started", "spent", "walked", "bought", "called",
    # irregular past tenses (the "-ed" rule misses them): verbs, not topics
    "woke", "caught", "slept", "ate", "ran", "came", "saw", "met", "had", "wrote", "brought", "found", "left",
    "kept", "sat", "stood", "gave", "drank", "fell", "drove", "rode", "swam", "won", "lost", "paid", "sent",
    "built", "began", "forgot", "heard", "held", "knew", "meant", "put", "read", "set", "sold", "taught",
    "understood", "wore", "hung", "dug", "threw", "chose", "spoke", "broke",
}
_MAX_CANDIDATES = 40
_MAX_WORDS = 5


def _noun_like_end(word: str) -> bool:
    return not (word.endswith("ly") or (word.endswith("ed") and len(word) > 4))


def _is_candidate(phrase: str, stop: set[str]) -> bool:
    toks = phrase.split()
    first, last = toks[0], toks[-1]
    if first in stop or last in stop or first in _NOT_A_TOPIC or last in _NOT_A_TOPIC or last in _WEAK_ALONE:
        return False
    if first.endswith("ly") or not _noun_like_end(last) or not _noun_like_end(first):
        return False
    if len(toks) == 1 and len(first) < 3:  # "km", "er": too cryptic to name a theme alone
        return False
    # a three-word phrase reads as a name only around a connector ("gnocchi with sage"); three content
    # words in a row are mostly a fragment of a sentence ("funeral telling stories")
    return all(t in _CONNECTORS for t in toks[1:-1]) and len(set(toks)) == len(toks)


def candidate_scores(texts: Sequence[str], labels: Any, n_classes: int) -> list[list[tuple[str, float]]]:
    """Per class, up to 40 (phrase, c-TF-IDF score) candidates, best first.

    texts (n,), labels (n,) ints (-1 rows are counted in the background only). A phrase must appear
    in at least two members (or 5 % of a large class).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    docs = ["" if t is None else str(t) for t in texts]
    out: list[list[tuple[str, float]]] = [[] for _ in range(n_classes)]
    if n_classes == 0 or not any(d.strip() for d in docs):
        return out
    stop = _stop_words()
    vec = CountVectorizer(ngram_range=(1, 3), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", lowercase=True,
                          binary=True, min_df=1 if len(docs) < 200 else 2)
    try:
        X = vec.fit_transform(docs).tocsc()
    except ValueError:
        return out
    vocab = vec.get_feature_names_out()
    keep = np.array([_is_candidate(v, stop) for v in vocab])
    if not keep.any():
        return out
    X = X[:, np.flatnonzero(keep)].tocsr()
    vocab = vocab[keep]
    onehot = np.zeros((n_classes, len(labels)))
    valid = labels >= 0
    onehot[labels[valid], np.flatnonzero(valid)] = 1.0
    tf = np.asarray((X.T @ onehot.T).T)  # (classes, phrases): members containing the phrase
    total = np.asarray(X.sum(0)).ravel()  # every reflection, unassigned ones too
    avg = max(tf.sum() / max(n_classes, 1), 1.0)
    idf = np.log(1 + avg / np.maximum(total, 1))
    sizes = np.bincount(labels[valid], minlength=n_classes)
    for c in range(n_classes):
        need = max(2, int(np.ceil(0.05 * sizes[c]))) if sizes[c] >= 4 else 1
        cand = np.flatnonzero(tf[c] >= need)
        if not len(cand):
            continue
        score = tf[c][cand] / max(sizes[c], 1) * idf[cand]
        order = np.lexsort((vocab[cand], -score))[:_MAX_CANDIDATES]
        out[c] = [(str(vocab[cand[i]]), float(score[i])) for i in order]
    return out


def phrase_labels(
    texts: Sequence[str],
    labels: Any,
    centers: Any,
    encode: Callable[[list[str]], Any],
    *,
    diversity: float = 0.5,
) -> list[str | None]:
    """One name per class (None when no phrase qualifies), distinct across classes.

    centers (k, d): unit centroids in the space of `encode` (texts -> (n, d) unit rows).
    diversity: MMR weight against similarity to the phrase already chosen (0: relevance only).
    """
    centers = np.asarray(centers, dtype=np.float64)
    k = len(centers)
    cands = candidate_scores(texts, labels, k)
    phrases = sorted({p for cs in cands for p, _ in cs})
    if not phrases:
        return [None] * k
    P = np.asarray(encode(phrases), dtype=np.float64)
    P /= np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-12)
    row = {p: i for i, p in enumerate(phrases)}
    names: list[str | None] = []
    used: set[str] = set()
    # largest patterns pick first, so a shared phrase goes to the pattern it describes best
    for c in range(k):
        if not cands[c]:
            names.append(None)
            continue
        words = [p for p, _ in cands[c]]
        ctf = np.array([s for _, s in cands[c]])
        V = P[[row[p] for p in words]]
        sim = V @ centers[c]
        rel = 0.5 * _unit(ctf) + 0.5 * _unit(sim)
        # a two- or three-word phrase says more than a single word of similar standing
        rel = rel + 0.15 * np.array([min(len(p.split()), 3) - 1 for p in words])
        order = [i for i in np.lexsort((np.array(words), -rel)) if _title(words[i]) not in used]
        if not order:
            names.append(None)
            continue
        first = order[0]
        name = words[first]
        rest = [i for i in order[1:] if not set(words[i].split()) & set(name.split())
                and len(words[i].split()) + len(name.split()) + 1 <= _MAX_WORDS]
        if rest and " " not in name:  # a single word gets a companion phrase: "Oma and grief"
            mmr = [(1 - diversity) * rel[i] - diversity * float(V[i] @ V[first]) for i in rest]
            second = rest[int(np.argmax(mmr))]
            # join only a phrase that still describes the pattern well (top half of its candidates)
            if rel[second] >= np.median(rel):
                name = f"{name} and {words[second]}"
        label = _title(name)
        used.add(_title(words[first]))
        names.append(label)
    return names


def _unit(x: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.zeros_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def _title(phrase: str) -> str:
    phrase = re.sub(r"\s+", " ", phrase).strip()
    return phrase[:1].upper() + phrase[1:]
