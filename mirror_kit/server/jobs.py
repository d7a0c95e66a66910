"""Runs started over HTTP: analyses and mirrorbacks run in a background thread, one at a time.

The route returns the run id at once (202); `GET /api/runs/{run_id}` shows the run's status and
progress from memory and the `analysis_runs` rows it stored (which carry the run id in their
metadata, so a restarted server still answers from them); `/events` streams its progress.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MirrorKitError
from ..ids import random_id
from ..timeutil import now_iso

if TYPE_CHECKING:
    from ..journal import Journal

log = logging.getLogger("mirror_kit.server")
Step = tuple[str, Callable[["Journal"], Any]]
FINISHED = ("ok", "failed")


@dataclass
class Job:
    id: str
    kind: str
    identity_id: str | None
    steps: list[str]
    status: str = "queued"
    created_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: float | None = None
    phase: str | None = None
    step: int = 0
    result: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "identity_id": self.identity_id, "status": self.status,
                "started_at": self.started_at, "finished_at": self.finished_at, "duration_ms": self.duration_ms,
                "progress": {"step": self.step, "steps": len(self.steps), "phase": self.phase},
                "errors": list(self.errors), "result": json.loads(json.dumps(self.result, default=str))}


class Jobs:
    """Background runs of one server: `submit`, `get`; one writer at a time (`_writer` lock)."""

    def __init__(self, open_writer: Callable[[], Journal], keep: int = 200) -> None:
        self._open = open_writer
        self._writer = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, kind: str, identity_id: str | None, steps: list[Step]) -> Job:
        job = Job(random_id("run"), kind, identity_id, [name for name, _ in steps])
        self._event(job, "queued")
        with self._lock:
            self._jobs[job.id] = job
            finished = [k for k, v in self._jobs.items() if v.status in FINISHED]
            for k in finished[:max(0, len(self._jobs) - self._keep)]:
                del self._jobs[k]
        threading.Thread(target=self._run, args=(job, steps), name=f"mirror-kit {job.id}", daemon=True).start()
        return job

    def get(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def _event(self, job: Job, event: str, **data: Any) -> None:
        job.events.append({"event": event, "run_id": job.id, "status": job.status, "step": job.step,
                           "steps": len(job.steps), "phase": job.phase, "at": now_iso(), **data})

    def _run(self, job: Job, steps: list[Step]) -> None:
        with self._writer:
            t0 = time.perf_counter()
            job.status, job.started_at = "running", now_iso()
            j = None
            try:
                j = self._open()
                # the runs it stores carry this id, which then still finds them after a restart
                with j.runs.for_request(job.id):
                    for i, (name, fn) in enumerate(steps):
                        job.step, job.phase = i, name
                        self._event(job, "progress")
                        job.result[name] = fn(j)
                job.step, job.phase, job.status = len(steps), None, "ok"
            except MirrorKitError as exc:
                job.status = "failed"
                job.errors.append(str(exc))
            except Exception as exc:  # a bug: logged with its traceback, reported as one line
                log.exception("run %s failed", job.id)
                job.status = "failed"
                job.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                if j is not None:
                    j.close()
                job.finished_at = now_iso()
                job.duration_ms = round((time.perf_counter() - t0) * 1000, 1)
                self._event(job, "finished", errors=list(job.errors))

    def wait(self, run_id: str, timeout: float = 60.0) -> Job | None:
        """Block until a run finishes (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        job = self.get(run_id)
        while job is not None and job.status not in FINISHED and time.monotonic() < deadline:
            time.sleep(0.05)
        return job
