"""The contract every model honours (`sessionrec.models.base.Recommender`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from sessionrec.data.schema import EventType, Interactions
from sessionrec.data.vocab import UNKNOWN_INDEX
from sessionrec.errors import ConfigError, DataError
from sessionrec.models.base import Recommender, SessionBatch
from sessionrec.models.registry import MODELS
from sessionrec.testing.logs import ring_sessions


class ModelContract(ABC):
    """Scoring, persistence and config tests every model passes; subclass and build one.

    The model is fitted once per test class on `ring_sessions()` (60 sessions walking a
    ring of items "i0".."i11"): after "i1", "i2" comes "i3". Scores must be finite, one
    row per session and one column per vocabulary item, ignore unknown items, not depend
    on the other sessions of a batch and survive save/load exactly.
    """

    learns_order: ClassVar[bool] = True
    """Whether the model must learn the ring's next item (False: it ignores the session,
    as popularity does, and the learning test is skipped)."""
    ring_places: ClassVar[int] = 1
    """Places among the items not in the session that the ring's next item must reach (a
    model that ignores order sees "i0" before "i1" as close as "i3" after "i2": 2)."""
    tolerance: ClassVar[float] = 1e-5
    """Relative and absolute tolerance where scores computed two ways must agree."""

    @abstractmethod
    def make_model(self) -> Recommender:
        """A fresh, unfitted model, configured to train in seconds."""

    def train_data(self) -> Interactions:
        """What the model is fitted on (the ring walks the learning test is about)."""
        return ring_sessions()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted_model(cls) -> Recommender:
        """The model fitted on `train_data()`, once per test class (tests must not change it)."""
        contract = cls()
        return contract.make_model().fit(contract.train_data())

    def assert_close(self, actual: np.ndarray, expected: np.ndarray) -> None:
        """Scores agree within `tolerance`."""
        np.testing.assert_allclose(actual, expected, rtol=self.tolerance, atol=self.tolerance)

    def test_scores_have_one_finite_row_per_session(self, fitted_model: Recommender) -> None:
        scores = fitted_model.score(SessionBatch.of([0, 1], [2], [3, 4, 5]))
        assert scores.shape == (3, fitted_model.n_items)
        assert np.isfinite(scores).all()

    def test_empty_session_gives_a_finite_row(self, fitted_model: Recommender) -> None:
        scores = fitted_model.score(SessionBatch.of([]))
        assert scores.shape == (1, fitted_model.n_items)
        assert np.isfinite(scores).all()

    def test_unknown_items_are_ignored(self, fitted_model: Recommender) -> None:
        known = fitted_model.score(SessionBatch.of([0, 1]))
        with_unknown = fitted_model.score(SessionBatch.of([0, UNKNOWN_INDEX, 1, UNKNOWN_INDEX]))
        self.assert_close(with_unknown, known)

    def test_batch_equals_single(self, fitted_model: Recommender) -> None:
        sessions = [[0, 1], [5], [3, 4, 3], [11, 0]]
        together = fitted_model.score(SessionBatch.of(*sessions))
        for row, session in zip(together, sessions, strict=True):
            self.assert_close(row, fitted_model.score(SessionBatch.of(session))[0])

    def test_views_spelled_out_equal_no_event_types(self, fitted_model: Recommender) -> None:
        """`SessionBatch.event_types` None means all views."""
        sessions = [np.array([0, 1, 2]), np.array([5]), np.array([], dtype=np.int64)]
        views = [np.full(len(s), EventType.VIEW.code, dtype=np.int64) for s in sessions]
        self.assert_close(
            fitted_model.score(SessionBatch(sessions, views)),
            fitted_model.score(SessionBatch(sessions)),
        )

    def test_save_and_load_give_identical_scores(
        self, fitted_model: Recommender, tmp_path: Path
    ) -> None:
        fitted_model.save(tmp_path / "model")
        loaded = type(fitted_model).load(tmp_path / "model")
        assert loaded.vocab == fitted_model.vocab
        assert loaded.config == fitted_model.config
        batch = SessionBatch.of([0, 1, 2], [7], [])
        np.testing.assert_array_equal(loaded.score(batch), fitted_model.score(batch))

    def test_load_refuses_another_models_directory(
        self, fitted_model: Recommender, tmp_path: Path
    ) -> None:
        other = next(cls for name, cls in MODELS.items() if name != fitted_model.name)
        fitted_model.save(tmp_path / "mine")
        with pytest.raises(DataError, match="saved model is"):
            other.load(tmp_path / "mine")
        other().fit(self.train_data()).save(tmp_path / "theirs")
        with pytest.raises(DataError, match="saved model is"):
            type(fitted_model).load(tmp_path / "theirs")

    def test_load_of_a_missing_directory_is_a_data_error(self, tmp_path: Path) -> None:
        with pytest.raises(DataError, match="cannot load model"):
            type(self.make_model()).load(tmp_path / "nothing")

    def test_next_item_on_the_ring_is_ranked_high(self, fitted_model: Recommender) -> None:
        """After "i1", "i2" the model must put "i3" in its first `ring_places` among the
        items not in the session (models that recommend repeats may rank those high)."""
        if not self.learns_order:
            pytest.skip(f"{fitted_model.name} ignores the session by design")
        session = fitted_model.vocab.lookup(["i1", "i2"])
        scores = fitted_model.score(SessionBatch([session]))[0]
        scores[session] = -np.inf
        best = np.argsort(-scores, kind="stable")[: self.ring_places]
        assert "i3" in fitted_model.vocab.decode(best)

    def test_config_round_trips_and_rejects_unknown_options(self) -> None:
        model = self.make_model()
        config = model.config
        assert isinstance(config, model.config_class)
        assert model.config_class.from_dict(config.to_dict()) == config
        with pytest.raises(ConfigError, match="unknown option"):
            model.config_class.from_dict({**config.to_dict(), "epohcs": 3})
