"""The HTTP application: `create_app(journal_path)` builds it; `mirror-kit serve` runs it with uvicorn."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import (
    InvalidInputError,
    JournalLockedError,
    MirrorKitError,
    NotFoundError,
    UnknownIdentityError,
)
from ..journal import open_journal
from .auth import RateLimiter, ServerState
from .jobs import Jobs
from .results import ResultCache

log = logging.getLogger("mirror_kit.server")
DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: far above any reflection, far below what could exhaust memory
DEFAULT_RATE_LIMIT = 600  # requests per minute and token
SWAGGER_DIR = "/static/swagger"


def _error(status: int, message: str, errors: list | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message, "errors": errors or []}, status_code=status,
                        headers=headers)


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413, whether or not they say their
    length up front (chunked bodies are counted as they arrive)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = _error(413, f"request body over the limit of {self.limit} bytes")
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    n = int(v)
                except ValueError:
                    n = self.limit + 1
                if n > self.limit:
                    await too_big(scope, receive, send)
                    return
        seen, over, replaced = 0, False, False

        async def counted() -> dict:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    # End the body here: the app fails on what it got, and its answer is replaced below.
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        async def guarded_send(msg: dict) -> None:
            nonlocal replaced
            if over:
                if not replaced and msg["type"] == "http.response.start":
                    replaced = True
                    await too_big(scope, receive, send)
                return
            await send(msg)

        await self.app(scope, counted, guarded_send)




class SecurityHeaders:
    """ASGI middleware: responses are never sniffed as another type nor framed by another site."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def send_with(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                msg.setdefault("headers", [])
                msg["headers"] = [*msg["headers"], (b"x-content-type-options", b"nosniff"),
                                  (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
            await send(msg)

        await self.app(scope, receive, send_with if scope["type"] == "http" else send)


def create_app(
    journal_path: str | Path,
    *,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY,
    rate_limit: int | None = DEFAULT_RATE_LIMIT,
    llm: Any = None,
    commons: str | Path | None = None,
) -> FastAPI:
    """The FastAPI app serving one journal file (which must exist; it is migrated once here).

    cors_origins: browser origins allowed to call the API (none by default).
    max_body_bytes: larger request bodies get 413. rate_limit: requests a minute per token (None: off).
    llm: the mirrorback language model (as `journal.mirrorbacks.generate(llm=)`; None: the configured one).
    commons: a Commons folder to serve under /api/commons (None: those routes answer 404).
    Raises JournalNotFoundError, NotAJournalError, MirrorKitError.
    """
    path = Path(journal_path).expanduser()
    with open_journal(path, create=False) as j:
        migrator = j.migrator
    state = ServerState(path, migrator, RateLimiter(rate_limit), llm=llm)
    state.jobs = Jobs(lambda: state.open(readonly=False))
    state.results = ResultCache(path)

    app = FastAPI(
        title="mirror_kit",
        version=__version__,
        summary="A local HTTP API over one mirror_kit journal.",
        description="Every route needs `Authorization: Bearer <token>` (make one with "
                    "`mirror-kit token create`). Successes are `{status: success, data, message}`, errors "
                    "`{status: error, message, errors}`.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.mirror = state
    app.state.commons = None if commons is None else _commons_store(commons)

    from . import commons as commons_routes
    from . import export, patterns, reflections, runs, search, tensions

    for module in (patterns, tensions, reflections, search, runs, export, commons_routes):
        app.include_router(module.router)
    _docs(app)
    _handlers(app)
    _no_422_in_schema(app)

    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def _no_422_in_schema(app: FastAPI) -> None:
    """Drop FastAPI's default 422 from the schema: every bad parameter or body answers 400 here."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    if isinstance(op, dict):
                        op.get("responses", {}).pop("422", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _commons_store(path: str | Path) -> Any:
    from ..commons.store import FolderStore

    return FolderStore(path)


def _docs(app: FastAPI) -> None:
    """Swagger UI from files this server serves itself: /docs works with no network."""
    try:
        import swagger_ui_bundle
    except ImportError:  # the `serve` extra brings it; without it /docs says how to get it
        swagger_ui_bundle = None

    if swagger_ui_bundle is not None:
        from fastapi.staticfiles import StaticFiles

        app.mount(SWAGGER_DIR, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if swagger_ui_bundle is None:
            return HTMLResponse("<h1>mirror_kit API</h1><p>Install <code>mirror_kit[serve]</code> for the "
                                "interactive docs; the schema is at <a href='/openapi.json'>/openapi.json</a>.</p>")
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="mirror_kit API",
            swagger_js_url=f"{SWAGGER_DIR}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER_DIR}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_DIR}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False},
        )


async def _json_message(request: Request, error: dict) -> str:
    """`the request body is not valid JSON (line L, column C: reason)` for a json_invalid error."""
    loc = error.get("loc") or ()
    pos = loc[-1] if loc and isinstance(loc[-1], int) else None
    reason = str((error.get("ctx") or {}).get("error") or "").strip()
    where = ""
    if pos is not None:
        try:
            text = (await request.body()).decode("utf-8", errors="replace")
        except Exception:  # the stream is gone: the offset alone still locates it
            where = f"character {pos + 1}"
        else:
            line_start = text.rfind("\n", 0, pos) + 1
            where = f"line {text.count(chr(10), 0, pos) + 1}, column {pos - line_start + 1}"
    detail = "; ".join(x for x in (where, reason) if x)
    return "the request body is not valid JSON" + (f" ({detail})" if detail else "")


def _handlers(app: FastAPI) -> None:
    """Every error becomes `{status: error, message, errors}`; no traceback ever reaches a client."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return _error(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        # one status for every bad parameter or body, whether FastAPI or the library refuses it
        bad = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if bad is not None:
            return _error(400, await _json_message(request, bad), errors)
        return _error(400, f"{'.'.join(first['loc'])}: {first['msg']}", errors)

    @app.exception_handler(UnknownIdentityError)
    async def unknown_identity(request: Request, exc: UnknownIdentityError) -> JSONResponse:
        # the library's message lists every identity; a scoped client must not learn them
        return _error(404, "unknown identity")

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(JournalLockedError)
    async def locked(request: Request, exc: JournalLockedError) -> JSONResponse:
        return _error(503, "the journal is busy with another writer; retry shortly", headers={"Retry-After": "1"})

    @app.exception_handler(InvalidInputError)
    async def bad_input(request: Request, exc: InvalidInputError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(MirrorKitError)
    async def mirror_error(request: Request, exc: MirrorKitError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server log")
