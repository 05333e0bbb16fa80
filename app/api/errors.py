"""Every error the API returns has one JSON shape, OpenAI's (`{"error": {"message", "type",
"code"}}`, so the `openai` client reports it), the right status, and never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag_core.generation.admission import AnswerTimeout, Busy
from rag_core.types import ModelUnavailable, RagdeskError, StoreUnavailable

log = logging.getLogger("ragdesk.api")

RETRY_AFTER_S = 10  # a full answer queue: when to try again

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable",
    504: "timeout_error",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.details = status, message, headers, details


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    error: dict[str, Any] = {
        "message": message,
        "type": _TYPES.get(status, "error"),
        "code": status,
    }
    if details:
        error["details"] = details
    return {"error": error}


def from_ragdesk(exc: RagdeskError) -> ApiError:
    """A core error as the API says it."""
    if isinstance(exc, Busy):
        return ApiError(429, str(exc), {"Retry-After": str(RETRY_AFTER_S)})
    if isinstance(exc, AnswerTimeout):
        return ApiError(504, str(exc))
    if isinstance(exc, StoreUnavailable | ModelUnavailable):
        return ApiError(503, str(exc))
    return ApiError(400, str(exc))


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the input (a 100k-character question stays home)."""
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg"),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        body = error_body(exc.status, exc.message, exc.details)
        return JSONResponse(body, exc.status, headers=exc.headers)

    @app.exception_handler(RagdeskError)
    async def ragdesk_error(request: Request, exc: RagdeskError) -> JSONResponse:
        return await api_error(request, from_ragdesk(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return JSONResponse(error_body(400, "the request body is not valid JSON", details), 400)
        problems = "; ".join(
            f"{'.'.join(d['loc'][1:] if d['loc'][:1] == ['body'] else d['loc'])}: {d['msg']}"
            for d in details
        )
        return JSONResponse(error_body(422, f"invalid request: {problems}", details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = f"something went wrong on the server ({type(exc).__name__}); see its log"
        return JSONResponse(error_body(500, message), 500)
