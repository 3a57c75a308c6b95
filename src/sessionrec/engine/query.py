"""What a caller asks the engine for and what it gets back.

These value objects are the whole contract between the engine and its callers (the HTTP
service, the benchmarks, the tests), so they validate themselves on construction: a bad
`k`, an empty or overlong request or an out-of-range exploration share fails here with a
`ConfigError` naming the problem, before any model work is done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sessionrec.data.schema import MAX_QUERY_CHARS as MAX_QUERY_CHARS  # part of the contract
from sessionrec.data.schema import EventType
from sessionrec.data.vocab import check_item_id
from sessionrec.errors import ConfigError

MAX_K = 100
"""Largest slate a caller may ask for; larger slates are a scraping pattern, not a UI."""

MAX_EXPLORE = 0.3
"""Largest share of a slate that may be spent on exploration instead of relevance."""


@dataclass(frozen=True)
class SessionEvent:
    """One thing the person did with one item; strings are accepted as event types."""

    item_id: str
    type: EventType
    timestamp: float | None = None

    def __post_init__(self) -> None:
        check_item_id(self.item_id, "event item_id")
        if not isinstance(self.type, EventType):
            try:
                parsed = EventType.parse(str(self.type))
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            object.__setattr__(self, "type", parsed)
        if self.timestamp is not None and not math.isfinite(self.timestamp):
            raise ConfigError(f"event timestamp must be finite, got {self.timestamp!r}")


@dataclass(frozen=True)
class Filters:
    """Structured constraints on the slate, applied before ranking."""

    categories: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)
    exclude_items: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "exclude_items", tuple(self.exclude_items))
        for category in self.categories:
            if not isinstance(category, str) or not category.strip():
                raise ConfigError(f"filter category must be a non-empty string, got {category!r}")
        for key, value in self.attributes.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise ConfigError(
                    "filter attribute must map a non-empty name to a string, "
                    f"got {key!r}: {value!r}"
                )
        for item_id in self.exclude_items:
            check_item_id(item_id, "excluded item id")

    @property
    def empty(self) -> bool:
        """Whether the filters constrain nothing."""
        return not (self.categories or self.attributes or self.exclude_items)


@dataclass(frozen=True)
class Query:
    """One recommendation request: the session so far plus what the person asks for."""

    events: Sequence[SessionEvent] = ()
    text: str | None = None
    k: int = 10
    filters: Filters | None = None
    exclude_seen: bool = True
    explain: bool = True
    impressions: Mapping[str, int] = field(default_factory=dict)
    explore: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(self.events))
        for event in self.events:
            if not isinstance(event, SessionEvent):
                raise ConfigError(
                    f"events must be SessionEvent objects, got {type(event).__name__}"
                )
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise ConfigError(f"k must be an integer from 1 to {MAX_K}, got {self.k!r}")
        if self.text is not None:
            if not isinstance(self.text, str) or not self.text.strip():
                raise ConfigError("request text must not be empty (leave it out instead)")
            if len(self.text) > MAX_QUERY_CHARS:
                raise ConfigError(
                    f"request text has {len(self.text)} characters; the limit is {MAX_QUERY_CHARS}"
                )
        explore = self.explore
        if isinstance(explore, bool) or not isinstance(explore, int | float):
            raise ConfigError(f"explore must be a number, got {explore!r}")
        if not math.isfinite(explore) or not 0.0 <= explore <= MAX_EXPLORE:
            raise ConfigError(f"explore must be between 0 and {MAX_EXPLORE}, got {explore!r}")
        for item_id, count in self.impressions.items():
            check_item_id(item_id, "impression item id")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ConfigError(
                    f"impression count for {item_id!r} must be a non-negative integer, "
                    f"got {count!r}"
                )


@dataclass(frozen=True)
class Reason:
    """Why one item is on the slate, in words a person can read."""

    kind: str
    text: str
    item_ids: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class SlateItem:
    """One recommended item with its score, title and reasons."""

    item_id: str
    score: float
    title: str | None
    reasons: tuple[Reason, ...]
    interest: int | None = None
    """The session interest (an index into `Slate.interests`) whose share of the slate
    this item fills."""
    explanation: str | None = None
    """One sentence by the generative model (`engine.generative`); None without one."""
    interest_label: str | None = None
    """The label of the interest the item belongs to by the session mixture's own model,
    where the item itself has the category it names (or the label names a title): what a
    "for Horror" tag may say (`explain.interest_tags`). None otherwise. Not always the
    interest of the share it fills: a share takes the best items for its query, whichever
    interest they belong to."""


@dataclass(frozen=True)
class Interest:
    """One strand of the session (a mixture component) and the session items in it."""

    weight: float
    item_ids: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Slate:
    """The engine's answer: ranked items, the session's interests, ids it did not know,
    and how a typed request was understood."""

    items: tuple[SlateItem, ...]
    interests: tuple[Interest, ...]
    unknown_items: tuple[str, ...]
    understood: Mapping[str, object] | None = None
    """The request as the engine read it (`UnderstoodRequest.as_json`); None without one."""
    notes: tuple[str, ...] = ()
    """What the person should know about the request: contradictions, constraints that
    could not all be met (then the slate may be short or empty)."""
