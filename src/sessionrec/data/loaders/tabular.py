"""Generic event and catalogue files: CSV, TSV, Parquet and JSON Lines with named columns.

Exports from shops and analytics tools name their columns in many ways ("SessionId",
"session", "visitorid", "ts", ...). A `ColumnMapping` says which source column holds which
canonical field; fields left as None are recognised from common names. The readers here
also serve the research formats (RecBole, MovieLens, GRU4Rec), which differ only in how the
file is split into cells.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.data import validate
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
from sessionrec.data.validate import Table
from sessionrec.errors import ConfigError, DataError

TITLE_FIELD = "title"
TEXT_FIELD = "text"
CATEGORIES_FIELD = "categories"
ATTRIBUTES_FIELD = "attributes"

# Recognised column names, in order of preference, compared after `_key` (lower case, only
# letters and digits, any RecBole ":type" suffix dropped), so "SessionId", "session_id" and
# "session-id" all match "sessionid".
EVENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    SESSION_ID: ("sessionid", "session", "sid", "visitid", "visit"),
    USER_ID: ("userid", "user", "uid", "visitorid", "visitor", "customerid", "customer"),
    ITEM_ID: ("itemid", "item", "productid", "product", "movieid", "iid", "sku", "articleid"),
    TIMESTAMP: ("timestamp", "time", "ts", "datetime", "eventtime", "date", "createdat"),
    EVENT_TYPE: ("eventtype", "event", "type", "action", "interactiontype", "behavior"),
    VALUE: ("value", "rating", "score", "weight"),
}
CATALOGUE_SYNONYMS: dict[str, tuple[str, ...]] = {
    # A bare "id" names the item only in a catalogue (in an event log it could be anything).
    ITEM_ID: (*EVENT_SYNONYMS[ITEM_ID], "id"),
    TITLE_FIELD: ("title", "name", "movietitle", "itemname", "productname", "producttitle"),
    TEXT_FIELD: ("text", "description", "desc", "summary", "overview", "plot", "content"),
    CATEGORIES_FIELD: ("categories", "category", "genres", "genre", "tags", "class", "classes"),
    ATTRIBUTES_FIELD: ("attributes", "attrs", "properties", "metadata"),
}

_CATEGORY_SEPARATORS = re.compile(r"\s*[|,]\s*")


def _key(name: str) -> str:
    """A column name reduced for synonym matching ("Session_ID:token" → "sessionid")."""
    return re.sub(r"[^a-z0-9]", "", str(name).split(":", 1)[0].lower())


def _resolve(
    found: Sequence[str],
    explicit: Mapping[str, str | None],
    synonyms: Mapping[str, tuple[str, ...]],
    path: Path,
) -> dict[str, str]:
    """Canonical field → source column, from explicit names first, then synonyms.

    An explicit name must exist; an empty string switches a field off. Each source column
    serves one field at most.
    """
    resolved: dict[str, str] = {}
    for name, column in explicit.items():
        if column is None or column == "":
            continue
        validate.require_columns(found, [column], path)
        resolved[name] = column
    taken = set(resolved.values())
    by_key: dict[str, str] = {}
    for column in found:
        by_key.setdefault(_key(column), column)
    for name, candidates in synonyms.items():
        if name in resolved or explicit.get(name) == "":
            continue
        for candidate in candidates:
            column = by_key.get(candidate)
            if column is not None and column not in taken:
                resolved[name] = column
                taken.add(column)
                break
    return resolved


def _missing_field(
    label: str, synonyms: Iterable[str], found: Sequence[str], path: Path, field: str
) -> DataError:
    """The error for a field no column was recognised for, listing the columns found."""
    return DataError(
        f"missing column {label} (also recognised: {', '.join(synonyms)}); "
        f"columns found: {', '.join(map(str, found)) or 'none'}; "
        "name the column with a column mapping",
        path=path,
        field=field,
    )


def _parse_mapping(text: str, names: Sequence[str]) -> dict[str, str]:
    """Read "FIELD=COLUMN,FIELD=COLUMN" into {FIELD: COLUMN}; FIELD must be in `names`."""
    given: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise ConfigError(
                f"bad column mapping {part!r}; expected FIELD=COLUMN with FIELD one of "
                f"{', '.join(sorted(names))}"
            )
        given[name] = column.strip()
    return given


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column holds each canonical event field.

    None means "recognise it from common names" (see `EVENT_SYNONYMS`); an empty string
    means "this file has no such column" (to stop a column named, say, "type" from being
    read as the event type).
    """

    session_id: str | None = None
    """Session column; events of one visit share it."""
    user_id: str | None = None
    """User column; a log with users but no sessions can be cut by `sessionize`."""
    item_id: str | None = None
    """Item column (required, found or named)."""
    timestamp: str | None = None
    """Unix seconds, or ISO-8601 dates in the generic formats; absent means file order."""
    event_type: str | None = None
    """Event kind (view, click, cart, purchase, ...); see `EventType.parse` for synonyms."""
    value: str | None = None
    """A number per event, such as a rating."""

    @classmethod
    def parse(cls, text: str) -> ColumnMapping:
        """Read "item_id=sku,timestamp=when" (the command line's form) into a mapping."""
        return cls(**_parse_mapping(text, [f.name for f in fields(cls)]))

    def resolve(self, found: Sequence[str], path: Path) -> dict[str, str]:
        """Canonical field → source column for a file with these columns.

        Needs an item column and a session or user column; the errors list the columns found.
        """
        explicit = {f.name: getattr(self, f.name) for f in fields(self)}
        resolved = _resolve(found, explicit, EVENT_SYNONYMS, path)
        if ITEM_ID not in resolved:
            raise _missing_field(repr(ITEM_ID), EVENT_SYNONYMS[ITEM_ID], found, path, ITEM_ID)
        if SESSION_ID not in resolved and USER_ID not in resolved:
            raise _missing_field(
                f"{SESSION_ID!r} or {USER_ID!r}",
                EVENT_SYNONYMS[SESSION_ID] + EVENT_SYNONYMS[USER_ID],
                found,
                path,
                SESSION_ID,
            )
        return resolved


