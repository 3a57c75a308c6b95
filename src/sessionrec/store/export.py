"""The sessions a store holds, as a training log: what `sessionrec retrain` learns from.

Only what the store still holds is read, so a session the person deleted (or retention
swept) never reaches a model trained after its deletion. Each session's events come in the
order they were appended, which is the order they happened in; their timestamps come from
clients and may disagree with it, so a timestamp earlier than one before it in the same
session is raised to that one (sorting by time then keeps the appended order).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sessionrec.data.schema import (
    EVENT_TYPE,
    ITEM_ID,
    SESSION_ID,
    TIMESTAMP,
    EventType,
    Interactions,
    normalise_events,
)
from sessionrec.store.base import SessionNotFound, SessionStore

logger = logging.getLogger(__name__)

NOT_EXPORTED: tuple[str, ...] = (EventType.DISLIKE.value, EventType.SKIP.value)
"""Event types left out: a dislike or a skip is a reaction to a slate, not an interest.
Models predict every event they train on, so training on them would teach a model to
recommend what people turned down (the engine reads them at request time instead)."""

_EXPORTED = frozenset(t.value for t in EventType) - set(NOT_EXPORTED)
"""What is exported: every other type the engine knows (a type written through the library
that no `EventType` names has no meaning to a model either)."""

MIN_EVENTS = 2
"""Events (of the exported types) a session needs to teach anything: a next item."""


@dataclass(frozen=True)
class ExportedSessions:
    """The store's sessions as a log, with what was read and what was left out."""

    interactions: Interactions
    """Events of the sessions with at least `MIN_EVENTS` exported events, grouped by
    session (oldest created first), each session in append order."""
    last_active: dict[str, float]
    """Session id → its last activity on the store's clock (`SessionStore.last_active`),
    for every session in `interactions`."""
    sessions_read: int
    """Sessions the store listed and still held when read."""
    events_read: int
    """Their events, of every type."""
    left_out_types: int
    """Events left out for their type: `NOT_EXPORTED`, or one no `EventType` names."""
    short_sessions: int
    """Sessions left out for having fewer than `MIN_EVENTS` exported events."""

    @property
    def n_sessions(self) -> int:
        """Sessions exported."""
        return len(self.last_active)

    @property
    def n_events(self) -> int:
        """Events exported."""
        return len(self.interactions)

    def summary(self) -> dict[str, int]:
        """The counts, for a manifest or a JSON report."""
        return {
            "sessions_read": self.sessions_read,
            "events_read": self.events_read,
            "sessions": self.n_sessions,
            "events": self.n_events,
            "short_sessions": self.short_sessions,
            "left_out_events": self.left_out_types,
        }


def export_sessions(store: SessionStore, source: str = "store") -> ExportedSessions:
    """Read every live session of `store` into an `ExportedSessions` (see the module).

    A session deleted while the export runs is skipped. `source` names the store in the
    log's `Interactions.source` (a URL, with no password in it).
    """
    session_ids: list[str] = []
    items: list[str] = []
    types: list[str] = []
    times: list[float] = []
    last_active: dict[str, float] = {}
    read = events_read = left_out = short = 0
    for sid in store.session_ids():
        try:
            events = store.events(sid)
        except SessionNotFound:
            continue  # deleted since it was listed
        active = store.last_active(sid)
        if active is None:
            continue
        read += 1
        events_read += len(events)
        kept = [e for e in events if e.type in _EXPORTED]
        left_out += len(events) - len(kept)
        if len(kept) < MIN_EVENTS:
            short += 1
            continue
        stamps = np.maximum.accumulate(np.array([e.timestamp for e in kept], dtype=np.float64))
        session_ids.extend([sid] * len(kept))
        items.extend(e.item_id for e in kept)
        types.extend(e.type for e in kept)
        times.extend(stamps.tolist())
        last_active[sid] = active
    frame = normalise_events(
        pd.DataFrame({SESSION_ID: session_ids, ITEM_ID: items, TIMESTAMP: times, EVENT_TYPE: types})
    )
    exported = ExportedSessions(
        Interactions(frame, source), last_active, read, events_read, left_out, short
    )
    logger.info(
        "exported %d sessions (%d events) from %s; %d sessions with fewer than %d events "
        "and %d dislikes, skips (and events of unknown types) left out",
        exported.n_sessions,
        exported.n_events,
        source,
        short,
        MIN_EVENTS,
        left_out,
    )
    return exported
