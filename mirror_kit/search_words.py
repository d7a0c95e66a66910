"""The one rule for searching reflections by words, used by `journal.search` (its text part), the
Explorer's search box, the HTTP API (`/api/search`, `/api/reflections?q=`) and the report's offline
search box.

A reflection matches a query when its title or text holds EVERY word of the query (SQLite FTS5's
implicit AND, as search engines do). Words are compared as the full-text index reads them: case and
accents ignored (`Café` = `cafe`), split at anything that is not a letter or digit (`don't` is `don`
and `t`), and reduced to their Porter stem (`training`, `trained`, `trains` are `train`). Common
English words (`the`, `and`, `of`: scikit-learn's English stop-word list) are left out of a query
that has other words, since nearly every reflection holds them.

The report runs the same rule in the browser: `browser_js()` is its JavaScript (the same word
splitting and a line-by-line port of SQLite's Porter stemmer, `fts5_tokenize.c`), tested against
SQLite's own stems.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

# The limits of a search, the same on every surface (Python, CLI, HTTP, Explorer, report).
MAX_QUERY_CHARS = 500  # far above a typed query; a pasted page costs an embedding and an FTS scan
MAX_K = 500            # results per search; the Explorer lights up at most this many points
NO_WORD = "the search query has no word to search for: type at least one letter or digit"

RULE = ("every word of the query, in the title or text (case, accents and word endings ignored; "
        "common English words left out)")


@lru_cache(maxsize=1)
def stop_words() -> tuple[str, ...]:
    """The English words left out of a query that has others (sorted)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return tuple(sorted(ENGLISH_STOP_WORDS))


def fold(text: str) -> str:
    """Lower case, accents dropped from Latin letters only (`Café` -> `cafe`, `ёлка` stays): what
    SQLite's unicode61 tokenizer (remove_diacritics 2) and the report's browser code do."""
    text = str(text or "")
    if text.isascii():  # nearly every text: nothing to drop
        return text.lower()
    out: list[str] = []
    latin = False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if latin:
                continue
        else:
            latin = ch.isascii() and ch.isalpha() or _latin(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).lower()


@lru_cache(maxsize=4096)
def _latin(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


def query_words(text: str) -> list[str]:
    """The words of a query that must all match (folded, each once, in order); [] when none."""
    words = list(dict.fromkeys(_TOKEN.findall(fold(text))))
    stop = set(stop_words())
    return [w for w in words if w not in stop] or words


def check_query(text: object) -> str:
    """`text` if it is a query every surface accepts, else InvalidInputError with one line.

    Refused: anything that is not a string, a query of no word (empty, blanks, only punctuation or
    emoji: nothing a word search or a meaning search could use) and one over MAX_QUERY_CHARS characters.
    """
    from .errors import InvalidInputError

    if not isinstance(text, str):
        raise InvalidInputError(f"the search query must be text, got {type(text).__name__}")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the search query is {len(text):,} characters, over the limit of "
                                f"{MAX_QUERY_CHARS}")
    if not query_words(text):
        raise InvalidInputError(NO_WORD)
    return text


def check_k(k: object) -> int:
    """`k` (how many results) if it is an integer from 1 to MAX_K, else InvalidInputError."""
    import numbers

    from .errors import InvalidInputError

    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    return int(k)


def fts_match(text: str) -> str | None:
    """An FTS5 MATCH expression requiring every word of `text`, or None when it has no word.

    Each word is a quoted string, so operators, quotes, colons or parentheses typed by a user are
    literal and can never be an FTS5 syntax error.
    """
    words = query_words(text)
    if not words:
        return None
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


def browser_js() -> str:
    """The rule as JavaScript for an offline page: defines `mkSearchTerms(text)` (the stems of a
    text, as a Set) and `mkQueryTerms(query)` (the stems every match must hold, as an Array)."""
    return ("var MK_STOP_WORDS = " + json.dumps(list(stop_words())) + ";\n"
            + "var MK_QUERY_MAX = " + json.dumps(MAX_QUERY_CHARS) + ";\n"
            + "var MK_NO_WORD = " + json.dumps(NO_WORD) + ";\n"
            + Path(__file__).with_name("search_words.js").read_text(encoding="utf-8"))
