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

The grammar (`parse`), the same on every surface; operators are written in capitals, as in FTS5 and
most search engines (a lower-case `or`/`not` is a common word):

    caf*            a word starting so (`cafe`, `cafes`, `caffeine`); the start is stemmed first,
                    as the index stores stems (`running*` finds `runner`)
    "new job"       a phrase: these words next to each other, in this order (stems compared);
                    “curly” quotes too, and a quote left open runs to the end of the query
    e-mail, don't   a word joined by punctuation is a phrase of its parts (as FTS5 reads it)
    -coffee         no reflection holding this (also `NOT coffee`, `-"new job"`, `-caf*`)
    race OR marathon  either one (OR joins the terms beside it: `cafe race OR marathon` is
                    cafe and either race or marathon)
    AND             the default between terms; written or not, it changes nothing

A query needs at least one term a reflection must hold: only exclusions (`-coffee`), no word at all
(`*`, `""`, `NOT`) are refused in one line. Common English words are left out only as lone plain
words (a phrase, a prefix, an OR alternative or an exclusion is kept as typed).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

TOKEN = _TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # a word, as unicode61 splits

# The limits of a search, the same on every surface (Python, CLI, HTTP, Explorer, report).
MAX_QUERY_CHARS = 500  # far above a typed query; a pasted page costs an embedding and an FTS scan
MAX_K = 500            # results per search; the Explorer lights up at most this many points
NO_WORD = "the search query has no word to search for: type at least one letter or digit"
ONLY_EXCLUDED = ("the search query only says what to leave out (-word, NOT word): add a word the "
                 "reflections must hold")

RULE = ("every word of the query, in the title or text (case, accents and word endings ignored; "
        "common English words left out); caf* for a word's start, \"new job\" for a phrase, "
        "-coffee or NOT coffee to leave out, race OR marathon for either")


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


# One unit of a query: leading dashes (an exclusion), then a quoted phrase (its closing quote, then
# `*` for a prefix; an open quote runs to the end) or a run of anything but blanks and quotes.
_BLANKS = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_UNIT = re.compile(r'(-*)(?:["\u201c\u201d]([^"\u201c\u201d]*)(?:["\u201c\u201d](\*?)|$)|([^'
                   + _BLANKS + r'"\u201c\u201d]+))')
_OPERATORS = ("OR", "NOT", "AND")


@dataclass(frozen=True)
class Term:
    """One thing a reflection holds or not: a word, a phrase (words next to each other, in order),
    or either of them with the last word a prefix. `words` are folded, not stemmed (SQLite and the
    browser stem them)."""

    words: tuple[str, ...]
    prefix: bool = False
    text: str = field(default="", compare=False)  # as typed, without quotes or `*` (what meaning embeds)

    def fts(self) -> str:
        """The term as an FTS5 string: quoted, so nothing typed is FTS5 syntax."""
        quoted = '"' + " ".join(self.words).replace('"', '""') + '"'
        return quoted + " *" if self.prefix else quoted

    @property
    def plain(self) -> bool:
        return len(self.words) == 1 and not self.prefix


