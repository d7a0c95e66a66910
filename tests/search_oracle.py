"""The word-search rule computed independently of mirror_kit's code, from SQLite's own tokenizer: the
reflections whose title or text holds the Porter stem of every query word (stop words left out of a
query that has other words). Used by the search agreement tests of the API, HTTP, Explorer and report."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

TOKENIZE = "porter unicode61 remove_diacritics 2"


def sqlite_stems(words: list[str]) -> dict[str, str]:
    """{word: its stem as SQLite's FTS5 porter tokenizer writes it}."""
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE VIRTUAL TABLE f USING fts5(c, tokenize='{TOKENIZE}')")
    con.executemany("INSERT INTO f(rowid, c) VALUES (?, ?)", list(enumerate(words, 1)))
    con.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
    out = {words[doc - 1]: term for term, doc in con.execute("SELECT term, doc FROM v")}
    con.close()
    return out


def query_stems(query: str) -> set[str]:
    # SQLite folds case and accents itself; the stop-word list is compared in lower case
    words = list(dict.fromkeys(re.findall(r"[^\W_]+", unicodedata.normalize("NFC", query).lower())))
    words = [w for w in words if w not in ENGLISH_STOP_WORDS] or words
    return set(sqlite_stems(words).values())


def matching_ids(db: Path, query: str, identity_id: str | None = None) -> set[str]:
    """Ids of the reflections holding every word of `query` (read from the journal's FTS5 index terms)."""
    need = query_stems(query)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        con.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, reflections_fts, instance)")
        have: dict[int, set[str]] = {}
        for term, doc in con.execute("SELECT term, doc FROM temp.terms"):
            have.setdefault(doc, set()).add(term)
        ids = dict(con.execute("SELECT d.rowid, d.reflection_id FROM search_docs d"))
        owner = dict(con.execute("SELECT id, identity_id FROM reflections"))
    finally:
        con.close()
    return {ids[doc] for doc, terms in have.items() if need <= terms
            and (identity_id is None or owner[ids[doc]] == identity_id)}


def any_word_ids(db: Path, query: str, identity_id: str | None = None) -> set[str]:
    """Ids of the reflections holding at least one word of `query` (what "any word" would give)."""
    return set().union(*(matching_ids(db, w, identity_id) for w in query.split()))


def grammar_ids(db: Path, wanted: list[list[str]], excluded: list[str] = (), identity_id: str | None = None) -> set[str]:
    """Ids of the reflections holding, for each list of `wanted`, at least one of its terms, and no
    term of `excluded`; read from the journal's FTS5 index terms and their positions.

    A term is written by hand, not parsed by mirror_kit: `word`, `pre*` (an indexed stem starting
    with the prefix's stem), `two words` (a phrase: consecutive positions in one column) or
    `two wor*`."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        con.execute("CREATE VIRTUAL TABLE temp.pos USING fts5vocab(main, reflections_fts, instance)")
        seqs: dict[tuple[int, str], dict[int, str]] = {}
        for term, doc, col, off in con.execute("SELECT term, doc, col, offset FROM temp.pos"):
            seqs.setdefault((doc, col), {})[off] = term
        ids = dict(con.execute("SELECT d.rowid, d.reflection_id FROM search_docs d"))
        owner = dict(con.execute("SELECT id, identity_id FROM reflections"))
    finally:
        con.close()

    def stems_of(term: str) -> tuple[list[str], bool]:
        words = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", term).lower())
        stems = sqlite_stems(words)
        return [stems[w] for w in words], term.endswith("*")

    def holds(doc: int, term: str) -> bool:
        stems, prefix = stems_of(term)
        for (d, _col), by_pos in seqs.items():
            if d != doc:
                continue
            for start in by_pos:
                got = [by_pos.get(start + i) for i in range(len(stems))]
                if all(g is not None for g in got) and got[:-1] == stems[:-1] and (
                        got[-1].startswith(stems[-1]) if prefix else got[-1] == stems[-1]):
                    return True
        return False

    docs = {d for d, _ in seqs}
    return {ids[d] for d in docs
            if all(any(holds(d, t) for t in group) for group in wanted)
            and not any(holds(d, t) for t in excluded)
            and (identity_id is None or owner[ids[d]] == identity_id)}
