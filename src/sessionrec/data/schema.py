"""The canonical schema every loader produces and every other layer reads.

Events and catalogue are held as pandas frames with fixed column names and dtypes, so that
loaders of very different files meet in one shape and the rest of the system never looks
at a source format again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.errors import DataError

SESSION_ID = "session_id"
USER_ID = "user_id"
ITEM_ID = "item_id"
TIMESTAMP = "timestamp"
EVENT_TYPE = "event_type"
VALUE = "value"

EVENT_COLUMNS: tuple[str, ...] = (SESSION_ID, USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, VALUE)

TITLE = "title"
TEXT = "text"
CATEGORIES = "categories"
ATTRIBUTES = "attributes"

MAX_QUERY_CHARS = 500
"""Longest typed request, wherever one is read (the engine, request cases); the text
encoder truncates long inputs anyway."""

CATALOGUE_COLUMNS: tuple[str, ...] = (ITEM_ID, TITLE, TEXT, CATEGORIES, ATTRIBUTES)


class EventType(StrEnum):
    """What a person did with an item; models may weigh each kind differently."""

    VIEW = "view"
    CLICK = "click"
    CART = "cart"
    PURCHASE = "purchase"
    LIKE = "like"
    DISLIKE = "dislike"
    SKIP = "skip"
    RATING = "rating"

    @property
    def code(self) -> int:
        """A small stable integer for array storage (position in the declaration)."""
        return _EVENT_CODES[self]

    @classmethod
    def parse(cls, raw: str) -> EventType:
        """Read an event type, accepting common synonyms ("add_to_cart", "buy", ...)."""
        key = raw.strip().lower().replace("-", "_").replace(" ", "_")
        key = _EVENT_SYNONYMS.get(key, key)
        try:
            return cls(key)
        except ValueError:
            valid = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown event type {raw!r}; valid: {valid}") from None


_EVENT_CODES: dict[EventType, int] = {t: i for i, t in enumerate(EventType)}
_EVENT_SYNONYMS = {
    "add_to_cart": "cart",
    "addtocart": "cart",
    "basket": "cart",
    "buy": "purchase",
    "order": "purchase",
    "transaction": "purchase",
    "pageview": "view",
    "impression": "view",
    "rate": "rating",
}


def event_type_codes(types: pd.Series) -> np.ndarray:
    """Map a column of event-type names to their small integer codes."""
    mapping = {t.value: t.code for t in EventType}
    return types.map(mapping).to_numpy(dtype=np.int8)


def empty_events() -> pd.DataFrame:
    """An event frame with the canonical columns and dtypes and no rows."""
    return normalise_events(pd.DataFrame({c: [] for c in EVENT_COLUMNS}))


def normalise_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Give an event frame the canonical dtypes; missing optional columns are added.

    Ids are strings (external ids are opaque: "0012" and "12" are different items),
    timestamps float64 seconds, event types plain strings from `EventType`.
    """
    out = pd.DataFrame(index=frame.index)
    for column in (SESSION_ID, USER_ID):
        if column in frame:
            out[column] = frame[column].astype("string").astype(object)
        else:
            out[column] = None
    out[ITEM_ID] = frame[ITEM_ID].astype("string").astype(object)
    out[TIMESTAMP] = (
        frame[TIMESTAMP].astype("float64")
        if TIMESTAMP in frame
        else np.arange(len(frame), dtype="float64")
    )
    out[EVENT_TYPE] = (
        frame[EVENT_TYPE].astype(object) if EVENT_TYPE in frame else EventType.VIEW.value
    )
    out[VALUE] = frame[VALUE].astype("float64") if VALUE in frame else np.nan
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Interactions:
    """A log of events in canonical columns (see `EVENT_COLUMNS`).

    `session_id` may be missing (None) for user logs that were never split into sessions;
    `sessions.sessionize` fills it. Row order is the source order: protocols sort stably,
    so ties in time keep the order of the file, as the peers' evaluators do.
    """

    frame: pd.DataFrame
    source: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in EVENT_COLUMNS if c not in self.frame.columns]
        if missing:
            raise DataError(f"event frame lacks columns {missing}", path=self.source or None)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_sessions(self) -> bool:
        """Whether every event belongs to a session."""
        return bool(len(self.frame)) and bool(self.frame[SESSION_ID].notna().all())

    @property
    def has_users(self) -> bool:
        """Whether every event names its user."""
        return bool(len(self.frame)) and bool(self.frame[USER_ID].notna().all())

    @property
    def n_sessions(self) -> int:
        return int(self.frame[SESSION_ID].nunique())

    @property
    def n_users(self) -> int:
        return int(self.frame[USER_ID].nunique())

    @property
    def n_items(self) -> int:
        return int(self.frame[ITEM_ID].nunique())

    def item_ids(self) -> list[str]:
        """Distinct item ids in order of first appearance."""
        return [str(x) for x in pd.unique(self.frame[ITEM_ID])]

    def replace(self, frame: pd.DataFrame) -> Interactions:
        """The same source with other rows (a filtered or re-sorted copy)."""
        return Interactions(frame.reset_index(drop=True), self.source)


@dataclass(frozen=True)
class Catalogue:
    """Items with their text: title, free text, categories and attributes.

    Language-model features are built from these fields; an item missing here still works
    through its id alone.
    """

    frame: pd.DataFrame
    source: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in CATALOGUE_COLUMNS if c not in self.frame.columns]
        if missing:
            raise DataError(f"catalogue frame lacks columns {missing}", path=self.source or None)

    def __len__(self) -> int:
        return len(self.frame)

    def titles(self) -> dict[str, str]:
        """Item id → title."""
        return dict(zip(self.frame[ITEM_ID], self.frame[TITLE], strict=True))

    def item(self, item_id: str) -> dict[str, Any]:
        """One item's fields as a dict; KeyError when the id is not in the catalogue."""
        rows = self.frame[self.frame[ITEM_ID] == item_id]
        if rows.empty:
            raise KeyError(item_id)
        return dict(rows.iloc[0])


def make_catalogue(
    item_ids: list[str],
    titles: list[str],
    texts: list[str] | None = None,
    categories: list[list[str]] | None = None,
    attributes: list[dict[str, Any]] | None = None,
    source: str = "",
) -> Catalogue:
    """Build a catalogue from parallel lists, filling absent fields with empty values."""
    n = len(item_ids)
    frame = pd.DataFrame(
        {
            ITEM_ID: [str(i) for i in item_ids],
            TITLE: titles,
            TEXT: texts if texts is not None else [""] * n,
            CATEGORIES: categories if categories is not None else [[] for _ in range(n)],
            ATTRIBUTES: attributes if attributes is not None else [{} for _ in range(n)],
        }
    )
    return Catalogue(frame, source)


@dataclass(frozen=True)
class Dataset:
    """What a loader returns: the events, the catalogue where the source has one, a name."""

    interactions: Interactions
    catalogue: Catalogue | None = None
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
