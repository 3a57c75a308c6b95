"""What every neural model's config shares: how it trains, under the same names."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np
import torch

from sessionrec.models.base import ModelConfig
from sessionrec.train.trainer import TrainOptions


@dataclass(frozen=True)
class NeuralConfig(ModelConfig):
    """Training options shared by the transformer and GRU4Rec; models add their own.

    The fields named as in `TrainOptions` are handed to the trainer (`train_options`);
    they are declared here too so that each model's options, with the defaults it
    overrides, read (and `--set`) in one place.
    """

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
        """The trainer's view of this config: every option the two share, by name."""
        shared = {f.name for f in fields(TrainOptions)} & {f.name for f in fields(self)}
        return TrainOptions(**{name: getattr(self, name) for name in sorted(shared)})


def module_arrays(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state as numpy arrays (what `Recommender.save` writes)."""
    return {name: value.detach().numpy() for name, value in module.state_dict().items()}


def load_module_arrays(module: torch.nn.Module, state: dict[str, np.ndarray]) -> None:
    """Inverse of `module_arrays`; leaves the module in evaluation mode."""
    module.load_state_dict({name: torch.from_numpy(np.array(v)) for name, v in state.items()})
    module.eval()


@contextmanager
def inference(module: torch.nn.Module) -> Iterator[None]:
    """Inside: `module` in evaluation mode (no dropout) without gradients; its mode is
    restored after, so scoring during training (validation) leaves training as it was."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


def reset_parameters(module: torch.nn.Module, generator: torch.Generator | None) -> None:
    """torch's default initialisation of `module`'s own weights, drawn from `generator`.

    torch layers draw their initial weights from its global generator as they are built.
    Drawing them again from the model's own generator, layer by layer in the order they
    were built, makes a model's weights, and every draw after them, a function of its seed
    alone, and the same as when these models seeded torch's global generator. Layers other
    than linear, embedding and GRU cells draw nothing (a LayerNorm starts at ones and zeros).
    """
    nn = torch.nn
    if isinstance(module, nn.Linear):  # as nn.Linear.reset_parameters
        nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
        if module.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    elif isinstance(module, nn.Embedding):  # as nn.Embedding.reset_parameters
        nn.init.normal_(module.weight, generator=generator)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].fill_(0)
    elif isinstance(module, nn.RNNCellBase):  # as nn.GRUCell.reset_parameters
        bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
        for weight in module.parameters():
            nn.init.uniform_(weight, -bound, bound, generator=generator)


class BernoulliDropout(torch.nn.Module):
    """`nn.Dropout` with its mask drawn from `generator`: the same draws and arithmetic as
    torch's CPU dropout (`bernoulli_`, then scaling the mask), so runs seeded before the
    generator repeat exactly."""

    def __init__(self, p: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.numel() == 0:
            return x
        if self.p == 1:
            return x * torch.zeros((), dtype=x.dtype, device=x.device)
        noise = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * noise.div_(1 - self.p)
