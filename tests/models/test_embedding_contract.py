"""The transformer and the hybrid against the embedding-model contract
(`sessionrec.testing.contracts.EmbeddingModelContract`), with text from the kit's
bag-of-words encoder over its genre catalogue."""

from __future__ import annotations

from dataclasses import replace

from sessionrec.models.base import Recommender
from sessionrec.models.hybrid import Hybrid
from sessionrec.models.transformer import SessionTransformer
from sessionrec.testing import (
    QUICK_HYBRID_GENRES,
    QUICK_TRANSFORMER_GENRES,
    QUICK_TRANSFORMER_SMOKE,
    genre_text_vectors,
)
from sessionrec.testing.contracts import EmbeddingModelContract


class TestTransformer(EmbeddingModelContract):
    def make_model(self) -> Recommender:
        return SessionTransformer(QUICK_TRANSFORMER_GENRES, text_vectors=genre_text_vectors())


class TestTextOnlyTransformer(EmbeddingModelContract):
    """Without ID embeddings every item is read through its text alone."""

    def make_model(self) -> Recommender:
        config = replace(QUICK_TRANSFORMER_GENRES, use_ids=False)
        return SessionTransformer(config, text_vectors=genre_text_vectors())


class TestTransformerWithoutText(EmbeddingModelContract):
    """A model without text: no text space, and items cannot be added."""

    def make_model(self) -> Recommender:
        return SessionTransformer(QUICK_TRANSFORMER_SMOKE)


class TestHybrid(EmbeddingModelContract):
    def make_model(self) -> Recommender:
        model = Hybrid(QUICK_HYBRID_GENRES)
        model.transformer.text_vectors = genre_text_vectors()
        return model
