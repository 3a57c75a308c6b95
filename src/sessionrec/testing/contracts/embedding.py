"""The contract of a model the interactive engine can steer
(`sessionrec.models.embedding.EmbeddingModel`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import fields
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.errors import ConfigError
from sessionrec.models.base import Recommender, SessionBatch
from sessionrec.models.embedding import EmbeddingModel, ItemArrays, as_embedding_model
from sessionrec.testing.genres import genre_catalogue, genre_events

SESSIONS = ([0, 1, 2], [5], [3, 4, 3, 6], [7, 0])
"""Sessions (vocabulary rows, oldest first) the scoring tests read."""


def views(sequence: np.ndarray) -> np.ndarray:
    """Event-type codes of a session of views."""
    return np.zeros(len(sequence), dtype=np.int64)


def snapshot(arrays: ItemArrays) -> dict[str, object]:
    """Copies of every field of the arrays, to compare with later."""
    out: dict[str, object] = {}
    for field in fields(arrays):
        value = getattr(arrays, field.name)
        out[field.name] = value.copy() if isinstance(value, np.ndarray) else value
    return out


class EmbeddingModelContract(ABC):
    """What the engine relies on in an embedding model; subclass and build one.

    The model is fitted once per test class on `train_data()` with `catalogue()`
    (default: the kit's genre log and catalogue), so `make_model` must give a model that
    reads its items' text (for the kit's models: text vectors from `genre_text_vectors()`),
    unless it is meant to be a model without text. Tests that add items work on a copy
    made by save and load.
    """

    tolerance: ClassVar[float] = 1e-4
    """Relative tolerance between `item_scores` and `score` (float32 paths)."""

    @abstractmethod
    def make_model(self) -> Recommender:
        """A fresh, unfitted model implementing `EmbeddingModel`, configured to train fast."""

    def train_data(self) -> Interactions:
        """What the model is fitted on."""
        return genre_events()

    def catalogue(self) -> Catalogue:
        """The catalogue passed to `fit` with `train_data()`."""
        return genre_catalogue()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted_model(cls) -> Recommender:
        """The fitted model, once per test class (tests must not change it)."""
        contract = cls()
        return contract.make_model().fit(contract.train_data(), contract.catalogue())

    @pytest.fixture(scope="class")
    @classmethod
    def arrays(cls, fitted_model: Recommender) -> ItemArrays:
        """The fitted model's item arrays."""
        return as_embedding_model(fitted_model).item_arrays()

    def copy_of(self, model: Recommender, folder: Path) -> Recommender:
        """A fitted copy of `model` (through save and load) that a test may change."""
        model.save(folder)
        return type(model).load(folder)

    def assert_scores_match(self, got: np.ndarray, expected: np.ndarray) -> None:
        """`item_scores` agrees with `score` within `tolerance` (scaled to the scores)."""
        scale = float(np.max(np.abs(expected), initial=1e-12))
        np.testing.assert_allclose(got, expected, rtol=self.tolerance, atol=self.tolerance * scale)

    def session_vector(
        self, model: EmbeddingModel, arrays: ItemArrays, session: list[int]
    ) -> np.ndarray:
        """The model's vector of a session of views (the last row of its states)."""
        sequence = np.asarray(session, dtype=np.int64)
        return model.session_states(arrays, sequence, views(sequence))[-1]

    def test_is_an_embedding_model(self, fitted_model: Recommender) -> None:
        assert isinstance(fitted_model, EmbeddingModel)
        model = as_embedding_model(fitted_model)
        assert isinstance(model.max_length, int) and model.max_length >= 1
        assert isinstance(model.text_dimension, int) and model.text_dimension >= 0
        assert model.text_encoder is None or isinstance(model.text_encoder, str)
        assert isinstance(model.text_template, str)
        assert isinstance(model.reads_each_interest, bool)

    def test_item_arrays_have_one_row_per_vocabulary_item(
        self, fitted_model: Recommender, arrays: ItemArrays
    ) -> None:
        model = as_embedding_model(fitted_model)
        n = fitted_model.n_items
        assert len(arrays) == n and arrays.vocab == fitted_model.vocab
        assert arrays.item_vectors.ndim == 2 and arrays.item_vectors.shape[0] == n
        assert arrays.item_vectors.shape[1] >= 1
        assert np.isfinite(arrays.item_vectors).all()
        assert arrays.text.shape == (n, model.text_dimension)
        assert arrays.similarity.ndim == 2 and arrays.similarity.shape[0] == n
        assert arrays.popularity.shape == (n,)
        assert not np.isnan(arrays.popularity).any()
        width = arrays.item_vectors.shape[1]
        if arrays.knn_index is not None:
            assert arrays.knn_index.shape == (n,)
        if arrays.text_parts is not None:
            assert arrays.text_parts.shape == (n, width)
        if arrays.trained is not None:
            assert arrays.trained.shape == (n,) and arrays.trained.dtype == np.bool_

    def test_text_and_similarity_rows_are_unit_or_zero(self, arrays: ItemArrays) -> None:
        for matrix in (arrays.text, arrays.similarity):
            if matrix.shape[1] == 0:
                continue
            norms = np.linalg.norm(matrix, axis=1)
            assert np.all(np.isclose(norms, 1.0, atol=1e-4) | (norms == 0.0))
        if arrays.text.shape[1] > 0:
            assert (np.linalg.norm(arrays.text, axis=1) > 0).any()

    def test_session_states_have_one_row_per_event_read(
        self, fitted_model: Recommender, arrays: ItemArrays
    ) -> None:
        model = as_embedding_model(fitted_model)
        width = arrays.item_vectors.shape[1]
        short = np.array([0, 1, 2], dtype=np.int64)
        states = model.session_states(arrays, short, views(short))
        assert states.shape == (3, width) and np.isfinite(states).all()
        long = np.arange(model.max_length + 3, dtype=np.int64) % fitted_model.n_items
        assert model.session_states(arrays, long, views(long)).shape == (model.max_length, width)
        empty = np.zeros(0, dtype=np.int64)
        assert model.session_states(arrays, empty, views(empty)).shape == (0, width)

    def test_item_scores_of_the_session_vector_equal_score(
        self, fitted_model: Recommender, arrays: ItemArrays
    ) -> None:
        model = as_embedding_model(fitted_model)
        for session in SESSIONS:
            sequence = np.asarray(session, dtype=np.int64)
            query = self.session_vector(model, arrays, session)
            got = model.item_scores(arrays, query[None, :], [sequence], [sequence])
            assert got.shape == (fitted_model.n_items, 1)
            self.assert_scores_match(got[:, 0], fitted_model.score(SessionBatch.of(session))[0])

    def test_item_scores_of_several_queries_equal_each_alone(
        self, fitted_model: Recommender, arrays: ItemArrays
    ) -> None:
        model = as_embedding_model(fitted_model)
        sequences = [np.asarray(s, dtype=np.int64) for s in SESSIONS]
        queries = np.stack([self.session_vector(model, arrays, s) for s in SESSIONS])
        history = sequences[2]
        together = model.item_scores(arrays, queries, sequences, [history] * len(SESSIONS))
        assert together.shape == (fitted_model.n_items, len(SESSIONS))
        for r, sequence in enumerate(sequences):
            alone = model.item_scores(arrays, queries[r : r + 1], [sequence], [history])
            self.assert_scores_match(together[:, r], alone[:, 0])

    def test_text_moves_into_item_space(
        self, fitted_model: Recommender, arrays: ItemArrays
    ) -> None:
        model = as_embedding_model(fitted_model)
        if model.text_dimension == 0:
            with pytest.raises(ConfigError):
                model.text_to_item_space(np.zeros((1, 4), dtype=np.float32))
            return
        projected = model.text_to_item_space(arrays.text[:3])
        assert projected.shape == (3, arrays.item_vectors.shape[1])
        assert np.isfinite(projected).all()

    def test_an_added_item_is_scored_at_once_and_the_old_arrays_stay(
        self, fitted_model: Recommender, tmp_path: Path
    ) -> None:
        copy = self.copy_of(fitted_model, tmp_path / "copy")
        model = as_embedding_model(copy)
        before = model.item_arrays()
        kept = snapshot(before)
        n = len(before)
        if model.text_dimension == 0:
            with pytest.raises(ConfigError):
                model.add_items(before, ["brand-new"], np.ones((1, 1), dtype=np.float32))
            return
        text = np.array(before.text[1:2])  # reads like an item the model knows
        after = model.add_items(before, ["brand-new"], text)
        assert len(after) == n + 1 and after.vocab.ids[:n] == before.vocab.ids
        assert after.vocab.index("brand-new") == n and copy.n_items == n + 1
        assert after.item_vectors.shape == (n + 1, before.item_vectors.shape[1])
        assert after.text.shape == (n + 1, model.text_dimension)
        for name, value in kept.items():  # the old arrays are untouched
            current = getattr(before, name)
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(current, value)
            else:
                assert current == value
        session = [0, 1, 2]
        sequence = np.asarray(session, dtype=np.int64)
        query = self.session_vector(model, after, session)
        scores = model.item_scores(after, query[None, :], [sequence], [sequence])[:, 0]
        assert scores.shape == (n + 1,) and np.isfinite(scores[n])
        self.assert_scores_match(scores, copy.score(SessionBatch.of(session))[0])

    def test_adding_a_known_item_updates_its_text_in_place(
        self, fitted_model: Recommender, tmp_path: Path
    ) -> None:
        copy = self.copy_of(fitted_model, tmp_path / "copy")
        model = as_embedding_model(copy)
        if model.text_dimension == 0:
            pytest.skip("a model without text cannot take items' text")
        before = model.item_arrays()
        kept = snapshot(before)
        item = before.vocab.ids[0]
        text = np.array(before.text[2:3])
        after = model.add_items(before, [item], text)
        assert len(after) == len(before) and after.vocab == before.vocab
        np.testing.assert_allclose(after.text[0], text[0] / np.linalg.norm(text[0]), atol=1e-5)
        for name, value in kept.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(before, name), value)
