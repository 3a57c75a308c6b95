"""Issue 13: early stopping that a lucky early epoch on a small validation split cannot end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import torch

from sessionrec.errors import ConfigError
from sessionrec.models.sequences import last_event_cases
from sessionrec.models.transformer import SessionTransformer, TransformerConfig
from sessionrec.models.transformer.recommender import whole_ranking_ndcg
from sessionrec.testing.configs import QUICK_TRANSFORMER_SMALL
from sessionrec.testing.logs import ring_sessions
from sessionrec.train.trainer import (
    EpochLog,
    Trainer,
    TrainOptions,
    TrainResult,
    smoothed_score,
)

# A noisy validation curve: a lucky spike at epoch 2, then a slow real climb to a plateau
# that never reaches the spike.
NOISY = [0.10, 0.40, 0.12, 0.20, 0.24, 0.26, 0.28, 0.30, 0.32, 0.34, 0.35, 0.36, 0.35, 0.34]


def fit_on_scores(
    scores: list[float], options: TrainOptions
) -> tuple[TrainResult, list[torch.Tensor], torch.Tensor]:
    """Train a toy module validated by `scores` in turn: the result, the weights each epoch
    was validated with, and the weights training kept."""
    module = torch.nn.Linear(1, 1)
    snapshots: list[torch.Tensor] = []
    given = iter(scores)

    def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
        yield (module.weight.sum() - 3.0) ** 2

    def validate() -> float:
        snapshots.append(module.weight.detach().clone())
        return next(given)

    opts = replace(options, epochs=len(scores), progress=False, learning_rate=0.1)
    result = Trainer(opts).fit(module, losses, validate)
    return result, snapshots, module.weight.detach().clone()


def test_a_lucky_early_epoch_ends_training_without_the_guards() -> None:
    result, _, _ = fit_on_scores(NOISY, TrainOptions(patience=5))
    assert (result.best_epoch, len(result.history)) == (2, 7)  # the collapse


def test_min_epochs_runs_on_but_cannot_unseat_a_spike_alone() -> None:
    result, _, _ = fit_on_scores(NOISY, TrainOptions(patience=5, min_epochs=12))
    assert len(result.history) == 12
    assert result.best_epoch == 2  # the raw spike still wins: hence smoothing


def test_min_steps_counts_optimiser_steps_not_epochs() -> None:
    # One step per epoch here: ten steps are ten epochs, whatever min_epochs says.
    result, _, _ = fit_on_scores(NOISY, TrainOptions(patience=5, min_steps=10))
    assert len(result.history) == 10
    assert [entry.steps for entry in result.history] == [1] * 10


def test_the_step_minimum_holds_training_back_for_a_bounded_number_of_epochs() -> None:
    # A tiny log (one step an epoch) must not run to the epoch limit for want of steps.
    options = TrainOptions(patience=5, min_steps=400, min_steps_epochs=9)
    result, _, _ = fit_on_scores(NOISY, options)
    assert len(result.history) == 9


def test_smoothed_validation_keeps_the_climb_not_the_spike() -> None:
    result, snapshots, kept = fit_on_scores(NOISY, TrainOptions(patience=5, validation_smoothing=3))
    # Means of three: epoch 2 (0.10, 0.40) 0.25, overtaken at epoch 7 (0.26); the best
    # window is epochs 11-13 (0.3533).
    assert result.best_epoch == 13
    assert result.best_score == pytest.approx((0.36 + 0.35 + 0.35) / 3)
    assert len(result.history) == len(NOISY)
    assert torch.equal(kept, snapshots[result.best_epoch - 1])  # that epoch's weights
    assert [entry.score for entry in result.history] == NOISY  # the log keeps raw scores


def test_smoothed_score_is_the_mean_of_the_last_window() -> None:
    history = [EpochLog(e, 0.0, s, 0.0) for e, s in enumerate([0.1, 0.2, 0.6], start=1)]
    opts = TrainOptions(validation_smoothing=3, progress=False)
    assert smoothed_score(history, 0.4, opts) == pytest.approx((0.2 + 0.6 + 0.4) / 3)
    assert smoothed_score(history[:1], 0.4, opts) == pytest.approx(0.25)  # fewer so far
    assert smoothed_score(history, 0.4, TrainOptions(progress=False)) == 0.4


def test_bad_robustness_options_are_refused() -> None:
    with pytest.raises(ConfigError):
        TrainOptions(min_epochs=0)
    with pytest.raises(ConfigError):
        TrainOptions(validation_smoothing=0)
    with pytest.raises(ConfigError):
        TrainOptions(min_steps=-1)
    with pytest.raises(ConfigError, match="validation_metric"):
        TransformerConfig(validation_metric="MRR@3")


def test_the_transformer_hands_its_guards_to_the_trainer() -> None:
    config = TransformerConfig(min_epochs=7, min_steps=30, validation_smoothing=4)
    options = config.train_options()
    assert (options.min_epochs, options.min_steps, options.validation_smoothing) == (7, 30, 4)


def test_whole_ranking_ndcg_validates_a_transformer() -> None:
    data = ring_sessions(120, ring=10, length=6)
    config = replace(QUICK_TRANSFORMER_SMALL, epochs=3, validation_metric="NDCG", use_text=False)
    model = SessionTransformer(config).fit(data)
    result = model.training_result
    assert len(result.history) == 3
    assert all(entry.score is not None and 0 < entry.score <= 1 for entry in result.history)
    batch, targets = last_event_cases(data, model.vocab)
    value = whole_ranking_ndcg(model, batch, targets)
    # Every case counts: above the top-10 share alone, and 1 only if every target is first.
    assert 0 < value <= 1
