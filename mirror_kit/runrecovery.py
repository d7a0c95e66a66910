"""Analysis runs whose process died (killed, power cut) stay `running` in analysis_runs forever;
the next writable open marks them as failed (`mirror_kit.collections.runs.mark_interrupted`) with an `interrupted: ...` error.

A run records the process id and host that started it (in its metadata, until it finishes). A
`running` row is only touched when that process is gone on this host, or, for a row without that
information (written by an older version) or from another host, when it started more than
`STALE_AFTER_S` ago, so a run still going on in another program is never marked.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime

STALE_AFTER_S = 24 * 3600


def owner_metadata(request: str | None = None) -> str:
    """The JSON metadata a new run row starts with: who is running it (and for which request, if any)."""
    meta: dict = {"pid": os.getpid(), "host": socket.gethostname()}
    if request is not None:
        meta["request"] = request
    return json.dumps(meta)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _age_s(started_at: str) -> float:
    try:
        t = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (datetime.now(UTC) - t).total_seconds()


def interrupted(rows: list[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    """(run id, reason) for the `running` rows (id, started_at, metadata) whose process is gone."""
    host = socket.gethostname()
    dead: list[tuple[str, str]] = []
    for rid, started_at, meta in rows:
        try:
            owner = json.loads(meta or "{}")
        except ValueError:
            owner = {}
        pid = owner.get("pid") if isinstance(owner, dict) else None
        if isinstance(pid, int) and owner.get("host") == host:
            if pid != os.getpid() and not _alive(pid):
                dead.append((rid, f"interrupted: the process that ran it (pid {pid}) ended before it finished"))
        elif _age_s(started_at) > STALE_AFTER_S:
            dead.append((rid, "interrupted: still marked running a day after it started"))
    return dead
