"""`journal.search`: find reflections by words and by meaning, and reflections like a given one.

Two rankings are fused: SQLite's FTS5 full-text index (BM25, table `reflections_fts`, kept in step with
`reflections` by triggers) and cosine similarity of the stored sentence embeddings to the query's
embedding. They are combined by reciprocal rank fusion (Cormack, Clarke and Buettcher, "Reciprocal
Rank Fusion outperforms Condorcet and individual Rank Learning Methods", SIGIR 2009): a reflection's
score is the sum over the rankings it appears in of 1 / (60 + rank), rank counted from 1.

Search only reads: it never stores embeddings (vectors missing or outdated are computed in memory),
so it works on journals opened read-only.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError, MirrorKitError, NotFoundError
from .search_words import check_k, check_query, parse
from .timeutil import bound_range

if TYPE_CHECKING:
    from .journal import Journal

RRF_K = 60  # the constant of Cormack et al. (2009); it damps the weight of the very first ranks
MODES = ("hybrid", "text", "meaning")
COLUMNS = ["reflection_id", "created_at", "score", "fts_rank", "vector_rank", "similarity", "why", "title",
           "snippet", "content"]
_SNIPPET_CHARS = 160


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for free user text by the grammar of `mirror_kit.search_words`
    (shared with the Explorer, the HTTP API and the report): each word, phrase or prefix a quoted
    string and the operators written by the parser, so nothing typed is FTS5 syntax. None when the
    text has no term a match must hold."""
    from .search_words import fts_match

    return fts_match(text)