@dataclass(frozen=True)
class Query:
    """A parsed query: `groups` must all match, each by any one of its terms (one term unless OR
    joined several); a reflection matching any term of `excluded` is left out."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = field(default=())
    wanted: str = ""  # the wanted terms as typed, common words kept: what a meaning search embeds

    def fts(self) -> str | None:
        """The FTS5 MATCH expression, or None without a group."""
        if not self.groups:
            return None
        need = " AND ".join(g[0].fts() if len(g) == 1 else "(" + " OR ".join(t.fts() for t in g) + ")"
                            for g in self.groups)
        return f"({need}) NOT ({self.excluded_fts()})" if self.excluded else need

    def excluded_fts(self) -> str | None:
        """An FTS5 expression matching what any exclusion names, or None without exclusions."""
        return " OR ".join(t.fts() for t in self.excluded) or None

    def meaning_text(self) -> str:
        """The text a meaning search embeds: the terms wanted, as typed (exclusions, operators, quotes
        and `*` out; common words kept, as a sentence encoder reads them)."""
        return self.wanted


def _term(text: str, prefix: bool) -> Term | None:
    words = tuple(_TOKEN.findall(fold(text)))
    if not words:
        return None
    return Term(words, prefix, " ".join(text.replace("*", " ").split()))


@lru_cache(maxsize=256)  # one search parses its query several times (check, count, rank, embed)
def parse(text: str) -> Query:
    """The query `text` read by the grammar of this module (see its docstring); never raises."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    negate = join = False  # a NOT / an OR waiting for its term
    last_wanted = False  # the previous term was one to hold (so OR may join it)
    for m in _UNIT.finditer(str(text or "")):
        dashes, quoted, star, bare = m.groups()
        if bare is not None and not dashes and bare in _OPERATORS:
            if bare == "NOT":
                negate, join = True, False
            elif bare == "OR":
                join = last_wanted
            else:
                join = False
            continue
        term = _term(quoted, star == "*") if quoted is not None else _term(bare, bare.endswith("*"))
        if term is None:  # punctuation or emoji alone: no term, and no operator consumed
            continue
        if dashes or negate:
            if term not in excluded:
                excluded.append(term)
            last_wanted = False
        elif join and groups:
            if term not in groups[-1]:
                groups[-1].append(term)
            last_wanted = True
        else:
            groups.append([term])
            last_wanted = True
        negate = join = False
    unique: list[tuple[Term, ...]] = []
    seen: set[tuple] = set()
    for g in groups:
        key = tuple(sorted((t.words, t.prefix) for t in g))
        if key not in seen:
            seen.add(key)
            unique.append(tuple(g))
    # a lone common word ("the") is left out when something else is wanted, as before the grammar
    stop = set(stop_words())
    kept = [g for g in unique if not (len(g) == 1 and g[0].plain and g[0].words[0] in stop)]
    wanted = " ".join(t.text for g in groups for t in g)
    return Query(tuple(kept or unique), tuple(excluded), wanted)


def query_words(text: str) -> list[str]:
    """The folded words of the terms a match must hold (each once, in order); [] when none."""
    return list(dict.fromkeys(w for g in parse(text).groups for t in g for w in t.words))


def check_query(text: object) -> str:
    """`text` if it is a query every surface accepts, else InvalidInputError with one line.

    Refused: anything that is not a string, a query of no word (empty, blanks, only punctuation or
    emoji, `*`, `""`, a lone operator: nothing a word search or a meaning search could use), one of
    only exclusions (`-coffee`: nothing to look for) and one over MAX_QUERY_CHARS characters.
    """
    from .errors import InvalidInputError

    if not isinstance(text, str):
        raise InvalidInputError(f"the search query must be text, got {type(text).__name__}")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the search query is {len(text):,} characters, over the limit of "
                                f"{MAX_QUERY_CHARS}")
    q = parse(text)
    if not q.groups:
        raise InvalidInputError(ONLY_EXCLUDED if q.excluded else NO_WORD)
    return text


def check_k(k: object) -> int:
    """`k` (how many results) if it is an integer from 1 to MAX_K, else InvalidInputError."""
    import numbers

    from .errors import InvalidInputError

    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    return int(k)


def fts_match(text: str) -> str | None:
    """The FTS5 MATCH expression of `text` by the grammar of `parse`, or None when it has no term a
    match must hold.

    Each word, phrase or prefix is a quoted string, and the operators between them are written here,
    never copied, so parentheses, colons, `NEAR` or stray quotes typed by a user are literal and can
    never be an FTS5 syntax error.
    """
    return parse(text).fts()


def browser_js() -> str:
    """The rule and grammar as JavaScript for an offline page: defines `mkSearchTerms(text)` (the
    stems of a text, as a Set), `mkSearchDoc(parts)` (a reflection's parts, e.g. title and text, as
    compared), `mkParseQuery(query)` (`.error`: the refusal line or null; `.matches(doc)`) and
    `mkQueryTerms(query)` (the stems of the wanted terms, as an Array)."""
    return ("var MK_STOP_WORDS = " + json.dumps(list(stop_words())) + ";\n"
            + "var MK_QUERY_MAX = " + json.dumps(MAX_QUERY_CHARS) + ";\n"
            + "var MK_NO_WORD = " + json.dumps(NO_WORD) + ";\n"
            + "var MK_ONLY_EXCLUDED = " + json.dumps(ONLY_EXCLUDED) + ";\n"
            # one pattern for both ports: Python's and JavaScript's `\s` differ on a few characters
            + "var MK_UNIT = " + json.dumps(_UNIT.pattern) + ";\n"
            + Path(__file__).with_name("search_words.js").read_text(encoding="utf-8"))
