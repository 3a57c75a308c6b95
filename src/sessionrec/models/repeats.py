"""Learned score offsets for items the session already holds (repeat consumption).

Whether people come back to what they have just seen depends on the domain: shoppers
re-click a product again and again (rsc15), while nobody rates the same film twice
(MovieLens). A dot-product model expresses the first on its own (an item already in the
session is close to the session vector, so it scores high) but not the second. A handful
of learned offsets, one per bucket of "how many events ago the item occurred", lets
training push seen items down where repeats never happen. Each occurrence adds its bucket's
offset, so an item seen three times gets three.

Offsets are at most 0: attention already finds repeats where they happen, and positive
offsets gave that a second route that made the session model worse (figures in the
CHANGELOG, 0.1.0).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

N_BUCKETS = 8
"""Distance buckets: 0, 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64+ events ago."""


def distance_buckets(distance: np.ndarray) -> np.ndarray:
    """Bucket of each non-negative distance (0 = the session's last item)."""
    d = np.maximum(np.asarray(distance, dtype=np.int64), 0)
    buckets = np.where(d < 1, 0, np.floor(np.log2(np.maximum(d, 1))).astype(np.int64) + 1)
    return np.minimum(buckets, N_BUCKETS - 1)


STEP_BOOST = 20.0
"""The offsets are stored divided by this. Adam moves a parameter by about the learning
rate per step whatever its gradient, so offsets of several logits (what a domain without
repeats needs) would take thousands of steps; ml-100k trains for a few hundred."""


class RepeatBias(nn.Module):
    """One learned logit offset per distance bucket, starting at zero (no effect)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw = nn.Parameter(torch.zeros(N_BUCKETS))

    @property
    def bias(self) -> torch.Tensor:
        """(N_BUCKETS,) the offsets, in logits (≤ 0)."""
        return (self.raw * STEP_BOOST).clamp(max=0.0)

    def offsets(self) -> np.ndarray:
        """`bias` as float64 numpy, computed in numpy from the same float32 numbers (the
        same bits): every recommendation reads it, and building the autograd graph of the
        torch expression cost a quarter of a millisecond each time."""
        raw = self.raw.detach().numpy()
        return np.minimum(raw * np.float32(STEP_BOOST), np.float32(0.0)).astype(np.float64)

    def add_to(
        self, logits: torch.Tensor, items: torch.Tensor, query: torch.Tensor
    ) -> torch.Tensor:
        """Offset `logits` (N, n_items), one row per True entry of `query` (B, T).

        `items` (B, T) are the windows the rows were read from (-1 = padding); the row of
        position t gets the offsets of the items at positions ≤ t.
        """
        T = items.size(1)  # time
        steps = torch.arange(T, device=items.device)
        distance = steps.view(T, 1) - steps.view(1, T)  # [query position t, item position s]
        buckets = torch.from_numpy(distance_buckets(distance.cpu().numpy())).to(items.device)
        visible = (distance >= 0).unsqueeze(0) & (items >= 0).unsqueeze(1)  # (B, T, T)
        values = self.bias[buckets].unsqueeze(0) * visible
        columns = items.clamp(min=0).unsqueeze(1).expand(-1, T, -1)
        # In place: the logits are a product whose backward does not read them, and a copy
        # of a (positions × catalogue) array is a tenth of a training step.
        return logits.scatter_add_(1, columns[query], values[query])


def repeat_offsets(
    items: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, values) to add to next-item scores of left-padded sessions.

    `items` (B, T) with -1 for padding, the last column being each session's latest event;
    `bias` the learned offset per bucket. Use `np.add.at`: an item may occur repeatedly.
    """
    rows, positions = np.nonzero(items >= 0)
    distance = items.shape[1] - 1 - positions
    values = np.asarray(bias, dtype=np.float64)[distance_buckets(distance)]
    return rows, items[rows, positions], values
