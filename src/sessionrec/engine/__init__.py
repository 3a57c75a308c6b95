"""The interactive engine: turns a trained artifact and a live session into a slate."""

from sessionrec.engine.catalogue import ItemInfo
from sessionrec.engine.engine import Engine
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

__all__ = [
    "MAX_EXPLORE",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "Engine",
    "Filters",
    "Interest",
    "ItemInfo",
    "Query",
    "Reason",
    "SessionEvent",
    "Slate",
    "SlateItem",
]
