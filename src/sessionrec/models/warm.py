"""Warm starts: a model's next `fit` begins from another fitted model's weights.

Retraining on the data a served model was trained on plus what it has served since
(`sessionrec retrain`) need not start from random weights: the old model already knows
most items and the structure of sessions, so the new one converges in fewer epochs. What
can be carried over is model-specific, so it is an optional capability beside the model
protocol; a model without it (the kNN and rule baselines, popularity) simply refits.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sessionrec.models.base import Recommender


@runtime_checkable
class WarmStartable(Protocol):
    """A model that can start training from a fitted model of its kind."""

    def warm_start_from(self, previous: Recommender | None) -> None:
        """Start every later `fit` from `previous`'s weights (None: from a fresh
        initialisation again). A `ConfigError` when `previous` is not a fitted model this
        one can start from (another kind, another architecture)."""
        ...


def warm_startable(model: Recommender) -> WarmStartable | None:
    """`model` as a `WarmStartable`, or None when it has no warm start."""
    return model if isinstance(model, WarmStartable) else None
