"""RecBole atomic files: `.inter` (interactions) and `.item` (item features).

Each header cell is `name:type` with type token, token_seq, float or float_seq; cells are
tab-separated and unquoted.
"""

from __future__ import annotations

import csv
from pathlib import Path

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
    Dataset,
    EventType,
    Interactions,
    make_catalogue,
    normalise_events,
)
from sessionrec.data.validate import (
    id_column,
    numeric_column,
    require_columns,
    require_file,
    require_rows,
)
from sessionrec.errors import DataError

FIELD_TYPES = ("token", "token_seq", "float", "float_seq")
TITLE_FIELDS = ("title", "movie_title", "name", "item_name")
TEXT_FIELDS = ("description", "desc", "overview", "text", "plot", "abstract")
YEAR_FIELDS = ("release_year", "year")
CATEGORY_FIELDS = ("class", "genre", "genres", "categories", "category", "tags")


def read_atomic(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The file with plain column names, and each name's declared type."""
    frame = read_delimited(path, "\t", quoting=csv.QUOTE_NONE)
    types: dict[str, str] = {}
    for cell in frame.columns:
        name, sep, kind = str(cell).partition(":")
        if not sep or kind not in FIELD_TYPES:
            raise DataError(
                f"header cell {cell!r} is not 'name:type' with type one of "
                f"{', '.join(FIELD_TYPES)} (is this a RecBole atomic file?)",
                path=path,
                line=1,
            )
        types[name] = kind
    frame.columns = list(types)
    return frame, types


def load_inter(path: Path) -> Interactions:
    """Interactions in file order: user_id, item_id, optional rating, timestamp, session_id."""
    frame, _ = read_atomic(path)
    require_columns(frame.columns, ["item_id"], path)
    if "user_id" not in frame and "session_id" not in frame:
        require_columns(frame.columns, ["user_id"], path, hint="or a 'session_id' column")
    require_rows(frame, path)
    events = pd.DataFrame({ITEM_ID: id_column(frame, "item_id", path, header_lines=1)})
    for column in (USER_ID, SESSION_ID):
        if column in frame:
            events[column] = id_column(frame, column, path, header_lines=1)
    events[TIMESTAMP] = (
        numeric_column(frame, "timestamp", path, header_lines=1)
        if "timestamp" in frame
        else np.arange(len(frame), dtype=np.float64)
    )
    if "rating" in frame:
        events[VALUE] = numeric_column(frame, "rating", path, header_lines=1)
        events[EVENT_TYPE] = EventType.RATING.value
    else:
        events[EVENT_TYPE] = EventType.VIEW.value
    return Interactions(normalise_events(events), str(path))


def _first_present(names: tuple[str, ...], columns: list[str]) -> str | None:
    return next((n for n in names if n in columns), None)


def load_item(path: Path) -> Catalogue:
    """Items: a title-like field, free text, genre-like categories; the rest are attributes.

    A year field (`release_year`, `year`) becomes the attribute "year", as MovieLens' own
    files give it, so templates need not know which source an item came from.
    """
    frame, types = read_atomic(path)
    require_columns(frame.columns, ["item_id"], path)
    columns = list(frame.columns)
    ids = id_column(frame, "item_id", path, header_lines=1).tolist()
    title_field = _first_present(TITLE_FIELDS, columns)
    text_field = _first_present(TEXT_FIELDS, columns)
    category_field = _first_present(CATEGORY_FIELDS, columns)
    used = {"item_id", title_field, text_field, category_field}
    titles = frame[title_field].fillna("").tolist() if title_field else [""] * len(frame)
    texts = frame[text_field].fillna("").tolist() if text_field else None
    categories = (
        [str(v).split() if isinstance(v, str) else [] for v in frame[category_field]]
        if category_field
        else None
    )
    others = [c for c in columns if c not in used]
    renamed = {c: ("year" if c in YEAR_FIELDS else c) for c in others}
    attributes = [
        {
            renamed[c]: (v.split() if types[c].endswith("_seq") else v)
            for c, v in row.items()
            if isinstance(v, str)
        }
        for row in frame[others].to_dict("records")
    ]
    return make_catalogue(ids, titles, texts, categories, attributes, str(path))


def load_recbole(path: Path) -> Dataset:
    """A `.inter` file, or a folder holding `NAME.inter` and optionally `NAME.item`."""
    if path.is_dir():
        inters = sorted(path.glob("*.inter"))
        if not inters:
            raise DataError("no RecBole '.inter' file in this folder", path=path)
        preferred = [p for p in inters if p.stem == path.name]
        if len(inters) > 1 and not preferred:
            names = ", ".join(p.name for p in inters)
            raise DataError(f"several '.inter' files ({names}): pass one of them", path=path)
        inter = preferred[0] if preferred else inters[0]
    else:
        inter = require_file(path)
    item = inter.with_suffix(".item")
    catalogue = load_item(item) if item.exists() else None
    return Dataset(load_inter(inter), catalogue, inter.stem)