@dataclass(frozen=True)
class CatalogueMapping:
    """Which source column holds each catalogue field; None recognises common names.

    Columns that serve no field are kept per item in `attributes`.
    """

    item_id: str | None = None
    title: str | None = None
    text: str | None = None
    """Free text such as a description."""
    categories: str | None = None
    """A list, or one string separated by '|' or ','."""
    attributes: str | None = None
    """A mapping per item (JSON object in text files)."""

    @classmethod
    def parse(cls, text: str) -> CatalogueMapping:
        """Read "item_id=sku,title=label" (the command line's form) into a mapping."""
        return cls(**_parse_mapping(text, [f.name for f in fields(cls)]))

    def resolve(self, found: Sequence[str], path: Path) -> dict[str, str]:
        """Canonical field → source column; an item column is required."""
        explicit = {f.name: getattr(self, f.name) for f in fields(self)}
        resolved = _resolve(found, explicit, CATALOGUE_SYNONYMS, path)
        if ITEM_ID not in resolved:
            raise _missing_field(repr(ITEM_ID), CATALOGUE_SYNONYMS[ITEM_ID], found, path, ITEM_ID)
        return resolved


# ---------------------------------------------------------------------------------------
# Readers: file → Table of raw cells with line numbers.


def read_delimited(
    path: Path,
    *,
    sep: str,
    header: bool = True,
    encoding: str = "utf-8",
    quoted: bool = True,
) -> Table:
    """Read a delimited text file with every cell as a string ("" when empty).

    Blank lines are dropped after reading so each row keeps its true line number. With
    `quoted` False, quote characters are ordinary text (the research formats never quote,
    and titles such as `"Crocodile" Dundee` must survive).
    """
    validate.require_text(path)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=0 if header else None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
            encoding="utf-8-sig" if encoding == "utf-8" else encoding,
        )
    except UnicodeDecodeError:
        raise validate.decode_error(path, encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (no header, no data rows)", path=path) from None
    except pd.errors.ParserError as exc:
        raise _parser_error(path, str(exc)) from None
    if header:
        frame.columns = [str(c).strip() for c in frame.columns]
    first_line = 2 if header else 1
    lines = np.arange(first_line, first_line + len(frame), dtype=np.int64)
    blank = (frame == "").all(axis=1).to_numpy() if frame.shape[1] else np.zeros(0, bool)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return Table(frame, path, lines)


def _parser_error(path: Path, message: str) -> DataError:
    """pandas' tokenizer message turned into a located `DataError`."""
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        expected, line, saw = match.groups()
        return DataError(
            f"expected {expected} fields, found {saw} (check the separator and quoting)",
            path=path,
            line=int(line),
        )
    return DataError(f"cannot be parsed: {message.splitlines()[0]}", path=path)


def read_jsonl(path: Path) -> Table:
    """Read JSON Lines: one object per line; blank lines are skipped."""
    validate.require_text(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise validate.decode_error(path, "utf-8") from None
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", path=path, line=number) from None
        if not isinstance(record, dict):
            raise DataError("expected a JSON object on each line", path=path, line=number)
        records.append(record)
        lines.append(number)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    return Table(frame, path, np.asarray(lines, dtype=np.int64))


def read_parquet(path: Path) -> Table:
    """Read a Parquet file; rows have no lines, so errors name the row number."""
    validate.require_file(path)
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty (no header, no data rows)", path=path)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"not a readable Parquet file ({first})", path=path) from None
    return Table(frame.reset_index(drop=True), path, None)


TABULAR_FORMATS = ("csv", "tsv", "parquet", "jsonl")


def read_table(path: Path, fmt: str) -> Table:
    """Read a generic file of one of `TABULAR_FORMATS`."""
    if fmt == "csv":
        return read_delimited(path, sep=",")
    if fmt == "tsv":
        return read_delimited(path, sep="\t", quoted=False)
    if fmt == "parquet":
        return read_parquet(path)
    if fmt == "jsonl":
        return read_jsonl(path)
    raise ValueError(f"not a tabular format: {fmt!r}")  # callers pass only TABULAR_FORMATS


# ---------------------------------------------------------------------------------------
# Tables → canonical frames.


def events_from_table(
    table: Table,
    columns: Mapping[str, str],
    *,
    default_event: EventType,
    allow_dates: bool,
) -> Interactions:
    """Validate the mapped columns of a table and build canonical `Interactions`.

    `columns` maps canonical field → source column. Rows keep their order in the file.
    Where both session and user columns exist, either may be blank on a row, not both.
    """
    validate.require_rows(table)
    data: dict[str, Any] = {ITEM_ID: validate.ids(table, columns[ITEM_ID])}
    both = SESSION_ID in columns and USER_ID in columns
    for name in (SESSION_ID, USER_ID):
        if name in columns:
            data[name] = validate.ids(table, columns[name], allow_blank=both)
    if both:
        neither = (data[SESSION_ID].isna() & data[USER_ID].isna()).to_numpy()
        if neither.any():
            row = int(np.flatnonzero(neither)[0])
            raise table.error("the event has neither a session id nor a user id", row)
    if TIMESTAMP in columns:
        data[TIMESTAMP] = validate.timestamps(table, columns[TIMESTAMP], allow_dates=allow_dates)
    if EVENT_TYPE in columns:
        data[EVENT_TYPE] = validate.event_types(table, columns[EVENT_TYPE])
    else:
        data[EVENT_TYPE] = default_event.value
    if VALUE in columns:
        data[VALUE] = validate.numbers(table, columns[VALUE])
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(table)))
    return Interactions(normalise_events(frame), source=str(table.path))


