"""Prometheus metrics for the service: traffic by route and status, latency, and the domain
events that tell whether the recommender is being used (sessions, events, feedback).

Each app gets its own registry so that several apps in one process (tests) do not collide.
When `PROMETHEUS_MULTIPROC_DIR` is set (`sessionrec serve --workers N` sets it), values are
shared through files and `/metrics` on any worker reports the sum over all workers.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceMetrics:
    """The service's counters and histograms, in one registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        r = self.registry
        self.requests = Counter(
            "sessionrec_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "sessionrec_http_request_duration_seconds",
            "Time from request start to the last response byte, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sessions_created = Counter(
            "sessionrec_sessions_created", "Sessions created.", registry=r
        )
        self.sessions_deleted = Counter(
            "sessionrec_sessions_deleted", "Sessions deleted by their owner.", registry=r
        )
        self.events_accepted = Counter(
            "sessionrec_events_accepted", "Session events stored.", registry=r
        )
        self.events_rejected = Counter(
            "sessionrec_events_rejected", "Session events refused (reported per event).", registry=r
        )
        self.feedback = Counter(
            "sessionrec_feedback", "Feedback on slate items, by kind.", ["kind"], registry=r
        )
        self.recommendations = Counter("sessionrec_recommendations", "Slates served.", registry=r)
        self.reloads = Counter(
            "sessionrec_model_reloads", "Model reloads, by outcome.", ["outcome"], registry=r
        )
        self.rate_limited = Counter(
            "sessionrec_rate_limited",
            "Requests refused with 429, by the limit that refused them (address, session).",
            ["limit"],
            registry=r,
        )
        self.items = Gauge(
            "sessionrec_engine_items",
            "Items the serving engine can recommend.",
            registry=r,
            multiprocess_mode="livemax",
        )

    def render(self) -> bytes:
        """The exposition text for `/metrics` (summed over workers in multiprocess mode)."""
        if self.multiprocess:
            collected = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
            return generate_latest(collected)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Count every HTTP request by its route template (not its raw path, which has ids)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracked_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
