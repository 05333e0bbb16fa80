"""The API application: `create_app(settings)` for uvicorn (`ragdesk serve-api`) and tests.

Start-up loads what the chat loads once per process (the answer model, its gate); stores
and embedders are opened on the first request that needs them. OpenAPI: /openapi.json,
/docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from app.api import errors, openai_compat, routes
from app.api.runtime import ApiRuntime
from app.api.uploads import MAX_FILES
from rag_core.settings import Settings

MAX_JSON_BYTES = 4 << 20  # a question with its history; uploads have their own limit

DESCRIPTION = """Ask ragdesk's documents from programs. Every request carries a key
(`Authorization: Bearer rdk_...`, made with `ragdesk users key create USER`) and is answered
with that user's groups, as in the chat. Answers keep their `[n]` markers and come with
`citations` (source, page/section/rows, snippet, supported) and `refused`."""


def create_app(settings: Settings, runtime: ApiRuntime | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime or ApiRuntime.start(settings)
        try:
            yield
        finally:
            if runtime is None:  # made here, closed here
                app.state.runtime.close()

    # FastAPIOffline: the /docs and /redoc pages load Swagger UI and ReDoc from files the
    # package ships, not from a CDN (unreachable on an air-gapped network)
    app = FastAPIOffline(
        title="ragdesk API", version="1", description=DESCRIPTION, lifespan=lifespan
    )
    errors.install(app)

    @app.middleware("http")
    async def body_limit(request: Request, call_next):  # type: ignore[no-untyped-def]
        """A body larger than any question, or than the files an upload may hold, is
        refused before it is read."""
        size = request.headers.get("content-length", "")
        kind = request.headers.get("content-type", "")
        limit = None
        if kind.startswith("application/json"):
            limit = MAX_JSON_BYTES
        elif kind.startswith("multipart/"):
            limit = (request.app.state.runtime.settings.max_file_mb << 20) * MAX_FILES + (1 << 20)
        if limit is not None and size.isdigit() and int(size) > limit:
            body = errors.error_body(413, f"request body over {limit >> 20} MB")
            return JSONResponse(body, 413)
        return await call_next(request)

    app.include_router(openai_compat.router)
    app.include_router(routes.router)
    return app


def serve(settings: Settings) -> None:
    """Run the API on RAGDESK_API_HOST:RAGDESK_API_PORT until SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=settings.api.host,
        port=settings.api.port,
        log_level="info",
        proxy_headers=False,
    )
