"""Loaders: every supported source format into the canonical `Dataset`.

`load_dataset` picks the loader from `format` ("auto" detects it from the path); each loader
keeps the source's row order, since protocols break ties in time by file order.
"""

from __future__ import annotations

from pathlib import Path

from sessionrec.data.loaders.gru4rec import REQUIRED as GRU4REC_COLUMNS
from sessionrec.data.loaders.gru4rec import load_gru4rec
from sessionrec.data.loaders.movielens import RATING_FILES, load_movielens
from sessionrec.data.loaders.recbole import load_recbole
from sessionrec.data.loaders.tabular import ColumnMapping, load_catalogue, load_events
from sessionrec.data.schema import Dataset, Interactions
from sessionrec.errors import DataError, unknown_choice

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
GENERIC_FORMATS = ("csv", "tsv", "parquet", "jsonl")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}

__all__ = [
    "FORMATS",
    "ColumnMapping",
    "detect_format",
    "load_catalogue",
    "load_dataset",
    "load_interactions",
]


def _first_line(path: Path) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return handle.readline()
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", path=path) from None


def detect_format(path: str | Path) -> str:
    """The format a path is in, judged from its name, its folder's files and its header."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path)
    if path.is_dir():
        if any(path.glob("*.inter")):
            return "recbole"
        if any((path / name).exists() for name in RATING_FILES):
            return "movielens"
        raise DataError(
            "folder holds no known data set (a RecBole '.inter' file, or MovieLens "
            f"{', '.join(RATING_FILES)})",
            path=path,
        )
    if path.suffix == ".inter":
        return "recbole"
    if path.name in ("u.data", "ratings.dat"):
        return "movielens"
    extension = EXTENSIONS.get(path.suffix.lower())
    if extension in ("csv", "tsv"):
        header = _first_line(path)
        cells = [c.strip() for c in header.replace(",", "\t").split("\t")]
        if all(name in cells for name in GRU4REC_COLUMNS[:2]):
            return "gru4rec"
        if path.name == "ratings.csv" and "userId" in cells and "movieId" in cells:
            return "movielens"
    if extension is None:
        raise DataError(
            f"cannot tell the format from the name; pass --format with one of "
            f"{', '.join(f for f in FORMATS if f != 'auto')}",
            path=path,
        )
    return extension


def load_dataset(
    path: str | Path,
    format: str = "auto",
    mapping: ColumnMapping | None = None,
    catalogue_path: str | Path | None = None,
) -> Dataset:
    """Events (and the catalogue, where the source has one) from a file or folder."""
    if format not in FORMATS:
        raise unknown_choice("format", format, FORMATS)
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if not path.exists():
        raise DataError("file not found", path=path)
    if fmt == "recbole":
        dataset = load_recbole(path)
    elif fmt == "movielens":
        dataset = load_movielens(path)
    elif fmt == "gru4rec":
        dataset = load_gru4rec(path)
    else:
        if path.is_dir():
            raise DataError(f"is a folder; the {fmt} format reads one file", path=path)
        dataset = Dataset(load_events(path, fmt, mapping), None, path.stem)
    if catalogue_path is not None:
        catalogue_file = Path(catalogue_path)
        catalogue_format = EXTENSIONS.get(catalogue_file.suffix.lower(), "csv")
        catalogue = load_catalogue(catalogue_file, catalogue_format)
        dataset = Dataset(dataset.interactions, catalogue, dataset.name, dataset.meta)
    return dataset


def load_interactions(
    path: str | Path, format: str = "auto", mapping: ColumnMapping | None = None
) -> Interactions:
    """Only the events of `load_dataset`."""
    return load_dataset(path, format, mapping).interactions
