"""Checks every loader shares, each turning bad input into a `DataError` a person can act on.

Loaders read raw cells into a `Table` that remembers where each row came from (its 1-based
line in the file, the header being line 1), then run these vectorised checks. A check finds
the first bad row with a mask, so the message names the file, the line, the column and the
reason without a Python loop over the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sessionrec.data.schema import EventType
from sessionrec.errors import DataError

SNIFF_BYTES = 8192
"""How much of a file is read to tell text from binary data."""

_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


@dataclass(frozen=True)
class Table:
    """Raw cells of one source file, with where each row came from.

    `frame` holds the cells as read (strings for text formats, typed values for Parquet and
    JSON). `lines` gives each row's 1-based line in the file, counting the header as line 1,
    so that errors point at what the user sees in an editor; it is None for formats without
    lines (Parquet), whose errors name the row number instead.
    """

    frame: pd.DataFrame
    path: Path
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        """The column names as found in the file."""
        return [str(c) for c in self.frame.columns]

    def error(self, message: str, row: int, field: str | None = None) -> DataError:
        """A `DataError` about one row, located by its line (or row number without lines)."""
        if self.lines is None:
            return DataError(f"row {row + 1}: {message}", path=self.path, field=field)
        return DataError(message, path=self.path, line=int(self.lines[row]), field=field)


def require_file(path: str | Path) -> Path:
    """The path as a `Path`, or a `DataError` when nothing exists there."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DataError("no such file or directory", path=resolved)
    return resolved


def require_text(path: Path) -> None:
    """Refuse missing, empty and binary files before a parser gives a cryptic message."""
    require_file(path)
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=path)
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", path=path) from None
    if not head.strip():
        raise DataError("the file is empty (no header, no data rows)", path=path)
    if b"\x00" in head:
        raise DataError(
            "looks like binary data, not text; check the file, or pass --format parquet "
            "if it is a Parquet file",
            path=path,
        )


def decode_error(path: Path, encoding: str) -> DataError:
    """Explain a decoding failure, with the line of the first undecodable byte."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return DataError(
            f"not valid {encoding} text (byte 0x{data[exc.start]:02x}); save the file as "
            f"{encoding}",
            path=path,
            line=line,
        )
    return DataError(f"not valid {encoding} text", path=path)


def require_columns(found: Sequence[str], required: Iterable[str], path: Path) -> None:
    """Every required column is present; the error names it and lists the columns found."""
    for name in required:
        if name not in found:
            listed = ", ".join(map(str, found)) or "none"
            raise DataError(
                f"missing column {name!r}; columns found: {listed}", path=path, field=name
            )


def require_rows(table: Table) -> None:
    """A file with a header but no data rows is an error, not an empty data set."""
    if not len(table):
        raise DataError("no data rows (the file has only a header)", path=table.path)


def is_blank_value(value: object) -> bool:
    """Whether one cell counts as missing: None, NaN/NA, or only whitespace."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()


def blank_mask(values: pd.Series) -> np.ndarray:
    """True where a cell is missing or only whitespace."""
    if values.dtype.kind in "biufM":
        return values.isna().to_numpy()
    text = values.astype("string")
    return (text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool, na_value=True)


def ids(table: Table, column: str, *, allow_blank: bool = False) -> pd.Series:
    """A column of ids as strings; blank ids are an error unless `allow_blank` (then None).

    Ids are opaque: "0012" stays "0012". Whole numbers from typed sources (JSON, Parquet)
    lose float formatting ("12.0" → "12"), because one missing value in a column turns its
    integers into floats there.
    """
    values = table.frame[column]
    blank = blank_mask(values)
    if blank.any() and not allow_blank:
        row = int(np.flatnonzero(blank)[0])
        raise table.error("empty id", row, column)
    text = _id_strings(values).astype(object)
    if blank.any():
        text = text.where(~blank, None)
    return text


def _id_strings(values: pd.Series) -> pd.Series:
    """Typed id values as strings, keeping text as it is."""
    if values.dtype.kind == "f":
        present = values.dropna()
        if bool((present == np.floor(present)).all()):
            return values.astype("Int64").astype("string")
    return values.astype("string")


def numbers(table: Table, column: str, *, what: str = "number") -> np.ndarray:
    """A numeric column as float64; blanks become NaN, anything else non-numeric is an error."""
    values = table.frame[column]
    if values.dtype.kind in "biuf":
        return values.to_numpy(dtype="float64", na_value=np.nan)
    parsed = _to_float(values.astype("string"))
    bad = np.isnan(parsed) & ~blank_mask(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise table.error(f"{values.iloc[row]!r} is not a {what}", row, column)
    return parsed


def _to_float(text: pd.Series) -> np.ndarray:
    """Strings to float64 (NaN where not a number), exactly as Python's `float` reads them.

    The strict cast is tried first because it round-trips every float's shortest repr;
    `to_numeric` only runs to find which cells are bad.
    """
    try:
        return text.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError):
        coerced = pd.to_numeric(text, errors="coerce")
        return coerced.to_numpy(dtype="float64", na_value=np.nan)


def timestamps(table: Table, column: str, *, allow_dates: bool = False) -> np.ndarray:
    """Seconds since the Unix epoch as float64; every row needs a finite time.

    With `allow_dates`, ISO-8601 strings ("2014-04-01T10:00:00Z", "2014-04-01") are accepted
    too, read as UTC when they carry no offset: generic exports often write dates, while the
    research formats (RecBole, GRU4Rec, MovieLens) always write numbers.
    """
    values = table.frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M":
        seconds = _epoch_seconds(pd.to_datetime(values, utc=True))
    elif values.dtype.kind in "biuf":
        seconds = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = values.astype("string")
        seconds = _to_float(text)
        missing = np.isnan(seconds)
        if allow_dates and missing.any():
            stamps = pd.to_datetime(text[missing], format="ISO8601", utc=True, errors="coerce")
            seconds[missing] = _epoch_seconds(stamps)
    bad = ~np.isfinite(seconds)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        expected = "Unix seconds or an ISO-8601 date" if allow_dates else "Unix seconds"
        if is_blank_value(values.iloc[row]):
            raise table.error(f"empty timestamp; expected {expected}", row, column)
        raw = values.iloc[row]
        raise table.error(f"timestamp {raw!r} is not a number; expected {expected}", row, column)
    return seconds


def _epoch_seconds(stamps: pd.Series) -> np.ndarray:
    """UTC datetimes as float seconds since the epoch (NaN for NaT)."""
    delta = (stamps - _EPOCH) / pd.Timedelta(seconds=1)
    return np.asarray(delta.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")


def event_types(table: Table, column: str) -> pd.Series:
    """Event types as canonical `EventType` values; the first unknown one is reported.

    Only distinct values go through `EventType.parse`, so a million rows cost a handful of
    parses.
    """
    values = table.frame[column].astype("string")
    canonical: dict[str, str] = {}
    for raw in values.dropna().unique():
        try:
            canonical[str(raw)] = EventType.parse(str(raw)).value
        except ValueError:
            continue
    mapped = values.map(canonical)
    bad = mapped.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = values.iloc[row]
        valid = ", ".join(t.value for t in EventType)
        if is_blank_value(raw):
            raise table.error(f"empty event type; valid: {valid}", row, column)
        raise table.error(f"unknown event type {raw!r}; valid: {valid}", row, column)
    return mapped.astype(object)


def unique_ids(table: Table, column: str, values: pd.Series) -> None:
    """Each id appears once (catalogues); the second occurrence is reported with its line."""
    duplicated = values.duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise table.error(f"item id {values.iloc[row]!r} appears more than once", row, column)
