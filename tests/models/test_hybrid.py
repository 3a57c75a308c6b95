"""The hybrid chooses its blend on validation data and round-trips its nested config."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sessionrec.data.schema import Interactions, normalise_events
from sessionrec.models.base import SessionBatch
from sessionrec.models.hybrid import Hybrid, HybridConfig, as_distribution
from sessionrec.models.transformer import TransformerConfig


def test_distributions_sum_to_one() -> None:
    logits = np.array([[1.0, 2.0, -3.0], [0.0, 0.0, 0.0]])
    votes = np.array([[0.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    for kind, scores in (("logits", logits), ("votes", votes)):
        rows = as_distribution(scores, kind)
        np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    assert as_distribution(votes, "votes")[0].tolist() == [0.0, 0.5, 0.5]


def test_config_round_trips_with_its_parts() -> None:
    config = HybridConfig(
        transformer=TransformerConfig(embedding_size=32, n_heads=2), weights=(0.2, 0.8), seed=4
    )
    assert HybridConfig.from_dict(config.to_dict()) == config


def test_an_untrained_transformer_loses_the_blend_to_knn() -> None:
    # Deterministic pairs: kNN gets them right at once; a transformer trained for one epoch
    # at a tiny learning rate does not, so validation must choose weight 0.
    rows = []
    for s in range(120):
        k = s % 6
        rows += [(f"s{s}", f"a{k}", 3.0 * s), (f"s{s}", f"b{k}", 3.0 * s + 1)]
    train = Interactions(
        normalise_events(pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"]))
    )
    weak = TransformerConfig(epochs=1, learning_rate=1e-6, embedding_size=16, n_heads=1)
    model = Hybrid(HybridConfig(transformer=weak, weights=(0.0, 1.0), progress=False)).fit(train)
    assert model.validation[0.0] > model.validation[1.0]
    assert model.weight == 0.0
    scores = model.score(SessionBatch([model.vocab.lookup(["a2"])]))[0]
    # kNN votes for b2 and for a2 itself (it recommends repeats) equally; nothing else wins.
    assert scores[model.vocab.index("b2")] == scores.max()
