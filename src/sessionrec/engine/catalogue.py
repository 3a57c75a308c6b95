"""What the engine knows about each item besides its vectors: title, categories, text.

Rows are aligned with the model's vocabulary, so a slate index turns into a title or a
filter mask without a dictionary lookup per item. Tables are copied on write: a request
in flight keeps reading the table it started with while an upsert builds the next one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sessionrec.data.schema import ATTRIBUTES, CATEGORIES, ITEM_ID, TEXT, TITLE, Catalogue


@dataclass(frozen=True)
class ItemInfo:
    """One item as people see it."""

    item_id: str
    title: str | None
    categories: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None


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
        self._rarity: dict[str, float] = {}

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
