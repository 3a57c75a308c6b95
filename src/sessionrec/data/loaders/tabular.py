"""Generic event and catalogue files: CSV, TSV, Parquet, JSON Lines, with a column mapping.

Columns are found by their canonical name or a common synonym (`SessionId`, `item`, `ts`,
...); a `ColumnMapping` names them explicitly where the file uses other names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.data.loaders.common import read_delimited
from sessionrec.data.schema import (
    EVENT_TYPE,
    ITEM_ID,
    SESSION_ID,
    TIMESTAMP,
    USER_ID,
    VALUE,
    Catalogue,
    EventType,
    Interactions,
    make_catalogue,
    normalise_events,
)
from sessionrec.data.validate import (
    event_type_column,
    id_column,
    numeric_column,
    require_columns,
    require_file,
    require_rows,
)
from sessionrec.errors import DataError

SYNONYMS: dict[str, tuple[str, ...]] = {
    SESSION_ID: ("session_id", "sessionid", "session"),
    USER_ID: ("user_id", "userid", "user", "visitorid", "customer_id"),
    ITEM_ID: ("item_id", "itemid", "item", "product_id", "productid", "movieid", "sku"),
    TIMESTAMP: ("timestamp", "time", "ts", "datetime", "date", "event_time"),
    EVENT_TYPE: ("event_type", "type", "event", "action", "behavior", "behaviour"),
    VALUE: ("value", "rating", "score"),
}
CATALOGUE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "item_id": SYNONYMS[ITEM_ID],
    "title": ("title", "name", "item_name", "product_name"),
    "text": ("text", "description", "desc", "overview", "body", "summary"),
    "categories": ("categories", "category", "genres", "genre", "class", "tags"),
}


@dataclass(frozen=True)
class ColumnMapping:
    """Source column for each canonical field; None means: find it by name or synonym."""

    session_id: str | None = None
    user_id: str | None = None
    item_id: str | None = None
    timestamp: str | None = None
    event_type: str | None = None
    value: str | None = None

    def resolve(self, columns: list[str]) -> dict[str, str]:
        """Canonical field → source column, for the fields this file has."""
        lowered = {c.lower().replace(" ", "_"): c for c in columns}
        resolved: dict[str, str] = {}
        for field in fields(self):
            explicit = getattr(self, field.name)
            if explicit is not None:
                resolved[field.name] = explicit
                continue
            match = next((lowered[s] for s in SYNONYMS[field.name] if s in lowered), None)
            if match is not None:
                resolved[field.name] = match
        return resolved


def _read_rows(path: Path, fmt: str) -> tuple[pd.DataFrame, int]:
    """The file as a frame of strings, and how many header lines precede the first row."""
    if fmt == "csv":
        return read_delimited(path, ","), 1
    if fmt == "tsv":
        return read_delimited(path, "\t"), 1
    require_file(path)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True, dtype=False)
    except (ValueError, OSError) as exc:  # pyarrow's errors derive from these too
        raise DataError(f"cannot read as {fmt}: {exc}", path=path) from None
    keep = frame.columns
    as_text = frame[keep].astype(object).where(frame[keep].notna(), None)
    return as_text.map(lambda v: v if v is None or isinstance(v, str | list | dict) else str(v)), 0


def load_events(path: Path, fmt: str, mapping: ColumnMapping | None = None) -> Interactions:
    """Events from a generic file; needs an item column and a session or user column."""
    frame, header_lines = _read_rows(path, fmt)
    columns = [str(c) for c in frame.columns]
    resolved = (mapping or ColumnMapping()).resolve(columns)
    expected = [resolved.get(ITEM_ID, ITEM_ID)]
    require_columns(columns, expected, path, hint="map it with a column mapping")
    for column in resolved.values():
        require_columns(columns, [column], path, hint="named in the column mapping")
    if SESSION_ID not in resolved and USER_ID not in resolved:
        require_columns(columns, [SESSION_ID], path, hint=f"or a {USER_ID!r} column")
    require_rows(frame, path)
    events = pd.DataFrame(
        {ITEM_ID: id_column(frame, resolved[ITEM_ID], path, header_lines=header_lines)}
    )
    for field in (SESSION_ID, USER_ID):
        if field in resolved:
            events[field] = id_column(frame, resolved[field], path, header_lines=header_lines)
    events[TIMESTAMP] = (
        numeric_column(
            frame, resolved[TIMESTAMP], path, header_lines=header_lines, allow_dates=True
        )
        if TIMESTAMP in resolved
        else np.arange(len(frame), dtype=np.float64)
    )
    if EVENT_TYPE in resolved:
        events[EVENT_TYPE] = event_type_column(
            frame, resolved[EVENT_TYPE], path, header_lines=header_lines
        )
    elif VALUE in resolved:
        events[EVENT_TYPE] = EventType.RATING.value
    if VALUE in resolved:
        events[VALUE] = numeric_column(frame, resolved[VALUE], path, header_lines=header_lines)
    return Interactions(normalise_events(events), str(path))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _category_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if not isinstance(value, str) or not value.strip():
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        except json.JSONDecodeError:
            pass
    separator = "|" if "|" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def load_catalogue(path: Path, fmt: str) -> Catalogue:
    """Items: id, title, free text, categories (list, JSON list, or '|'/','-separated);
    every other column becomes an attribute."""
    frame, header_lines = _read_rows(path, fmt)
    lowered = {str(c).lower().replace(" ", "_"): str(c) for c in frame.columns}
    found = {
        field: next((lowered[s] for s in names if s in lowered), None)
        for field, names in CATALOGUE_SYNONYMS.items()
    }
    require_columns(frame.columns, [found["item_id"] or "item_id"], path)
    require_rows(frame, path)

    def column(field: str, convert: Callable[[Any], Any]) -> list[Any] | None:
        name = found[field]
        return [convert(v) for v in frame[name]] if name else None

    others = [c for c in frame.columns if c not in found.values()]
    attributes = [
        {k: v for k, v in row.items() if v is not None} for row in frame[others].to_dict("records")
    ]
    titles = column("title", _text)
    return make_catalogue(
        id_column(frame, str(found["item_id"]), path, header_lines=header_lines).tolist(),
        titles if titles is not None else [""] * len(frame),
        column("text", _text),
        column("categories", _category_list),
        attributes,
        str(path),
    )
