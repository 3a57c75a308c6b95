"""Candidates retrieved through the item index instead of every item scored.

Over a catalogue too large to score whole on each request (a million items: the product
alone reads 256 MB), a model whose scores are dot products with the item vectors
(`models.embedding.RowScoringModel`) has its best rows found by the index those vectors
are searched through (`index.FaissIndex`), and only those are scored. Each interest's
query retrieves its best `size` rows; the session's own items (whose learned repeat
offsets may lift them) and items the model never trained on (whose boost the index's
vectors do not hold) are candidates always. The scale that standardises scores is
measured on the same fixed sample of rows as the dense path's.

What changes against scoring every item: an item the index misses (about 1 % of the true
top 50 at the calibrated breadth) cannot be in the pool, and the best score left outside,
which decides whether the pool must grow, is the index's next row rather than the exact
one. The engine takes this path only where the index is approximate anyway
(`Engine._rank`); evaluation (`Engine.scores`) always scores every item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sessionrec.engine.ranking import Pool, ScoreScale, SessionQueries, column_scale
from sessionrec.index.base import ItemIndex
from sessionrec.models.embedding import ItemArrays, RowScoringModel

MAX_ALWAYS_ROWS = 20_000
"""Rows that must be scored on every request (items never trained on, the session's own)
beyond which retrieval saves little: the engine scores every item instead."""


def can_retrieve(untrained: np.ndarray, sequence: np.ndarray) -> bool:
    """Whether few enough rows must be scored on every request for retrieval to pay."""
    return len(untrained) + len(sequence) <= MAX_ALWAYS_ROWS


@dataclass(frozen=True)
class RetrievedScores:
    """The model's scores of the rows the index retrieves (a `ranking.Scores`)."""

    model: RowScoringModel
    arrays: ItemArrays
    read: SessionQueries
    always: np.ndarray
    """Sorted rows in every pool: the session's items, the untrained ones."""

    @property
    def projected(self) -> np.ndarray | None:
        return self.read.projected

    def _score(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), R) model scores of sorted distinct rows."""
        read = self.read
        return self.model.row_scores(self.arrays, read.queries, rows, read.histories)

    def scale(self, scale_rows: np.ndarray) -> ScoreScale:
        """Mean and spread per column over the scale sample, as the dense path measures."""
        rows = np.unique(scale_rows)
        by_column = np.ascontiguousarray(self._score(rows).T)
        mean, spread = column_scale(by_column, np.arange(len(rows)))
        return ScoreScale(None, mean, spread)

    def pool(self, mask: np.ndarray, size: int, exact: bool, item_index: ItemIndex) -> Pool:
        """Each query's best `size` allowed rows by the index, the request's own best
        `size`, and the allowed `always` rows, scored by the model."""
        del exact  # retrieval is never asked for an exact pool (`Engine.scores` is dense)
        found: list[np.ndarray] = [self.always[mask[self.always]]]
        outside: list[float] = []
        for query in self.read.queries:
            rows, scores = item_index.search(query, size + 1, mask)
            found.append(rows[:size])
            outside.append(float(scores[size]) if len(rows) > size else -np.inf)
        if self.read.projected is not None:
            found.append(item_index.search(self.read.projected, size, mask)[0])
        rows = np.unique(np.concatenate(found))
        return Pool(rows, np.asarray(outside), self._score(rows))


def retrieved_scores(
    model: RowScoringModel,
    arrays: ItemArrays,
    read: SessionQueries,
    sequence: np.ndarray,
    untrained: np.ndarray,
) -> RetrievedScores:
    """The retrieved scores of one request whose queries are `read`; the session's items
    and the `untrained` rows are candidates always."""
    always = np.union1d(np.asarray(sequence, dtype=np.int64), untrained)
    return RetrievedScores(model, arrays, read, always)