class Search:
    """Hybrid search over one journal: `run` (free text or `like=` a reflection)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._cache: dict[tuple, tuple[list[str], Any]] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        return self.journal.conn

    def has_index(self) -> bool:
        """Whether the journal's schema has the full-text index (older files opened read-only may not)."""
        return self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reflections_fts'").fetchone() is not None

    def run(
        self,
        query: str | None = None,
        *,
        identity: Any = None,
        k: int = 10,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        tag: str | None = None,
        like: str | None = None,
        mode: str = "hybrid",
        min_similarity: float | None = None,
    ):
        """The best `k` reflections for `query` (or like the reflection `like`), best first.

        identity: name or id (None: every identity; with `like`, the reflection's own identity).
        since/until: bound the reflection time (a bare date `until` covers that day). tag: only
        reflections with this tag. mode: hybrid (both rankings fused), text (BM25 only) or meaning
        (embedding cosine only). min_similarity: drop from the meaning ranking every reflection whose
        cosine similarity is below it (a number in [-1, 1]; None keeps the `k` nearest whatever they
        are, so nonsense still gets `k` neighbours); meaning and hybrid modes only. The text ranking holds only reflections matching the query by the
        grammar of `mirror_kit.search_words` (every word; `caf*` prefixes, `"new job"` phrases,
        `race OR marathon`, `-coffee` / `NOT coffee` exclusions); in hybrid mode the meaning ranking
        may add others. The meaning ranking embeds only the wanted terms (exclusions, quotes and `*`
        left out) and never holds a reflection matching an exclusion, in hybrid and meaning mode.
        Returns a DataFrame with columns reflection_id, created_at (UTC ISO), score (fused RRF score),
        fts_rank / vector_rank (1-based rank in each ranking, NaN when absent from it), similarity
        (cosine in [-1, 1]), why (what matched), title, snippet (matched words in [brackets]) and content.
        In text mode `df.attrs["total"]` is how many reflections match in all (more than `len(df)` when
        `k` cut the list; see `count`); other modes rank every reflection, so they set no total.
        Raises InvalidInputError (a query of no word, of only exclusions or over MAX_QUERY_CHARS, k
        outside 1..MAX_K, a bad
        mode, since after until, both or neither of query and like; see `mirror_kit.search_words`),
        NotFoundError (unknown `like` id), UnknownIdentityError.
        """
        import pandas as pd

        if mode not in MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        k = check_k(k)
        if min_similarity is not None:
            min_similarity = _check_similarity(min_similarity, mode)
        if (query is None) == (like is None):
            raise InvalidInputError("give either a query or like=REFLECTION_ID")
        if query is not None:
            # a query of no word is refused in every mode: a meaning search would rank the whole
            # journal by its closeness to punctuation, which is noise presented as hits
            check_query(query)
        like_vec = None
        if like is not None:
            row = self.conn.execute("SELECT identity_id FROM reflections WHERE id = ?", (like,)).fetchone()
            if row is None:
                raise NotFoundError(f"no reflection with id {like!r}")
            if identity is None:
                identity = row[0]
            mode = "meaning"  # "more like this" compares meaning; its words are in the vector already
        ident_id = self.journal.identities.id_of(identity)
        allowed = self._allowed(ident_id, since, until, tag, exclude=like)
        depth = max(100, 5 * k)  # candidates taken from each ranking before fusion

        text_hits: dict[str, tuple[int, str]] = {}
        if mode in ("hybrid", "text"):
            if self.has_index():
                text_hits = self._text(query, ident_id, allowed, depth)
            elif mode == "text":
                raise MirrorKitError(f"{self.journal.path}: this journal has no full-text index yet "
                                     "(run `mirror-kit migrate up`)")
        vec_hits: dict[str, tuple[int, float]] = {}
        if mode in ("hybrid", "meaning"):
            blocked = self._excluded(query, ident_id) if query is not None else set()
            ids, M = self._matrix(ident_id)
            if len(ids):
                if like is not None:
                    like_vec = M[ids.index(like)] if like in ids else self._encode(
                        [self.conn.execute("SELECT content FROM reflections WHERE id = ?", (like,)).fetchone()[0]])[0]
                q = like_vec if like_vec is not None else self._encode([parse(query).meaning_text()])[0]
                vec_hits = self._nearest(ids, M, q, allowed, depth, blocked)
                if min_similarity is not None:
                    kept = [rid for rid, (_, sim) in vec_hits.items() if sim >= min_similarity]
                    vec_hits = {rid: (i, vec_hits[rid][1]) for i, rid in enumerate(kept, 1)}

        fused: dict[str, float] = {}
        for rid, (rank, _) in text_hits.items():
            fused[rid] = fused.get(rid, 0.0) + 1.0 / (RRF_K + rank)
        for rid, (rank, _) in vec_hits.items():
            fused[rid] = fused.get(rid, 0.0) + 1.0 / (RRF_K + rank)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        if not best:
            empty = pd.DataFrame(columns=COLUMNS)
            if mode == "text":
                empty.attrs["total"] = 0
            return empty
        info = {r["id"]: r for r in self.conn.execute(
            f"SELECT id, created_at, title, content FROM reflections WHERE id IN ({','.join('?' * len(best))})", best)}
        out = []
        for rid in best:
            r = info[rid]
            t = text_hits.get(rid)
            v = vec_hits.get(rid)
            why = []
            if t is not None:
                words = sorted(set(w.lower() for w in re.findall(r"\[([^\]]+)\]", t[1])))
                why.append(f"words: {', '.join(words)}" if words else "words match")
            if v is not None:
                what = f"like {like}" if like is not None else "meaning"
                why.append(f"{what} (similarity {v[1]:.2f})")
            snippet = t[1] if t is not None and t[1] else _shorten(r["content"])
            out.append({
                "reflection_id": rid, "created_at": r["created_at"], "score": round(fused[rid], 6),
                "fts_rank": t[0] if t else None, "vector_rank": v[0] if v else None,
                "similarity": round(v[1], 4) if v else None, "why": "; ".join(why), "title": r["title"],
                "snippet": snippet, "content": r["content"],
            })
        df = pd.DataFrame(out, columns=COLUMNS)
        df["fts_rank"] = df["fts_rank"].astype("Int64")
        df["vector_rank"] = df["vector_rank"].astype("Int64")
        df["similarity"] = df["similarity"].astype(float)
        if mode == "text":
            df.attrs["total"] = self._total(query, ident_id, since, until, tag, len(df), k)
        return df

    # -- candidates ------------------------------------------------------------------------------
    def _allowed(self, ident_id, since, until, tag, exclude) -> set[str] | None:
        """The ids the filters allow (None: every reflection of the scope)."""
        where, params = self._where(ident_id, since, until, tag, exclude)
        if not where:
            return None
        if ident_id is not None:
            where.append("identity_id = ?")
            params.append(ident_id)
        return {r[0] for r in self.conn.execute(f"SELECT id FROM reflections WHERE {' AND '.join(where)}", params)}

    def _where(self, ident_id, since, until, tag, exclude) -> tuple[list[str], list]:
        """SQL conditions on `reflections` for the time, tag and excluded-id filters (not the identity)."""
        where: list[str] = []
        params: list = []
        try:
            lo, hi = bound_range(since, until)
        except InvalidInputError:
            raise
        except ValueError as exc:
            raise InvalidInputError(f"since/until: {exc}") from exc
        if lo:
            where.append("created_at >= ?")
            params.append(lo)
        if hi:
            where.append("created_at <= ?")
            params.append(hi)
        if tag is not None:
            tag_ids = self.journal.tags.ids_of(tag)
            where.append("id IN (SELECT reflection_id FROM reflection_tags WHERE tag_id IN "
                         f"({','.join('?' * len(tag_ids)) or 'NULL'}))")
            params += tag_ids
        if exclude is not None:
            where.append("id != ?")
            params.append(exclude)
        return where, params

    def count(self, query: str, *, identity: Any = None, since: datetime | date | str | None = None,
              until: datetime | date | str | None = None, tag: str | None = None) -> int:
        """How many reflections match `query` (the text ranking's rule and grammar) within the
        filters of `run`: one COUNT over the full-text index, no row fetched.

        Raises what `run` raises for the same arguments; MirrorKitError without a full-text index.
        """
        check_query(query)
        if not self.has_index():
            raise MirrorKitError(f"{self.journal.path}: this journal has no full-text index yet "
                                 "(run `mirror-kit migrate up`)")
        return self._count(query, self.journal.identities.id_of(identity), since, until, tag)

    def _total(self, query, ident_id, since, until, tag, shown: int, k: int) -> int:
        # fewer hits than k: the text ranking held them all, nothing to count again
        return shown if shown < k else self._count(query, ident_id, since, until, tag)

    def _count(self, query, ident_id, since, until, tag) -> int:
        match = fts_query(query)
        if match is None:
            return 0
        sql = ("SELECT COUNT(*) FROM reflections_fts JOIN search_docs d ON d.rowid = reflections_fts.rowid "
               "WHERE reflections_fts MATCH ?")
        params: list = [match]
        where, more = self._where(ident_id, since, until, tag, None)
        if ident_id is not None:
            where.append("identity_id = ?")
            more.append(ident_id)
        if where:
            sql += f" AND d.reflection_id IN (SELECT id FROM reflections WHERE {' AND '.join(where)})"
            params += more
        try:
            return int(self.conn.execute(sql, params).fetchone()[0])
        except sqlite3.OperationalError as exc:
            from . import db

            raise db.translate(exc, self.journal.path) from exc

    def _excluded(self, query: str, ident_id) -> set[str]:
        """Ids of the reflections (of the scope) an exclusion of `query` names; empty without one."""
        match = parse(query).excluded_fts()
        if match is None:
            return set()
        if not self.has_index():
            raise MirrorKitError(f"{self.journal.path}: leaving words out (-word) needs the full-text index "
                                 "(run `mirror-kit migrate up`)")
        sql = ("SELECT d.reflection_id FROM reflections_fts JOIN search_docs d ON d.rowid = reflections_fts.rowid "
               "JOIN reflections r ON r.id = d.reflection_id WHERE reflections_fts MATCH ?")
        params: list = [match]
        if ident_id is not None:
            sql += " AND r.identity_id = ?"
            params.append(ident_id)
        try:
            return {r[0] for r in self.conn.execute(sql, params)}
        except sqlite3.OperationalError as exc:
            from . import db

            raise db.translate(exc, self.journal.path) from exc

    def _text(self, query, ident_id, allowed, depth) -> dict[str, tuple[int, str]]:
        """BM25 ranking from the FTS5 index: {reflection id: (rank from 1, snippet with [matches])}."""
        match = fts_query(query)
        if match is None:
            return {}
        sql = ("SELECT d.reflection_id, snippet(reflections_fts, -1, '[', ']', '…', 16) "
               "FROM reflections_fts JOIN search_docs d ON d.rowid = reflections_fts.rowid "
               "JOIN reflections r ON r.id = d.reflection_id WHERE reflections_fts MATCH ?")
        params: list = [match]
        if ident_id is not None:
            sql += " AND r.identity_id = ?"
            params.append(ident_id)
        # bm25(): lower is better; a title word counts twice a content word.
        sql += " ORDER BY bm25(reflections_fts, 2.0, 1.0), r.id"
        if allowed is None:
            sql += " LIMIT ?"
            params.append(depth)
        out: dict[str, tuple[int, str]] = {}
        try:
            for rid, snip in self.conn.execute(sql, params):
                if allowed is not None and rid not in allowed:
                    continue
                out[rid] = (len(out) + 1, " ".join(str(snip or "").split()))
                if len(out) >= depth:
                    break
        except sqlite3.OperationalError as exc:  # quoted tokens cannot fail to parse; this is the file
            from . import db

            raise db.translate(exc, self.journal.path) from exc
        return out

    # -- vectors ---------------------------------------------------------------------------------
    def _model(self) -> str:
        return self.journal.embeddings.model_name()

    def _encode(self, texts: list[str]):
        return self.journal.embeddings.embedder().encode(texts, progress=False)

    def _matrix(self, ident_id):
        """(ids, unit-row float32 matrix) for the scope, stored vectors read, missing ones computed in
        memory (never stored); cached until the journal changes."""
        import numpy as np

        from .embedding import store as emb_store

        model = self._model()
        key = (ident_id, model, self.conn.total_changes,
               self.conn.execute("PRAGMA data_version").fetchone()[0])
        if key in self._cache:
            return self._cache[key]
        ids, hashes, stored = emb_store.read(self.conn, ident_id, model)
        missing = [i for i in range(len(ids)) if not s_ok(stored[i], hashes[i])]
        have = [i for i in range(len(ids)) if s_ok(stored[i], hashes[i])]
        if not ids:
            M = np.zeros((0, 1), dtype=np.float32)
        elif not missing:
            M = emb_store.from_blobs([s[2] for s in stored], stored[0][1])
        else:
            texts = emb_store.contents(self.conn, [ids[i] for i in missing])
            fresh = self._encode([texts[ids[i]] for i in missing])
            M = np.zeros((len(ids), fresh.shape[1]), dtype=np.float32)
            M[missing] = fresh
            if have:
                M[have] = emb_store.from_blobs([stored[i][2] for i in have], fresh.shape[1])
        self._cache = {key: (ids, M)}
        return ids, M

    @staticmethod
    def _nearest(ids, M, q, allowed, depth, blocked=frozenset()) -> dict[str, tuple[int, float]]:
        """Cosine ranking: {reflection id: (rank from 1, similarity)} of the `depth` nearest rows that
        are allowed (None: all) and not blocked."""
        import numpy as np

        sims = M @ np.asarray(q, dtype=np.float32)
        if allowed is not None or blocked:
            mask = np.fromiter(((allowed is None or i in allowed) and i not in blocked for i in ids),
                               dtype=bool, count=len(ids))
            sims = np.where(mask, sims, -np.inf)
        n = min(depth, len(ids))
        top = np.argpartition(-sims, n - 1)[:n] if n < len(ids) else np.arange(len(ids))
        # ties broken by id so results are deterministic
        top = sorted(top, key=lambda i: (-float(sims[i]), ids[i]))
        out: dict[str, tuple[int, float]] = {}
        for i in top:
            if not np.isfinite(sims[i]):
                break
            out[ids[i]] = (len(out) + 1, float(sims[i]))
        return out


def _check_similarity(value: object, mode: str) -> float:
    """`value` as a float if it is a number in [-1, 1] and `mode` ranks by meaning, else InvalidInputError."""
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) \
            or not -1.0 <= float(value) <= 1.0:
        raise InvalidInputError(f"min_similarity must be a number from -1 to 1, got {value!r}")
    if mode == "text":
        raise InvalidInputError("min_similarity bounds the meaning ranking: use it with mode meaning or hybrid")
    return float(value)


def s_ok(stored: tuple | None, content_hash: str) -> bool:
    """Whether a stored (hash, dim, blob) embedding is current for the reflection's content hash."""
    return stored is not None and stored[0] == content_hash


def _shorten(text: str, n: int = _SNIPPET_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= n else flat[: n - 1].rsplit(" ", 1)[0] + "…"


def search_service(journal: Journal) -> Search:
    """The journal's one `Search` (its vector cache lives as long as the handle)."""
    svc = journal.__dict__.get("_search")
    if svc is None:
        svc = journal.__dict__["_search"] = Search(journal)
    return svc
