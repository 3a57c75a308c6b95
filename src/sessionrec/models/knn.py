"""Session kNN (SKNN) and vector-multiplication session kNN (V-SKNN).

Ludewig & Jannach, "Evaluation of session-based recommendation algorithms" (2018). A session
is compared with past training sessions that share an item with it; the most recent
`sample_size` of those are candidates, the `k` most similar become neighbours, and every
item of a neighbour gains the neighbour's similarity. V-SKNN weights the current session's
items by position (recent clicks count more) and discounts a neighbour's vote by how long
ago the session saw the item it shares with that neighbour.

Everything is computed on CSR arrays with numpy: one pass over the few hundred or thousand
candidate sessions per prediction, and one sparse product per batch for the final scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sessionrec.data.schema import SESSION_ID, TIMESTAMP, Catalogue, Interactions
from sessionrec.data.vocab import Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.models.base import ModelConfig, Recommender, SessionBatch, encode_sessions

# Weight of the item at 1-based position i of a session of length n (last item: i = n).
POSITION_WEIGHTINGS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "same": lambda i, n: np.ones_like(i, dtype=np.float64),
    "div": lambda i, n: i / n,
    "linear": lambda i, n: np.where(i <= 10, 1 - 0.1 * (n - i), 0.0),
    "log": lambda i, n: 1 / np.log10((n - i) + 1.7),
    "quadratic": lambda i, n: (i / n) ** 2,
}

# Discount of a neighbour whose most recent shared item is `step` clicks back (1 = last).
SCORE_WEIGHTINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "same": lambda s: np.ones_like(s, dtype=np.float64),
    "div": lambda s: 1 / s,
    "linear": lambda s: np.where(s <= 100, 1 - 0.1 * s, 0.0),
    "log": lambda s: 1 / np.log10(s + 1.7),
    "quadratic": lambda s: 1 / (s * s),
}


@dataclass(frozen=True)
class SKNNConfig(ModelConfig):
    """Options of session kNN; defaults are session-rec's rsc15 settings."""

    k: int = 100
    """Neighbour sessions that vote for items."""
    sample_size: int = 1000
    """Candidates: the most recent training sessions sharing an item (0 = all of them)."""

    def __post_init__(self) -> None:
        if self.k < 1 or self.sample_size < 0:
            raise ConfigError(f"{type(self).__name__} needs k >= 1 and sample_size >= 0")


@dataclass(frozen=True)
class VSKNNConfig(SKNNConfig):
    """Options of V-SKNN; defaults are session-rec's rsc15 settings."""

    weighting: str = "quadratic"
    """Position weight of the session's items: same, div, linear, log or quadratic."""
    weighting_score: str = "quadratic"
    """Neighbour discount by the recency of the shared item: same, div, linear, log, quadratic."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weighting not in POSITION_WEIGHTINGS:
            raise ConfigError(
                f"unknown weighting {self.weighting!r}; valid: {', '.join(POSITION_WEIGHTINGS)}"
            )
        if self.weighting_score not in SCORE_WEIGHTINGS:
            raise ConfigError(
                f"unknown weighting_score {self.weighting_score!r}; "
                f"valid: {', '.join(SCORE_WEIGHTINGS)}"
            )


def segment_starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive segments of `lengths` begins in the concatenation."""
    return np.cumsum(lengths) - lengths


