"""What /openapi.json and /docs tell a client: every status each route answers with the real
error body, the two credentials, the limits this service was started with, and Swagger UI
served from the package so the page works without internet.

Routes declare their error answers with `errors(...)` from the building blocks below, one
per cause, so that a status and its codes are written once. The schema is fuzzed against the
running service (`tests/service/test_openapi_fuzz.py`): a status, body or request the
schema does not describe fails there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from sessionrec.service.limits import Limits
from sessionrec.service.schemas import ErrorOut

Responses = dict[int | str, dict[str, Any]]

BODY: Mapping[int, str] = {
    400: "`malformed_json`: the body is not valid JSON.",
    413: "`body_too_large`: the body is over the size limit (1 MiB by default).",
    422: "`validation_error`: a field is missing, unknown, of the wrong type or out of range; "
    "`details` lists each as {loc, msg, type}.",
}
PARAMETERS: Mapping[int, str] = {
    422: "`validation_error`: a path or query parameter is out of range; `details` names it.",
}
SESSION: Mapping[int, str] = {
    401: "`missing_token`: no `Authorization: Bearer TOKEN` header, or a malformed one.",
    403: "`wrong_token`: the token is not this session's.",
    404: "`session_not_found`: no such session (never created, or deleted).",
}
ADMIN: Mapping[int, str] = {
    401: "`missing_api_key`, `wrong_api_key`: no `X-API-Key` header, or not the admin key.",
    503: "`admin_disabled`: the server runs without an admin key (`SESSIONREC_API_KEY`).",
}
STORE: Mapping[int, str] = {
    503: "`store_unavailable`: the session store does not answer (down, disk full, read-only); "
    "send the request again after `Retry-After` seconds.",
}
RATE_LIMITED: Mapping[int, str] = {
    429: "`rate_limited`: too many requests from this address or on this session; "
    "`Retry-After` says when to come back.",
}
ITEM_NOT_FOUND: Mapping[int, str] = {404: "`item_not_found`: the catalogue has no such item."}
UNEXPECTED: Mapping[int, str] = {
    500: "`internal_error`: a bug; its traceback is in the server log, never in the answer.",
}

_HEADERS: Mapping[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Whole seconds to wait before the next request.",
            "schema": {"type": "integer"},
        }
    },
    503: {
        "Retry-After": {
            "description": "With `store_unavailable`: whole seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    },
}


def errors(*causes: Mapping[int, str]) -> Responses:
    """A route's `responses=`: each status the causes give, with the error body and the
    codes behind it (causes sharing a status are listed together). 500 is always there:
    any route answers it, with the same body, when something unforeseen breaks."""
    by_status: dict[int, list[str]] = {}
    for cause in (*causes, UNEXPECTED):
        for status, text in cause.items():
            texts = by_status.setdefault(status, [])
            if text not in texts:
                texts.append(text)
    responses: Responses = {}
    for status in sorted(by_status):
        entry: dict[str, Any] = {"model": ErrorOut, "description": " ".join(by_status[status])}
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        responses[status] = entry
    return responses


def operation_id(route: APIRoute) -> str:
    """The function's name (`create_session`, `recommend`): stable ids for generated clients,
    where FastAPI's default appends the path and method."""
    return route.name


_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_ERROR = "#/components/schemas/ErrorOut"


def _errors_as_served(schema: dict[str, Any]) -> dict[str, Any]:
    """Two corrections to what FastAPI generates. It adds a 422 with its own `{"detail"}`
    body to every route with a parameter: where a route can answer 422 it declares it with
    the service's body, and where it cannot (a path that takes any string) the 422 is one
    the service never gives, so it goes. And it files a route's declared errors under the
    route's own media type (`text/plain` for /metrics), while errors are always JSON."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            refused = responses.get("422", {})
            body = refused.get("content", {}).get("application/json", {}).get("schema", {})
            if body.get("$ref") == _FASTAPI_422:
                del responses["422"]
            for status, response in responses.items():
                content = response.get("content", {})
                for media in [m for m in content if m != "application/json"]:
                    if int(status) >= 400 and content[media].get("schema") == {"$ref": _ERROR}:
                        content["application/json"] = content.pop(media)
    models = schema["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        models.pop(name, None)
    return schema


def _with_limits(schema: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The bounds this service was started with, where the models only know the defaults."""
    models = schema["components"]["schemas"]
    models["EventsIn"]["properties"]["events"]["maxItems"] = limits.max_events_per_batch
    recommend = models["RecommendIn"]["properties"]
    recommend["k"]["maximum"] = limits.max_k
    for branch in recommend["query"]["anyOf"]:
        if branch.get("type") == "string":
            branch["maxLength"] = limits.max_query_chars
    return schema


def install_openapi(app: FastAPI, limits: Limits) -> None:
    """Make `/openapi.json` say this service's limits (built once, on the first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_limits(_errors_as_served(schema), limits)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented extension point


DOCS_ASSETS = "/docs/assets"
"""Where Swagger UI's files are served from (the `swagger-ui-bundle-v2` package)."""


def install_docs(app: FastAPI) -> None:
    """Serve /docs with Swagger UI's script and style from the package: FastAPI's default
    page loads them from a CDN and is blank without internet."""
    app.mount(
        DOCS_ASSETS,
        StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)),
        name="swagger-ui",
    )

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon-32x32.png",
        )
