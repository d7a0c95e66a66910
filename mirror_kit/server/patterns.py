"""Routes `/api/patterns/...`: an identity's patterns, one pattern, its evolution, and analysis runs."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from ..errors import NotFoundError
from .auth import Access, reader, writer
from .common import ERRORS, cached, ok, page_of, plain, records
from .runs import accept
from .schemas import Envelope, Page, PatternDetail, PatternEvolution, PatternOut, PatternPatch, RunAccepted

router = APIRouter(prefix="/api/patterns", tags=["patterns"], responses=ERRORS)
Sort = Literal["size", "confidence", "first_seen", "last_seen", "label"]
Period = Literal["auto", "day", "week", "month", "quarter"]


def _pattern(a: Access, pattern_id: str):
    """The pattern if the token may see it; 404 with the same words otherwise."""
    row = a.journal.execute("SELECT identity_id FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
    a.check(None if row is None else row[0], f"no pattern with id {pattern_id!r}")
    return a.journal.patterns.get(pattern_id)


@router.get("/identity/{identity}", response_model=Envelope[Page[PatternOut]])
def list_patterns(identity: str, request: Request, min_confidence: float | None = Query(None, ge=0, le=1),
                  status: Literal["active", "dormant"] | None = None, sort: Sort = "size",
                  limit: int = Query(50, ge=1, le=500), cursor: str | None = None,
                  a: Access = Depends(reader)) -> dict:
    """An identity's patterns (label, keywords, confidence, size, status, trend), biggest first by default.

    `curl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8765/api/patterns/identity/maya?min_confidence=0.5&limit=10"`
    """
    ident = a.identity(identity)
    rows = cached(request, ("patterns", ident.id, min_confidence, sort, status != "active"),
                  lambda: records(a.journal.patterns.frame(ident, min_confidence=min_confidence, sort=sort,
                                                           include_dormant=status != "active")))
    if status == "dormant":
        rows = [r for r in rows if r["status"] == "dormant"]
    return ok(page_of(rows, cursor, limit))


@router.get("/{pattern_id}", response_model=Envelope[PatternDetail])
def get_pattern(pattern_id: str, limit: int = Query(50, ge=1, le=500), cursor: str | None = None,
                a: Access = Depends(reader)) -> dict:
    """One pattern with its trend, history, evolution and a page of its occurrences (oldest first)."""
    d = _pattern(a, pattern_id).as_dict()
    occ = records(d.pop("occurrences"))
    d["evolution"] = records(d.pop("evolution"))
    d.pop("metadata", None)
    d["occurrences"] = page_of(occ, cursor, limit)
    return ok(plain(d))


@router.get("/{pattern_id}/evolution", response_model=Envelope[PatternEvolution])
def pattern_evolution(pattern_id: str, period: Period = "auto", a: Access = Depends(reader)) -> dict:
    """Per period: count, total reflections and share of this pattern, and its trend test (Mann-Kendall)."""
    from ..patterns.evolution import trends_frame

    row = a.journal.execute("SELECT identity_id FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
    a.check(None if row is None else row[0], f"no pattern with id {pattern_id!r}")
    if row is None:
        raise NotFoundError(f"no pattern with id {pattern_id!r}")
    evo = a.journal.patterns.evolution(row[0], period=period, patterns=[pattern_id])
    trend = records(trends_frame(evo))
    return ok({"pattern_id": pattern_id, "period": period, "evolution": records(evo),
               "trend": trend[0] if trend else None})


@router.patch("/{pattern_id}", response_model=Envelope[PatternOut])
def rename_pattern(pattern_id: str, body: PatternPatch, a: Access = Depends(writer)) -> dict:
    """Give the pattern a name of one's own, kept through later analyses (`{"label": ""}` goes back
    to the computed name), as `mirror-kit patterns rename`."""
    _pattern(a, pattern_id)
    # A PATCH changes only the fields it names: a body without "label" must not erase a name of
    # one's own (only an explicit "" or null goes back to the computed one).
    changed = "label" in body.model_fields_set
    if changed:
        a.journal.patterns.rename(pattern_id, body.label)
    d = a.journal.patterns.get(pattern_id).as_dict()
    for k in ("occurrences", "evolution", "metadata", "history", "identity_id", "slope", "p_value"):
        d.pop(k, None)
    return ok(plain(d), "pattern renamed" if changed else "nothing to change")


@router.post("/analyze/{identity}", status_code=202, response_model=Envelope[RunAccepted])
def analyze_patterns(identity: str, request: Request, a: Access = Depends(writer)) -> dict:
    """Start finding the identity's patterns (embeddings first); returns the run id at once."""
    ident = a.identity(identity)
    return accept(request, "patterns", ident.id, [
        ("embeddings", lambda j: j.embeddings.embed(ident.id, progress=False)),
        ("patterns", lambda j: j.patterns.analyze(ident.id)),
    ])
