"""Liveness, readiness and metrics: what an orchestrator and a scraper poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sessionrec.service.errors import STORE_RETRY_HEADERS, error_response
from sessionrec.service.openapi import errors
from sessionrec.service.schemas import HealthOut, ReadyOut
from sessionrec.service.state import service_state

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut, responses=errors(), summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses=errors(
        {503: "`store_unavailable`: the store does not answer; `details` is the body of 200."}
    ),
    summary="The engine is loaded and the store answers",
)
def readyz(request: Request) -> Response:
    state = service_state(request)
    engine = state.holder.engine
    store_ok = state.store.ping()
    body: dict[str, Any] = {
        "ready": store_ok,
        "engine": {"n_items": engine.n_items, "artifact": str(state.holder.artifact)},
        "store": store_ok,
    }
    if not store_ok:
        return error_response(
            503,
            "store_unavailable",
            "the session store does not answer",
            body,
            headers=STORE_RETRY_HEADERS,
        )
    return JSONResponse(body)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=errors(),
    summary="Prometheus metrics (text format)",
)
def metrics(request: Request) -> Response:
    state = service_state(request)
    state.metrics.items.set(state.holder.engine.n_items)
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
