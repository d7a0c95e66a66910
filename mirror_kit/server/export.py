"""Route `/api/export/{identity}`: the `mirror_os_export_v1` JSON export of one identity, streamed."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from .auth import Access, reader
from .common import ERRORS

router = APIRouter(prefix="/api/export", tags=["export"], responses=ERRORS)
_END = object()


class _QueueSink:
    """A file-like sink that hands what the exporter writes to the response, a chunk at a time."""

    def __init__(self, q: queue.Queue, stop: threading.Event) -> None:
        self.q, self.stop = q, stop

    def write(self, data: bytes | str) -> int:
        if self.stop.is_set():
            raise BrokenPipeError("client went away")
        b = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.q.put(b)
        return len(b)

    def flush(self) -> None:
        pass


@router.get("/{identity}", response_class=StreamingResponse,
            responses={200: {"content": {"application/json": {}},
                             "description": "The mirror_os_export_v1 document (importable with `mirror-kit import`)"}})
def export_identity(identity: str, request: Request, a: Access = Depends(reader)) -> StreamingResponse:
    """Everything of one identity (reflections, tags, threads, mirrorbacks, patterns, tensions, runs) as
    the JSON export, read from one consistent snapshot and streamed as it is written."""
    ident = a.identity(identity)
    state = request.app.state.mirror
    q: queue.Queue = queue.Queue(maxsize=64)
    stop = threading.Event()

    def produce() -> None:
        from ..export.jsonfmt import write_export
        from ..export.service import read_snapshot
        from ..timeutil import now_iso

        j = state.open(readonly=True)
        try:
            with read_snapshot(j.conn):
                write_export(j.conn, _QueueSink(q, stop), identity_id=ident.id, exported_at=now_iso())
        except BrokenPipeError:
            pass
        except Exception as exc:  # the status line is already sent: end the body so it fails to parse
            q.put(f'\n{{"error": "export failed: {type(exc).__name__}"}}'.encode())
        finally:
            j.close()
            q.put(_END)

    threading.Thread(target=produce, name="mirror-kit export", daemon=True).start()

    def body() -> Iterator[bytes]:
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                yield item
        finally:
            stop.set()
            # unblock a producer waiting on a full queue
            while not q.empty():
                q.get_nowait()

    filename = f"mirror_kit_{ident.name}.json".replace('"', "")
    return StreamingResponse(body(), media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
