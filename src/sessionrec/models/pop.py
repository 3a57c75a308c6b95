"""Popularity: every session gets the training counts of the items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.data.vocab import Vocabulary
from sessionrec.models.base import ModelConfig, Recommender, SessionBatch, encode_sessions


@dataclass(frozen=True)
class PopConfig(ModelConfig):
    """Options of the popularity baseline."""

    count_sessions: bool = False
    """Count each item once per session instead of once per event (session-rec counts events)."""


class Pop(Recommender):
    """The reference every model must beat: items ranked by how often they were seen."""

    name = "pop"
    config_class = PopConfig
    config: PopConfig

    def __init__(self, config: PopConfig | None = None) -> None:
        super().__init__(config)
        self.counts = np.zeros(0, dtype=np.float64)

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.vocab = Vocabulary(train.item_ids())
        items, offsets = encode_sessions(train, self.vocab)
        if self.config.count_sessions:
            session_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
            pairs = np.unique(np.stack([session_of, items]), axis=1)
            items = pairs[1]
        self.counts = np.bincount(items, minlength=len(self.vocab)).astype(np.float64)
        return self

    def score(self, sessions: SessionBatch) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(sessions), self.n_items)).copy()

    def _to_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts = arrays["counts"]
