"""GRU4Rec (Hidasi et al. 2016; Hidasi & Karatzoglou 2018) with cross-entropy loss.

Session-parallel mini-batches: `batch_size` sessions run side by side, one event per step;
when a session ends its lane takes the next session and its hidden state is reset. The
output layer shares the input item embedding (GRU4Rec's "constrained embedding"), and the
loss is the full softmax over the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.models.base import Recommender, SessionBatch
from sessionrec.models.neural import (
    BernoulliDropout,
    NeuralConfig,
    inference,
    load_module_arrays,
    module_arrays,
    reset_parameters,
)
from sessionrec.models.sequences import (
    left_pad,
    split_sequences,
    validation_score,
    validation_split,
)
from sessionrec.train.trainer import Trainer, TrainResult


@dataclass(frozen=True)
class GRU4RecConfig(NeuralConfig):
    """Options of GRU4Rec; shared names with the transformer where they mean the same."""

    embedding_size: int = 128
    """Size of the item embedding and of the GRU's hidden state."""
    dropout: float = 0.2
    """Dropout on the GRU output (GRU4Rec's dropout_p_hidden)."""
    max_length: int = 50
    """Most recent events read when scoring a session."""
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 2e-3
    patience: int = 5

    def __post_init__(self) -> None:
        if self.embedding_size < 1 or self.batch_size < 1:
            raise ConfigError("GRU4Rec needs embedding_size >= 1 and batch_size >= 1")


class GRUNet(nn.Module):
    """Embedding → GRU cell → dropout → scores against the same embedding."""

    def __init__(
        self, n_items: int, size: int, dropout: float, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.generator = generator
        self.items = nn.Embedding(n_items, size)
        reset_parameters(self.items, generator)
        nn.init.normal_(self.items.weight, std=0.02, generator=generator)
        self.cell = nn.GRUCell(size, size)
        reset_parameters(self.cell, generator)
        self.drop = BernoulliDropout(dropout, generator)
        self.out = nn.Linear(size, size)
        reset_parameters(self.out, generator)

    def step(self, items: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One event per lane: items (B,), hidden (B, C) → (logits (B, n_items), new hidden)."""
        hidden = self.cell(self.items(items), hidden)
        return self.out(self.drop(hidden)) @ self.items.weight.T, hidden

    def encode(self, items: torch.Tensor) -> torch.Tensor:
        """Left-padded sessions (B, T), pad -1 → the hidden state after the last event."""
        B, T = items.shape  # batch, time
        hidden = torch.zeros(B, self.cell.hidden_size)
        for t in range(T):
            present = items[:, t] >= 0
            updated = self.cell(self.items(items[:, t].clamp(min=0)), hidden)
            hidden = torch.where(present.unsqueeze(1), updated, hidden)
        return hidden


class GRU4Rec(Recommender):
    """GRU4Rec with session-parallel mini-batches and cross-entropy loss."""

    name = "gru4rec"
    config_class = GRU4RecConfig
    config: GRU4RecConfig

    def __init__(self, config: GRU4RecConfig | None = None) -> None:
        super().__init__(config)
        self.net: GRUNet | None = None
        self.training_result = TrainResult()

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        cfg = self.config
        self.vocab = Vocabulary(train.item_ids())
        fit_data, valid_batch, valid_targets = validation_split(
            train, valid, self.vocab, cfg.validation_share, cfg.max_length, cfg.seed
        )
        sequences = [s for s in split_sequences(fit_data, self.vocab)[0] if len(s) >= 2]
        generator = torch.Generator().manual_seed(cfg.seed)  # every draw of the network
        net = GRUNet(len(self.vocab), cfg.embedding_size, cfg.dropout, generator)
        self.net = net

        def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
            yield from session_parallel_losses(net, sequences, cfg.batch_size, rng)

        def validate() -> float:
            return validation_score(self, valid_batch, valid_targets)

        self.training_result = Trainer(cfg.train_options()).fit(
            net, losses, validate, "gru4rec", generator
        )
        return self

    def score(self, sessions: SessionBatch) -> np.ndarray:
        if self.net is None:
            raise ConfigError("gru4rec is not fitted")
        known = [sessions.known(i) for i in range(len(sessions))]
        items = torch.from_numpy(left_pad(known, self.config.max_length, UNKNOWN_INDEX))
        with inference(self.net):
            hidden = self.net.encode(items)
            scores = self.net.out(hidden) @ self.net.items.weight.T
        out = scores.numpy().astype(np.float64)
        out[[len(k) == 0 for k in known]] = 0.0
        return out

    def _to_arrays(self) -> dict[str, np.ndarray]:
        if self.net is None:
            raise ConfigError("gru4rec is not fitted")
        return module_arrays(self.net)

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        self.net = GRUNet(len(self.vocab), cfg.embedding_size, cfg.dropout, generator)
        load_module_arrays(self.net, arrays)


def session_parallel_losses(
    net: GRUNet, sequences: list[np.ndarray], batch_size: int, rng: np.random.Generator
) -> Iterator[torch.Tensor]:
    """One epoch of GRU4Rec's session-parallel steps, one loss per step.

    Lanes hold sessions in a shuffled order; at each step every lane feeds its current item
    and predicts the next. A lane whose session ran out takes the next unused session and
    starts from a zero hidden state. Hidden states are detached between steps (truncated
    back-propagation through one step, as in GRU4Rec).
    """
    order = rng.permutation(len(sequences))
    lanes = min(batch_size, len(order))
    if lanes == 0:
        return
    current = list(order[:lanes])
    position = np.zeros(lanes, dtype=np.int64)
    next_session = lanes
    hidden = torch.zeros(lanes, net.cell.hidden_size)
    active = np.ones(lanes, dtype=bool)
    while active.any():
        rows = np.flatnonzero(active)
        inputs = torch.tensor([sequences[current[r]][position[r]] for r in rows])
        targets = torch.tensor([sequences[current[r]][position[r] + 1] for r in rows])
        logits, new_hidden = net.step(inputs, hidden[rows])
        yield F.cross_entropy(logits, targets)
        hidden = hidden.detach().clone()
        hidden[rows] = new_hidden.detach()
        position[rows] += 1
        for r in rows:
            if position[r] + 1 < len(sequences[current[r]]):
                continue
            if next_session < len(order):
                current[r] = order[next_session]
                next_session += 1
                position[r] = 0
                hidden[r] = 0.0
            else:
                active[r] = False
