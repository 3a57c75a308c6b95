"""The embedding-model protocol: the engine's scores are the models' own `score`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sessionrec.data.schema import Interactions, normalise_events
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch
from sessionrec.models.embedding import EmbeddingModel, ItemArrays, as_embedding_model
from sessionrec.models.hybrid import Hybrid, HybridConfig
from sessionrec.models.pop import Pop
from sessionrec.models.transformer import SessionTransformer, TransformerConfig

TINY = TransformerConfig(
    epochs=3, patience=3, embedding_size=16, n_heads=2, n_layers=1, max_length=8, progress=False
)
DIMENSION = 8


def log() -> Interactions:
    """Sessions x_k, y_k, z_k (k < 6), some with a repeat, so the repeat offsets train."""
    rows = []
    for s in range(60):
        k = s % 6
        items = [f"x{k}", f"y{k}", f"z{k}"] + ([f"x{k}"] if s % 3 == 0 else [])
        rows += [(f"s{s}", item, 10.0 * s + t) for t, item in enumerate(items)]
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return Interactions(normalise_events(frame))


def text_vectors() -> dict[str, np.ndarray]:
    """Unit text vectors for every item and for 'y_new', which training never sees."""
    rng = np.random.default_rng(1)
    ids = [f"{p}{k}" for p in "xyz" for k in range(6)] + ["y_new"]
    vectors = rng.normal(size=(len(ids), DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return dict(zip(ids, vectors, strict=True))


def fitted(kind: str, weight: float = 0.5) -> SessionTransformer | Hybrid:
    if kind == "transformer":
        return SessionTransformer(TINY, text_vectors=text_vectors()).fit(log())
    hybrid = Hybrid(HybridConfig(transformer=TINY, weights=(weight,), progress=False))
    hybrid.transformer.text_vectors = text_vectors()
    return hybrid.fit(log())


def sessions(model: SessionTransformer | Hybrid) -> SessionBatch:
    def rows(*ids: str) -> np.ndarray:
        return model.vocab.lookup(list(ids))

    return SessionBatch(
        [
            rows(),
            rows("x1"),
            rows("x2", "y2", "x2"),  # a repeat: offsets
            rows("x3", "unknown", "y_new"),  # an unknown item and an untrained one
            rows(*[f"x{k % 6}" for k in range(12)]),  # longer than max_length
            rows("z4", "fresh"),  # the item added after training
        ]
    )


def engine_scores(
    model: SessionTransformer | Hybrid, arrays: ItemArrays, batch: SessionBatch
) -> np.ndarray:
    """(B, n) what the engine gets from `item_scores` for the sessions of `batch`."""
    transformer = model if isinstance(model, SessionTransformer) else model.transformer
    histories = [batch.known(i) for i in range(len(batch))]
    queries = transformer.session_vectors(batch)
    return model.item_scores(arrays, queries, list(batch.items), histories).T


def add_fresh(model: SessionTransformer | Hybrid) -> ItemArrays:
    one_hot = np.eye(1, DIMENSION, 2, dtype=np.float32)  # unit, so normalising keeps it
    return model.add_items(model.item_arrays(), ["fresh"], one_hot)


@pytest.mark.parametrize(("kind", "weight"), [("transformer", 1.0), ("hybrid", 0.5)])
def test_item_scores_are_the_models_scores(kind: str, weight: float) -> None:
    model = fitted(kind, weight)
    arrays = add_fresh(model)
    transformer = model if isinstance(model, SessionTransformer) else model.transformer
    assert transformer.borrows_untrained_vectors  # 'y_new' and 'fresh' use the text head
    assert transformer.repeat_bias() is not None
    assert len(arrays) == model.n_items and arrays.vocab.ids[-1] == "fresh"
    batch = sessions(model)
    expected = model.score(batch)
    # Arrays grown in place of a full rebuild: the same scores up to float rounding...
    np.testing.assert_allclose(engine_scores(model, arrays, batch), expected, rtol=1e-6)
    # ... and bit for bit from the model's arrays as they are now.
    np.testing.assert_array_equal(engine_scores(model, model.item_arrays(), batch), expected)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_a_hybrid_at_either_end_of_its_grid_scores_the_same_way(weight: float) -> None:
    model = fitted("hybrid", weight)
    assert model.reads_each_interest == (weight < 1)
    assert (model.item_arrays().knn_index is None) == (weight == 1)
    batch = sessions(model)
    arrays = add_fresh(model)
    np.testing.assert_allclose(engine_scores(model, arrays, batch), model.score(batch), rtol=1e-6)


def test_session_states_end_in_the_session_vector() -> None:
    model = fitted("transformer")
    assert isinstance(model, SessionTransformer)
    arrays = model.item_arrays()
    for ids in (["x1"], ["x2", "y2", "x2", "z0"], [f"z{k % 6}" for k in range(11)]):
        sequence = model.vocab.lookup(ids)
        types = np.ones(len(ids), dtype=np.int64)
        states = model.session_states(arrays, sequence, types)
        assert states.shape == (min(len(ids), TINY.max_length), TINY.embedding_size)
        expected = model.session_vectors(SessionBatch([sequence], [types]))[0]
        np.testing.assert_allclose(states[-1], expected, atol=1e-5)
    assert model.session_states(arrays, np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (
        0,
        TINY.embedding_size,
    )


def test_the_engine_takes_transformers_and_hybrids_only() -> None:
    for model in (fitted("transformer"), fitted("hybrid")):
        assert isinstance(as_embedding_model(model), EmbeddingModel)
        assert model.max_length == TINY.max_length and model.text_dimension == DIMENSION
    with pytest.raises(ConfigError, match="embedding space"):
        as_embedding_model(Pop())


def test_items_cannot_be_added_without_text() -> None:
    model = SessionTransformer(TINY).fit(log())
    assert model.text_dimension == 0
    with pytest.raises(ConfigError, match="without item text"):
        model.add_items(model.item_arrays(), ["fresh"], np.zeros((1, DIMENSION), np.float32))
