"""Where the data comes from and how to read it: what training and evaluation both take."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sessionrec.data.loaders.tabular import CatalogueMapping, ColumnMapping
from sessionrec.data.sessions import DEFAULT_GAP_SECONDS
from sessionrec.data.splits import DAY_SECONDS
from sessionrec.errors import unknown_choice

FORMATS: tuple[str, ...] = (
    "auto",
    "recbole",
    "movielens",
    "gru4rec",
    "csv",
    "tsv",
    "parquet",
    "jsonl",
)
"""Valid values of `format` (and the command line's --format)."""


def check_format(name: str) -> str:
    """`name` when it is one of `FORMATS`; a `ConfigError` listing them otherwise."""
    if name not in FORMATS:
        raise unknown_choice("format", name, list(FORMATS))
    return name


@dataclass(frozen=True)
class DataOptions:
    """Where the data comes from and how to read and split it."""

    data: Path | None = None
    train: Path | None = None
    test: Path | None = None
    format: str = "auto"
    test_seconds: float = DAY_SECONDS
    """For --data under next-item: sessions ending in this last stretch of time are test."""
    columns: ColumnMapping | None = None
    """Which source column holds which field, for generic files with unusual names."""
    session_gap: float = DEFAULT_GAP_SECONDS
    """Inactivity (seconds) that ends a session, for logs that have users but no sessions."""
    catalogue: Path | None = None
    """An item file (CSV, TSV, Parquet, JSON Lines, RecBole .item, MovieLens movies) that
    replaces any catalogue found beside the events."""
    catalogue_columns: CatalogueMapping | None = None
    """Which column of `catalogue` holds which item field, where the names are unusual."""
