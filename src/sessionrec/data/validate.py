"""Checks every loader applies, with errors that say which file, line and column.

Line numbers are 1-based and count the header line, so they match what an editor shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sessionrec.data.schema import EventType
from sessionrec.errors import DataError


def require_file(path: Path) -> Path:
    """The path itself when it is a readable, non-empty file; a DataError saying why not."""
    if not path.exists():
        raise DataError("file not found", path=path)
    if path.is_dir():
        raise DataError("is a folder, expected a file", path=path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    if size == 0:
        raise DataError("file is empty", path=path)
    return path


def require_columns(
    found: Iterable[str], required: Sequence[str], path: Path, *, hint: str = ""
) -> None:
    """Every required column is present, or an error naming the first missing one."""
    columns = [str(c) for c in found]
    for name in required:
        if name not in columns:
            listed = ", ".join(repr(c) for c in columns) or "none"
            message = f"missing column {name!r}; columns found: {listed}"
            raise DataError(message + (f" ({hint})" if hint else ""), path=path)


def require_rows(frame: pd.DataFrame, path: Path) -> None:
    """A file with a header but no data is an error, not an empty data set."""
    if frame.empty:
        raise DataError("no data rows (the file holds a header only)", path=path)


def first_bad_line(mask: np.ndarray, header_lines: int) -> int:
    """File line of the first row where `mask` is True (rows counted from 0)."""
    return int(np.flatnonzero(mask)[0]) + 1 + header_lines


def numeric_column(
    frame: pd.DataFrame, column: str, path: Path, *, header_lines: int, allow_dates: bool = False
) -> pd.Series:
    """A column as float64, or a DataError with the file line of the first bad value.

    With `allow_dates`, ISO-8601 date strings become Unix seconds (generic formats only:
    the peers' formats hold numbers, and a date there is a sign of the wrong file).
    """
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any() and allow_dates:
        parsed = pd.to_datetime(raw.where(bad), errors="coerce", utc=True, format="ISO8601")
        recovered = parsed.notna().to_numpy()
        seconds = (parsed[recovered] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        values = values.astype("float64")
        values[recovered] = seconds.to_numpy()
        bad &= ~recovered
    missing = raw.isna().to_numpy()
    if bad.any() or missing.any():
        line = first_bad_line(bad | missing, header_lines)
        row = line - 1 - header_lines
        shown = "an empty value" if missing[row] else repr(str(raw.iloc[row]))
        expected = "a number or an ISO-8601 date" if allow_dates else "a number"
        raise DataError(f"{shown} is not {expected}", path=path, line=line, field=column)
    return values.astype("float64")


def id_column(frame: pd.DataFrame, column: str, path: Path, *, header_lines: int) -> pd.Series:
    """A column of non-empty ids as strings, or an error with the first empty one's line."""
    values = frame[column].astype("string").str.strip()
    empty = (values.isna() | (values == "")).to_numpy()
    if empty.any():
        raise DataError(
            "empty id",
            path=path,
            line=first_bad_line(empty, header_lines),
            field=column,
        )
    return values.astype(object)


def event_type_column(
    frame: pd.DataFrame, column: str, path: Path, *, header_lines: int
) -> pd.Series:
    """Event types read through `EventType.parse` (synonyms allowed), error with line."""
    raw = frame[column].astype("string")
    distinct = raw.dropna().unique()
    mapping: dict[str, str] = {}
    for value in distinct:
        try:
            mapping[str(value)] = EventType.parse(str(value)).value
        except ValueError as exc:
            line = first_bad_line((raw == value).fillna(False).to_numpy(), header_lines)
            raise DataError(str(exc), path=path, line=line, field=column) from None
    parsed = raw.map(mapping)
    if parsed.isna().any():
        line = first_bad_line(parsed.isna().to_numpy(), header_lines)
        raise DataError("empty event type", path=path, line=line, field=column)
    return parsed.astype(object)
