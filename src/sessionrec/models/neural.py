"""What every neural model's config shares: how it trains, under the same names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sessionrec.models.base import ModelConfig
from sessionrec.train.trainer import TrainOptions


@dataclass(frozen=True)
class NeuralConfig(ModelConfig):
    """Training options shared by the transformer and GRU4Rec; models add their own."""

    epochs: int = 200
    """Upper bound on passes over the training data (early stopping usually ends sooner)."""
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    """Epochs without a better validation score before training stops."""
    seed: int = 0
    threads: int | None = None
    """Torch threads (None: torch's default)."""
    max_seconds: float | None = None
    """Wall-clock training budget."""
    validation_share: float = 0.1
    """Without a validation split: share of the latest training sessions held out."""
    progress: bool = True
    checkpoint_dir: str | None = None
    """Folder for a training checkpoint after every epoch (None: no checkpoints)."""
    resume: bool = False
    """Continue an interrupted training run from the checkpoint in `checkpoint_dir`."""
    weight_average: float | None = None
    """Decay of the moving average of weights that is validated and kept (None: off)."""

    def train_options(self) -> TrainOptions:
        """The trainer's view of this config."""
        return TrainOptions(
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            patience=self.patience,
            seed=self.seed,
            threads=self.threads,
            max_seconds=self.max_seconds,
            progress=self.progress,
            checkpoint_dir=self.checkpoint_dir,
            resume=self.resume,
            weight_average=self.weight_average,
        )


def module_arrays(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state as numpy arrays (what `Recommender.save` writes)."""
    return {name: value.detach().numpy() for name, value in module.state_dict().items()}


def load_module_arrays(module: torch.nn.Module, state: dict[str, np.ndarray]) -> None:
    """Inverse of `module_arrays`; leaves the module in evaluation mode."""
    module.load_state_dict({name: torch.from_numpy(np.array(v)) for name, v in state.items()})
    module.eval()
