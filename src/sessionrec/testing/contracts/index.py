"""The contract of an item index (`sessionrec.index.base.ItemIndex`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pytest

from sessionrec.index.base import ItemIndex


def random_vectors(n: int = 50, dimension: int = 8, seed: int = 0) -> np.ndarray:
    """(n, dimension) float32 vectors with distinct dot products against random queries."""
    return np.random.default_rng(seed).normal(size=(n, dimension)).astype(np.float32)


class IndexContract(ABC):
    """Search, masks and immutable updates every index honours; subclass and build one.

    An exact index must return exactly the best rows with ties to the lower row; an
    approximate one (`exact = False`) must still return rows best first, honour masks and
    leave old indexes unchanged, and on these small matrices find the best row.
    """

    exact: ClassVar[bool] = True
    """Whether the index promises the exact top k (ties to the lower row)."""

    @abstractmethod
    def make_index(self, vectors: np.ndarray) -> ItemIndex:
        """An index over the rows of an (n, dimension) float32 matrix."""

    def expected_rows(self, vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
        """The exact answer: best dot product first, ties to the lower row."""
        scores = vectors.astype(np.float64) @ query.astype(np.float64)
        return [int(r) for r in np.argsort(-scores, kind="stable")[:k]]

    def test_is_an_item_index(self) -> None:
        index = self.make_index(random_vectors())
        assert isinstance(index, ItemIndex)
        assert len(index) == 50 and index.dimension == 8

    def test_build_gives_the_same_index(self) -> None:
        vectors = random_vectors()
        index = self.make_index(vectors)
        built = type(index).build(vectors)
        assert len(built) == len(index) and built.dimension == index.dimension
        query = random_vectors(1, seed=1)[0]
        for a, b in zip(index.search(query, 5), built.search(query, 5), strict=True):
            np.testing.assert_array_equal(a, b)

    def test_search_returns_the_best_rows_best_first(self) -> None:
        vectors = random_vectors()
        index = self.make_index(vectors)
        for query in random_vectors(5, seed=2):
            rows, scores = index.search(query, 10)
            assert rows.shape == scores.shape == (10,)
            assert np.issubdtype(rows.dtype, np.integer)
            assert np.all(np.diff(scores) <= 1e-6)  # best first
            np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5, atol=1e-5)
            expected = self.expected_rows(vectors, query, 10)
            if self.exact:
                assert rows.tolist() == expected
            else:
                assert int(rows[0]) == expected[0]

    def test_ties_go_to_the_lower_row(self) -> None:
        if not self.exact:
            pytest.skip("an approximate index does not promise an order among ties")
        vectors = np.array([[1.0], [2.0], [2.0], [3.0], [2.0], [2.0]], dtype=np.float32)
        index = self.make_index(vectors)
        query = np.array([1.0], dtype=np.float32)
        assert index.search(query, 3)[0].tolist() == [3, 1, 2]
        assert index.search(query, 6)[0].tolist() == [3, 1, 2, 4, 5, 0]

    def test_masked_rows_never_come_back(self) -> None:
        vectors = random_vectors()
        index = self.make_index(vectors)
        query = random_vectors(1, seed=3)[0]
        mask = np.ones(len(vectors), dtype=bool)
        best = self.expected_rows(vectors, query, 5)
        mask[best[:3]] = False
        rows, scores = index.search(query, 5, mask)
        assert len(rows) == 5 and mask[rows].all()
        np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5, atol=1e-5)
        if self.exact:
            allowed = [r for r in self.expected_rows(vectors, query, len(vectors)) if mask[r]]
            assert rows.tolist() == allowed[:5]
        assert len(index.search(query, 5, np.zeros(len(vectors), dtype=bool))[0]) == 0

    def test_k_beyond_the_rows_gives_every_allowed_row(self) -> None:
        vectors = random_vectors(7)
        index = self.make_index(vectors)
        query = random_vectors(1, seed=4)[0]
        rows, scores = index.search(query, 100)
        assert sorted(rows.tolist()) == list(range(7)) and len(scores) == 7
        if self.exact:
            assert rows.tolist() == self.expected_rows(vectors, query, 7)
        mask = np.arange(7) % 2 == 0
        assert sorted(index.search(query, 100, mask)[0].tolist()) == [0, 2, 4, 6]

    def test_appending_rows_makes_a_new_index(self) -> None:
        vectors = random_vectors(20)
        index = self.make_index(vectors)
        query = random_vectors(1, seed=5)[0]
        before = [a.copy() for a in index.search(query, 5)]
        extra = np.stack([query * 10, -query]).astype(np.float32)
        grown = index.with_rows(extra)
        assert len(grown) == 22 and grown.dimension == 8
        assert int(grown.search(query, 1)[0][0]) == 20  # the appended best row
        assert len(index) == 20  # the old index is unchanged
        for old, now in zip(before, index.search(query, 5), strict=True):
            np.testing.assert_array_equal(old, now)

    def test_replacing_rows_makes_a_new_index(self) -> None:
        vectors = random_vectors(20)
        index = self.make_index(vectors)
        query = random_vectors(1, seed=6)[0]
        before = [a.copy() for a in index.search(query, 5)]
        worst = self.expected_rows(vectors, query, 20)[-1]
        edited = index.with_rows((query * 10)[None, :], np.array([worst]))
        assert len(edited) == 20
        rows, scores = edited.search(query, 1)
        assert int(rows[0]) == worst
        np.testing.assert_allclose(scores[0], float(query @ query) * 10, rtol=1e-5)
        for old, now in zip(before, index.search(query, 5), strict=True):
            np.testing.assert_array_equal(old, now)

    def test_the_matrix_it_was_built_from_may_change(self) -> None:
        """An index keeps its own rows: writing to the source matrix changes nothing
        (unless the index made the matrix read-only, which keeps it unchanged too)."""
        vectors = random_vectors()
        index = self.make_index(vectors)
        query = random_vectors(1, seed=7)[0]
        before = [a.copy() for a in index.search(query, 5)]
        if vectors.flags.writeable:
            vectors[:] = 0.0
        for old, now in zip(before, index.search(query, 5), strict=True):
            np.testing.assert_array_equal(old, now)
