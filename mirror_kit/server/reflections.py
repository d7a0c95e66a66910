"""Routes `/api/reflections` and `/api/identities`: list, read, create, change and delete reflections,
and start a mirrorback for one."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Depends, Query, Request

from ..errors import InvalidInputError, NotFoundError
from .auth import Access, reader, writer
from .common import ERRORS, decode_cursor, encode_cursor, ok
from .runs import accept
from .schemas import (
    Envelope,
    IdentityOut,
    Page,
    ReflectionIn,
    ReflectionOut,
    ReflectionPatch,
    RunAccepted,
)

router = APIRouter(tags=["reflections"], responses=ERRORS)
_Q = ("Words every reflection must hold, with the syntax of /api/search (caf*, \"new job\", -coffee, "
      "race OR marathon); empty: no text filter; blanks, no letter or digit, or only exclusions: 400.")


def _out(r) -> dict:
    return r.as_dict()


def _mine(a: Access, reflection_id: str):
    row = a.journal.execute("SELECT identity_id FROM reflections WHERE id = ?", (reflection_id,)).fetchone()
    a.check(None if row is None else row[0], f"no reflection with id {reflection_id!r}")
    if row is None:
        raise NotFoundError(f"no reflection with id {reflection_id!r}")
    return row[0]


@router.get("/api/identities", response_model=Envelope[list[IdentityOut]])
def list_identities(a: Access = Depends(reader)) -> dict:
    """The identities this token may see (all of them for an owner token)."""
    return ok([{"id": i.id, "name": i.name, "created_at": i.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "metadata": i.metadata} for i in a.journal.identities.rows() if a.allows(i.id)])


@router.get("/api/reflections", response_model=Envelope[Page[ReflectionOut]])
def list_reflections(identity: str | None = None, since: str | None = None, until: str | None = None,
                     tag: str | None = None, q: str | None = Query(None, description=_Q),
                     limit: int = Query(50, ge=1, le=500), cursor: str | None = None,
                     a: Access = Depends(reader)) -> dict:
    """Reflections oldest first, filtered by identity (default: the token's), time range (since/until:
    ISO dates or times), tag and a text search `q` (every word, as `/api/search`); page on with `cursor`.

    An absent or empty `q` is no text filter (every reflection of the other filters); a `q` of only
    blanks or punctuation, or over the length limit, is refused with 400 as by `/api/search`."""
    # no identity: the token's own, or every identity for an owner token
    ident = a.identity(identity).id if identity is not None else a.token.identity_id
    after = decode_cursor(cursor, list)
    if after is not None and (len(after) != 2 or not all(isinstance(x, str) for x in after)):
        raise InvalidInputError("cursor: not a cursor this API returned")
    rows = a.journal.reflections.search(ident, since, until, tag=tag, text=q, limit=limit + 1,
                                        after=tuple(after) if after else None)
    items = [_out(r) for r in rows[:limit]]
    nxt = encode_cursor([items[-1]["created_at"], items[-1]["id"]]) if len(rows) > limit else None
    return ok({"items": items, "next_cursor": nxt, "total": None})


@router.get("/api/reflections/{reflection_id}", response_model=Envelope[ReflectionOut])
def get_reflection(reflection_id: str, a: Access = Depends(reader)) -> dict:
    """One reflection with its tags."""
    _mine(a, reflection_id)
    return ok(_out(a.journal.reflections.get(reflection_id)))


@router.post("/api/reflections", status_code=201, response_model=Envelope[ReflectionOut])
def create_reflection(body: ReflectionIn, a: Access = Depends(writer)) -> dict:
    """Store a new reflection (all or nothing, as `mirror-kit add`)."""
    ident = a.identity(body.identity)
    fields = body.model_dump(exclude={"identity"})
    r = a.journal.reflections.add(ident, **{k: v for k, v in fields.items() if v is not None})
    return ok(_out(r), "reflection stored")


@router.patch("/api/reflections/{reflection_id}", response_model=Envelope[ReflectionOut])
def update_reflection(reflection_id: str, body: ReflectionPatch, a: Access = Depends(writer)) -> dict:
    """Change fields of a reflection; the id stays the same."""
    _mine(a, reflection_id)
    fields = body.model_dump(exclude_unset=True)
    if not fields:
        raise InvalidInputError("nothing to change: give at least one field")
    if fields.get("content", "") is None:
        raise InvalidInputError("field 'content' must not be null")
    return ok(_out(a.journal.reflections.update(reflection_id, **fields)), "reflection updated")


@router.delete("/api/reflections/{reflection_id}", response_model=Envelope[dict])
def delete_reflection(reflection_id: str, a: Access = Depends(writer)) -> dict:
    """Delete a reflection and what was derived from it (tags links, embeddings, observations)."""
    _mine(a, reflection_id)
    a.journal.reflections.delete(reflection_id)
    return ok({"id": reflection_id, "deleted": True}, "reflection deleted")


@router.post("/api/reflections/{reflection_id}/mirrorback", status_code=202,
             response_model=Envelope[RunAccepted])
def mirrorback(reflection_id: str, request: Request, a: Access = Depends(writer)) -> dict:
    """Start writing a mirrorback for a reflection (with the server's language model) as a run."""
    ident = _mine(a, reflection_id)
    llm = request.app.state.mirror.llm
    def generate(j):
        return dataclasses.asdict(j.mirrorbacks.generate(reflection_id, llm=llm))

    return accept(request, "mirrorback", ident, [("mirrorback", generate)])
