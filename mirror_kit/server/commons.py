"""Routes `/api/commons/...`: a Commons folder served over HTTP so journals elsewhere can push and pull.

The server holds exactly what the folder holds: signed, content-addressed records (definitions,
proposals, votes, public keys, evidence numbers), each checked with the folder store's own code before
it is written. Pulling needs any valid token; pushing needs a write-scope token. Objects are served as
the bytes on disk: every client checks each one again (hash, canonical form, signature), so a damaged
file in the folder is refused by the client, never trusted.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ..commons.records import content_hash, open_object
from ..commons.store import FORMAT, FolderStore
from ..errors import CommonsIntegrityError
from .auth import Access, reader, writer
from .common import ERRORS, ok, page_of
from .schemas import CommonsManifest, CommonsStored, Envelope, Page

router = APIRouter(prefix="/api/commons", tags=["commons"], responses=ERRORS)
Sha256 = Path(..., pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the object's bytes")


def _store(request: Request) -> FolderStore:
    store = getattr(request.app.state, "commons", None)
    if store is None:
        raise HTTPException(404, "this server serves no Commons (start it with `mirror-kit serve --commons PATH`)")
    return store


@router.get("/manifest", response_model=Envelope[CommonsManifest])
def manifest(request: Request, a: Access = Depends(reader)) -> dict:
    """The Commons' format and genesis object id (what a journal pins when it joins)."""
    store = _store(request)
    return ok({"format": FORMAT, "genesis": store.genesis})


@router.get("/objects", response_model=Envelope[Page[str]])
def list_objects(request: Request, cursor: str | None = None, limit: int = Query(1000, ge=1, le=10000),
                 a: Access = Depends(reader)) -> dict:
    """The object hashes, sorted: {items, next_cursor, total}."""
    return ok(page_of(sorted(_store(request).names()), cursor, limit))


@router.get("/objects/{sha256}", response_class=Response,
            responses={200: {"content": {"application/json": {}}, "description": "The object's bytes"}})
def get_object(request: Request, sha256: str = Sha256, a: Access = Depends(reader)) -> Response:
    """One object's canonical JSON bytes, as stored (the client checks them)."""
    store = _store(request)
    try:
        data = (store.objects / f"{sha256}.json").read_bytes()
    except FileNotFoundError as exc:
        raise HTTPException(404, f"no Commons object {sha256}") from exc
    return Response(content=data, media_type="application/json")


def _put(store: FolderStore, sha256: str, data: bytes) -> bool:
    if content_hash(data) != sha256:
        raise CommonsIntegrityError(f"{sha256}: body does not match this hash")
    open_object(data, sha256)
    return store.write(data)[1]


@router.put("/objects/{sha256}", status_code=201, response_model=Envelope[CommonsStored],
            responses={200: {"description": "Already there (same bytes)"},
                       409: {"description": "Hash, canonical form or signature does not check out"}})
async def put_object(request: Request, response: Response, sha256: str = Sha256,
                     a: Access = Depends(writer)) -> dict:
    """Store one signed record (checked as the folder store checks it); idempotent: 200 when already there."""
    store = _store(request)
    data = await request.body()
    try:
        new = await run_in_threadpool(_put, store, sha256, data)
    except CommonsIntegrityError as exc:
        raise HTTPException(409, f"refused: {exc}") from exc
    if not new:
        response.status_code = 200
    return ok({"hash": sha256, "new": new})
