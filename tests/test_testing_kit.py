"""`sessionrec.testing` from a third party's side: a model defined here passes the model
contract by subclassing one class, and the contract fails models that break it."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Self

import numpy as np
import pytest

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.data.vocab import Vocabulary
from sessionrec.models.base import ModelConfig, Recommender, SessionBatch, encode_sessions
from sessionrec.testing import ring_sessions
from sessionrec.testing.contracts import ModelContract


@dataclass(frozen=True)
class LastItemConfig(ModelConfig):
    """Options of the last-item model."""

    smoothing: float = 0.01
    """Weight of popularity in every score, so that an empty session still ranks items."""


class LastItem(Recommender):
    """Scores what followed the session's most recent item in training, by count."""

    name = "last-item"
    config_class = LastItemConfig
    config: LastItemConfig

    def __init__(self, config: LastItemConfig | None = None) -> None:
        super().__init__(config)
        self.follows = np.zeros((0, 0))

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.vocab = Vocabulary(train.item_ids())
        items, offsets = encode_sessions(train, self.vocab)
        self.follows = np.zeros((self.n_items, self.n_items))
        for start, stop in pairwise(offsets):
            np.add.at(self.follows, (items[start : stop - 1], items[start + 1 : stop]), 1.0)
        return self

    def score(self, sessions: SessionBatch) -> np.ndarray:
        popularity = self.follows.sum(axis=0)
        prior = self.config.smoothing * popularity / max(popularity.sum(), 1.0)
        out = np.tile(prior, (len(sessions), 1))
        for i in range(len(sessions)):
            known = sessions.known(i)
            if len(known):
                out[i] += self.follows[known[-1]]
        return out

    def _to_arrays(self) -> dict[str, np.ndarray]:
        return {"follows": self.follows}

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.follows = arrays["follows"]


class TestLastItem(ModelContract):
    def make_model(self) -> Recommender:
        return LastItem()


class ForgetsOnLoad(LastItem):
    """Breaks the contract: its saved state is not read back."""

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.follows = np.zeros_like(arrays["follows"])


class ScoresAgainstTheBatch(LastItem):
    """Breaks the contract: a session's scores depend on the other sessions of its batch."""

    def score(self, sessions: SessionBatch) -> np.ndarray:
        scores = super().score(sessions)
        return scores - scores.mean(axis=0, keepdims=True)


class ReadsUnknownItems(LastItem):
    """Breaks the contract: an unknown item (index -1) is read as the last item."""

    def score(self, sessions: SessionBatch) -> np.ndarray:
        out = super().score(sessions)
        for i, items in enumerate(sessions.items):
            if len(items):
                out[i] = self.follows[items[-1]]
        return out


def test_the_contract_catches_a_model_that_forgets_on_load(tmp_path: Path) -> None:
    broken = ForgetsOnLoad().fit(ring_sessions())
    with pytest.raises(AssertionError):
        TestLastItem().test_save_and_load_give_identical_scores(broken, tmp_path)


def test_the_contract_catches_scores_that_depend_on_the_batch() -> None:
    broken = ScoresAgainstTheBatch().fit(ring_sessions())
    with pytest.raises(AssertionError):
        TestLastItem().test_batch_equals_single(broken)


def test_the_contract_catches_a_model_that_reads_unknown_items() -> None:
    broken = ReadsUnknownItems().fit(ring_sessions())
    with pytest.raises(AssertionError):
        TestLastItem().test_unknown_items_are_ignored(broken)
