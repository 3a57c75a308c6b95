"""The index protocol: what the engine searches item vectors through.

Built once from a matrix of item vectors, grown or updated by making a new index (readers
of the old one never see a half update), searched for the top k rows of one query by dot
product, with a mask of the rows that may be returned. `ExactIndex` scans every row;
`FaissIndex` (`index.approximate`) searches through FAISS with the same members, and the
engine does not change. What the engine is given is an `IndexBuilder`: an index class
itself, or `SizedIndex`, which picks exact or FAISS by the catalogue's size.
"""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

import numpy as np


@runtime_checkable
class ItemIndex(Protocol):
    """Item vectors searched by dot product; immutable once built."""

    @classmethod
    def build(cls, vectors: np.ndarray) -> Self:
        """An index over the rows of an (n, dimension) matrix."""
        ...

    def __len__(self) -> int: ...

    @property
    def dimension(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best rows for one query and their scores, best first; rows where `mask`
        is false never come back; equal scores go to the lower row (exact indexes)."""
        ...

    def with_rows(self, vectors: np.ndarray, rows: np.ndarray | None = None) -> Self:
        """A new index with `rows` replaced by `vectors`, or `vectors` appended when None."""
        ...


class IndexBuilder(Protocol):
    """What makes an index over a matrix of vectors: an `ItemIndex` class (its `build`)
    or a builder that picks the kind by size (`index.sized.SizedIndex`)."""

    def build(self, vectors: np.ndarray) -> ItemIndex:
        """An index over the rows of an (n, dimension) matrix."""
        ...
