"""Sequence- and time-aware session kNN: STAN and VSTAN.

STAN (Garg et al., "Sequence and Time Aware Neighborhood for Session-based
Recommendations", SIGIR 2019) is session kNN with three exponential decays:

- λspw, the current session's items by position: the item last seen at 1-based position p
  of a session of n clicks weighs exp((p - n) / λspw) in a cosine similarity;
- λsnh, the neighbour by age: its similarity is multiplied by exp(-(t - t_n) / λsnh), where
  t_n is the time of the neighbour's last event and λsnh is given in days;
- λinh, the neighbour's items by distance: an item at (last) position p of the neighbour
  gains exp(-|p - p*| / λinh) of the neighbour's similarity, p* being the neighbour's last
  position holding an item of the current session.

VSTAN (Ludewig et al., "Empirical analysis of session-based recommendation algorithms",
2021) adds V-SKNN's vector features: a neighbour's vote is discounted by how far back in the
current session its most recent shared item lies (exp((p - n) / λipw)), and an item's score
is multiplied by 1 + λidf · idf, idf = log(training sessions / training events of the item).

The current session's time t is common to all its neighbours, so exp(-t / λsnh) is one
positive factor on a whole row of scores: it changes neither the neighbours chosen nor any
ranking. The session is therefore placed at the time of its most recent candidate, which
keeps the decays in (0, 1] whatever the clock, and needs no timestamps at scoring time.

Like `models.knn`, everything runs on CSR arrays, one vectorised pass per session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from sessionrec.data.schema import TIMESTAMP, Catalogue, Interactions
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch, encode_sessions
from sessionrec.models.knn import (
    SessionKNN,
    SharedItems,
    SKNNConfig,
    gather_rows,
    segment_starts,
)

SECONDS_PER_DAY = 24 * 3600
SIMILARITIES = ("cosine", "vec")


@dataclass(frozen=True)
class STANConfig(SKNNConfig):
    """Options of STAN; defaults are the peers' rsc15 settings (shared/anchors.md)."""

    k: int = 1000
    """Neighbour sessions that vote for items."""
    sample_size: int = 10000
    """Candidates: the most recent training sessions sharing an item (0 = all of them)."""
    lambda_spw: float = 0.5
    """Decay of the current session's items by position, in clicks (λspw)."""
    lambda_snh: float = 20.0
    """Decay of a neighbour by the age of its last event, in days (λsnh)."""
    lambda_inh: float = 0.5
    """Decay of a neighbour's items by distance from its last shared item, in clicks (λinh)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("lambda_spw", "lambda_snh", "lambda_inh"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{type(self).__name__} needs {name} > 0")


@dataclass(frozen=True)
class VSTANConfig(STANConfig):
    """Options of VSTAN; defaults are the peers' rsc15 settings (shared/anchors.md)."""

    k: int = 2000
    """Neighbour sessions that vote for items."""
    sample_size: int = 2500
    """Candidates: the most recent training sessions sharing an item (0 = all of them)."""
    similarity: str = "cosine"
    """cosine (STAN's) or vec (V-SKNN's: weighted overlap / distinct items of the session).
    The peers' rsc15 setting reads "vec", but session-rec's VSTAN computes the cosine
    whatever it is given, and its figures are the cosine's (CHANGELOG, Unreleased)."""
    lambda_spw: float = 8.0
    """Decay of the current session's items by position, in clicks (λspw)."""
    lambda_snh: float = 10.0
    """Decay of a neighbour by the age of its last event, in days (λsnh)."""
    lambda_inh: float = 8.0
    """Decay of a neighbour's items by distance from its last shared item, in clicks (λinh)."""
    lambda_ipw: float = 0.5
    """Decay of a neighbour's vote by how far back its most recent shared item was clicked
    in the current session, in clicks (λipw)."""
    lambda_idf: float = 2.0
    """Weight of an item's inverse document frequency in its score (λidf; 0 = off)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.similarity not in SIMILARITIES:
            raise ConfigError(
                f"unknown similarity {self.similarity!r}; valid: {', '.join(SIMILARITIES)}"
            )
        if not self.lambda_ipw > 0 or not self.lambda_idf >= 0:
            raise ConfigError("VSTANConfig needs lambda_ipw > 0 and lambda_idf >= 0")


class STAN(SessionKNN):
    """STAN: position-weighted cosine, age-decayed neighbours, distance-decayed items."""

    name = "stan"
    config_class = STANConfig
    config: STANConfig

    def __init__(self, config: STANConfig | None = None) -> None:
        super().__init__(config)
        # Training sessions as sequences (repeats kept), rows as in `session_items`.
        self.sequence_indptr = np.zeros(1, dtype=np.int64)
        self.sequence_items = np.zeros(0, dtype=np.int64)
        self.end_time = np.zeros(0)
        self._derive()

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        super().fit(train, catalogue, valid)
        items, offsets = encode_sessions(train, self.vocab)
        self.sequence_indptr, self.sequence_items = offsets, items
        times = train.frame[TIMESTAMP].to_numpy(dtype=np.float64)
        # A session's time is its last event's, as for the sampling in `SessionKNN`.
        self.end_time = np.maximum.reduceat(times, offsets[:-1]) if len(times) else np.zeros(0)
        self._derive()
        return self

    def _derive(self) -> None:
        """Per training event: its 1-based position in its session, and whether it is the
        last occurrence of its item there (only that one votes); each item's idf."""
        indptr, items = self.sequence_indptr, self.sequence_items
        lengths = np.diff(indptr)
        session_of = np.repeat(np.arange(len(lengths)), lengths)
        self.position = np.arange(len(items)) - np.repeat(indptr[:-1], lengths) + 1
        keys = session_of * max(self.n_items, 1) + items
        _, first_from_end = np.unique(keys[::-1], return_index=True)
        self.last_occurrence = np.zeros(len(items), dtype=bool)
        self.last_occurrence[len(items) - 1 - first_from_end] = True
        self.event_ids = np.arange(len(items))
        events = np.bincount(items, minlength=self.n_items).astype(np.float64)
        self.idf = np.log(max(len(lengths), 1) / np.maximum(events, 1.0))

    # -- per-session steps --------------------------------------------------------------

    def _similarity_kind(self) -> str:
        """STAN compares sessions by cosine; VSTAN lets the config choose."""
        return "cosine"

    def _position_weights(self, sequence: np.ndarray, shared: SharedItems) -> np.ndarray:
        """λspw weight of each distinct item, at its last position in the session."""
        steps = shared.last - len(sequence)
        return np.exp(steps / self.config.lambda_spw)

    def _similarity(
        self,
        sequence: np.ndarray,
        shared: SharedItems,
        candidates: np.ndarray,
        overlap: np.ndarray,
    ) -> np.ndarray:
        if len(candidates) == 0:
            return np.zeros(0)
        distinct = shared.distinct
        weights = self._position_weights(sequence, shared)
        dot = shared.total(weights)[candidates]
        if self._similarity_kind() == "vec":
            similarity = dot / len(distinct)
        else:
            norm = np.sqrt(np.sum(weights**2) * self.session_length[candidates])
            similarity = dot / norm
        age = self.end_time[candidates].max() - self.end_time[candidates]
        return similarity * np.exp(-age / (self.config.lambda_snh * SECONDS_PER_DAY))

    def _session_scores(self, sequence: np.ndarray) -> np.ndarray:
        """One session's scores: each neighbour's weight spread over its items by λinh."""
        scores = np.zeros(self.n_items)
        neighbours, weight = self._neighbours(sequence)
        if len(neighbours) == 0:
            return scores
        events, lengths = gather_rows(self.sequence_indptr, self.event_ids, neighbours)
        items, position = self.sequence_items[events], self.position[events]
        member = np.zeros(self.n_items, dtype=bool)
        member[sequence] = True
        # p*: the neighbour's last position holding an item of the current session.
        anchor = np.maximum.reduceat(np.where(member[items], position, 0), segment_starts(lengths))
        distance = np.abs(position - np.repeat(anchor, lengths))
        votes = np.repeat(weight, lengths) * np.exp(-distance / self.config.lambda_inh)
        last = self.last_occurrence[events]
        scores += np.bincount(items[last], votes[last], minlength=self.n_items)
        return scores

    def score(self, sessions: SessionBatch) -> np.ndarray:
        scores = np.zeros((len(sessions), self.n_items))
        for i in range(len(sessions)):
            sequence = sessions.known(i)
            if len(sequence):
                scores[i] = self._session_scores(sequence)
        return scores

    # -- persistence ----------------------------------------------------------------------

    def _to_arrays(self) -> dict[str, np.ndarray]:
        return {
            **super()._to_arrays(),
            "sequence_indptr": self.sequence_indptr,
            "sequence_items": self.sequence_items,
            "end_time": self.end_time,
        }

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._from_arrays(arrays)
        self.sequence_indptr = arrays["sequence_indptr"]
        self.sequence_items = arrays["sequence_items"]
        self.end_time = arrays["end_time"]
        self._derive()


class VSTAN(STAN):
    """VSTAN: STAN with V-SKNN's vote discount by recency of the shared item, and IDF."""

    name = "vstan"
    config_class = VSTANConfig
    config: VSTANConfig

    def _neighbour_weights(
        self,
        sequence: np.ndarray,
        shared: SharedItems,
        neighbours: np.ndarray,
        similarity: np.ndarray,
    ) -> np.ndarray:
        if len(neighbours) == 0:
            return similarity
        # The latest position of an item each neighbour shares with the session.
        latest = shared.extreme(shared.last, np.maximum, 0.0)[neighbours]
        steps = latest - len(sequence)
        return similarity * np.exp(steps / self.config.lambda_ipw)

    def _similarity_kind(self) -> str:
        return self.config.similarity

    def _session_scores(self, sequence: np.ndarray) -> np.ndarray:
        return super()._session_scores(sequence) * (1.0 + self.config.lambda_idf * self.idf)
