"""The FastAPI application factory: wires settings, store, engine and routes together.

Tests inject a ready engine and store; `sessionrec serve` passes settings only and the
factory loads the artifact and opens the store itself. `app_from_env` is the import-string
entry point for uvicorn worker processes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles

from sessionrec import __version__
from sessionrec.engine import Engine
from sessionrec.errors import ConfigError
from sessionrec.service.errors import install_error_handlers
from sessionrec.service.limits import BodyLimitMiddleware
from sessionrec.service.metrics import MetricsMiddleware, ServiceMetrics
from sessionrec.service.openapi import install_docs, install_openapi, operation_id
from sessionrec.service.ratelimit import RateLimitMiddleware
from sessionrec.service.routes import admin, health, items, recommend, sessions, web
from sessionrec.service.runtime import EngineHolder
from sessionrec.service.settings import ServiceSettings
from sessionrec.service.state import ServiceState
from sessionrec.service.threads import limit_threads
from sessionrec.store import open_store
from sessionrec.store.base import SessionStore
from sessionrec.store.retention import RETENTION_SWEEP_SECONDS, RetentionSweeper

logger = logging.getLogger(__name__)

DESCRIPTION = """Session-based, interactive recommendations.

Create a session, post what the person does (events) and how they react to slates
(feedback), ask for recommendations with an optional typed request. Session routes need the
session's token (`Authorization: Bearer TOKEN`); item upserts and reloads need `X-API-Key`.
Every error is a JSON body `{"error": {"code", "message", "details"}}`.
"""


def load_engine(settings: ServiceSettings) -> Engine:
    """The engine for `settings.artifact` (a clear error when none is configured)."""
    if settings.artifact is None:
        raise ConfigError("no artifact folder given: use --artifact DIR (or SESSIONREC_ARTIFACT)")
    return Engine.from_artifact(settings.artifact, llm=settings.llm_layer())


def _artifact_of(engine: Engine) -> Path | None:
    """The folder an injected engine came from (None for one built in memory)."""
    try:
        return engine.artifact
    except ConfigError:
        return None


def create_app(
    settings: ServiceSettings,
    engine: Engine | None = None,
    store: SessionStore | None = None,
) -> FastAPI:
    """Build the service. Without `engine`/`store`, they are loaded/opened from `settings`
    (and the store is closed when the app shuts down)."""
    owns_store = store is None
    if engine is None:
        engine = load_engine(settings)
    if store is None:
        store = open_store(settings.store_url)
    holder = EngineHolder(engine, store, settings.artifact or _artifact_of(engine))
    replayed = holder.replay_items()
    if replayed:
        logger.info("replayed %d stored items into the engine", replayed)
    holder.engine.prepare()  # the first request must not load the encoder or read facets
    state = ServiceState(settings, store, holder, ServiceMetrics(), owns_store)

    # Every process sweeps (it cannot tell whether others share its store); sweeps of one
    # store by several processes delete each session once between them.
    sweeper = (
        None
        if settings.retention_days is None
        else RetentionSweeper(store, settings.retention_days, RETENTION_SWEEP_SECONDS)
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.start_sync(settings.sync_seconds)
        if sweeper is not None:
            sweeper.start()  # the first sweep runs at once, beside the first requests
        try:
            yield
        finally:
            holder.stop()
            if sweeper is not None:
                sweeper.stop()
            if state.owns_store:
                state.store.close()

    app = FastAPI(
        title="sessionrec",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from the package rather than a CDN
        redoc_url=None,  # ReDoc would load from a CDN: blank offline
        generate_unique_id_function=operation_id,
    )
    app.state.service = state
    install_error_handlers(app)
    for module in (health, sessions, recommend, items, admin):
        app.include_router(module.router)
    install_openapi(app, settings.limits)
    install_docs(app)
    if settings.web:
        app.include_router(web.router)
        app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    # Inside CORS: preflights are answered before they count, and a 429 carries CORS headers.
    app.add_middleware(RateLimitMiddleware, limits=settings.rate_limits, metrics=state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app


def app_from_env() -> FastAPI:
    """Uvicorn factory for worker processes: settings come from `SESSIONREC_*` variables."""
    settings = ServiceSettings.from_env()
    limit_threads(settings.threads)
    return create_app(settings)
