"""Admin operations: reload the model without downtime."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from sessionrec.errors import SessionrecError
from sessionrec.service.auth import authorize_admin
from sessionrec.service.deps import ApiKey
from sessionrec.service.errors import ApiError
from sessionrec.service.openapi import ADMIN, RATE_LIMITED, STORE, errors
from sessionrec.service.schemas import ReloadOut
from sessionrec.service.state import service_state

router = APIRouter(prefix="/v1/admin", tags=["admin"])

RELOAD_FAILED = {
    409: "`reload_failed`: the artifact is missing or broken; the current model keeps serving."
}


@router.post(
    "/reload",
    response_model=ReloadOut,
    responses=errors(ADMIN, RELOAD_FAILED, STORE, RATE_LIMITED),
    summary="Load the artifact again (admin)",
)
async def reload(request: Request, x_api_key: ApiKey = None) -> Response:
    """Loads in a worker thread while the current engine keeps serving, then swaps one
    reference; requests already running finish on the engine they started with. A failed
    load (missing or corrupted artifact) answers 409 and the current engine stays."""
    state = service_state(request)
    authorize_admin(state.settings.api_key, x_api_key)
    start = time.perf_counter()
    try:
        engine = await run_in_threadpool(state.holder.reload)
    except SessionrecError as exc:
        state.metrics.reloads.labels("failed").inc()
        message = f"reload failed, still serving the old model: {exc}"
        raise ApiError(409, "reload_failed", message) from None
    state.metrics.reloads.labels("ok").inc()
    body = {
        "n_items": engine.n_items,
        "artifact": str(state.holder.artifact),
        "seconds": round(time.perf_counter() - start, 3),
    }
    return JSONResponse(body)
