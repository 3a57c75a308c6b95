"""The catalogue as the engine serves it: items people can see, browse, search and add.

`ItemTable` holds what the engine knows about each item besides its vectors (title,
categories, attributes, text); rows are aligned with the model's vocabulary, so a slate
index turns into a title or a filter mask without a dictionary lookup per item.
`CatalogueSnapshot` is one consistent view: the model's item arrays, that table, and the
`ItemIndex`es item vectors are searched through. Snapshots are replaced whole, never
changed: a request in flight keeps reading the one it started with while an upsert builds
the next. The catalogue operations (`popular`, `search`, `lookalikes`, `new_item_info`)
read a snapshot and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sessionrec.data.schema import ATTRIBUTES, CATEGORIES, ITEM_ID, TEXT, TITLE, Catalogue
from sessionrec.data.vocab import check_item_id
from sessionrec.engine.closeness import Closeness
from sessionrec.engine.interpret import as_number
from sessionrec.engine.query import MAX_K, MAX_QUERY_CHARS
from sessionrec.errors import ConfigError
from sessionrec.index.base import IndexBuilder, ItemIndex
from sessionrec.index.exact import top_k
from sessionrec.models.embedding import ItemArrays

SCALE_SAMPLE = 1024
"""Items (a fixed random sample) over which the spread of model scores is measured."""

MAX_ITEM_TEXT_CHARS = 10_000
"""Longest item description accepted by `new_item_info` (the encoder reads far less)."""

LOOKALIKE_BATCH = 64
"""Look-alikes asked of the index at first; four times as many while all are close enough."""


@dataclass(frozen=True)
class ItemInfo:
    """One item as people see it."""

    item_id: str
    title: str | None
    categories: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None


_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_ROWS.setflags(write=False)


def _number_or_nan(value: Any) -> float:
    """`interpret.as_number`, NaN for a missing or non-numeric value: the facets' ranges
    and the constraint mask read numbers by the same rule."""
    number = as_number(value)
    return math.nan if number is None else number


def _clean_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    text = str(value).strip()
    return text or None


def _info_from_record(record: Mapping[str, Any]) -> ItemInfo:
    categories = record.get(CATEGORIES)
    attributes = record.get(ATTRIBUTES)
    return ItemInfo(
        item_id=str(record[ITEM_ID]),
        title=_clean_text(record.get(TITLE)),
        categories=tuple(str(c) for c in categories) if isinstance(categories, list) else (),
        attributes=dict(attributes) if isinstance(attributes, Mapping) else {},
        text=_clean_text(record.get(TEXT)),
    )


class ItemTable:
    """Per-item metadata in vocabulary order, with category and attribute look-ups."""

    def __init__(self, infos: Sequence[ItemInfo]) -> None:
        self.infos: tuple[ItemInfo, ...] = tuple(infos)
        self.index: dict[str, int] = {info.item_id: i for i, info in enumerate(self.infos)}
        self.lower_titles: tuple[str, ...] = tuple(
            (info.title or "").casefold() for info in self.infos
        )
        by_category: dict[str, list[int]] = {}
        by_attribute: dict[tuple[str, str], list[int]] = {}
        for row, info in enumerate(self.infos):
            for category in {c.casefold() for c in info.categories}:
                by_category.setdefault(category, []).append(row)
            for key, value in info.attributes.items():
                by_attribute.setdefault((str(key), str(value)), []).append(row)
        self._categories = {k: np.asarray(v, dtype=np.int64) for k, v in by_category.items()}
        self._attributes = {k: np.asarray(v, dtype=np.int64) for k, v in by_attribute.items()}
        self._attributes_folded: dict[tuple[str, str], np.ndarray] = {}
        for (key, value), rows in self._attributes.items():
            folded = (key, value.strip().casefold())
            previous = self._attributes_folded.get(folded)
            self._attributes_folded[folded] = (
                rows if previous is None else np.union1d(previous, rows)
            )
        self._rarity: dict[str, float] = {}
        self._numeric: dict[str, np.ndarray] = {}

    @classmethod
    def build(cls, item_ids: Sequence[str], catalogue: Catalogue | None) -> ItemTable:
        """A table for `item_ids` (the vocabulary); items the catalogue lacks get no title."""
        known: dict[str, ItemInfo] = {}
        if catalogue is not None:
            for record in catalogue.frame.to_dict("records"):
                info = _info_from_record({str(k): v for k, v in record.items()})
                known.setdefault(info.item_id, info)
        return cls([known.get(item, ItemInfo(item, None)) for item in item_ids])

    def __len__(self) -> int:
        return len(self.infos)

    def category_count(self, category: str) -> int:
        """How many items carry `category` (case-insensitive)."""
        rows = self._categories.get(category.casefold())
        return 0 if rows is None else len(rows)

    def category_rarity(self, category: str) -> float:
        """log((n + 1) / (items with `category` + 1)): how much sharing `category` says,
        as in tf-idf. Remembered per category: the table never changes (an upsert builds
        a new one), and interest labels ask for the same few categories every request."""
        rarity = self._rarity.get(category)
        if rarity is None:
            rarity = math.log((len(self.infos) + 1) / (self.category_count(category) + 1))
            self._rarity[category] = rarity
        return rarity

    def category_rows(self, category: str) -> np.ndarray:
        """Rows of the items carrying `category` (case-insensitive; empty if none)."""
        return self._categories.get(category.strip().casefold(), _NO_ROWS)

    def attribute_rows(self, attribute: str, value: str) -> np.ndarray:
        """Rows whose `attribute` reads `value` (value case-insensitive; empty if none)."""
        return self._attributes_folded.get((attribute, value.strip().casefold()), _NO_ROWS)

    def numeric_values(self, attribute: str) -> np.ndarray:
        """(n,) float: each item's `attribute` as a number (NaN where missing or not one),
        built on first use: a table never changes."""
        values = self._numeric.get(attribute)
        if values is None:
            values = np.array(
                [_number_or_nan(info.attributes.get(attribute)) for info in self.infos],
                dtype=np.float64,
            )
            values.setflags(write=False)
            self._numeric[attribute] = values
        return values

    def title(self, row: int) -> str | None:
        return self.infos[row].title

    def display_name(self, row: int) -> str:
        """The title where there is one, else the id: what a reason sentence quotes."""
        info = self.infos[row]
        return info.title or info.item_id

    def filter_mask(
        self, categories: Sequence[str], attributes: Mapping[str, str], exclude: np.ndarray
    ) -> np.ndarray:
        """Rows that pass: any of `categories` (case-insensitive), every attribute, not excluded."""
        n = len(self.infos)
        mask = np.ones(n, dtype=bool)
        if categories:
            wanted = np.zeros(n, dtype=bool)
            for category in categories:
                rows = self._categories.get(category.strip().casefold())
                if rows is not None:
                    wanted[rows] = True
            mask &= wanted
        for key, value in attributes.items():
            matching = np.zeros(n, dtype=bool)
            rows = self._attributes.get((key, value))
            if rows is not None:
                matching[rows] = True
            mask &= matching
        if len(exclude):
            mask[np.asarray(exclude, dtype=np.int64)] = False
        return mask

    def with_item(self, info: ItemInfo) -> ItemTable:
        """A new table with `info` replacing its row, or appended as the last row."""
        infos = list(self.infos)
        row = self.index.get(info.item_id)
        if row is None:
            infos.append(info)
        else:
            infos[row] = info
        return ItemTable(infos)


@dataclass(frozen=True)
class CatalogueSnapshot:
    """One consistent view of the catalogue; replaced whole when items are added."""

    arrays: ItemArrays
    table: ItemTable
    item_index: ItemIndex
    """Over `arrays.item_vectors`: items that match a request alone, in the model's space."""
    text_index: ItemIndex | None
    """Over `arrays.text`: the catalogue search by text (None: a model without text)."""
    similarity_index: ItemIndex
    """Over `arrays.similarity`: look-alikes (the text index itself where the two agree)."""
    scale_rows: np.ndarray
    """The fixed sample of rows model scores are standardised over (`ranking.standardise`)."""
    vector_spread: float
    """Per-dimension variance of unit item vectors over `scale_rows`: the scale against
    which a session's items count as one interest or several."""
    closeness: Closeness
    """Which items are among an item's closest (over `arrays.similarity` and `scale_rows`),
    remembered for this snapshot: 'close to X' and a dislike's near-duplicates."""
    untrained: np.ndarray
    """Sorted rows of items the model never trained on, which it boosts: candidates of
    every request where candidates are retrieved (`retrieval`)."""

    @classmethod
    def build(cls, arrays: ItemArrays, table: ItemTable, index: IndexBuilder) -> CatalogueSnapshot:
        """The first snapshot of a catalogue, with `index` built over each vector space."""
        text_index = index.build(arrays.text) if arrays.text.shape[1] else None
        if text_index is not None and _same(arrays.similarity, arrays.text):
            similarity_index: ItemIndex = text_index
        else:
            similarity_index = index.build(arrays.similarity)
        rows = _scale_rows(len(arrays))
        return cls(
            arrays,
            table,
            index.build(arrays.item_vectors),
            text_index,
            similarity_index,
            rows,
            _vector_spread(arrays.item_vectors, rows),
            Closeness(arrays.similarity, rows),
            untrained_rows(arrays),
        )

    def changed(self, arrays: ItemArrays, table: ItemTable) -> CatalogueSnapshot:
        """The snapshot after an upsert: the model's new arrays and the new table, the
        indexes brought up to date row by row (`ItemIndex.with_rows`), the same scale
        sample (scores keep their units as items are added)."""
        if len(table) != len(arrays):
            raise RuntimeError("item table and model vocabulary went out of step")
        before = self.arrays
        text_index = None
        if self.text_index is not None:
            text_index = _grown(self.text_index, before.text, arrays.text)
        shared = self.similarity_index is self.text_index
        if text_index is not None and shared and _same(arrays.similarity, arrays.text):
            similarity_index = text_index
        else:
            similarity_index = _grown(self.similarity_index, before.similarity, arrays.similarity)
        return CatalogueSnapshot(
            arrays,
            table,
            _grown(self.item_index, before.item_vectors, arrays.item_vectors),
            text_index,
            similarity_index,
            self.scale_rows,
            _vector_spread(arrays.item_vectors, self.scale_rows),
            Closeness(arrays.similarity, self.scale_rows),
            untrained_rows(arrays),
        )


