"""Data layer: canonical schema, loaders, validation, sessions and splits."""

from sessionrec.data.schema import (
    CATALOGUE_COLUMNS,
    EVENT_COLUMNS,
    Catalogue,
    Dataset,
    EventType,
    Interactions,
)
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary

__all__ = [
    "CATALOGUE_COLUMNS",
    "EVENT_COLUMNS",
    "UNKNOWN_INDEX",
    "Catalogue",
    "Dataset",
    "EventType",
    "Interactions",
    "Vocabulary",
]
