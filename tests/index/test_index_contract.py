"""`ExactIndex` against the index contract (`sessionrec.testing.contracts.IndexContract`)."""

from __future__ import annotations

import numpy as np

from sessionrec.index import ExactIndex
from sessionrec.index.base import ItemIndex
from sessionrec.testing.contracts import IndexContract


class TestExactIndex(IndexContract):
    def make_index(self, vectors: np.ndarray) -> ItemIndex:
        return ExactIndex.build(vectors)