def untrained_rows(arrays: ItemArrays) -> np.ndarray:
    """Sorted rows of the items the model never trained on (it boosts their scores)."""
    if arrays.trained is None or arrays.text_parts is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~arrays.trained).astype(np.int64)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or (a.shape == b.shape and bool(np.array_equal(a, b)))


def _grown(index: ItemIndex, before: np.ndarray, after: np.ndarray) -> ItemIndex:
    """`index` over `before` made to index `after`: rows that changed are replaced, rows
    past the end appended (an upsert adds an item or edits one)."""
    n = len(before)
    changed = np.flatnonzero((before != after[:n]).any(axis=1))
    if len(changed):
        index = index.with_rows(after[changed], changed)
    if len(after) > n:
        index = index.with_rows(after[n:])
    return index


def _scale_rows(n: int) -> np.ndarray:
    if n <= SCALE_SAMPLE:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n, SCALE_SAMPLE, replace=False)).astype(np.int64)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float64); zero rows stay zero."""
    # `np.linalg.norm(vectors, axis=1, keepdims=True)` for real rows, without its checks.
    norms = np.sqrt(np.add.reduce(vectors * vectors, axis=1, keepdims=True))
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float64)


def _vector_spread(item_vectors: np.ndarray, rows: np.ndarray) -> float:
    sample = unit_rows(item_vectors[rows])
    return float(sample.var(axis=0).mean()) if len(sample) > 1 else 1.0


# -- catalogue operations ---------------------------------------------------------------


def popular(snapshot: CatalogueSnapshot, limit: int) -> list[ItemInfo]:
    """The items most frequent in training, most frequent first."""
    check_limit(limit)
    rows = top_k(snapshot.arrays.popularity, limit)
    return [snapshot.table.infos[int(r)] for r in rows]


def lookalikes(snapshot: CatalogueSnapshot, item_id: str, min_cosine: float) -> list[str]:
    """Items whose text is at least `min_cosine` close to this one's (itself excluded),
    closest first; what a dislike pushes down and a like pulls up."""
    arrays = snapshot.arrays
    row = arrays.vocab.index(item_id)
    if row < 0:
        raise ConfigError(f"unknown item {item_id!r}")
    others = np.ones(len(arrays), dtype=bool)
    others[row] = False
    k = LOOKALIKE_BATCH
    while True:
        # Results come best first, so the close enough ones are a prefix; while all are,
        # more may follow.
        rows, cosines = snapshot.similarity_index.search(arrays.similarity[row], k, others)
        close = cosines >= min_cosine
        if not close.all() or len(rows) < k:
            return arrays.vocab.decode(rows[close])
        k *= 4


def search(
    snapshot: CatalogueSnapshot,
    text: str,
    limit: int,
    encode: Callable[[str], np.ndarray] | None,
) -> list[ItemInfo]:
    """Items whose title contains `text` (most popular first), then those whose text is
    closest to it in language-model space (`encode`: the text's unit vector; None for a
    model without text)."""
    check_limit(limit)
    needle = check_text(text, "search text").casefold()
    popularity = snapshot.arrays.popularity
    titles = snapshot.table.lower_titles
    hits = np.asarray([i for i, t in enumerate(titles) if needle in t], dtype=np.int64)
    if len(hits):
        order = np.lexsort((hits, -popularity[hits]))
        hits = hits[order][:limit]
    found = [int(r) for r in hits]
    if len(found) < limit and encode is not None and snapshot.text_index is not None:
        mask = np.ones(len(popularity), dtype=bool)
        mask[hits] = False
        rows, _ = snapshot.text_index.search(encode(text), limit - len(found), mask)
        found += [int(r) for r in rows]
    return [snapshot.table.infos[r] for r in found]


def new_item_info(
    item_id: str,
    title: str,
    text: str | None,
    categories: Sequence[str],
    attributes: Mapping[str, str] | None,
) -> ItemInfo:
    """An item to add, checked field by field (a ConfigError names the first bad one) and
    cleaned: the title and categories stripped, an empty text as none."""
    check_item_id(item_id, "item id")
    title = check_text(title, "item title")
    if text is not None and not isinstance(text, str):
        raise ConfigError("item text must be a string")
    if text is not None and len(text) > MAX_ITEM_TEXT_CHARS:
        raise ConfigError(
            f"item text has {len(text)} characters; the limit is {MAX_ITEM_TEXT_CHARS}"
        )
    if isinstance(categories, str) or any(
        not isinstance(c, str) or not c.strip() for c in categories
    ):
        raise ConfigError("item categories must be a list of non-empty strings")
    attrs: dict[str, Any] = dict(attributes or {})
    for key, value in attrs.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise ConfigError(f"item attributes must map names to strings, got {key!r}: {value!r}")
    return ItemInfo(item_id, title, tuple(c.strip() for c in categories), attrs, text or None)


def check_limit(limit: int) -> None:
    """A ConfigError unless `limit` is an integer from 1 to `MAX_K`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_K:
        raise ConfigError(f"limit must be an integer from 1 to {MAX_K}, got {limit!r}")


def check_text(text: str, what: str) -> str:
    """`text` stripped; a ConfigError if it is empty or longer than `MAX_QUERY_CHARS`."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{what} must not be empty")
    if len(text) > MAX_QUERY_CHARS:
        raise ConfigError(f"{what} has {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    return text.strip()
