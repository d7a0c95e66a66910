"""General-English lexicons of the seed tensions' poles: a count feature added to a calibration with words.

Some poles are mostly a matter of which kinds of words a reflection uses at all: connection is
people (kin and people nouns, first-person plural and third-person pronouns, social verbs such as
met/visited/called), agency is acting and deciding verbs. The feature of a text is the number of
pole-b entries among its terms minus the number of pole-a entries (each entry counted once, however
often it occurs), so a person word counts whatever the length of the reflection, unlike the
length-normalised words view. Its weight in the calibrated logit is picked by cross-validation over
the labels from `WEIGHT_GRID` (0 keeps it out). The lists were written from general English in the
spirit of LIWC's social and achievement categories (Pennebaker et al. 2015), not from any corpus:
nothing in them is specific to one journal.

An entry is a term as the words view sees it (`words.terms`: one or two lowercase words of two
letters or more), so "by myself" matches "I went by myself." and "I" never counts. Scoring needs the
standard library only; the entries and weight are stored in the calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .words import terms

WEIGHT_GRID = (0.0, 0.1, 0.2, 0.4, 0.8)  # logit units per entry; the calibrated axis's logits spread ~2-3

LEXICONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "solitude_connection": (
        ("alone", "by myself", "myself", "just me", "me time", "solitude", "quiet time",
         "for myself", "to myself", "my own", "no one", "nobody", "independently", "in peace"),
        ("we", "us", "our", "together", "friend", "friends", "my friend", "my friends", "family", "my family",
         "wife", "my wife", "husband", "my husband", "boyfriend", "girlfriend", "partner", "my partner",
         "son", "my son", "daughter", "my daughter", "kids", "my kids", "children", "baby", "mom", "my mom",
         "mother", "dad", "my dad", "father", "parents", "brother", "sister", "cousin", "grandma", "grandpa",
         "grandmother", "grandfather", "aunt", "uncle", "nephew", "niece", "fiance", "coworker",
         "colleague", "colleagues", "neighbor", "neighbour", "roommate", "boss", "team", "classmates",
         "people", "everyone", "someone", "he", "she", "they", "him", "her", "them", "his", "their",
         "met", "visited", "talked", "talked to", "called", "called me", "hugged", "celebrated", "party",
         "dinner with", "lunch with", "hang out", "hung out", "with my", "with friends",
         "reunion", "wedding", "birthday", "date", "chatted", "texted", "played with", "surprised me",
         "gave me", "told me", "came over", "got together", "invited", "married", "kissed", "laughed with"),
    ),
    "surrender_agency": (
        ("happened", "luck", "lucky", "got lucky", "surprised me", "gave me", "was given",
         "received", "someone", "the weather", "it rained", "sunny", "finally arrived",
         "unexpected", "let go", "accepted", "was told", "was invited",
         "they", "he", "she", "called me", "told me", "sent me", "bought me", "took me"),
        ("decided", "chose", "managed to", "achieved", "finished", "completed", "made", "built", "won",
         "earned", "passed", "fixed", "started", "learned", "planned", "worked hard", "did it", "my goal",
         "goal", "accomplished"),
    ),
}


def lexicon_for(tension_id: str) -> tuple[list[str], list[str]] | None:
    """(pole a entries, pole b entries) of a seed tension, or None when it has no lexicon."""
    lex = LEXICONS.get(tension_id)
    return (list(lex[0]), list(lex[1])) if lex else None


def lexicon_counts(texts: Sequence[str], a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """(n,) float64: per text, the number of `b` entries among its terms minus the number of `a` entries."""
    sa, sb = set(a), set(b)
    out = np.zeros(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        ts = set(terms(str(text)))
        out[i] = len(ts & sb) - len(ts & sa)
    return out


def check_lexicon(d: Any) -> None:
    """Raise InvalidInputError unless `d` is a usable `lexicon` entry of a calibration."""
    ok = (isinstance(d, dict) and isinstance(d.get("a"), list) and isinstance(d.get("b"), list)
          and all(isinstance(t, str) for t in d["a"] + d["b"])
          and isinstance(d.get("weight"), (int, float)) and not isinstance(d.get("weight"), bool)
          and np.isfinite(d["weight"]))
    if not ok:
        raise InvalidInputError("lexicon of a calibration is damaged")
