"""Neural models draw from their own seeded generator, exactly as torch's global one did."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch

from sessionrec.data.schema import Interactions, normalise_events
from sessionrec.models.base import Recommender, SessionBatch
from sessionrec.models.gru4rec import GRU4Rec, GRU4RecConfig
from sessionrec.models.neural import BernoulliDropout, inference, reset_parameters
from sessionrec.models.transformer import SessionTransformer, TransformerConfig


def test_reset_parameters_redraws_torchs_default_initialisation() -> None:
    for build in (
        lambda: torch.nn.Linear(5, 3),
        lambda: torch.nn.Embedding(7, 4),
        lambda: torch.nn.GRUCell(4, 6),
    ):
        torch.manual_seed(11)
        seeded = build()
        layer = build()
        reset_parameters(layer, torch.Generator().manual_seed(11))
        for expected, got in zip(seeded.parameters(), layer.parameters(), strict=True):
            assert torch.equal(expected, got)


def test_bernoulli_dropout_draws_what_torchs_dropout_draws() -> None:
    x = torch.randn(6, 9)
    torch.manual_seed(5)
    expected = torch.nn.Dropout(0.3)(x)
    assert torch.equal(BernoulliDropout(0.3, torch.Generator().manual_seed(5))(x), expected)
    assert torch.equal(BernoulliDropout(1.0)(x), torch.zeros_like(x))
    assert BernoulliDropout(0.3).eval()(x) is x


def test_inference_restores_the_mode() -> None:
    module = torch.nn.Linear(2, 2)
    with inference(module):
        assert not module.training and not torch.is_grad_enabled()
    assert module.training
    module.eval()
    with inference(module):
        pass
    assert not module.training


def log() -> Interactions:
    rows = [(f"s{s}", f"i{(s + t) % 7}", 5.0 * s + t) for s in range(40) for t in range(3)]
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return Interactions(normalise_events(frame))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SessionTransformer(
            TransformerConfig(
                epochs=2, embedding_size=16, dropout=0.3, seed=4, threads=1, progress=False
            )
        ),
        lambda: GRU4Rec(
            GRU4RecConfig(
                epochs=2, embedding_size=16, dropout=0.3, seed=4, threads=1, progress=False
            )
        ),
    ],
)
def test_the_seed_in_the_config_decides_every_draw(make: Callable[[], Recommender]) -> None:
    batch = SessionBatch.of([0], [1, 2])
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # whatever torch's global state, the same model
        runs.append(make().fit(log()).score(batch))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_the_trainer_gets_every_training_option_of_the_config() -> None:
    config = TransformerConfig(epochs=3, learning_rate=0.01, seed=9, threads=1, resume=False)
    options = config.train_options()
    assert (options.epochs, options.learning_rate, options.seed, options.threads) == (
        3,
        0.01,
        9,
        1,
    )
    assert options.patience == config.patience and options.progress == config.progress
