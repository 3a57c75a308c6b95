"""What the routes share: settings, store, engine holder and metrics of one app."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from sessionrec.service.metrics import ServiceMetrics
from sessionrec.service.runtime import EngineHolder
from sessionrec.service.settings import ServiceSettings
from sessionrec.store.base import SessionStore


@dataclass
class ServiceState:
    settings: ServiceSettings
    store: SessionStore
    holder: EngineHolder
    metrics: ServiceMetrics
    owns_store: bool


def service_state(request: Request) -> ServiceState:
    """The state of the app serving `request` (set by `create_app`)."""
    state: ServiceState = request.app.state.service
    return state