def gather_rows(
    indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The column indices of several CSR rows, concatenated, and each row's length."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    positions = np.repeat(starts - segment_starts(lengths), lengths) + np.arange(total)
    return indices[positions], lengths


class SessionKNN(Recommender):
    """SKNN: cosine similarity between the sets of items of two sessions."""

    name = "sknn"
    config_class = SKNNConfig
    config: SKNNConfig

    def __init__(self, config: SKNNConfig | None = None) -> None:
        super().__init__(config)
        self.session_items = sp.csr_matrix((0, 0))
        self.item_sessions = sp.csr_matrix((0, 0))
        self.recency_rank = np.zeros(0, dtype=np.int64)
        self.session_length = np.zeros(0)

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.vocab = Vocabulary(train.item_ids())
        items, offsets = encode_sessions(train, self.vocab)
        n_sessions = len(offsets) - 1
        session_of = np.repeat(np.arange(n_sessions), np.diff(offsets))
        matrix = sp.csr_matrix(
            (np.ones(len(items)), (session_of, items)), shape=(n_sessions, len(self.vocab))
        )
        matrix.data[:] = 1.0  # a set of items per session: repeats count once
        matrix.sort_indices()
        self.session_items = matrix
        self.item_sessions = matrix.T.tocsr()
        self.item_sessions.sort_indices()
        self.session_length = np.diff(matrix.indptr).astype(np.float64)
        # A session's time is its last event's; the most recent sessions rank first, and
        # among equal times the one met later in the training file.
        end_time = (
            pd.Series(train.frame[TIMESTAMP].to_numpy())
            .groupby(pd.factorize(train.frame[SESSION_ID])[0])
            .max()
            .to_numpy()
        )
        order = np.lexsort((-np.arange(n_sessions), -end_time))
        self.recency_rank = np.empty(n_sessions, dtype=np.int64)
        self.recency_rank[order] = np.arange(n_sessions)
        return self

    # -- per-session steps --------------------------------------------------------------

    def _candidates(self, distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sessions sharing an item with the current one (most recent `sample_size`).

        Returns the candidates and, per candidate, how many of `distinct` it contains.
        """
        sessions, _ = gather_rows(self.item_sessions.indptr, self.item_sessions.indices, distinct)
        overlap = np.bincount(sessions, minlength=self.session_items.shape[0])
        candidates = np.flatnonzero(overlap)
        sample = self.config.sample_size
        if sample and len(candidates) > sample:
            recent = np.argpartition(self.recency_rank[candidates], sample - 1)[:sample]
            candidates = candidates[recent]
        return candidates, overlap[candidates]

    def _similarity(
        self,
        sequence: np.ndarray,
        distinct: np.ndarray,
        candidates: np.ndarray,
        overlap: np.ndarray,
    ) -> np.ndarray:
        return overlap / np.sqrt(len(distinct) * self.session_length[candidates])

    def _neighbour_weights(
        self, sequence: np.ndarray, neighbours: np.ndarray, similarity: np.ndarray
    ) -> np.ndarray:
        """What each neighbour's vote is worth; plain SKNN: its similarity."""
        return similarity

    def _neighbours(self, sequence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar candidate sessions and the weight of each one's vote."""
        distinct = np.unique(sequence)
        candidates, overlap = self._candidates(distinct)
        similarity = self._similarity(sequence, distinct, candidates, overlap)
        positive = similarity > 0
        candidates, similarity = candidates[positive], similarity[positive]
        # Most similar first; ties go to the more recent session.
        order = np.lexsort((self.recency_rank[candidates], -similarity))[: self.config.k]
        neighbours = candidates[order]
        return neighbours, self._neighbour_weights(sequence, neighbours, similarity[order])

    def score(self, sessions: SessionBatch) -> np.ndarray:
        n_sessions = self.session_items.shape[0]
        rows, cols, weights = [], [], []
        for i in range(len(sessions)):
            sequence = sessions.known(i)
            if len(sequence) == 0:
                continue
            neighbours, weight = self._neighbours(sequence)
            rows.append(np.full(len(neighbours), i))
            cols.append(neighbours)
            weights.append(weight)
        if not rows:
            return np.zeros((len(sessions), self.n_items))
        votes = sp.csr_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(sessions), n_sessions),
        )
        return np.asarray((votes @ self.session_items).todense())

    # -- persistence ----------------------------------------------------------------------

    def _to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "indptr": self.session_items.indptr,
            "indices": self.session_items.indices,
            "recency_rank": self.recency_rank,
        }

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        indptr, indices = arrays["indptr"], arrays["indices"]
        matrix = sp.csr_matrix(
            (np.ones(len(indices)), indices, indptr), shape=(len(indptr) - 1, len(self.vocab))
        )
        self.session_items = matrix
        self.item_sessions = matrix.T.tocsr()
        self.item_sessions.sort_indices()
        self.session_length = np.diff(indptr).astype(np.float64)
        self.recency_rank = arrays["recency_rank"]


class VectorSessionKNN(SessionKNN):
    """V-SKNN: position-weighted overlap and recency-discounted votes."""

    name = "vsknn"
    config_class = VSKNNConfig
    config: VSKNNConfig

    def _last_positions(self, sequence: np.ndarray, distinct: np.ndarray) -> np.ndarray:
        """1-based position of each distinct item's last occurrence in the sequence."""
        last = np.empty(int(distinct.max()) + 1, dtype=np.int64)
        last[sequence] = np.arange(1, len(sequence) + 1)  # later writes win
        return last[distinct]

    def _similarity(
        self,
        sequence: np.ndarray,
        distinct: np.ndarray,
        candidates: np.ndarray,
        overlap: np.ndarray,
    ) -> np.ndarray:
        # Dot product of the candidate's item set with the position-weighted session,
        # divided by the number of distinct items in the session.
        weights = POSITION_WEIGHTINGS[self.config.weighting](
            self._last_positions(sequence, distinct).astype(np.float64), len(sequence)
        )
        shared, lengths = gather_rows(
            self.session_items.indptr, self.session_items.indices, candidates
        )
        weight_of = np.zeros(self.n_items)
        weight_of[distinct] = weights
        per_item = weight_of[shared]
        member = np.zeros(self.n_items, dtype=bool)
        member[distinct] = True
        starts = np.cumsum(lengths) - lengths
        sums = (
            np.add.reduceat(np.where(member[shared], per_item, 0.0), starts)
            if len(shared)
            else np.zeros(0)
        )
        return sums / len(distinct)

    def _neighbour_weights(
        self, sequence: np.ndarray, neighbours: np.ndarray, similarity: np.ndarray
    ) -> np.ndarray:
        if len(neighbours) == 0:
            return similarity
        distinct = np.unique(sequence)
        steps_back = np.full(self.n_items, np.iinfo(np.int64).max, dtype=np.int64)
        steps_back[distinct] = len(sequence) + 1 - self._last_positions(sequence, distinct)
        shared, lengths = gather_rows(
            self.session_items.indptr, self.session_items.indices, neighbours
        )
        starts = np.cumsum(lengths) - lengths
        nearest = np.minimum.reduceat(steps_back[shared], starts)
        return similarity * SCORE_WEIGHTINGS[self.config.weighting_score](
            nearest.astype(np.float64)
        )
