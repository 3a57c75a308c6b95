"""Recommendations: the session's stored events (and what it was already shown) become an
engine query; the slate comes back with scores, reasons and the session's interests, and
each item with what the catalogue says of it (categories, attributes), so a client can show
it without a second request."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sessionrec.data.schema import EventType
from sessionrec.engine import Engine
from sessionrec.engine.query import Filters, Query, SessionEvent, Slate, SlateItem
from sessionrec.service.auth import authorize_session
from sessionrec.service.deps import Authorization, SessionId
from sessionrec.service.errors import ApiError
from sessionrec.service.openapi import BODY, RATE_LIMITED, SESSION, STORE, errors
from sessionrec.service.schemas import RecommendIn, SlateOut
from sessionrec.service.state import service_state
from sessionrec.store.base import SessionStore, StoredEvent

router = APIRouter(prefix="/v1/sessions", tags=["recommendations"])

REFUSED_REQUEST = {
    422: "`empty_query`: `query` is only spaces (leave it out instead); `query_too_long`: "
    "`query` is longer than this service's limit; `k_out_of_range`: `k` is above this "
    "service's limit.",
}


class OutcomeLookup(Mapping[str, tuple[int, int]]):
    """Item feedback statistics fetched from the store only for the items the engine asks
    about, so exploration never loads the statistics of the whole catalogue."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store
        self._cache: dict[str, tuple[int, int]] = {}
        self._missing: set[str] = set()

    def prefetch(self, item_ids: list[str]) -> None:
        wanted = [i for i in item_ids if i not in self._cache and i not in self._missing]
        found = self._store.item_outcomes(wanted) if wanted else {}
        self._cache.update(found)
        self._missing.update(i for i in wanted if i not in found)

    def __getitem__(self, item_id: str) -> tuple[int, int]:
        if item_id not in self._cache and item_id not in self._missing:
            self.prefetch([item_id])
        if item_id in self._missing:
            raise KeyError(item_id)
        return self._cache[item_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    def __bool__(self) -> bool:
        """Always true: empty only means nothing was fetched yet, not that there is nothing."""
        return True


def _finite(value: float) -> float:
    return round(float(value), 6) if math.isfinite(value) else 0.0


def _shown(value: Any) -> bool:
    """Whether an attribute value says something (not missing, NaN or blank)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return False
    return bool(str(value).strip())


def slate_item_json(item: SlateItem, engine: Engine | None) -> dict[str, Any]:
    """One slate item, with the catalogue's categories and attributes when `engine` knows it."""
    info = None if engine is None else engine.item(item.item_id)
    attributes = {} if info is None else dict(info.attributes or {})
    return {
        "item_id": item.item_id,
        "score": _finite(item.score),
        "title": item.title,
        "reasons": [
            {"kind": r.kind, "text": r.text, "item_ids": list(r.item_ids)} for r in item.reasons
        ],
        "interest": item.interest,
        "interest_label": item.interest_label,
        "categories": [] if info is None else [str(c) for c in info.categories],
        "attributes": {str(k): str(v) for k, v in attributes.items() if _shown(v)},
        "explanation": item.explanation or None,
    }


def slate_json(slate: Slate, engine: Engine | None = None) -> dict[str, Any]:
    """The response body (plain dicts: built once, serialised once); `engine` adds each
    item's catalogue facts."""
    return {
        "items": [slate_item_json(item, engine) for item in slate.items],
        "interests": [
            {"weight": _finite(i.weight), "item_ids": list(i.item_ids), "label": i.label}
            for i in slate.interests
        ],
        "unknown_items": list(slate.unknown_items),
        "understood": None if slate.understood is None else dict(slate.understood),
        "notes": list(slate.notes),
    }


def session_events(stored: list[StoredEvent]) -> list[SessionEvent]:
    return [SessionEvent(e.item_id, EventType(e.type), e.timestamp) for e in stored]


@router.post(
    "/{session_id}/recommendations",
    response_model=SlateOut,
    responses=errors(BODY, REFUSED_REQUEST, SESSION, STORE, RATE_LIMITED),
    summary="The next slate for this session",
)
async def recommend(
    session_id: SessionId, body: RecommendIn, request: Request, authorization: Authorization = None
) -> Response:
    """The hot path. It runs on the event loop rather than in the thread pool: the work is a
    few milliseconds of CPU (engine) plus local store reads, and skipping the hand-off to a
    thread and back measured about a third more requests per second per worker; workers,
    not threads, give the parallelism. The impressions write is not fsync'd by the stores."""
    state = service_state(request)
    limits = state.settings.limits
    if body.query is not None:
        if not body.query.strip():
            raise ApiError(422, "empty_query", "query must not be empty (leave it out instead)")
        if len(body.query) > limits.max_query_chars:
            raise ApiError(
                422,
                "query_too_long",
                f"query has {len(body.query)} characters; the limit is {limits.max_query_chars}",
            )
    if body.k > limits.max_k:
        raise ApiError(422, "k_out_of_range", f"k must be from 1 to {limits.max_k}")
    store = state.store
    authorize_session(store, session_id, authorization)
    engine = state.holder.engine  # this request uses this engine to the end, reload or not
    filters = None
    if body.filters is not None:
        filters = Filters(
            categories=tuple(body.filters.categories),
            attributes=dict(body.filters.attributes),
            exclude_items=tuple(body.filters.exclude_items),
        )
    query = Query(
        events=session_events(store.events(session_id)),
        text=body.query,
        k=body.k,
        filters=filters,
        exclude_seen=body.exclude_seen,
        explain=body.explain,
        impressions=store.impressions(session_id),
        explore=body.explore,
    )
    stats = OutcomeLookup(store) if body.explore > 0 else None
    slate = engine.recommend(query, stats)
    if slate.items:
        store.record_impressions(session_id, [item.item_id for item in slate.items])
    state.metrics.recommendations.inc()
    return JSONResponse(slate_json(slate, engine))
