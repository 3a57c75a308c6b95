"""External item id ↔ dense index, with unknown ids reported rather than dropped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sessionrec.errors import ConfigError

UNKNOWN_INDEX = -1
"""The index every id outside the vocabulary maps to; models treat it as 'no item'."""

MAX_ITEM_ID_CHARS = 256
"""Longest item id anything accepts: a query, a session event, a store key, an added item.
Ids come from HTTP clients; one bound for the whole package keeps one client from filling
the store with megabyte keys, and means an id one layer accepts no other layer refuses."""


def check_item_id(value: object, what: str = "item_id") -> str:
    """`value` if it can be an item id (a string with a non-space character, at most
    `MAX_ITEM_ID_CHARS` long), else a ConfigError that starts with `what`."""
    if not isinstance(value, str) or not value.strip():
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:80] + "..."  # the value may be huge
        raise ConfigError(f"{what} must be a non-empty string, got {shown}")
    if len(value) > MAX_ITEM_ID_CHARS:
        raise ConfigError(f"{what} is longer than {MAX_ITEM_ID_CHARS} characters")
    return value


class Vocabulary:
    """A fixed, ordered set of external ids (strings) and their indices 0..n-1.

    The order is the order ids were given in (first appearance in training for models),
    which makes index-based tie-breaks reproducible across runs.
    """

    def __init__(self, ids: Iterable[str]) -> None:
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        for raw in ids:
            key = str(raw)
            if key not in self._index:
                self._index[key] = len(self._ids)
                self._ids.append(key)
        self._ids_array = np.asarray(self._ids, dtype=object)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return str(item_id) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._ids == other._ids

    def __hash__(self) -> int:
        return hash(tuple(self._ids))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids)"

    @property
    def ids(self) -> list[str]:
        """All ids in index order."""
        return list(self._ids)

    def index(self, item_id: str) -> int:
        """The index of one id, or `UNKNOWN_INDEX`."""
        return self._index.get(str(item_id), UNKNOWN_INDEX)

    def lookup(self, item_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        """Indices of many ids (int64), `UNKNOWN_INDEX` where an id is not known."""
        get = self._index.get
        return np.fromiter(
            (get(str(x), UNKNOWN_INDEX) for x in item_ids), dtype=np.int64, count=len(item_ids)
        )

    def indices(self, item_ids: Sequence[str]) -> list[int]:
        """`lookup` as a plain list: for short sequences read in Python (a session's
        events), where building an array only to convert it back costs more than the
        look-ups."""
        get = self._index.get
        return [get(str(x), UNKNOWN_INDEX) for x in item_ids]

    def unknown(self, item_ids: Iterable[str]) -> list[str]:
        """The distinct ids not in the vocabulary, in order of first appearance."""
        seen: dict[str, None] = {}
        for raw in item_ids:
            key = str(raw)
            if key not in self._index:
                seen.setdefault(key, None)
        return list(seen)

    def decode(self, indices: Sequence[int] | np.ndarray) -> list[str]:
        """External ids of indices; raises IndexError for an index outside 0..n-1."""
        arr = np.asarray(indices, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise IndexError(f"index outside vocabulary of {len(self)} ids")
        return [str(x) for x in self._ids_array[arr]]

    def decode_list(self, indices: Sequence[int]) -> list[str]:
        """`decode` for a short list of Python ints (a slate, an interest's members),
        without the round trip through arrays; raises IndexError the same way."""
        ids = self._ids
        if indices and (min(indices) < 0 or max(indices) >= len(ids)):
            raise IndexError(f"index outside vocabulary of {len(self)} ids")
        return [ids[i] for i in indices]

    def to_list(self) -> list[str]:
        """A JSON-ready form; `Vocabulary(v.to_list()) == v`."""
        return list(self._ids)
