"""Session kNN (SKNN) and vector-multiplication session kNN (V-SKNN).

Ludewig & Jannach, "Evaluation of session-based recommendation algorithms" (2018). A session
is compared with past training sessions that share an item with it; the most recent
`sample_size` of those are candidates, the `k` most similar become neighbours, and every
item of a neighbour gains the neighbour's similarity. V-SKNN weights the current session's
items by position (recent clicks count more) and discounts a neighbour's vote by how long
ago the session saw the item it shares with that neighbour.

Everything is computed on CSR arrays with numpy. A prediction reads where the session's own
items occur in training (`SharedItems`: every similarity and discount is a sum or extreme
over those), then the items of its k neighbours for their votes.
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


def last_positions(sequence: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """1-based position of each of `distinct`'s items' last occurrence in `sequence`."""
    last = np.zeros(int(distinct.max()) + 1, dtype=np.int64)
    last[sequence] = np.arange(1, len(sequence) + 1)  # later writes win
    return last[distinct]


@dataclass(frozen=True)
class SharedItems:
    """Where the current session's distinct items occur in training: one entry per
    (training session, distinct item) pair.

    Every similarity and vote discount below is a sum or an extreme, per training
    session, over the items it shares with the current one. Read from these postings it
    costs what the session's items occur in; read from the candidates' own item lists it
    cost their whole length (on ml-100k a thousand candidates of a hundred films each, for
    a session of fifty).
    """

    distinct: np.ndarray
    """The session's distinct items, sorted."""
    last: np.ndarray
    """1-based position of each distinct item's last occurrence in the session, which
    V-SKNN's, STAN's and VSTAN's position weights and vote discounts all read."""
    sessions: np.ndarray
    """Per entry, the training session; grouped by item, each group in session order."""
    owner: np.ndarray
    """Per entry, its item's index in `distinct`."""
    n_sessions: int

    @classmethod
    def of(cls, item_sessions: sp.csr_matrix, sequence: np.ndarray) -> SharedItems:
        """The postings of the items of `sequence` (the current session, known items)."""
        distinct = np.unique(sequence)
        sessions, lengths = gather_rows(item_sessions.indptr, item_sessions.indices, distinct)
        owner = np.repeat(np.arange(len(distinct)), lengths)
        last = last_positions(sequence, distinct)
        return cls(distinct, last, sessions, owner, item_sessions.shape[1])

    def count(self) -> np.ndarray:
        """(n_sessions,) how many of the distinct items each training session holds."""
        return np.bincount(self.sessions, minlength=self.n_sessions)

    def total(self, per_item: np.ndarray) -> np.ndarray:
        """(n_sessions,) per training session, the sum of `per_item` (one value per
        distinct item) over the items it shares, in item order."""
        return np.bincount(self.sessions, per_item[self.owner], minlength=self.n_sessions)

    def extreme(self, per_item: np.ndarray, ufunc: np.ufunc, empty: float) -> np.ndarray:
        """(n_sessions,) per training session, `ufunc` (np.minimum or np.maximum) of
        `per_item` over the items it shares; `empty` where it shares none."""
        out = np.full(self.n_sessions, empty, dtype=np.float64)
        ufunc.at(out, self.sessions, per_item[self.owner].astype(np.float64))
        return out


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

    def _candidates(self, shared: SharedItems) -> tuple[np.ndarray, np.ndarray]:
        """Sessions sharing an item with the current one (most recent `sample_size`).

        Returns the candidates and, per candidate, how many of the session's distinct
        items it contains.
        """
        overlap = shared.count()
        candidates = np.flatnonzero(overlap)
        sample = self.config.sample_size
        if sample and len(candidates) > sample:
            recent = np.argpartition(self.recency_rank[candidates], sample - 1)[:sample]
            candidates = candidates[recent]
        return candidates, overlap[candidates]

    def _similarity(
        self,
        sequence: np.ndarray,
        shared: SharedItems,
        candidates: np.ndarray,
        overlap: np.ndarray,
    ) -> np.ndarray:
        return overlap / np.sqrt(len(shared.distinct) * self.session_length[candidates])

    def _neighbour_weights(
        self,
        sequence: np.ndarray,
        shared: SharedItems,
        neighbours: np.ndarray,
        similarity: np.ndarray,
    ) -> np.ndarray:
        """What each neighbour's vote is worth; plain SKNN: its similarity."""
        return similarity

    def _neighbours(self, sequence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar candidate sessions and the weight of each one's vote."""
        shared = SharedItems.of(self.item_sessions, sequence)
        candidates, overlap = self._candidates(shared)
        similarity = self._similarity(sequence, shared, candidates, overlap)
        positive = similarity > 0
        candidates, similarity = candidates[positive], similarity[positive]
        # Most similar first; ties go to the more recent session.
        order = np.lexsort((self.recency_rank[candidates], -similarity))[: self.config.k]
        neighbours = candidates[order]
        return neighbours, self._neighbour_weights(sequence, shared, neighbours, similarity[order])

    def score(self, sessions: SessionBatch) -> np.ndarray:
        scores = np.zeros((len(sessions), self.n_items))
        for i in range(len(sessions)):
            sequence = sessions.known(i)
            if len(sequence):
                scores[i] = self._votes(*self._neighbours(sequence))
        return scores

    def _votes(self, neighbours: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """(n_items,) each neighbour's vote weight given to every item it holds, summed
        per item over the neighbours in session order (the order a sparse product of the
        votes with `session_items` adds them in, so the sums are the same to the bit)."""
        order = np.argsort(neighbours, kind="stable")
        items, lengths = gather_rows(
            self.session_items.indptr, self.session_items.indices, neighbours[order]
        )
        return np.bincount(items, np.repeat(weight[order], lengths), minlength=self.n_items)

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

    def _similarity(
        self,
        sequence: np.ndarray,
        shared: SharedItems,
        candidates: np.ndarray,
        overlap: np.ndarray,
    ) -> np.ndarray:
        # Dot product of the candidate's item set with the position-weighted session,
        # divided by the number of distinct items in the session.
        distinct = shared.distinct
        weights = POSITION_WEIGHTINGS[self.config.weighting](
            shared.last.astype(np.float64), len(sequence)
        )
        return shared.total(weights)[candidates] / len(distinct)

    def _neighbour_weights(
        self,
        sequence: np.ndarray,
        shared: SharedItems,
        neighbours: np.ndarray,
        similarity: np.ndarray,
    ) -> np.ndarray:
        if len(neighbours) == 0:
            return similarity
        # The most recent item each neighbour shares, in clicks back from the last (1).
        steps_back = len(sequence) + 1 - shared.last
        nearest = shared.extreme(steps_back, np.minimum, np.inf)[neighbours]
        return similarity * SCORE_WEIGHTINGS[self.config.weighting_score](nearest)
