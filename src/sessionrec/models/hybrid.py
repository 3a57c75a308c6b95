"""Hybrid: the transformer's and session kNN's scores blended, both set on validation.

Small data favours kNN, larger data the transformer, and which kNN does best depends on
the data too (V-SKNN on ratings logs, VSTAN on click sessions); a user should not have to
know which. Each model's scores become a distribution over items (softmax of the
transformer's logits, kNN votes divided by their sum), and the kNN model and the blend
weight are the pair that scores best on the validation cases, with every kNN candidate
fitted without those cases so it cannot remember them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import numpy as np

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.errors import ConfigError, DataError, unknown_choice
from sessionrec.metrics import MetricAccumulator
from sessionrec.models.base import CONFIG_FILE, ModelConfig, Recommender, SessionBatch
from sessionrec.models.embedding import ItemArrays, frozen
from sessionrec.models.knn import SessionKNN, VectorSessionKNN, VSKNNConfig
from sessionrec.models.sequences import VALIDATION_METRIC, validation_split
from sessionrec.models.stan import STAN, VSTAN
from sessionrec.models.transformer import SessionTransformer, TransformerConfig

logger = logging.getLogger(__name__)

DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
NEIGHBOUR_MODELS: dict[str, type[SessionKNN]] = {
    model.name: model for model in (VectorSessionKNN, STAN, VSTAN)
}
"""The session-kNN models the hybrid can blend with, by the names the CLI gives them."""
DEFAULT_NEIGHBOURS = ("vsknn", "vstan")
"""V-SKNN leads the kNN family on rating logs, VSTAN on click sessions (README tables)."""
VALIDATION_CHUNK = 1024
"""Validation cases scored at once: (chunk × items) floats per part held in memory."""
PROBABILITY_FLOOR = 1e-12
"""Added to the blended probability before its log, so items nobody votes for and the
transformer finds unlikely still rank (by the transformer) instead of tying at -inf."""


@dataclass(frozen=True)
class HybridConfig(ModelConfig):
    """Options of the hybrid: its two parts and the weights it may choose between."""

    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    knn: VSKNNConfig = field(default_factory=VSKNNConfig)
    """V-SKNN's options, where V-SKNN is chosen (STAN and VSTAN keep their defaults)."""
    neighbours: tuple[str, ...] = DEFAULT_NEIGHBOURS
    """The kNN models to choose between on validation (`NEIGHBOUR_MODELS`' names)."""
    weights: tuple[float, ...] = DEFAULT_GRID
    """Candidate weights of the transformer (1 - weight goes to kNN)."""
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.weights or any(not 0 <= w <= 1 for w in self.weights):
            raise ConfigError("hybrid weights must be a non-empty list of numbers in [0, 1]")
        if not self.neighbours:
            raise ConfigError("hybrid neighbours must name at least one kNN model")
        for name in self.neighbours:
            if name not in NEIGHBOUR_MODELS:
                raise unknown_choice("hybrid neighbour", name, list(NEIGHBOUR_MODELS))

    def to_dict(self) -> dict[str, Any]:
        return {
            "transformer": self.transformer.to_dict(),
            "knn": self.knn.to_dict(),
            "neighbours": list(self.neighbours),
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
        for name in ("neighbours", "weights"):
            if name in values:
                parts[name] = tuple(values.pop(name))
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
    """Transformer + a session kNN, the kNN and the blend weight chosen on validation."""

    name = "hybrid"
    trains_in_parallel = True
    config_class = HybridConfig
    config: HybridConfig

    def __init__(self, config: HybridConfig | None = None) -> None:
        super().__init__(config)
        self.transformer = SessionTransformer(self._transformer_config())
        self.knn: SessionKNN = VectorSessionKNN(self.config.knn)
        self.weight = 0.5
        self.validation: dict[tuple[str, float], float] = {}
        """Validation score of each (kNN model, weight) tried by the last `fit`."""

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
        # The blend is chosen on validation cases that the transformer has not yet
        # trained on: its refit, if any, comes after.
        self.transformer.fit_early_stopped(train, catalogue, valid)
        self.vocab = self.transformer.vocab
        part = self.transformer.config
        # The cases the transformer's early stopping scored: a sample of a long log's.
        fit_data, batch, targets = validation_split(
            train, valid, self.vocab, part.validation_share, part.max_length, part.seed
        )
        candidates = {name: self._neighbour(name).fit(fit_data) for name in self.config.neighbours}
        self.validation = self._validation_scores(candidates, batch, targets)
        order = {name: i for i, name in enumerate(self.config.neighbours)}
        # Ties go to the larger weight, then to the kNN listed first.
        name, self.weight = max(
            self.validation, key=lambda c: (self.validation[c], c[1], -order[c[0]])
        )
        logger.info(
            "hybrid: %s at transformer weight %.1f (validation %s %.4f; the transformer "
            "alone %.4f)",
            name,
            self.weight,
            VALIDATION_METRIC,
            self.validation[(name, self.weight)],
            max((v for (_, w), v in self.validation.items() if w == 1.0), default=float("nan")),
        )
        # kNN only looks up sessions: refit on everything, validation sessions included.
        self.knn = self._neighbour(name).fit(train)
        if self.transformer.refits(valid):
            self.transformer.refit(train, valid)
        return self

    def _neighbour(self, name: str) -> SessionKNN:
        """A fresh kNN model of that name (V-SKNN with `config.knn`)."""
        if name == VectorSessionKNN.name:
            return VectorSessionKNN(self.config.knn)
        return NEIGHBOUR_MODELS[name]()

    def _validation_scores(
        self, candidates: dict[str, SessionKNN], batch: SessionBatch, targets: np.ndarray
    ) -> dict[tuple[str, float], float]:
        """`VALIDATION_METRIC` of every (kNN, weight) blend, each part scored once a chunk."""
        accumulators = {
            (name, weight): MetricAccumulator(self.n_items, ks=(10,))
            for name in candidates
            for weight in self.config.weights
        }
        to_knn = {name: knn.vocab.lookup(self.vocab.ids) for name, knn in candidates.items()}
        for start in range(0, len(targets), VALIDATION_CHUNK):
            stop = start + VALIDATION_CHUNK
            chunk = batch.rows(start, stop)
            transformer = as_distribution(self.transformer.score(chunk), "logits")
            for name, knn in candidates.items():
                votes = self._knn_probabilities(knn, to_knn[name], chunk.items)
                for weight in self.config.weights:
                    blended = weight * transformer + (1 - weight) * votes
                    accumulators[(name, weight)].add(
                        np.log(blended + PROBABILITY_FLOOR), targets[start:stop]
                    )
        return {key: acc.result()[VALIDATION_METRIC] for key, acc in accumulators.items()}

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
            knn = self._knn_probabilities(self.knn, to_knn, sessions.items)
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
            knn = self._knn_probabilities(self.knn, arrays.knn_index, sequences)
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

    @staticmethod
    def _knn_probabilities(
        knn: SessionKNN, to_knn: np.ndarray, sequences: Sequence[np.ndarray]
    ) -> np.ndarray:
        """(B, n) `knn`'s vote distributions of `sequences` (rows of the hybrid's
        vocabulary), re-indexed from kNN's vocabulary through `to_knn` (-1: an item kNN
        does not know)."""
        translated = SessionBatch(
            [np.where(s >= 0, to_knn[np.maximum(s, 0)], -1) for s in sequences]
        )
        votes = as_distribution(knn.score(translated), "votes")
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
            model.knn = saved_neighbour_class(folder / "knn").load(folder / "knn")
        except DataError as exc:
            raise DataError(f"incomplete hybrid model: {exc}", path=folder) from exc
        if model.transformer.vocab != model.vocab:
            raise DataError("hybrid parts disagree on the item vocabulary", path=folder)
        return model


def saved_neighbour_class(folder: Path) -> type[SessionKNN]:
    """The kNN model class saved in `folder` (hybrids saved before the choice hold V-SKNN)."""
    try:
        name = json.loads((folder / CONFIG_FILE).read_text()).get("model")
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(f"cannot read the kNN part: {exc}", path=folder) from exc
    if name not in NEIGHBOUR_MODELS:
        raise DataError(
            f"the kNN part is {name!r}, not one of {list(NEIGHBOUR_MODELS)}", path=folder
        )
    return NEIGHBOUR_MODELS[name]
