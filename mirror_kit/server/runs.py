"""Routes `/api/runs/...`: a run's status and progress, and a server-sent-events stream of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ..errors import NotFoundError
from .auth import Access, reader
from .common import ERRORS, ok
from .jobs import FINISHED, Step
from .schemas import Envelope, RunOut

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERRORS)
HEARTBEAT_S = 15.0


def accept(request: Request, kind: str, identity_id: str | None, steps: list[Step]) -> dict:
    """Queue a run in the background and answer 202 with its id."""
    job = request.app.state.mirror.jobs.submit(kind, identity_id, steps)
    return ok({"run_id": job.id, "kind": kind, "status": job.status, "url": f"/api/runs/{job.id}"},
              "run started; follow it at the url")


def _stored(a: Access, where: str, params: list) -> list[dict]:
    rows = a.journal.execute(f"SELECT * FROM analysis_runs WHERE {where} ORDER BY started_at, rowid", params)
    out = []
    for r in rows:
        d = dict(r)
        for k in ("parameters", "counts", "metadata"):
            d[k] = json.loads(d[k])
        out.append(d)
    return out


def _run(a: Access, request: Request, run_id: str) -> dict:
    missing = f"no run with id {run_id!r}"
    job = request.app.state.mirror.jobs.get(run_id)
    if job is not None:
        a.check(job.identity_id, missing)
        d = job.as_dict()
        if job.started_at:
            d["stored_runs"] = _stored(a, "identity_id IS ? AND started_at >= ?", [job.identity_id, job.started_at])
        d["counts"] = {s["kind"]: s["counts"] for s in d.get("stored_runs", [])}
        return d
    rows = _stored(a, "id = ?", [run_id])
    if not rows:
        # a run started over HTTP by a server since restarted: the rows its steps stored
        rows = _stored(a, "json_extract(metadata, '$.request') = ?", [run_id])
        if not rows:
            raise NotFoundError(missing)
        for r in rows:
            a.check(r["identity_id"], missing)
        statuses = {r["status"] for r in rows}
        status = "failed" if "failed" in statuses else "running" if "running" in statuses else "ok"
        done = sum(r["status"] in FINISHED for r in rows)
        kinds = [r["kind"] for r in rows]
        return {"id": run_id, "kind": kinds[0] if len(set(kinds)) == 1 else "analyze",
                "identity_id": rows[0]["identity_id"], "status": status, "started_at": rows[0]["started_at"],
                "duration_ms": sum(r["duration_ms"] or 0 for r in rows), "counts": {k: r["counts"] for k, r in
                                                                                  zip(kinds, rows, strict=True)},
                "errors": [r["error"] for r in rows if r["error"]], "stored_runs": rows,
                "progress": {"step": done, "steps": len(rows), "phase": None}}
    r = rows[0]
    a.check(r["identity_id"], missing)
    return {"id": r["id"], "kind": r["kind"], "identity_id": r["identity_id"], "status": r["status"],
            "started_at": r["started_at"], "duration_ms": r["duration_ms"], "counts": r["counts"],
            "errors": [r["error"]] if r["error"] else [], "stored_runs": rows,
            "progress": {"step": 1 if r["status"] in FINISHED else 0, "steps": 1, "phase": None}}


@router.get("/{run_id}", response_model=Envelope[RunOut])
def get_run(run_id: str, request: Request, a: Access = Depends(reader)) -> dict:
    """Status (queued, running, ok, failed), progress, counts, duration (ms), errors and result of a run
    started here, or a stored analysis run (also those run from the command line)."""
    return ok(_run(a, request, run_id))


@router.get("/{run_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events"}})
def run_events(run_id: str, request: Request, a: Access = Depends(reader)) -> StreamingResponse:
    """A server-sent-events stream of a run's progress: `progress` events, then one `finished`."""
    snapshot = _run(a, request, run_id)
    job = request.app.state.mirror.jobs.get(run_id)

    async def stream() -> AsyncIterator[str]:
        if job is None:  # a stored run: already over
            yield f"event: finished\ndata: {json.dumps(snapshot, default=str)}\n\n"
            return
        sent, idle = 0, 0.0
        while True:
            events = job.events[sent:]
            for ev in events:
                yield f"event: {ev['event']}\ndata: {json.dumps(ev, default=str)}\n\n"
            sent += len(events)
            if job.status in FINISHED and sent >= len(job.events):
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.1)
            idle = 0.0 if events else idle + 0.1
            if idle >= HEARTBEAT_S:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
