"""The interactive engine: turns a trained artifact and a live session into a slate."""

from sessionrec.engine.catalogue import ItemInfo
from sessionrec.engine.query import (
    MAX_EXPLORE,
    MAX_K,
    MAX_QUERY_CHARS,
    Filters,
    Interest,
    Query,
    Reason,
    SessionEvent,
    Slate,
    SlateItem,
)
from sessionrec.engine.recommender import Recommender

__all__ = [
    "MAX_EXPLORE",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "Filters",
    "Interest",
    "ItemInfo",
    "Query",
    "Reason",
    "Recommender",
    "SessionEvent",
    "Slate",
    "SlateItem",
]
