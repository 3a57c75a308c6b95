"""Liveness, readiness and metrics: what an orchestrator and a scraper poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sessionrec.service.errors import error_response
from sessionrec.service.state import service_state

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The engine is loaded and the store answers")
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
        return error_response(503, "store_unavailable", "the session store does not answer", body)
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics (text format)")
def metrics(request: Request) -> Response:
    state = service_state(request)
    state.metrics.items.set(state.holder.engine.n_items)
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
