"""Hybrid: the transformer's and session kNN's scores blended, the weight set on validation.

Small data favours kNN, larger data the transformer; a user should not have to know which.
Each model's scores become a distribution over items (softmax of the transformer's logits,
kNN votes divided by their sum), and the blend weight is the one from a grid that scores
best on the validation cases, with kNN fitted without those cases so it cannot remember them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.errors import ConfigError, DataError
from sessionrec.models.base import ModelConfig, Recommender, SessionBatch
from sessionrec.models.knn import VectorSessionKNN, VSKNNConfig
from sessionrec.models.sequences import validation_score, validation_split
from sessionrec.models.transformer import SessionTransformer, TransformerConfig

DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class HybridConfig(ModelConfig):
    """Options of the hybrid: its two parts and the weights it may choose between."""

    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    knn: VSKNNConfig = field(default_factory=VSKNNConfig)
    weights: tuple[float, ...] = DEFAULT_GRID
    """Candidate weights of the transformer (1 - weight goes to kNN)."""
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.weights or any(not 0 <= w <= 1 for w in self.weights):
            raise ConfigError("hybrid weights must be a non-empty list of numbers in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {
            "transformer": self.transformer.to_dict(),
            "knn": self.knn.to_dict(),
            "weights": list(self.weights),
            "seed": self.seed,
            "progress": self.progress,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        values = dict(values)
        parts: dict[str, Any] = {}
        if "transformer" in values:
            parts["transformer"] = TransformerConfig.from_dict(values.pop("transformer"))
        if "knn" in values:
            parts["knn"] = VSKNNConfig.from_dict(values.pop("knn"))
        if "weights" in values:
            parts["weights"] = tuple(values.pop("weights"))
        return super().from_dict({**values, **parts})


def as_distribution(scores: np.ndarray, kind: str) -> np.ndarray:
    """Rows that sum to one: softmax of logits, or votes over their sum (uniform if none)."""
    if kind == "logits":
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    totals = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / max(scores.shape[1], 1))
    return np.where(totals > 0, scores / np.where(totals > 0, totals, 1.0), uniform)


class Hybrid(Recommender):
    """Transformer + V-SKNN, blended with a weight chosen on validation data."""

    name = "hybrid"
    config_class = HybridConfig
    config: HybridConfig

    def __init__(self, config: HybridConfig | None = None) -> None:
        super().__init__(config)
        self.transformer = SessionTransformer(self._transformer_config())
        self.knn = VectorSessionKNN(self.config.knn)
        self.weight = 0.5
        self.validation: dict[float, float] = {}

    def _transformer_config(self) -> TransformerConfig:
        cfg = self.config
        return TransformerConfig.from_dict(
            {**cfg.transformer.to_dict(), "seed": cfg.seed, "progress": cfg.progress}
        )

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.transformer.fit(train, catalogue, valid)
        self.vocab = self.transformer.vocab
        fit_data, batch, targets = validation_split(
            train, valid, self.vocab, self.transformer.config.validation_share
        )
        self.knn = VectorSessionKNN(self.config.knn).fit(fit_data)
        self.validation = {}
        for weight in self.config.weights:
            self.weight = weight
            self.validation[weight] = validation_score(self, batch, targets)
        self.weight = max(self.validation, key=lambda w: (self.validation[w], w))
        # kNN only looks up sessions: refit on everything, validation sessions included.
        self.knn = VectorSessionKNN(self.config.knn).fit(train)
        return self

    def score(self, sessions: SessionBatch) -> np.ndarray:
        blended = np.zeros((len(sessions), self.n_items))
        if self.weight > 0:
            blended += self.weight * as_distribution(self.transformer.score(sessions), "logits")
        if self.weight < 1:
            blended += (1 - self.weight) * self._knn_on_own_vocab(sessions)
        return blended

    def _knn_on_own_vocab(self, sessions: SessionBatch) -> np.ndarray:
        """kNN distributions, re-indexed from kNN's vocabulary to the transformer's."""
        to_knn = self.knn.vocab.lookup(self.vocab.ids)  # own index -> kNN index or -1
        translated = SessionBatch(
            [np.where(s >= 0, to_knn[np.maximum(s, 0)], -1) for s in sessions.items],
            sessions.event_types,
        )
        probabilities = as_distribution(self.knn.score(translated), "votes")
        out = np.zeros((len(sessions), self.n_items))
        known = to_knn >= 0
        out[:, known] = probabilities[:, to_knn[known]]
        return out

    # -- persistence: each part in its own folder, the weight in the config ---------------

    def _state(self) -> dict[str, np.ndarray]:
        return {"weight": np.array([self.weight])}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.weight = float(state["weight"][0])

    def save(self, path: str | Path) -> None:
        folder = Path(path)
        super().save(folder)
        self.transformer.save(folder / "transformer")
        self.knn.save(folder / "knn")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        folder = Path(path)
        model = super().load(folder)
        try:
            model.transformer = SessionTransformer.load(folder / "transformer")
            model.knn = VectorSessionKNN.load(folder / "knn")
        except DataError as exc:
            raise DataError(f"incomplete hybrid model: {exc}", path=folder) from exc
        if model.transformer.vocab != model.vocab:
            raise DataError("hybrid parts disagree on the item vocabulary", path=folder)
        return model
