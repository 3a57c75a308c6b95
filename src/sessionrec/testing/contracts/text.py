"""The contract of a text encoder (`sessionrec.text.base.TextEncoder`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pytest

from sessionrec.errors import ConfigError
from sessionrec.text.base import TextEncoder

TEXTS = [
    "a funny comedy film",
    "a hilarious comedy movie",
    "a war documentary with archive footage and interviews",
    "Amélie — 東京物語",
    "x",
]
"""Texts of different lengths and scripts (the encoder batches by length)."""


class TextEncoderContract(ABC):
    """What the cache, the models and the engine rely on in an encoder; subclass and
    build one.

    The encoder is made once per test class (a language model loads once); a second
    one is made for the test that two encoders of one name give the same vectors. Where
    the encoder needs a server, start it in a class-scoped autouse fixture of the
    subclass.
    """

    tolerance: ClassVar[float] = 1e-5
    """Absolute tolerance where vectors computed two ways must agree."""
    texts: ClassVar[list[str]] = TEXTS

    @abstractmethod
    def make_encoder(self) -> TextEncoder:
        """A ready encoder."""

    def query_tolerance(self, encoder: TextEncoder) -> float:
        """Absolute tolerance between a typed request's vector read in a batch and alone:
        `tolerance`, unless the encoder reads requests at a lower precision."""
        return self.tolerance

    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> TextEncoder:
        """The encoder, once per test class."""
        return cls().make_encoder()

    def test_name_and_dimension(self, encoder: TextEncoder) -> None:
        assert isinstance(encoder.name, str) and encoder.name.strip()
        assert isinstance(encoder.dimension, int) and encoder.dimension >= 1

    def test_vectors_are_unit_float32_rows_in_input_order(self, encoder: TextEncoder) -> None:
        vectors = encoder.encode(self.texts)
        assert vectors.shape == (len(self.texts), encoder.dimension)
        assert vectors.dtype == np.float32
        assert np.isfinite(vectors).all()
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        reversed_vectors = encoder.encode(self.texts[::-1])
        np.testing.assert_allclose(reversed_vectors[::-1], vectors, atol=self.tolerance)

    def test_no_texts_give_an_empty_matrix(self, encoder: TextEncoder) -> None:
        vectors = encoder.encode([])
        assert vectors.shape == (0, encoder.dimension)
        assert vectors.dtype == np.float32

    def test_encoding_is_deterministic(self, encoder: TextEncoder) -> None:
        np.testing.assert_allclose(
            encoder.encode(self.texts), encoder.encode(self.texts), atol=self.tolerance
        )

    def test_batch_equals_single(self, encoder: TextEncoder) -> None:
        together = encoder.encode(self.texts, batch_size=len(self.texts))
        in_twos = encoder.encode(self.texts, batch_size=2)
        alone = np.vstack([encoder.encode([text]) for text in self.texts])
        np.testing.assert_allclose(together, alone, atol=self.tolerance)
        np.testing.assert_allclose(in_twos, alone, atol=self.tolerance)

    def test_equal_texts_equal_vectors_and_different_texts_differ(
        self, encoder: TextEncoder
    ) -> None:
        first, again, other = encoder.encode([self.texts[0], self.texts[0], self.texts[2]])
        np.testing.assert_allclose(first, again, atol=self.tolerance)
        assert float(first @ other) < 1.0 - 1e-3

    def test_two_encoders_of_one_name_give_the_same_vectors(self, encoder: TextEncoder) -> None:
        """The embedding cache keys vectors by name."""
        second = self.make_encoder()
        assert second.name == encoder.name and second.dimension == encoder.dimension
        np.testing.assert_allclose(
            second.encode(self.texts), encoder.encode(self.texts), atol=self.tolerance
        )

    def test_a_batch_size_below_one_is_a_config_error(self, encoder: TextEncoder) -> None:
        with pytest.raises(ConfigError, match="batch_size"):
            encoder.encode(self.texts, batch_size=0)

    def test_query_vectors_are_unit_float32_rows_and_batch_equals_single(
        self, encoder: TextEncoder
    ) -> None:
        """`encode_queries` (typed requests) keeps `encode`'s guarantees."""
        vectors = encoder.encode_queries(self.texts)
        assert vectors.shape == (len(self.texts), encoder.dimension)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        alone = np.vstack([encoder.encode_queries([text]) for text in self.texts])
        np.testing.assert_allclose(vectors, alone, atol=self.query_tolerance(encoder))
        assert encoder.encode_queries([]).shape == (0, encoder.dimension)
