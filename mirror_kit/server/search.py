"""Routes `/api/search` and `/api/reflections/{id}/similar`: find reflections by words and meaning,
or like one reflection (the same hybrid search as `journal.search` and `mirror-kit search`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from ..search_words import MAX_K, MAX_QUERY_CHARS
from .auth import Access, reader
from .common import ERRORS, ok, records
from .schemas import Envelope, SearchEnvelope, SearchHit

router = APIRouter(tags=["search"], responses=ERRORS)
Mode = Literal["hybrid", "text", "meaning"]
# The bounds are checked by `journal.search` (mirror_kit.search_words), not by FastAPI, so a refused
# query or k gets the same 400 and one-line message as in Python and the CLI.
_Q = (f"The words to find (at most {MAX_QUERY_CHARS} characters, at least one letter or digit and one "
      "word not excluded; otherwise 400): caf* for a word's start, \"new job\" for a phrase, -coffee or "
      "NOT coffee to leave out, race OR marathon for either (README: Word search).")
_MIN = ("Leave out meaning matches below this cosine similarity (-1 to 1; meaning and hybrid modes; "
        "otherwise 400). Absent: the k nearest, whatever they are.")
_K = f"How many results, 1 to {MAX_K} (otherwise 400)."


@router.get("/api/search", response_model=SearchEnvelope)
def search(q: str = Query(..., description=_Q), identity: str | None = None,
           k: int = Query(10, description=_K), since: str | None = None, until: str | None = None,
           tag: str | None = None, mode: Mode = "hybrid",
           min_similarity: float | None = Query(None, description=_MIN), a: Access = Depends(reader)) -> dict:
    """The best `k` reflections for `q`, best first: full-text (BM25) and embedding rankings fused by
    reciprocal rank, each hit with its ranks, similarity, why it matched and a snippet. A full-text
    hit holds every word of `q` (stems, case and accents aside; `q` has the syntax of `mirror-kit
    search`: caf*, "new job", -coffee, race OR marathon); `mode=text` returns only those, and then
    `total` says how many match in all (more than the hits when `k` cut them; null in other modes).
    A reflection holding an excluded word is left out in every mode.

    identity: name or id (default: the token's own; every identity for an owner token).
    `curl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8765/api/search?q=race+training&identity=maya&k=5"`
    """
    ident = a.identity(identity).id if identity is not None else a.token.identity_id
    hits = a.journal.search(q, identity=ident, k=k, since=since, until=until, tag=tag, mode=mode,
                            min_similarity=min_similarity)
    return {**ok(records(hits)), "total": hits.attrs.get("total")}


@router.get("/api/reflections/{reflection_id}/similar", response_model=Envelope[list[SearchHit]])
def similar(reflection_id: str, k: int = Query(10, description=_K), a: Access = Depends(reader)) -> dict:
    """The `k` reflections of the same identity closest in meaning to this one ("more like this")."""
    row = a.journal.execute("SELECT identity_id FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
    a.check(None if row is None else row[0], f"no reflection with id {reflection_id!r}")
    return ok(records(a.journal.search(like=reflection_id, identity=row[0] if row else None, k=k)))
