"""Sessions: create, read, delete, add events, give feedback on slate items, take it back."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sessionrec.data.schema import EventType
from sessionrec.data.vocab import check_item_id
from sessionrec.errors import ConfigError
from sessionrec.service.auth import authorize_session, hash_token, new_token
from sessionrec.service.deps import Authorization, ItemId, SessionId
from sessionrec.service.errors import ApiError
from sessionrec.service.openapi import (
    BODY,
    ITEM_NOT_FOUND,
    PARAMETERS,
    RATE_LIMITED,
    SESSION,
    STORE,
    errors,
)
from sessionrec.service.schemas import (
    EventsIn,
    EventsResult,
    FeedbackIn,
    FeedbackOut,
    SessionCreated,
    SessionOut,
)
from sessionrec.service.state import ServiceState, service_state
from sessionrec.store.base import StoredEvent

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

POSITIVE_FEEDBACK = frozenset({"like", "click", "purchase"})

MAX_TIMESTAMP = sys.float_info.max
"""Larger is infinite as a float (and `float()` of a larger integer raises)."""

BATCH_TOO_LARGE = {
    413: "`batch_too_large`: more events than one batch may hold (1,000 by default)."
}
INVALID_ITEM_ID = {422: "`invalid_item_id`: the item id is only spaces."}


@router.post(
    "",
    status_code=201,
    response_model=SessionCreated,
    responses=errors(STORE, RATE_LIMITED),
    summary="Start a session",
)
def create_session(request: Request) -> Response:
    state = service_state(request)
    token = new_token()
    session_id = state.store.create_session(hash_token(token))
    state.metrics.sessions_created.inc()
    return JSONResponse({"session_id": session_id, "token": token}, status_code=201)


@router.get(
    "/{session_id}",
    response_model=SessionOut,
    responses=errors(SESSION, STORE, RATE_LIMITED),
    summary="The session's events",
)
def get_session(
    session_id: SessionId, request: Request, authorization: Authorization = None
) -> Response:
    state = service_state(request)
    authorize_session(state.store, session_id, authorization)
    events = state.store.events(session_id)
    body = {
        "session_id": session_id,
        "events": [
            {"item_id": e.item_id, "type": e.type, "timestamp": e.timestamp} for e in events
        ],
        "n_events": len(events),
    }
    return JSONResponse(body)


@router.delete(
    "/{session_id}",
    status_code=204,
    responses=errors(SESSION, STORE, RATE_LIMITED),
    summary="Delete the session and all its data",
)
def delete_session(
    session_id: SessionId, request: Request, authorization: Authorization = None
) -> Response:
    state = service_state(request)
    authorize_session(state.store, session_id, authorization)
    state.store.delete_session(session_id)
    state.metrics.sessions_deleted.inc()
    return Response(status_code=204)


def parse_event(raw: Any, state: ServiceState, now: float) -> StoredEvent:
    """One event of a batch, checked on its own; ValueError names what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("an event must be an object with item_id and type")
    unknown = set(raw) - {"item_id", "type", "timestamp"}
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}; allowed: item_id, type, timestamp")
    try:
        item_id = check_item_id(raw.get("item_id"))  # "got 50" tells a client ids are strings
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ValueError("type must be a string such as 'view', 'click', 'like'")
    event_type = EventType.parse(kind)
    timestamp = raw.get("timestamp")
    if timestamp is None:
        timestamp = now
    elif isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise ValueError("timestamp must be a number of unix seconds")
    elif not 0 <= timestamp <= MAX_TIMESTAMP:  # also NaN; and JSON allows 400-digit integers
        raise ValueError("timestamp must be a finite, non-negative number of unix seconds")
    if not state.holder.engine.has_item(item_id):
        raise ValueError(f"unknown item {item_id!r}")
    return StoredEvent(item_id, event_type.value, float(timestamp))


@router.post(
    "/{session_id}/events",
    response_model=EventsResult,
    responses=errors(BODY, BATCH_TOO_LARGE, SESSION, STORE, RATE_LIMITED),
    summary="Add events (a batch)",
)
def post_events(
    session_id: SessionId, body: EventsIn, request: Request, authorization: Authorization = None
) -> Response:
    state = service_state(request)
    limit = state.settings.limits.max_events_per_batch
    if len(body.events) > limit:
        raise ApiError(
            413, "batch_too_large", f"{len(body.events)} events in one batch; the limit is {limit}"
        )
    authorize_session(state.store, session_id, authorization)
    now = time.time()
    accepted: list[StoredEvent] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(body.events):
        try:
            accepted.append(parse_event(raw, state, now))
        except ValueError as exc:
            rejected.append({"index": index, "error": str(exc)})
    stored = state.store.append_events(session_id, accepted) if accepted else 0
    state.metrics.events_accepted.inc(stored)
    state.metrics.events_rejected.inc(len(rejected))
    return JSONResponse({"accepted": stored, "rejected": rejected})


@router.post(
    "/{session_id}/feedback",
    response_model=FeedbackOut,
    responses=errors(BODY, SESSION, ITEM_NOT_FOUND, STORE, RATE_LIMITED),
    summary="Feedback on an item",
)
def post_feedback(
    session_id: SessionId, body: FeedbackIn, request: Request, authorization: Authorization = None
) -> Response:
    """Stored as a typed session event (the next slate reacts) and as a global outcome of the
    item (exploration learns which items people respond to)."""
    state = service_state(request)
    authorize_session(state.store, session_id, authorization)
    if not state.holder.engine.has_item(body.item_id):
        raise ApiError(404, "item_not_found", f"unknown item {body.item_id!r}")
    event = StoredEvent(body.item_id, EventType.parse(body.kind).value, time.time())
    state.store.append_events(session_id, [event])
    state.store.record_outcome(body.item_id, body.kind in POSITIVE_FEEDBACK)
    state.metrics.feedback.labels(body.kind).inc()
    return JSONResponse({"item_id": body.item_id, "kind": body.kind, "recorded": True})


@router.delete(
    "/{session_id}/feedback/{item_id}",
    status_code=204,
    responses={
        204: {
            "description": "Taken back, or there was nothing to take back.",
            "headers": {
                "X-Retracted-Events": {
                    "description": "How many like and dislike events were removed.",
                    "schema": {"type": "integer"},
                }
            },
        },
        **errors(PARAMETERS, INVALID_ITEM_ID, SESSION, STORE, RATE_LIMITED),
    },
    summary="Take back a like or dislike of an item",
)
def retract_feedback(
    session_id: SessionId, item_id: ItemId, request: Request, authorization: Authorization = None
) -> Response:
    """The person's undo: the session's like and dislike events of the item are removed, so
    the next slate is computed as if they had never been given; every other event stays.
    Idempotent (204 also when there was nothing to take back); the number removed is in the
    `X-Retracted-Events` header and the server log, so nothing disappears unnoticed. The
    item's global outcome counts are not changed."""
    state = service_state(request)
    authorize_session(state.store, session_id, authorization)
    try:
        check_item_id(item_id)
    except ConfigError as exc:
        raise ApiError(422, "invalid_item_id", str(exc)) from None
    removed = state.store.retract_feedback(session_id, item_id)
    logger.info(
        "session %s… retracted %d feedback event(s) on item %r", session_id[:8], removed, item_id
    )
    return Response(status_code=204, headers={"X-Retracted-Events": str(removed)})
