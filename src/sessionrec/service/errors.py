"""One JSON shape for every error the service returns, and the handlers that produce it.

Clients (the web page, scripts, load generators) branch on `error.code`, so each problem a
caller can cause has its own stable code and a 4xx status; nothing a client sends may turn
into a 500 or leak a traceback. Unexpected failures are logged with their traceback on the
server side and answered with a bare 500 JSON body.

A store that does not answer (Redis stopped, the SQLite disk full or read-only) is 503
`store_unavailable` with `Retry-After`: the outage is the server's and usually brief, and
the request changed nothing, so the client should send the same request again later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from sessionrec.errors import ConfigError, DataError, SessionrecError
from sessionrec.store.base import SessionNotFound, StoreUnavailable

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A problem with one request, carrying the HTTP status and the stable error code."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


STORE_RETRY_AFTER_S = 2
"""`Retry-After` of a 503 `store_unavailable`, whole seconds: about what a restarted Redis
takes to load its append-only file and answer; the store reconnects by itself, so the same
request sent again then succeeds."""

STORE_RETRY_HEADERS: Mapping[str, str] = {"Retry-After": str(STORE_RETRY_AFTER_S)}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON every error response carries."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        details.append(
            {"loc": location, "msg": str(error.get("msg", "")), "type": error.get("type")}
        )
    return details


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "malformed_json", "the request body is not valid JSON", details)
    summary = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:5])
    return error_response(422, "validation_error", f"invalid request: {summary}", details)


async def _on_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _on_session_not_found(_: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "session_not_found", str(exc))


async def _on_store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    logger.warning("session store unavailable: %s", exc)
    return error_response(503, "store_unavailable", str(exc), headers=STORE_RETRY_HEADERS)


async def _on_user_error(_: Request, exc: Exception) -> JSONResponse:
    code = "invalid_request" if isinstance(exc, ConfigError | DataError) else "request_error"
    return error_response(422, code, str(exc))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception type to its JSON answer (most specific first)."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(SessionNotFound, _on_session_not_found)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(SessionrecError, _on_user_error)
    app.add_exception_handler(Exception, _on_unexpected)
