"""Hybrid: the transformer's and session kNN's scores blended, the weight set on validation.

Small data favours kNN, larger data the transformer; a user should not have to know which.
Each model's scores become a distribution over items (softmax of the transformer's logits,
kNN votes divided by their sum), and the blend weight is the one from a grid that scores
best on the validation cases, with kNN fitted without those cases so it cannot remember them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import numpy as np

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.errors import ConfigError, DataError
from sessionrec.models.base import ModelConfig, Recommender, SessionBatch
from sessionrec.models.embedding import ItemArrays, frozen
from sessionrec.models.knn import VectorSessionKNN, VSKNNConfig
from sessionrec.models.sequences import validation_score, validation_split
from sessionrec.models.transformer import SessionTransformer, TransformerConfig

DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
PROBABILITY_FLOOR = 1e-12
"""Added to the blended probability before its log, so items nobody votes for and the
transformer finds unlikely still rank (by the transformer) instead of tying at -inf."""


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
    trains_in_parallel = True
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

    def warm_start_from(self, previous: Recommender | None) -> None:
        """Start the transformer part of every later `fit` from `previous`'s transformer
        (a hybrid's, or a transformer itself; `models.warm`); kNN has nothing to carry
        over and refits. None: from a fresh initialisation again."""
        part = previous.transformer if isinstance(previous, Hybrid) else previous
        self.transformer.warm_start_from(part)

    # -- scoring: one path for evaluation and the engine ----------------------------------

    def score(self, sessions: SessionBatch) -> np.ndarray:
        """(B, n) the log of the blend (see `_blend`); the transformer's own scores at
        weight 1."""
        transformer = self.transformer.score(sessions) if self.weight > 0 else None
        knn = None
        if self.weight < 1:
            to_knn = self.knn.vocab.lookup(self.vocab.ids)  # own index -> kNN index or -1
            knn = self._knn_probabilities(to_knn, sessions.items)
        return self._blend(transformer, knn)

    def item_scores(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        sequences: Sequence[np.ndarray],
        histories: Sequence[np.ndarray],
    ) -> np.ndarray:
        """(n, R): `score` of sessions whose transformer vectors are `queries` and whose
        events (what the kNN half reads) are `sequences`."""
        transformer = None
        if self.weight > 0:
            transformer = self.transformer.item_scores(arrays, queries, sequences, histories).T
        knn = None
        if self.weight < 1:
            assert arrays.knn_index is not None, "arrays made by another model"
            knn = self._knn_probabilities(arrays.knn_index, sequences)
        return self._blend(transformer, knn).T

    def _blend(self, transformer: np.ndarray | None, knn: np.ndarray | None) -> np.ndarray:
        """log(weight · softmax(transformer) + (1 - weight) · kNN votes + floor), (B, n).

        The log keeps the blend's ranking and puts it on the scale of the transformer's
        logits, which the engine standardises; `PROBABILITY_FLOOR` keeps items nobody votes
        for and the transformer finds unlikely ranked (by the transformer) rather than tied
        at -inf. Without a kNN part (weight 1) the transformer's scores are returned as
        they are: the softmax would not change their order.
        """
        if knn is None:
            assert transformer is not None
            return transformer
        blended = (1 - self.weight) * knn
        if transformer is not None:
            blended += self.weight * as_distribution(transformer, "logits")
        return np.log(blended + PROBABILITY_FLOOR)

    def _knn_probabilities(self, to_knn: np.ndarray, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """(B, n) kNN vote distributions of `sequences` (rows of the hybrid's vocabulary),
        re-indexed from kNN's vocabulary through `to_knn` (-1: an item kNN does not know)."""
        translated = SessionBatch(
            [np.where(s >= 0, to_knn[np.maximum(s, 0)], -1) for s in sequences]
        )
        votes = as_distribution(self.knn.score(translated), "votes")
        out = np.zeros((len(sequences), len(to_knn)))
        known = to_knn >= 0
        out[:, known] = votes[:, to_knn[known]]
        return out

    # -- the embedding space, for the interactive engine (`models.embedding`) -------------
    # The transformer's space; the kNN half is blended into the scores.

    @property
    def max_length(self) -> int:
        """Most recent events the transformer reads."""
        return self.transformer.max_length

    @property
    def text_dimension(self) -> int:
        """Size of the language-model vectors the transformer reads (0: none)."""
        return self.transformer.text_dimension

    @property
    def text_encoder(self) -> str | None:
        """The text encoder spec of the transformer's item vectors (None: the default)."""
        return self.transformer.text_encoder

    @property
    def text_template(self) -> str:
        """How catalogue fields became the text the encoder read."""
        return self.transformer.text_template

    @property
    def reads_each_interest(self) -> bool:
        """Whether the kNN half takes part, which reads each interest's own events."""
        return self.weight < 1

    def item_arrays(self) -> ItemArrays:
        """The transformer's arrays, with each item's kNN index where kNN takes part."""
        return self._with_knn_index(self.transformer.item_arrays(), None)

    def session_states(
        self, arrays: ItemArrays, sequence: np.ndarray, types: np.ndarray
    ) -> np.ndarray:
        """The transformer's reading of the session (`SessionTransformer.session_states`)."""
        return self.transformer.session_states(arrays, sequence, types)

    def text_to_item_space(self, vectors: np.ndarray) -> np.ndarray:
        """Language-model vectors as the transformer's item vectors."""
        return self.transformer.text_to_item_space(vectors)

    def add_items(
        self, arrays: ItemArrays, item_ids: list[str], text_vectors: np.ndarray
    ) -> ItemArrays:
        """Items added to the transformer; the kNN half does not know them (probability 0
        there) until retrained."""
        grown = self.transformer.add_items(arrays, item_ids, text_vectors)
        self.vocab = self.transformer.vocab  # the hybrid scores over the transformer's
        return self._with_knn_index(grown, arrays.knn_index)

    def _with_knn_index(self, arrays: ItemArrays, known: np.ndarray | None) -> ItemArrays:
        """`arrays` with `knn_index` where kNN takes part; `known` is that index for the
        vocabulary's first rows (indices keep their meaning as the vocabulary grows)."""
        if self.weight == 1:
            return arrays
        head = known if known is not None else np.zeros(0, dtype=np.int64)
        tail = self.knn.vocab.lookup(arrays.vocab.ids[len(head) :])
        return replace(arrays, knn_index=frozen(np.concatenate([head, tail])))

    # -- persistence: each part in its own folder, the weight in the config ---------------

    def _to_arrays(self) -> dict[str, np.ndarray]:
        return {"weight": np.array([self.weight])}

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.weight = float(arrays["weight"][0])

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
