"""`FaissIndex` (both kinds) against the index contract, as an approximate index."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.index import FaissIndex, ItemIndex
from sessionrec.index.approximate import Kind
from sessionrec.testing.contracts import IndexContract


class TestHNSWIndex(IndexContract):
    exact = False

    def make_index(self, vectors: np.ndarray) -> ItemIndex:
        return FaissIndex.create(vectors, "hnsw")


class TestIVFIndex(IndexContract):
    exact = False

    def make_index(self, vectors: np.ndarray) -> ItemIndex:
        return FaissIndex.create(vectors, "ivf")


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_build_picks_a_kind_by_size(kind: Kind) -> None:
    vectors = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    assert FaissIndex.build(vectors).kind == "hnsw"  # small: the graph
    assert FaissIndex.create(vectors, kind).kind == kind
