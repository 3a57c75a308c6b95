"""Configs small enough to train in seconds on the kit's synthetic logs.

Each constant is the config some of sessionrec's own tests rely on; their values are what
those tests were tuned with, so changing one changes what a test checks. Derive a
variant with `dataclasses.replace` rather than editing a constant.
"""

from __future__ import annotations

from sessionrec.models.base import ModelConfig, Recommender
from sessionrec.models.gru4rec import GRU4RecConfig
from sessionrec.models.hybrid import HybridConfig
from sessionrec.models.registry import model_class
from sessionrec.models.transformer import TransformerConfig

QUICK_TRANSFORMER = TransformerConfig(
    epochs=40, patience=40, embedding_size=32, dropout=0.1, learning_rate=5e-3, progress=False
)
"""Enough epochs to learn `ring_sessions`' next item, few enough to keep a suite fast."""

QUICK_HYBRID = HybridConfig(
    transformer=TransformerConfig(
        epochs=20, patience=20, embedding_size=32, dropout=0.1, learning_rate=5e-3
    ),
    weights=(0.0, 0.5, 1.0),
    progress=False,
)
"""A hybrid over a shorter-trained `QUICK_TRANSFORMER`, choosing from three weights."""

QUICK_GRU4REC = GRU4RecConfig(
    epochs=30, patience=30, embedding_size=32, dropout=0.0, learning_rate=1e-2, progress=False
)
"""Enough epochs for GRU4Rec to learn `ring_sessions`' next item."""

QUICK_CONFIGS: dict[str, ModelConfig] = {
    "transformer": QUICK_TRANSFORMER,
    "hybrid": QUICK_HYBRID,
    "gru4rec": QUICK_GRU4REC,
}
"""Registered model name → its quick config; models not named train fast by default."""

QUICK_TRANSFORMER_PAIRS = TransformerConfig(
    epochs=30, patience=30, embedding_size=32, dropout=0.0, learning_rate=5e-3, progress=False
)
"""Without dropout, so that `pairs_log`'s x → y is learnt exactly in 30 epochs."""

QUICK_TRANSFORMER_REPEATS = TransformerConfig(
    epochs=25, patience=25, embedding_size=32, dropout=0.0, learning_rate=5e-3, progress=False
)
"""Long enough for the repeat offsets to learn that `no_repeat_log` never repeats."""

QUICK_TRANSFORMER_GENRES = TransformerConfig(
    epochs=8,
    patience=8,
    embedding_size=32,
    n_heads=2,
    n_layers=1,
    dropout=0.1,
    learning_rate=5e-3,
    max_length=20,
    progress=False,
    threads=1,
)
"""One layer for `genre_events`: sessions that stay within a genre are learnt in 8 epochs."""

QUICK_HYBRID_GENRES = HybridConfig(
    transformer=QUICK_TRANSFORMER_GENRES, weights=(0.5,), progress=False
)
"""`QUICK_TRANSFORMER_GENRES` blended half and half with kNN (no weight search)."""

QUICK_TRANSFORMER_FILMS = TransformerConfig(
    epochs=12,
    patience=12,
    embedding_size=32,
    n_layers=1,
    n_heads=2,
    dropout=0.1,
    learning_rate=5e-3,
    threads=1,
    progress=False,
)
"""One layer for `films.sessions()` (40 items in four genres, MiniLM text)."""

QUICK_TRANSFORMER_SMOKE = TransformerConfig(epochs=1, embedding_size=8, n_heads=1, progress=False)
"""One epoch of an 8-wide net: for tests that need a fitted transformer, not a good one."""

QUICK_TRANSFORMER_SMALL = TransformerConfig(epochs=2, embedding_size=16, n_heads=1, progress=False)
"""Two epochs of a 16-wide net: a fitted transformer with enough weights to round-trip."""


def quick_config(name: str) -> ModelConfig:
    """The quick config of a registered model (its default config where that is fast)."""
    config = QUICK_CONFIGS.get(name)
    return config if config is not None else model_class(name).config_class()


def quick_model(name: str) -> Recommender:
    """A fresh, unfitted registered model with its quick config."""
    return model_class(name)(quick_config(name))
