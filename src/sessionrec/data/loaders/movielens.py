"""MovieLens as GroupLens ships it: 100K (`u.data`, `u.item`), 1M (`ratings.dat`,
`movies.dat`) and the latest releases (`ratings.csv`, `movies.csv`)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from sessionrec.data.loaders.common import read_delimited, split_title_year
from sessionrec.data.schema import (
    EVENT_TYPE,
    ITEM_ID,
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
from sessionrec.data.validate import id_column, numeric_column, require_columns, require_rows
from sessionrec.errors import DataError

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
RATING_FILES = ("u.data", "ratings.dat", "ratings.csv")
RATING_COLUMNS = ["userId", "movieId", "rating", "timestamp"]


def _ratings(frame: pd.DataFrame, path: Path, header_lines: int) -> Interactions:
    require_columns(frame.columns, RATING_COLUMNS, path)
    require_rows(frame, path)
    events = pd.DataFrame(
        {
            USER_ID: id_column(frame, "userId", path, header_lines=header_lines),
            ITEM_ID: id_column(frame, "movieId", path, header_lines=header_lines),
            VALUE: numeric_column(frame, "rating", path, header_lines=header_lines),
            TIMESTAMP: numeric_column(frame, "timestamp", path, header_lines=header_lines),
            EVENT_TYPE: EventType.RATING.value,
        }
    )
    return Interactions(normalise_events(events), str(path))


def _movies(
    ids: list[str], raw_titles: list[str], genres: list[list[str]], path: Path
) -> Catalogue:
    split = [split_title_year(t) for t in raw_titles]
    return make_catalogue(
        ids,
        [title for title, _ in split],
        categories=genres,
        attributes=[{"year": year} if year else {} for _, year in split],
        source=str(path),
    )


def load_100k_items(path: Path) -> Catalogue:
    """`u.item`: id|title|release date|video date|url|19 genre flags, Latin-1."""
    names = ["movieId", "title", "release", "video", "url", *ML100K_GENRES]
    frame = read_delimited(path, "|", names=names, encoding="latin-1", quoting=csv.QUOTE_NONE)
    if frame[list(ML100K_GENRES)].isna().all(axis=None):
        raise DataError(
            "expected 24 '|'-separated fields per line (MovieLens-100K u.item)", path=path
        )
    flags = frame[list(ML100K_GENRES)].fillna("0").to_numpy() == "1"
    genres = [[g for g, on in zip(ML100K_GENRES, row, strict=True) if on] for row in flags]
    ids = id_column(frame, "movieId", path, header_lines=0).tolist()
    return _movies(ids, frame["title"].fillna("").tolist(), genres, path)


def _genre_lists(values: pd.Series) -> list[list[str]]:
    return [
        [] if not isinstance(v, str) or v == "(no genres listed)" else v.split("|") for v in values
    ]


def load_movielens(path: Path) -> Dataset:
    """A MovieLens folder, or one of its rating files (the movie file beside it is read too)."""
    folder, ratings = (path, None) if path.is_dir() else (path.parent, path)
    if ratings is None:
        ratings = next((folder / n for n in RATING_FILES if (folder / n).exists()), None)
        if ratings is None:
            raise DataError(
                f"no MovieLens rating file ({', '.join(RATING_FILES)}) in this folder", path=folder
            )
    catalogue: Catalogue | None = None
    if ratings.name == "ratings.csv":
        interactions = _ratings(read_delimited(ratings, ","), ratings, header_lines=1)
        movies = folder / "movies.csv"
        if movies.exists():
            frame = read_delimited(movies, ",")
            require_columns(frame.columns, ["movieId", "title", "genres"], movies)
            catalogue = _movies(
                id_column(frame, "movieId", movies, header_lines=1).tolist(),
                frame["title"].fillna("").tolist(),
                _genre_lists(frame["genres"]),
                movies,
            )
    elif ratings.suffix == ".dat":
        frame = read_delimited(ratings, "::", names=RATING_COLUMNS, encoding="latin-1")
        interactions = _ratings(frame, ratings, header_lines=0)
        movies = folder / "movies.dat"
        if movies.exists():
            frame = read_delimited(
                movies, "::", names=["movieId", "title", "genres"], encoding="latin-1",
                quoting=csv.QUOTE_NONE,
            )  # fmt: skip
            catalogue = _movies(
                id_column(frame, "movieId", movies, header_lines=0).tolist(),
                frame["title"].fillna("").tolist(),
                _genre_lists(frame["genres"]),
                movies,
            )
    else:
        frame = read_delimited(ratings, "\t", names=RATING_COLUMNS, quoting=csv.QUOTE_NONE)
        interactions = _ratings(frame, ratings, header_lines=0)
        items = folder / "u.item"
        if items.exists():
            catalogue = load_100k_items(items)
    return Dataset(interactions, catalogue, folder.name)
