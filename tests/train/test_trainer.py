"""The shared training loop: early stopping keeps the best weights, seeds repeat runs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch

from sessionrec.errors import ConfigError
from sessionrec.train.trainer import Trainer, TrainOptions, WeightAverage, validated


def regression_problem(seed: int) -> tuple[torch.nn.Linear, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 3, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1), x, y


def test_loss_falls_and_best_weights_are_restored() -> None:
    module, x, y = regression_problem(0)

    def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
        order = torch.from_numpy(rng.permutation(len(x)))
        for batch in order.split(16):
            yield torch.nn.functional.mse_loss(module(x[batch]), y[batch])

    scores = iter([0.1, 0.5, 0.2, 0.3, 0.1, 0.0, 0.0, 0.0])
    snapshots: list[torch.Tensor] = []

    def validate() -> float:
        snapshots.append(module.weight.detach().clone())
        return next(scores)

    options = TrainOptions(epochs=8, patience=3, learning_rate=0.05, progress=False)
    result = Trainer(options).fit(module, losses, validate)
    assert result.best_epoch == 2
    assert len(result.history) == 5  # epochs 3, 4, 5 did not beat epoch 2
    assert torch.equal(module.weight, snapshots[1])
    assert result.history[-1].loss < result.history[0].loss
    assert result.peak_memory_mb > 0


def test_same_seed_same_result() -> None:
    def run() -> torch.Tensor:
        module, x, y = regression_problem(1)

        def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
            for batch in torch.from_numpy(rng.permutation(len(x))).split(8):
                yield torch.nn.functional.mse_loss(module(x[batch]), y[batch])

        Trainer(TrainOptions(epochs=3, seed=5, progress=False)).fit(module, losses)
        return module.weight.detach().clone()

    assert torch.equal(run(), run())


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError):
        TrainOptions(epochs=0)


def test_weight_average_is_the_moving_average_of_the_steps() -> None:
    module, x, y = regression_problem(2)
    steps: list[torch.Tensor] = []

    def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
        for batch in torch.from_numpy(rng.permutation(len(x))).split(16):
            yield torch.nn.functional.mse_loss(module(x[batch]), y[batch])
            # Resumed after the optimiser step (and the average's update) for that batch.
            steps.append(module.weight.detach().clone())

    expected = module.weight.detach().clone()
    options = TrainOptions(epochs=2, learning_rate=0.05, progress=False, weight_average=0.8)
    Trainer(options).fit(module, losses)
    assert len(steps) == 8
    for t, weights in enumerate(steps):
        decay = min(0.8, (1 + t) / (10 + t))  # ramped up: 0.1, 0.18, ... then 0.8
        expected = decay * expected + (1 - decay) * weights
    assert torch.allclose(module.weight, expected, atol=1e-6)
    assert not torch.allclose(module.weight, steps[-1])
    with pytest.raises(ConfigError, match="weight_average"):
        TrainOptions(weight_average=1.0)


def constant_problem() -> tuple[
    torch.nn.Linear, Callable[[np.random.Generator], Iterator[torch.Tensor]]
]:
    module = torch.nn.Linear(1, 1)

    def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
        yield module.weight.sum() ** 2

    return module, losses


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sessionrec.train.trainer"]


def test_every_epoch_is_logged_and_the_last_line_says_why_training_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module, losses = constant_problem()
    scores = iter([0.1, 0.5, 0.2, 0.3, 0.1])
    options = TrainOptions(epochs=8, patience=3, progress=False)
    with caplog.at_level(logging.INFO, logger="sessionrec"):
        Trainer(options).fit(module, losses, lambda: next(scores), "toy")
    lines = log_lines(caplog)
    assert len(lines) == 6  # five epochs and the stop
    assert re.fullmatch(
        r"toy epoch 1/8: loss \d+\.\d{4}, valid 0\.1000, \d+\.\d s \(best so far\)", lines[0]
    )
    assert re.fullmatch(r"toy epoch 3/8: loss \d+\.\d{4}, valid 0\.2000, \d+\.\d s", lines[2])
    assert lines[-1].startswith(
        "toy stopped after epoch 5: early stopping: no better validation score for 3 epochs "
        "(patience=3); kept epoch 2 (valid 0.5000);"
    )


def test_the_stop_line_names_the_epoch_limit_and_the_time_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module, losses = constant_problem()
    with caplog.at_level(logging.INFO, logger="sessionrec"):
        Trainer(TrainOptions(epochs=2, progress=False)).fit(module, losses)
        Trainer(TrainOptions(epochs=50, max_seconds=1e-9, progress=False)).fit(
            module, losses, lambda: 0.0
        )
    stops = [line for line in log_lines(caplog) if " stopped after " in line]
    assert stops[0].startswith(
        "training stopped after epoch 2: reached the epoch limit (epochs=2); "
        "kept the last epoch's weights;"
    )
    assert stops[1].startswith(
        "training stopped after epoch 1: the time budget of 1e-09 s is spent (max_seconds)"
    )


def test_the_better_validated_of_the_live_and_the_averaged_weights_counts() -> None:
    module = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        module.weight.fill_(1.0)
    average = WeightAverage(module, 0.9)  # the average holds 1.0 ...
    with torch.no_grad():
        module.weight.fill_(3.0)  # ... the live weights 3.0

    def total() -> float:
        return float(module.weight.detach().sum())

    def negated() -> float:
        return -total()

    assert validated(total, average) == (6.0, False)  # the live weights validate better
    assert validated(negated, average) == (-2.0, True)  # the average validates better
    assert total() == 6.0  # validating the average put the live weights back
    assert validated(total, None) == (6.0, False)
