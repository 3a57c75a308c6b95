"""Loaders: every supported source format into the canonical `Dataset`.

`load_dataset` picks the loader from `format` ("auto" detects it from the path); every
loader keeps the source's row order, since protocols break ties in time by file order.
All problems a user can fix raise `DataError` naming the file, line and column.
"""

from __future__ import annotations

import re
from pathlib import Path

from sessionrec.data import validate
from sessionrec.data.loaders.coverage import CatalogueCoverage, catalogue_coverage
from sessionrec.data.loaders.gru4rec import REQUIRED as GRU4REC_COLUMNS
from sessionrec.data.loaders.gru4rec import load_gru4rec
from sessionrec.data.loaders.movielens import RATING_FILES, load_movielens, load_movies
from sessionrec.data.loaders.options import FORMATS, DataOptions, check_format
from sessionrec.data.loaders.recbole import FIELD_TYPES, load_item, load_recbole
from sessionrec.data.loaders.tabular import (
    TABULAR_FORMATS,
    CatalogueMapping,
    ColumnMapping,
    load_tabular,
    load_tabular_catalogue,
)
from sessionrec.data.schema import Catalogue, Dataset, Interactions
from sessionrec.errors import ConfigError, DataError

EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""Generic formats by file extension, the last resort of `detect_format`."""

# u.data and the 100K release's own splits (u1.base, ua.test, ...).
_ML100K_RATINGS = re.compile(r"^u[0-9a-z]?\.(data|base|test)$")

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "CatalogueCoverage",
    "CatalogueMapping",
    "ColumnMapping",
    "DataOptions",
    "catalogue_coverage",
    "check_format",
    "detect_format",
    "load_catalogue",
    "load_dataset",
    "load_interactions",
]


def _first_line(path: Path) -> str:
    """The first line of a file, once it is known to be non-empty text."""
    validate.require_text(path)
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")


def _cells(line: str, sep: str) -> set[str]:
    """A header line's cells, without surrounding spaces and quotes."""
    return {c.strip().strip('"') for c in line.split(sep)}


def _nothing_loadable(folder: Path) -> DataError:
    """The error for a folder without any file a loader knows, listing what it holds."""
    found = sorted(p.name for p in folder.iterdir())
    listed = ", ".join(found[:10]) + (", ..." if len(found) > 10 else "") if found else "nothing"
    return DataError(
        "nothing loadable in this folder: expected a RecBole 'NAME.inter' or a MovieLens "
        f"{' / '.join(RATING_FILES)}; found: {listed}. Pass a file and --format instead",
        path=folder,
    )


def detect_format(path: str | Path) -> str:
    """The format of a file or folder, judged from its name, its files and its header.

    Folders: a `*.inter` file means RecBole, `u.data` / `ratings.dat` / `ratings.csv` means
    MovieLens. Files: the research formats by name or header, else the extension.
    """
    path = validate.require_file(path)
    if path.is_dir():
        if any(path.glob("*.inter")):
            return "recbole"
        if any((path / name).is_file() for name in RATING_FILES):
            return "movielens"
        raise _nothing_loadable(path)
    suffix = path.suffix.lower()
    if suffix in (".inter", ".item"):
        return "recbole"
    if path.name == "ratings.dat" or _ML100K_RATINGS.match(path.name):
        return "movielens"
    generic = EXTENSIONS.get(suffix)
    if generic in ("csv", "tsv"):
        header = _first_line(path)
        if path.name == "ratings.csv" and {"userId", "movieId"} <= _cells(header, ","):
            return "movielens"
        if {GRU4REC_COLUMNS[0], GRU4REC_COLUMNS[1]} <= _cells(header, "\t"):
            return "gru4rec"
    if generic is None:
        raise DataError(
            "cannot tell the format from the file name; formats: "
            f"{', '.join(f for f in FORMATS if f != 'auto')}; pass one with --format "
            "(format= in Python)",
            path=path,
        )
    return generic


