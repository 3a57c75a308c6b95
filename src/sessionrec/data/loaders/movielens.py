"""MovieLens as GroupLens ships it: 100K (`u.data`, `u.item`), 1M (`ratings.dat`,
`movies.dat`) and the latest releases (`ratings.csv`, `movies.csv`).

Users download these archives themselves (the licence forbids redistribution), so the
loader reads the files exactly as unpacked. Titles carry the year ("Toy Story (1995)"); it is
split off into the attribute "year" and written into the item text with the genres.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sessionrec.data import validate
from sessionrec.data.loaders.tabular import describe_item, events_from_table, read_delimited
from sessionrec.data.schema import (
    ITEM_ID,
    TIMESTAMP,
    USER_ID,
    VALUE,
    Catalogue,
    Dataset,
    EventType,
    Interactions,
    make_catalogue,
)
from sessionrec.data.validate import Table
from sessionrec.errors import DataError

ML100K_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
"""The 19 genre flags of `u.item`, in file order."""

RATING_FILES: tuple[str, ...] = ("u.data", "ratings.dat", "ratings.csv")
"""A folder holding one of these is a MovieLens folder (checked in this order)."""
ML100K_RATING_SUFFIXES = (".data", ".base", ".test")
"""`u.data` and the 100K release's own splits (`u1.base`, `ua.test`, ...) share one format."""
RATING_COLUMNS: tuple[str, ...] = ("userId", "movieId", "rating", "timestamp")
MOVIE_COLUMNS: tuple[str, ...] = ("movieId", "title", "genres")
NO_GENRES = "(no genres listed)"
YEAR_ATTRIBUTE = "year"

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_DATE_YEAR = re.compile(r"(\d{4})\s*$")
_EVENT_COLUMNS = {USER_ID: "userId", ITEM_ID: "movieId", VALUE: "rating", TIMESTAMP: "timestamp"}


def split_title(raw: str) -> tuple[str, int | None]:
    """'Toy Story (1995)' → ('Toy Story', 1995); a title without a year comes back whole."""
    text = raw.strip()
    match = _TITLE_YEAR.match(text)
    if match is None:
        return text, None
    return match["title"], int(match["year"])


def _text_encoding(path: Path) -> str:
    """UTF-8 when the file decodes as such, else Latin-1 (GroupLens' older releases)."""
    validate.require_text(path)
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _with_columns(table: Table, names: tuple[str, ...], what: str) -> Table:
    """A headerless table with its columns named, after checking how many it has."""
    if table.frame.shape[1] != len(names):
        raise DataError(
            f"expected {len(names)} fields per line ({what}), found {table.frame.shape[1]}",
            path=table.path,
        )
    return Table(table.frame.set_axis(list(names), axis=1), table.path, table.lines)


def _ratings(table: Table) -> Interactions:
    """Rating events in file order from a table with `RATING_COLUMNS`."""
    validate.require_columns(table.columns, RATING_COLUMNS, table.path)
    return events_from_table(
        table, _EVENT_COLUMNS, default_event=EventType.RATING, allow_dates=False
    )


def load_ratings(path: Path) -> Interactions:
    """Ratings from `u.data` (or a 100K split), `ratings.dat` or `ratings.csv`."""
    validate.require_file(path)
    if path.suffix in ML100K_RATING_SUFFIXES:
        table = read_delimited(path, sep="\t", header=False, quoted=False)
        return _ratings(_with_columns(table, RATING_COLUMNS, "user, item, rating, timestamp"))
    if path.suffix == ".dat":
        # '::' separates fields and ids hold no ':', so splitting on ':' leaves the fields in
        # every second column and keeps pandas' fast C parser.
        table = read_delimited(path, sep=":", header=False, quoted=False)
        if table.frame.shape[1] != 7:
            raise DataError(
                "expected 4 '::'-separated fields per line (user::item::rating::timestamp), "
                f"found {(table.frame.shape[1] + 1) // 2}",
                path=path,
            )
        table = Table(table.frame.iloc[:, ::2], table.path, table.lines)
        return _ratings(_with_columns(table, RATING_COLUMNS, "user, item, rating, timestamp"))
    if path.suffix == ".csv":
        return _ratings(read_delimited(path, sep=","))
    raise DataError(
        f"not a MovieLens rating file; expected one of {', '.join(RATING_FILES)}", path=path
    )


def _movie(
    item_id: str,
    raw_title: str,
    categories: list[str],
    extra: dict[str, Any] | None = None,
    release_date: str = "",
) -> tuple[str, str, str, list[str], dict[str, Any]]:
    """One catalogue row: id, title, text, categories, attributes.

    The year comes from the title, else from the release date ("01-Jan-1995").
    """
    title, year = split_title(raw_title)
    if year is None and (found := _DATE_YEAR.search(release_date)):
        year = int(found.group(1))
    attributes = dict(extra or {})
    if year is not None:
        attributes[YEAR_ATTRIBUTE] = year
    return item_id, title, describe_item(title, year, categories), categories, attributes


