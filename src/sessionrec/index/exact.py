"""Exact search: every row scored, the best k kept, ties to the lower row.

`ExactIndex` is the `ItemIndex` the engine searches item vectors through (catalogue search
by text, look-alikes, the items that match a request alone). A full pass costs one
matrix-vector product and one `argpartition`, a few milliseconds at 100,000 items, so an
approximate index (FAISS, HNSW) is only worth its recall loss far beyond that; it would
implement the same protocol (`index.base`). `top_k` and `top_k_columns` are the primitive
underneath, and what the engine ranks the model's own scores with.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from sessionrec.errors import ConfigError


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the `k` highest finite scores where `mask` is true, best first.

    Equal scores are ordered by lower index, so slates are reproducible. Fewer than `k`
    indices come back when fewer entries qualify; -inf and NaN never qualify.
    """
    values = np.asarray(scores)
    if values.ndim != 1:
        raise ConfigError(f"top_k needs a score vector, got shape {values.shape}")
    if k < 1:
        return np.zeros(0, dtype=np.int64)
    ok = np.isfinite(values)
    if mask is not None:
        if mask.shape != values.shape:
            raise ConfigError(f"mask shape {mask.shape} does not match scores {values.shape}")
        ok &= mask
    qualifying = int(np.count_nonzero(ok))
    if qualifying == 0:
        return np.zeros(0, dtype=np.int64)
    if qualifying * SPARSE_SHARE < len(values):
        # Few qualify (a hard constraint): gather them. Partitioning an array that is
        # mostly -inf degenerates (numpy's selection on that many ties: 2.8 ms at 100,000
        # entries with 5 % finite, against 0.05 ms for the gathered rest).
        rows = np.flatnonzero(ok)
        return _best_of(values[rows], rows, k)
    # Otherwise the others become -inf in a copy rather than being gathered out: fewer
    # passes over a catalogue-sized array, and the best k of the rest are the same.
    live = values if qualifying == len(values) else np.where(ok, values, -np.inf)
    if k < qualifying:
        # Everything tied with the k-th best is kept, so the tie-break below sees them all.
        # The best k sit at the end of an ascending partition, which needs no negated copy.
        part = np.argpartition(live, len(live) - k)[len(live) - k :]
        threshold = live[part].min()
        chosen = np.flatnonzero(live >= threshold)
    else:
        chosen = np.flatnonzero(ok)
    order = np.lexsort((chosen, -live[chosen]))[:k]
    return chosen[order].astype(np.int64)


SPARSE_SHARE = 4
"""`top_k` gathers the qualifying entries when fewer than 1 in this many qualify."""


def _best_of(values: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The rows of the `k` highest `values` (all finite), best first, ties to the lower row."""
    if k < len(values):
        part = np.argpartition(values, len(values) - k)[len(values) - k :]
        keep = values >= values[part].min()  # everything tied with the k-th best
        values, rows = values[keep], rows[keep]
    order = np.lexsort((rows, -values))[:k]
    return rows[order].astype(np.int64)


def top_k_columns(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """`top_k` of each column of an (n, R) score matrix: the same indices in the same order
    as `[top_k(scores[:, r], k) for r in range(R)]`.

    A slate split across interests needs the best of each column; partitioning all columns
    in one call pays numpy's per-call overhead once instead of R times, which is most of
    the cost at a few thousand candidates.
    """
    values = np.asarray(scores)
    if values.ndim != 2:
        raise ConfigError(f"top_k_columns needs a score matrix, got shape {values.shape}")
    n, columns = values.shape
    if k < 1 or n <= k or not np.isfinite(values).all():
        # Short columns or excluded entries: the general path per column.
        return [top_k(values[:, r], k) for r in range(columns)]
    # Negated, one row per column: ascending order of `negated` is descending score.
    negated = np.negative(values.T, order="C")
    thresholds = np.partition(negated, k - 1, axis=1)[:, k - 1]  # each column's k-th best
    out = []
    for r in range(columns):
        row = negated[r]
        # Everything tied with the k-th best is kept, then ties go to the lower index.
        chosen = np.flatnonzero(row <= thresholds[r])
        out.append(chosen[np.lexsort((chosen, row[chosen]))[:k]].astype(np.int64))
    return out


class ExactIndex:
    """An `ItemIndex` that scores every row: `search` returns exactly what `top_k` returns
    for the dot products, so slates are the same as without an index. Immutable, so
    readers never see a half update."""

    def __init__(self, vectors: np.ndarray) -> None:
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        if array.ndim != 2:
            raise ConfigError(f"index vectors must be a matrix, got shape {array.shape}")
        if array.flags.writeable:
            # A writeable input is copied, not frozen in place: the caller's array stays
            # theirs to change, and the index never changes with it. Read-only input (the
            # engine's item arrays) is shared.
            array = array.copy() if array is vectors else array
            array.setflags(write=False)
        self.vectors = array

    @classmethod
    def build(cls, vectors: np.ndarray) -> Self:
        """An index over the rows of an (n, dimension) matrix."""
        return cls(vectors)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best rows for one (dimension,) query and their dot products, best first;
        rows where `mask` is false never come back; equal scores go to the lower row."""
        vector = np.asarray(query, dtype=np.float32)
        if vector.shape != (self.dimension,):
            raise ConfigError(f"a query must have shape ({self.dimension},), got {vector.shape}")
        # A matrix-vector product, as the engine computed these scores before it had an
        # index: the same numbers to the last bit, hence the same ties.
        scores = self.vectors @ vector
        picked = top_k(scores, k, mask)
        return picked, scores[picked]

    def with_rows(self, vectors: np.ndarray, rows: np.ndarray | None = None) -> Self:
        """A new index with `rows` replaced by `vectors`, or `vectors` appended when None."""
        new = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        if rows is None:
            updated = np.concatenate([self.vectors, new])
        else:
            updated = self.vectors.copy()
            updated[np.asarray(rows, dtype=np.int64)] = new
        updated.setflags(write=False)  # already a copy: no need for the constructor's
        return type(self)(updated)
