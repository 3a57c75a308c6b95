"""The hybrid chooses its blend on validation data and round-trips its nested config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sessionrec.data.schema import Interactions, normalise_events
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch
from sessionrec.models.hybrid import NEIGHBOUR_MODELS, Hybrid, HybridConfig, as_distribution
from sessionrec.models.sequences import validation_score, validation_split
from sessionrec.models.stan import VSTAN
from sessionrec.models.transformer import TransformerConfig
from sessionrec.testing.configs import QUICK_TRANSFORMER_PAIRS


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
    assert model.validation[("vsknn", 0.0)] > model.validation[("vsknn", 1.0)]
    assert model.weight == 0.0
    scores = model.score(SessionBatch([model.vocab.lookup(["a2"])]))[0]
    # kNN votes for b2 and for a2 itself (it recommends repeats) equally; nothing else wins.
    assert scores[model.vocab.index("b2")] == scores.max()


def pairs_train() -> Interactions:
    rows = []
    for s in range(120):
        k = s % 6
        rows += [(f"s{s}", f"a{k}", 3.0 * s), (f"s{s}", f"b{k}", 3.0 * s + 1)]
    return Interactions(
        normalise_events(pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"]))
    )


def test_each_neighbour_and_weight_is_scored_as_the_model_then_scores() -> None:
    weak = TransformerConfig(epochs=1, learning_rate=1e-6, embedding_size=16, n_heads=1)
    config = HybridConfig(
        transformer=weak, neighbours=("vsknn", "vstan"), weights=(0.0, 0.5), progress=False
    )
    train = pairs_train()
    model = Hybrid(config).fit(train)
    assert set(model.validation) == {(n, w) for n in ("vsknn", "vstan") for w in (0.0, 0.5)}
    assert model.validation[(model.knn.name, model.weight)] == max(model.validation.values())
    # The chunked blend of `fit` is the score path's: refit each kNN on the same data.
    fit_data, batch, targets = validation_split(train, None, model.vocab, weak.validation_share)
    for name, weight in model.validation:
        model.knn = NEIGHBOUR_MODELS[name]().fit(fit_data)
        model.weight = weight
        assert validation_score(model, batch, targets) == pytest.approx(
            model.validation[(name, weight)]
        )


def test_a_vstan_hybrid_saves_and_loads_its_neighbour(tmp_path: Path) -> None:
    weak = TransformerConfig(epochs=1, embedding_size=16, n_heads=1)
    config = HybridConfig(transformer=weak, neighbours=("vstan",), weights=(0.5,), progress=False)
    model = Hybrid(config).fit(pairs_train())
    assert isinstance(model.knn, VSTAN)
    model.save(tmp_path / "hybrid")
    loaded = Hybrid.load(tmp_path / "hybrid")
    assert isinstance(loaded.knn, VSTAN)
    batch = SessionBatch([model.vocab.lookup(["a2"]), model.vocab.lookup(["a1", "b1"])])
    np.testing.assert_allclose(loaded.score(batch), model.score(batch), rtol=1e-6)


def test_an_unknown_neighbour_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="gru4rec"):
        HybridConfig(neighbours=("gru4rec",))
    with pytest.raises(ConfigError, match="at least one"):
        HybridConfig(neighbours=())
    assert HybridConfig.from_dict({"neighbours": ["stan"]}).neighbours == ("stan",)


def test_a_refitting_hybrid_chooses_its_blend_before_the_refit() -> None:
    # The held-out (latest) sessions pair c_k -> d_k, which no earlier session shows: a
    # transformer that trained on them would win their validation. With a refit it does
    # end up trained on them, so the blend must be judged before: as without the refit.
    rows = []
    for s in range(140):
        k = s % 7
        first, then = ("a", "b") if s < 126 else ("c", "d")
        rows += [(f"s{s}", f"{first}{k}", 3.0 * s), (f"s{s}", f"{then}{k}", 3.0 * s + 1)]
    train = Interactions(
        normalise_events(pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"]))
    )
    part = replace(QUICK_TRANSFORMER_PAIRS, epochs=10, use_text=False)
    weights = (0.0, 1.0)
    plain = Hybrid(
        HybridConfig(transformer=replace(part, refit=False), weights=weights, progress=False)
    ).fit(train)
    # The default: the validation sessions are carved from `train`, so the hybrid refits.
    refitting = Hybrid(HybridConfig(transformer=part, weights=weights, progress=False)).fit(train)
    assert refitting.validation == plain.validation
    assert refitting.weight == plain.weight
    # ... and then it refits: the held-out sessions' items are now trained items.
    assert plain.transformer.net is not None and refitting.transformer.net is not None
    d3 = refitting.vocab.index("d3")
    assert not bool(plain.transformer.net.items.trained[d3])
    assert bool(refitting.transformer.net.items.trained[d3])