def load_tabular(path: Path, fmt: str, mapping: ColumnMapping | None = None) -> Interactions:
    """Events from a generic CSV, TSV, Parquet or JSON Lines file.

    Without an event-type column every event is a "view", or a "rating" when the file has
    a value column (ratings are what value columns hold in practice).
    """
    table = read_table(path, fmt)
    columns = (mapping or ColumnMapping()).resolve(table.columns, path)
    default = EventType.RATING if VALUE in columns else EventType.VIEW
    return events_from_table(table, columns, default_event=default, allow_dates=True)


def split_categories(raw: object) -> list[str]:
    """Categories from a list, a JSON list, or one string separated by '|' or ','."""
    if isinstance(raw, list | tuple | np.ndarray):
        return [str(c).strip() for c in raw if str(c).strip()]
    if validate.is_blank_value(raw):
        return []
    text = str(raw).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return split_categories(parsed)
    return [c for c in _CATEGORY_SEPARATORS.split(text) if c]


def describe_item(title: str, year: int | None = None, categories: Sequence[str] = ()) -> str:
    """One line of text about an item, for sources with structured fields but no prose.

    The language model sees this text, so it carries everything known: "Toy Story (1995).
    Animation, Children's, Comedy."
    """
    text = f"{title} ({year})" if year is not None else title
    if categories:
        text += ". " + ", ".join(categories)
    return text + "." if text and not text.endswith(".") else text