def _reject_mapping(mapping: ColumnMapping | None, fmt: str) -> None:
    """Formats with fixed columns take no mapping; ignoring one silently would mislead."""
    if mapping is not None and mapping != ColumnMapping():
        raise ConfigError(f"the {fmt} format has fixed columns and takes no column mapping")


def load_dataset(
    path: str | Path,
    format: str = "auto",
    mapping: ColumnMapping | None = None,
    catalogue_path: str | Path | None = None,
    catalogue_mapping: CatalogueMapping | None = None,
) -> Dataset:
    """Events, and the catalogue where the source has one, from a file or folder.

    `mapping` names columns for the generic formats and RecBole; `catalogue_path` reads
    items from a separate file (RecBole `.item`, MovieLens movie file, or a generic table,
    whose columns `catalogue_mapping` may name), replacing any catalogue found beside the
    events. How many ids the two share is logged (`catalogue_coverage`); none at all is a
    `DataError`.
    """
    check_format(format)
    path = validate.require_file(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "recbole":
        dataset = load_recbole(path, mapping)
    elif fmt == "movielens":
        _reject_mapping(mapping, fmt)
        dataset = load_movielens(path)
    else:
        if path.is_dir():
            raise DataError(f"is a directory; the {fmt} format reads one file", path=path)
        if fmt == "gru4rec":
            _reject_mapping(mapping, fmt)
            dataset = load_gru4rec(path)
        else:
            interactions = load_tabular(path, fmt, mapping)
            dataset = Dataset(interactions, None, path.stem, {"format": fmt, "files": [str(path)]})
    if catalogue_path is not None:
        catalogue = load_catalogue(catalogue_path, mapping=catalogue_mapping)
        catalogue_coverage(dataset.interactions, catalogue)
        meta = {**dataset.meta, "catalogue": catalogue.source}
        dataset = Dataset(dataset.interactions, catalogue, dataset.name, meta)
    return dataset


def load_interactions(
    path: str | Path, format: str = "auto", mapping: ColumnMapping | None = None
) -> Interactions:
    """Only the events of `load_dataset` (what evaluation on a log needs)."""
    return load_dataset(path, format, mapping).interactions


def load_catalogue(
    path: str | Path, format: str = "auto", mapping: CatalogueMapping | None = None
) -> Catalogue:
    """Items from a RecBole `.item`, a MovieLens movie file, or a generic table.

    With "auto", `.item` files are RecBole's when their header has `name:type` cells and
    MovieLens-100K's `u.item` otherwise; `movies.dat` / `movies.csv` are MovieLens'; the
    rest go by extension.
    """
    check_format(format)
    path = validate.require_file(path)
    if path.is_dir():
        raise DataError("is a directory; a catalogue is one file", path=path)
    fmt = format if format != "auto" else _catalogue_format(path)
    if fmt == "recbole":
        return load_item(path)
    if fmt == "movielens":
        return load_movies(path)
    if fmt in TABULAR_FORMATS:
        return load_tabular_catalogue(path, fmt, mapping)
    raise DataError(
        f"the {fmt} format holds no catalogue; use a csv, tsv, parquet or jsonl file",
        path=path,
    )


def _catalogue_format(path: Path) -> str:
    """The format of a catalogue file, by name and header."""
    suffix = path.suffix.lower()
    if suffix == ".item":
        cells = _cells(_first_line(path), "\t")
        typed = all(c.partition(":")[2] in FIELD_TYPES for c in cells)
        return "recbole" if typed else "movielens"
    if path.name in ("movies.dat", "movies.csv"):
        return "movielens"
    generic = EXTENSIONS.get(suffix)
    if generic is None:
        raise DataError(
            "cannot tell the catalogue format from the file name; use a .item, .csv, .tsv, "
            ".parquet or .jsonl file, or pass the format",
            path=path,
        )
    return generic
