"""RecBole atomic files: `NAME.inter` (interactions) and `NAME.item` (item features).

RecBole's benchmark data sets ship in this form, so reading it directly lets results be
compared with RecBole's on exactly the same rows. Each header cell is `name:type` with type
token, token_seq, float or float_seq; cells are tab-separated and never quoted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sessionrec.data import validate
from sessionrec.data.loaders.tabular import (
    CATEGORIES_FIELD,
    TEXT_FIELD,
    TITLE_FIELD,
    CatalogueMapping,
    ColumnMapping,
    describe_item,
    events_from_table,
    read_delimited,
)
from sessionrec.data.schema import (
    ITEM_ID,
    VALUE,
    Catalogue,
    Dataset,
    EventType,
    Interactions,
    make_catalogue,
)
from sessionrec.data.validate import Table
from sessionrec.errors import DataError

FIELD_TYPES: tuple[str, ...] = ("token", "token_seq", "float", "float_seq")
INTER_SUFFIX = ".inter"
ITEM_SUFFIX = ".item"
YEAR_ATTRIBUTE = "year"

_YEAR = re.compile(r"^\d{4}$")


def read_atomic(path: Path) -> tuple[Table, dict[str, str]]:
    """The file's cells under plain field names, and each field's declared type."""
    table = read_delimited(path, sep="\t", quoted=False)
    types: dict[str, str] = {}
    for cell in table.columns:
        name, sep, kind = cell.partition(":")
        if not sep or kind not in FIELD_TYPES or not name:
            raise DataError(
                f"header cell {cell!r} is not 'name:type' with type one of "
                f"{', '.join(FIELD_TYPES)} (is this a RecBole atomic file?)",
                path=path,
                line=1,
            )
        if name in types:
            raise DataError(f"field {name!r} appears twice in the header", path=path, line=1)
        types[name] = kind
    frame = table.frame.set_axis(list(types), axis=1)
    return Table(frame, table.path, table.lines), types


def load_inter(path: Path, mapping: ColumnMapping | None = None) -> Interactions:
    """Interactions in file order: user_id and/or session_id, item_id, rating, timestamp.

    A rating field becomes `value`, and then every event is a "rating"; without one, every
    event is a "view" (RecBole's implicit-feedback data sets).
    """
    table, _ = read_atomic(path)
    columns = (mapping or ColumnMapping()).resolve(table.columns, path)
    default = EventType.RATING if VALUE in columns else EventType.VIEW
    return events_from_table(table, columns, default_event=default, allow_dates=False)


def _year_field(names: list[str], taken: set[str]) -> str | None:
    """The field holding a release year (`release_year`, `year`, ...), if any."""
    return next((n for n in names if n not in taken and n.lower().endswith("year")), None)


def _typed(value: str, kind: str) -> Any:
    """One cell as its declared type: float, list of floats, list of tokens, or the token."""
    if kind == "float":
        return float(value)
    if kind == "float_seq":
        return [float(v) for v in value.split()]
    if kind == "token_seq":
        return value.split()
    return value


def load_item(path: Path) -> Catalogue:
    """Items: a title-like field, genre-like categories, a year; the rest are attributes.

    A four-digit year field becomes the attribute "year" (an int) and goes into the text
    with the title and categories ("Toy Story (1995). Animation, Children's, Comedy."),
    unless the file has a description-like field, which then is the text.
    """
    table, types = read_atomic(path)
    validate.require_rows(table)
    columns = CatalogueMapping().resolve(table.columns, path)
    if TITLE_FIELD not in columns:
        title_like = next((c for c in table.columns if "title" in c.lower()), None)
        if title_like is not None and title_like not in columns.values():
            columns[TITLE_FIELD] = title_like
    year_field = _year_field(table.columns, set(columns.values()))
    frame = table.frame
    item_ids = validate.ids(table, columns[ITEM_ID])
    validate.unique_ids(table, columns[ITEM_ID], item_ids)

    titles = list(frame[columns[TITLE_FIELD]]) if TITLE_FIELD in columns else [""] * len(table)
    categories = (
        [v.split() for v in frame[columns[CATEGORIES_FIELD]]]
        if CATEGORIES_FIELD in columns
        else [[] for _ in range(len(table))]
    )
    years: list[int | None] = (
        [int(v) if _YEAR.match(v.strip()) else None for v in frame[year_field]]
        if year_field is not None
        else [None] * len(table)
    )
    if TEXT_FIELD in columns:
        texts = list(frame[columns[TEXT_FIELD]])
    else:
        texts = [
            describe_item(title, year, cats)
            for title, year, cats in zip(titles, years, categories, strict=True)
        ]

    used = {*columns.values(), year_field}
    others = [c for c in table.columns if c not in used]
    attributes: list[dict[str, Any]] = []
    for row, record in enumerate(frame[others].to_dict("records")):
        attrs: dict[str, Any] = {}
        for key, raw in record.items():
            name = str(key)
            if not str(raw).strip():
                continue
            try:
                attrs[name] = _typed(str(raw), types[name])
            except ValueError:
                raise table.error(f"{raw!r} is not a {types[name]}", row, name) from None
        if years[row] is not None:
            attrs[YEAR_ATTRIBUTE] = years[row]
        attributes.append(attrs)
    return make_catalogue(
        [str(i) for i in item_ids], titles, texts, categories, attributes, source=str(path)
    )


def find_inter(folder: Path) -> Path:
    """The `.inter` file of a RecBole data set folder.

    With several (RecBole's pre-split `NAME.train.inter`, ...), the one named after the
    folder wins; otherwise the user must say which.
    """
    inters = sorted(folder.glob(f"*{INTER_SUFFIX}"))
    if not inters:
        raise DataError(f"no RecBole '{INTER_SUFFIX}' file in this folder", path=folder)
    if len(inters) == 1:
        return inters[0]
    named = folder / f"{folder.name}{INTER_SUFFIX}"
    if named in inters:
        return named
    names = ", ".join(p.name for p in inters)
    raise DataError(f"several '{INTER_SUFFIX}' files ({names}); pass one of them", path=folder)


def load_recbole(path: Path, mapping: ColumnMapping | None = None) -> Dataset:
    """A `.inter` file, or a folder holding `NAME.inter`; `NAME.item` beside it is read too."""
    validate.require_file(path)
    if path.is_dir():
        inter = find_inter(path)
    elif path.suffix == ITEM_SUFFIX:
        raise DataError(
            f"is a RecBole item file; pass the '{INTER_SUFFIX}' file or its folder", path=path
        )
    else:
        inter = path
    item = inter.with_suffix(ITEM_SUFFIX)
    catalogue = load_item(item) if item.is_file() else None
    files = [str(inter)] + ([str(item)] if catalogue is not None else [])
    return Dataset(
        load_inter(inter, mapping), catalogue, inter.stem, {"format": "recbole", "files": files}
    )
