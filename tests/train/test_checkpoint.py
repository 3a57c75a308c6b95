"""Checkpoints: an interrupted run resumed from disk ends exactly where an unbroken one does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from sessionrec.errors import ConfigError, DataError
from sessionrec.train.checkpoint import STATE_FILE, WEIGHTS_FILE
from sessionrec.train.trainer import Trainer, TrainOptions, TrainResult


class Noisy(torch.nn.Module):
    """Dropout makes the run depend on the module's generator, shuffling on numpy's."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = x * (torch.rand(x.shape, generator=self.generator) >= 0.3) / 0.7
        return self.linear(x)


def problem() -> tuple[Noisy, Callable[[np.random.Generator], Iterator[torch.Tensor]]]:
    data = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=data)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])
    torch.manual_seed(0)  # the initial weights (not what this test is about)
    module = Noisy(torch.Generator().manual_seed(0))

    def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
        for batch in torch.from_numpy(rng.permutation(len(x))).split(16):
            yield torch.nn.functional.mse_loss(module(x[batch]), y[batch])

    return module, losses


def scores_of(module: Noisy) -> Callable[[], float]:
    probe = torch.ones(1, 4)
    # A validation score that rises and falls, so best epoch and patience both matter.
    return lambda: -abs(float(module.linear(probe)) - 0.25)


def train(
    epochs: int, folder: Path | None, resume: bool, average: float | None = None
) -> tuple[Noisy, TrainResult]:
    module, losses = problem()
    options = TrainOptions(
        weight_average=average,
        epochs=epochs,
        patience=50,
        learning_rate=0.05,
        progress=False,
        checkpoint_dir=None if folder is None else str(folder),
        resume=resume,
    )
    return module, Trainer(options).fit(module, losses, scores_of(module), "test", module.generator)


@pytest.mark.parametrize("average", [None, 0.9])
def test_resumed_run_equals_an_unbroken_one(tmp_path: Path, average: float | None) -> None:
    unbroken, unbroken_result = train(6, None, False, average)
    train(3, tmp_path, False, average)  # "interrupted" after epoch 3
    assert (tmp_path / WEIGHTS_FILE).exists() and (tmp_path / STATE_FILE).exists()
    resumed, resumed_result = train(6, tmp_path, True, average)
    assert torch.equal(resumed.linear.weight, unbroken.linear.weight)
    assert resumed_result.best_epoch == unbroken_result.best_epoch
    assert [e.loss for e in resumed_result.history] == [e.loss for e in unbroken_result.history]


def test_a_finished_run_is_not_continued(tmp_path: Path) -> None:
    module, losses = problem()
    options = TrainOptions(
        epochs=20, patience=2, progress=False, checkpoint_dir=str(tmp_path), resume=True
    )
    first = Trainer(options).fit(module, losses, lambda: 0.0)  # best at 1, stops after 3
    assert len(first.history) == 3
    module, losses = problem()
    again = Trainer(options).fit(module, losses, lambda: 1.0)
    assert len(again.history) == 3  # restored, nothing more run
    assert again.best_epoch == 1


def test_a_damaged_or_foreign_checkpoint_is_refused(tmp_path: Path) -> None:
    train(2, tmp_path, False)
    module, losses = problem()
    module.linear = torch.nn.Linear(5, 1)  # another shape: not this model's checkpoint
    options = TrainOptions(epochs=4, progress=False, checkpoint_dir=str(tmp_path), resume=True)
    with pytest.raises(DataError, match="another model"):
        Trainer(options).fit(module, losses)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not safetensors")
    module, losses = problem()
    with pytest.raises(DataError, match="cannot read"):
        Trainer(options).fit(module, losses)


def test_a_checkpoint_without_the_generators_state_is_refused(tmp_path: Path) -> None:
    module, losses = problem()
    options = TrainOptions(epochs=2, progress=False, checkpoint_dir=str(tmp_path))
    Trainer(options).fit(module, losses)  # no generator: none saved
    module, losses = problem()
    resumed = TrainOptions(epochs=4, progress=False, checkpoint_dir=str(tmp_path), resume=True)
    with pytest.raises(DataError, match="random state"):
        Trainer(resumed).fit(module, losses, None, "test", module.generator)


def test_resume_needs_a_folder() -> None:
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        TrainOptions(resume=True)
