"""Queries validate themselves: every bad value is a ConfigError naming the problem."""

from __future__ import annotations

import math

import pytest

from sessionrec.data.schema import EventType
from sessionrec.engine.query import (
    MAX_EXPLORE,
    MAX_K,
    MAX_QUERY_CHARS,
    Filters,
    Query,
    SessionEvent,
)
from sessionrec.errors import ConfigError


def test_defaults_are_valid() -> None:
    query = Query()
    assert query.k == 10 and query.exclude_seen and query.explain
    assert query.events == () and query.impressions == {} and query.explore == 0.0


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, True, 2.5])
def test_k_out_of_range(k: object) -> None:
    with pytest.raises(ConfigError, match=f"k must be an integer from 1 to {MAX_K}"):
        Query(k=k)  # type: ignore[arg-type]


def test_k_at_the_limits() -> None:
    assert Query(k=1).k == 1
    assert Query(k=MAX_K).k == MAX_K


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_request_text(text: str) -> None:
    with pytest.raises(ConfigError, match="request text must not be empty"):
        Query(text=text)


def test_overlong_request_text() -> None:
    Query(text="x" * MAX_QUERY_CHARS)
    with pytest.raises(ConfigError, match=f"the limit is {MAX_QUERY_CHARS}"):
        Query(text="x" * (MAX_QUERY_CHARS + 1))


@pytest.mark.parametrize("share", [-0.1, MAX_EXPLORE + 0.01, math.nan, math.inf])
def test_explore_share_out_of_range(share: float) -> None:
    with pytest.raises(ConfigError, match="explore must be between 0 and"):
        Query(explore=share)


def test_explore_must_be_a_number() -> None:
    with pytest.raises(ConfigError, match="explore must be a number"):
        Query(explore="0.1")  # type: ignore[arg-type]


def test_event_types_are_parsed_from_strings() -> None:
    event = SessionEvent("42", "add_to_cart")  # type: ignore[arg-type]
    assert event.type is EventType.CART
    with pytest.raises(ConfigError, match="unknown event type 'wink'"):
        SessionEvent("42", "wink")  # type: ignore[arg-type]


def test_bad_event_fields() -> None:
    with pytest.raises(ConfigError, match="event item_id must be a non-empty string"):
        SessionEvent("", EventType.VIEW)
    with pytest.raises(ConfigError, match="event item_id is longer than 256 characters"):
        SessionEvent("x" * 257, EventType.VIEW)
    assert SessionEvent("x" * 256, EventType.VIEW).item_id == "x" * 256
    with pytest.raises(ConfigError, match="timestamp must be finite"):
        SessionEvent("1", EventType.VIEW, math.nan)
    with pytest.raises(ConfigError, match="events must be SessionEvent objects"):
        Query(events=[("1", "view")])  # type: ignore[list-item]


def test_bad_impressions() -> None:
    with pytest.raises(ConfigError, match="non-negative integer"):
        Query(impressions={"1": -1})
    with pytest.raises(ConfigError, match="impression item id"):
        Query(impressions={"": 1})


def test_bad_filters() -> None:
    assert Filters().empty
    assert not Filters(categories=("Comedy",)).empty
    with pytest.raises(ConfigError, match="filter category"):
        Filters(categories=("",))
    with pytest.raises(ConfigError, match="filter attribute"):
        Filters(attributes={"year": 1995})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="excluded item id"):
        Filters(exclude_items=("",))