def _catalogue(
    rows: list[tuple[str, str, str, list[str], dict[str, Any]]], path: Path
) -> Catalogue:
    if not rows:
        raise DataError("no data rows", path=path)
    ids, titles, texts, categories, attributes = (list(c) for c in zip(*rows, strict=True))
    return make_catalogue(ids, titles, texts, categories, attributes, source=str(path))


def _genres(raw: str) -> list[str]:
    """'Animation|Children's' → a list; the "no genres" marker → empty."""
    raw = raw.strip()
    return [] if not raw or raw == NO_GENRES else [g for g in raw.split("|") if g]


def load_100k_items(path: Path) -> Catalogue:
    """`u.item`: id|title|release date|video release date|IMDb URL|19 genre flags."""
    table = read_delimited(path, sep="|", header=False, quoted=False, encoding=_text_encoding(path))
    names = ("movieId", "title", "release_date", "video_release_date", "url", *ML100K_GENRES)
    table = _with_columns(table, names, "id|title|release date|video release|url|19 genres")
    item_ids = validate.ids(table, "movieId")
    validate.unique_ids(table, "movieId", item_ids)
    flags = table.frame[list(ML100K_GENRES)].to_numpy() == "1"
    frame = table.frame
    rows = []
    for row, (item_id, title, date, url) in enumerate(
        zip(item_ids, frame["title"], frame["release_date"], frame["url"], strict=True)
    ):
        genres = [g for g, on in zip(ML100K_GENRES, flags[row], strict=True) if on]
        extra = {name: value for name, value in (("release_date", date), ("url", url)) if value}
        rows.append(_movie(str(item_id), str(title), genres, extra, str(date)))
    return _catalogue(rows, path)


def load_1m_movies(path: Path) -> Catalogue:
    """`movies.dat`: id::title::genres, one a line (titles may hold single colons)."""
    encoding = _text_encoding(path)
    rows = []
    seen: set[str] = set()
    text = path.read_text(encoding=encoding)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != 3:
            raise DataError(
                f"expected 3 '::'-separated fields (id::title::genres), found {len(parts)}",
                path=path,
                line=number,
            )
        item_id = parts[0].strip()
        if not item_id:
            raise DataError("empty id", path=path, line=number, field="movieId")
        if item_id in seen:
            raise DataError(f"item id {item_id!r} appears more than once", path=path, line=number)
        seen.add(item_id)
        rows.append(_movie(item_id, parts[1], _genres(parts[2])))
    return _catalogue(rows, path)


def load_csv_movies(path: Path) -> Catalogue:
    """`movies.csv` of the latest releases: movieId,title,genres (quoted CSV, UTF-8)."""
    table = read_delimited(path, sep=",")
    validate.require_columns(table.columns, MOVIE_COLUMNS, path)
    validate.require_rows(table)
    item_ids = validate.ids(table, "movieId")
    validate.unique_ids(table, "movieId", item_ids)
    rows = [
        _movie(str(item_id), title, _genres(genres))
        for item_id, title, genres in zip(
            item_ids, table.frame["title"], table.frame["genres"], strict=True
        )
    ]
    return _catalogue(rows, path)


def load_movies(path: Path) -> Catalogue:
    """A MovieLens movie file, chosen by its name: `u.item`, `movies.dat` or `movies.csv`."""
    validate.require_file(path)
    if path.suffix == ".item":
        return load_100k_items(path)
    if path.suffix == ".dat":
        return load_1m_movies(path)
    if path.suffix == ".csv":
        return load_csv_movies(path)
    raise DataError("not a MovieLens movie file (u.item, movies.dat, movies.csv)", path=path)


def movie_file_for(ratings: Path) -> Path:
    """The movie file that belongs beside a rating file."""
    if ratings.suffix in ML100K_RATING_SUFFIXES:
        return ratings.parent / "u.item"
    return ratings.parent / f"movies{ratings.suffix}"


def find_ratings(folder: Path) -> Path:
    """The rating file of a MovieLens folder."""
    for name in RATING_FILES:
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"no MovieLens rating file ({', '.join(RATING_FILES)}) in this folder", path=folder
    )


def load_movielens(path: Path) -> Dataset:
    """A MovieLens folder, or one of its rating files; the movie file beside it is read too."""
    validate.require_file(path)
    ratings = find_ratings(path) if path.is_dir() else path
    movies = movie_file_for(ratings)
    catalogue = load_movies(movies) if movies.is_file() else None
    files = [str(ratings)] + ([str(movies)] if catalogue is not None else [])
    name = path.name if path.is_dir() else ratings.parent.name
    return Dataset(load_ratings(ratings), catalogue, name, {"format": "movielens", "files": files})
