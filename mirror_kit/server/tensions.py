"""Routes `/api/tensions/...`: where an identity stands on each tension, one tension, the 2D map, the
built-in seeds, and analysis runs."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from .auth import Access, reader, writer
from .common import ERRORS, cached, ok, plain, records
from .runs import accept
from .schemas import Envelope, RunAccepted, SeedTension, TensionDetail, TensionOut

router = APIRouter(prefix="/api/tensions", tags=["tensions"], responses=ERRORS)
Period = Literal["auto", "day", "week", "month", "quarter"]


@router.get("/identity/{identity}", response_model=Envelope[list[TensionOut]])
def list_tensions(identity: str, request: Request, period: Period = "auto",
                  threshold: float | None = Query(None, ge=0, le=1), a: Access = Depends(reader)) -> dict:
    """Per tension, most active first: position (-1 axis_a .. +1 axis_b), intensity, occurrences, drift."""
    ident = a.identity(identity)
    return ok(cached(request, ("tensions", ident.id, period, threshold),
                     lambda: records(a.journal.tensions.frame(ident, period=period, threshold=threshold))))


@router.get("/tension/{tension_name}", response_model=Envelope[TensionDetail])
def get_tension(tension_name: str, identity: str = Query(..., min_length=1), period: Period = "auto",
                a: Access = Depends(reader)) -> dict:
    """One tension for an identity: definition, position, drift, evolution and the reflections leaning
    most to each pole."""
    ident = a.identity(identity)
    return ok(plain(a.journal.tensions.get(tension_name, ident, period=period).as_dict()))


@router.get("/mapping/{identity}", response_model=Envelope[list[TensionOut]])
def tension_map(identity: str, request: Request, a: Access = Depends(reader)) -> dict:
    """2D map data: per tension its position (x), intensity (y) and occurrences (size)."""
    ident = a.identity(identity)
    return ok(cached(request, ("tension-map", ident.id), lambda: records(a.journal.tensions.map(ident))))


@router.get("/seed-tensions", response_model=Envelope[list[SeedTension]])
def seed_tensions(a: Access = Depends(reader)) -> dict:
    """The built-in tensions with their poles' descriptions."""
    return ok(records(a.journal.tensions.seeds()))


@router.post("/analyze/{identity}", status_code=202, response_model=Envelope[RunAccepted])
def analyze_tensions(identity: str, request: Request, a: Access = Depends(writer)) -> dict:
    """Start scoring the identity's reflections on its tensions (embeddings first); returns the run id."""
    ident = a.identity(identity)
    return accept(request, "tensions", ident.id, [
        ("embeddings", lambda j: j.embeddings.embed(ident.id, progress=False)),
        ("tensions", lambda j: j.tensions.analyze(ident.id)),
    ])
