"""The session store contract every back end implements.

The service keeps no session state in process memory: every event, impression and feedback
outcome goes through a `SessionStore`, so several workers (or machines) can serve one session
and a crash loses nothing that was acknowledged. One abstract class with a written contract
lets the same tests run against every back end (SQLite embedded, Redis shared).
"""

from __future__ import annotations

import json
import math
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The back ends check ids with the package's one rule, imported through here.
from sessionrec.data.vocab import check_item_id as check_item_id
from sessionrec.errors import ConfigError, SessionrecError


@dataclass(frozen=True)
class StoredEvent:
    """One event as persisted: plain strings and a float so every back end can hold it.

    `type` is an `EventType` value ("view", "like", ...); the store does not interpret it,
    which keeps it independent of the engine's vocabulary.
    """

    item_id: str
    type: str
    timestamp: float


class SessionNotFound(SessionrecError):  # noqa: N818 - name fixed by the shared interface
    """The session id does not exist (never created, deleted, or expired)."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        # The id comes from a client and may be huge; the message (often echoed in an HTTP
        # error body) shows only its start.
        shown = session_id if len(session_id) <= 64 else session_id[:64] + "..."
        super().__init__(f"session {shown!r} not found")


class StoreUnavailable(SessionrecError):  # noqa: N818 - name fixed by the shared interface
    """The store cannot be reached or opened; the message names the URL or path.

    The service maps it to 503 on readiness and requests, rather than letting a driver's
    traceback surface as a 500.
    """


class SessionStore(ABC):
    """Persistent state of interactive sessions, plus global item feedback and admin items.

    Contract shared by all back ends (checked by one parametrised test module):

    - Session ids are unguessable (`secrets.token_urlsafe`); the store keeps only a hash of
      the client token, never the token itself.
    - `append_events` is atomic per call and durable when it returns: a process killed right
      after the call returned still has those events on restart.
    - Events come back exactly in append order, also under concurrent appends from several
      threads or processes (each call's batch stays contiguous).
    - `delete_session` removes every trace of the session (token hash, events, impressions)
      at once; afterwards the session behaves as if it never existed.
    - The event log is append-only but for one thing: `retract_feedback`, a person taking
      back their own like or dislike of one item. It removes exactly those events (the rest
      keep their order), says how many it removed, and is as durable as an append.
    - Every session has a last activity time on the store's side: the clock of the process
      that wrote (the service), never an event's own timestamp, which comes from a client
      and can be anything. Creation sets it; `append_events`, `retract_feedback` and
      `record_impressions` move it forward; reads never do.
    - `delete_inactive(before)` removes every session last active before `before`, each
      exactly as `delete_session` would; several processes may sweep one store at once
      (each removed session is counted by one of them), and a session written to while a
      sweep runs is either removed whole before the write (which then finds no session)
      or kept.
    - Methods are safe to call from several threads at once.
    """

    @abstractmethod
    def create_session(self, token_hash: str) -> str:
        """Create an empty session guarded by `token_hash`; return its new, unguessable id."""

    @abstractmethod
    def token_hash(self, session_id: str) -> str | None:
        """The token hash given at creation, or None when the session does not exist."""

    @abstractmethod
    def append_events(self, session_id: str, events: Sequence[StoredEvent]) -> int:
        """Append `events` (in order, as one atomic batch); return how many were stored.

        Durable when it returns. Raises `SessionNotFound` for an unknown session, in which
        case nothing is written.
        """

    @abstractmethod
    def events(self, session_id: str) -> list[StoredEvent]:
        """All events of the session, oldest (first appended) first.

        Raises `SessionNotFound` for an unknown session.
        """

    @abstractmethod
    def retract_feedback(self, session_id: str, item_id: str) -> int:
        """Remove the session's like and dislike events of `item_id`; return how many.

        The person's own undo: every other event (views, clicks, other items' feedback)
        stays, in order; impressions and global outcomes are not touched. Atomic and durable
        when it returns, like `append_events`; 0 when there was nothing to take back. Raises
        `SessionNotFound` for an unknown session and `ConfigError` for an invalid item id.
        """

    @abstractmethod
    def delete_session(self, session_id: str) -> bool:
        """Remove the session and all its data; True when it existed."""

    @abstractmethod
    def session_ids(self) -> list[str]:
        """Every live session's id, the oldest created first (deleted and expired ones never).

        A snapshot: sessions created or deleted while it is read may or may not be in it.
        """

    @abstractmethod
    def last_active(self, session_id: str) -> float | None:
        """When the session was created or last written to (unix seconds, the store's side
        clock; see the class docstring); None when the session does not exist."""

    @abstractmethod
    def delete_inactive(self, before: float) -> int:
        """Delete every session last active before `before` (unix seconds), each with all
        its data as `delete_session` does; return how many this call deleted."""

    @abstractmethod
    def record_impressions(self, session_id: str, item_ids: Sequence[str]) -> None:
        """Count one more showing of each item in a slate (a repeated id counts twice).

        Raises `SessionNotFound` for an unknown session.
        """

    @abstractmethod
    def impressions(self, session_id: str) -> dict[str, int]:
        """Item id -> times shown in this session's slates; empty for an unknown session."""

    @abstractmethod
    def record_outcome(self, item_id: str, positive: bool) -> None:
        """Add one positive or negative feedback to the item's global statistics."""

    @abstractmethod
    def item_outcomes(self, item_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Item id -> (positives, negatives) for the given ids; ids never rated are left out."""

    @abstractmethod
    def upsert_item(self, item: Mapping[str, Any]) -> None:
        """Insert or replace an admin-added item (a JSON-able dict with a str "item_id").

        Persisted so that items added through the API survive a restart of the service.
        """

    @abstractmethod
    def items(self) -> list[dict[str, Any]]:
        """Every upserted item, in the order first inserted (a replace keeps its place)."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the store answers; never raises (used by the readiness probe)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode_item(item: Mapping[str, Any]) -> tuple[str, str]:
    """Check an item dict for `upsert_item`; return its id and its JSON text.

    Shared by the back ends so they reject the same inputs with the same message, and store
    the same canonical form.
    """
    item_id = check_item_id(item.get("item_id"))
    try:
        text = json.dumps(dict(item), ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"item {item_id!r} is not JSON-serialisable: {exc}") from exc
    return item_id, text


def decode_item(body: str) -> dict[str, Any]:
    """The dict stored by `encode_item`."""
    value = json.loads(body)
    if not isinstance(value, dict):
        raise StoreUnavailable(f"a stored item is not a JSON object: {body[:80]!r}")
    return value


#: The event types `retract_feedback` removes (`EventType.LIKE` and `EventType.DISLIKE`'s
#: values; the store itself does not import the engine's vocabulary).
RETRACTABLE_TYPES: tuple[str, ...] = ("like", "dislike")

#: Bytes of randomness in a session id (32 URL-safe characters): unguessable by enumeration.
SESSION_ID_BYTES = 24

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def is_session_id(session_id: str) -> bool:
    """Whether the text could be an id this store issued.

    Ids arrive from clients; anything else (a path fragment, a key pattern, megabytes of
    text) is answered as "no such session" without touching the back end.
    """
    return isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id) is not None


def check_before(before: float) -> float:
    """`delete_inactive`'s cut-off as a float; a `ConfigError` for anything but a finite
    number (a NaN would delete nothing and an infinity everything, silently)."""
    if isinstance(before, bool) or not isinstance(before, int | float) or not math.isfinite(before):
        raise ConfigError(f"the cut-off of delete_inactive must be unix seconds, got {before!r}")
    return float(before)


def check_events(events: Sequence[StoredEvent]) -> None:
    """Reject events a back end could not store faithfully, before anything is written."""
    for index, event in enumerate(events):
        if not isinstance(event, StoredEvent):
            raise ConfigError(f"event {index}: expected a StoredEvent, got {type(event).__name__}")
        check_item_id(event.item_id, f"event {index}: item_id")
        if not isinstance(event.type, str) or not event.type:
            raise ConfigError(f"event {index}: type must be a non-empty string")
        ts = event.timestamp
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
            raise ConfigError(f"event {index}: timestamp must be a finite number, got {ts!r}")