def _attributes_cell(table: Table, row: int, column: str, raw: object) -> dict[str, Any]:
    """One attributes cell: a mapping, a JSON object string, or blank."""
    if isinstance(raw, dict):
        return dict(raw)
    if validate.is_blank_value(raw):
        return {}
    try:
        parsed = json.loads(str(raw))
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise table.error("attributes must be a JSON object", row, column)
    return parsed


def _plain(value: object) -> object:
    """numpy scalars as Python values, so attributes stay JSON-friendly."""
    return value.item() if isinstance(value, np.generic) else value


def catalogue_from_table(table: Table, mapping: CatalogueMapping | None = None) -> Catalogue:
    """Validate a catalogue table and build a `Catalogue`; unmapped columns become attributes."""
    validate.require_rows(table)
    columns = (mapping or CatalogueMapping()).resolve(table.columns, table.path)
    frame = table.frame
    item_ids = validate.ids(table, columns[ITEM_ID])
    validate.unique_ids(table, columns[ITEM_ID], item_ids)

    def text_column(name: str) -> list[str]:
        if name not in columns:
            return [""] * len(table)
        values = frame[columns[name]]
        return ["" if validate.is_blank_value(v) else str(v) for v in values]

    titles = text_column(TITLE_FIELD)
    texts = text_column(TEXT_FIELD)
    categories = (
        [split_categories(v) for v in frame[columns[CATEGORIES_FIELD]]]
        if CATEGORIES_FIELD in columns
        else None
    )
    extra = [c for c in table.columns if c not in columns.values()]
    attributes: list[dict[str, Any]] = [
        {str(k): _plain(v) for k, v in record.items() if not validate.is_blank_value(v)}
        for record in frame[extra].to_dict("records")
    ]
    if ATTRIBUTES_FIELD in columns:
        column = columns[ATTRIBUTES_FIELD]
        for row, raw in enumerate(frame[column]):
            attributes[row].update(_attributes_cell(table, row, column, raw))
    return make_catalogue(
        [str(i) for i in item_ids],
        titles,
        texts,
        categories,
        attributes,
        source=str(table.path),
    )


def load_tabular_catalogue(
    path: Path, fmt: str, mapping: CatalogueMapping | None = None
) -> Catalogue:
    """A catalogue from a generic CSV, TSV, Parquet or JSON Lines file."""
    return catalogue_from_table(read_table(path, fmt), mapping)
