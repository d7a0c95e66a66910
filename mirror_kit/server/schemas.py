"""The JSON shapes of the HTTP API: request bodies and the data inside the success envelope."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """Every success: `{"status": "success", "data": ..., "message": ...}`."""

    status: Literal["success"] = "success"
    data: T
    message: str | None = None


class ErrorEnvelope(BaseModel):
    """Every error: `{"status": "error", "message": ..., "errors": [...]}`."""

    status: Literal["error"] = "error"
    message: str
    errors: list[Any] = Field(default_factory=list)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next page (null: last page)."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None


class Open(BaseModel):
    """A record whose extra columns are passed through as they are."""

    model_config = ConfigDict(extra="allow")


class IdentityOut(BaseModel):
    id: str
    name: str
    created_at: str
    metadata: dict[str, Any]


class ReflectionOut(BaseModel):
    id: str
    identity_id: str
    created_at: str
    tz: str | None = None
    title: str | None = None
    content: str
    source: str | None = None
    source_id: str | None = None
    content_hash: str
    visibility: str
    intensity: float | None = None
    metadata: dict[str, Any]
    tags: list[str]
    updated_at: str | None = None
    language: str | None = None


class ReflectionIn(BaseModel):
    """A new reflection; `created_at` defaults to now, naive times are read in `tz`."""

    model_config = ConfigDict(extra="forbid")
    identity: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1)
    created_at: str | None = None
    tz: str | None = None
    title: str | None = None
    tags: list[str] | None = None
    visibility: Literal["private", "shared", "public"] = "private"
    intensity: float | None = Field(default=None, ge=0, le=1)
    metadata: dict[str, Any] | None = None
    source: str | None = None
    source_id: str | None = None


class ReflectionPatch(BaseModel):
    """Fields to change; the id stays the same."""

    model_config = ConfigDict(extra="forbid")
    content: str | None = Field(default=None, min_length=1)
    created_at: str | None = None
    tz: str | None = None
    title: str | None = None
    tags: list[str] | None = None
    visibility: Literal["private", "shared", "public"] | None = None
    intensity: float | None = Field(default=None, ge=0, le=1)
    metadata: dict[str, Any] | None = None
    language: str | None = None


class PatternPatch(BaseModel):
    """A name of one's own for a pattern ("" or null: back to the computed name)."""

    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(default=None, max_length=80)


class SearchHit(BaseModel):
    reflection_id: str
    created_at: str
    score: float
    fts_rank: int | None = None
    vector_rank: int | None = None
    similarity: float | None = None
    why: str
    title: str | None = None
    snippet: str
    content: str


class SearchEnvelope(Envelope[list[SearchHit]]):
    """`/api/search`: the hits, and with `mode=text` how many reflections match in all (`total`,
    more than the hits when `k` cut them); null in the other modes, which rank every reflection."""

    total: int | None = None


class PatternOut(Open):
    id: str
    label: str
    keywords: list[str]
    confidence: float
    size: int
    status: str
    first_seen: str | None = None
    last_seen: str | None = None
    trend: str | None = None


class OccurrenceOut(BaseModel):
    reflection_id: str
    created_at: str
    strength: float | None = None
    content: str


class PatternDetail(PatternOut):
    identity_id: str
    slope: float | None = None
    p_value: float | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    occurrences: Page[OccurrenceOut]
    evolution: list[dict[str, Any]]


class PatternEvolution(BaseModel):
    pattern_id: str
    period: str
    evolution: list[dict[str, Any]]
    trend: dict[str, Any] | None = None


class TensionOut(Open):
    tension_id: str
    name: str
    axis_a: str
    axis_b: str


class TensionDetail(Open):
    id: str
    name: str
    axis_a: str
    axis_b: str
    evolution: list[dict[str, Any]]


class SeedTension(Open):
    id: str
    name: str
    axis_a: str
    axis_b: str


class RunAccepted(BaseModel):
    run_id: str
    kind: str
    status: str
    url: str


class RunOut(BaseModel):
    """A run: status queued/running/ok/failed, progress (step, steps, phase), counts, duration_ms,
    errors, the stored analysis runs it made and its result when done."""

    id: str
    kind: str
    identity_id: str | None = None
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: float | None = None
    progress: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    stored_runs: list[dict[str, Any]] = Field(default_factory=list)
    result: Any = None


class CommonsManifest(BaseModel):
    """The served Commons: its format and genesis object id."""

    format: str
    genesis: str


class CommonsStored(BaseModel):
    """The answer to storing one Commons object."""

    hash: str
    new: bool
