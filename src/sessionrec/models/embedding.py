"""The embedding-model protocol: a model the interactive engine can steer.

`Recommender.score` is enough for evaluation, but the engine needs to look inside the
space the scores come from: it turns the session vector toward a typed request, scores
several interests at once, compares items in language-model space and adds items from
their text while serving. A model that offers that implements `EmbeddingModel` beside the
model protocol (the transformer and the hybrid do); the engine uses nothing else, so its
base scores are the model's own `score` for the same session.

Per-item arrays live in an immutable `ItemArrays` made by the model; adding items makes a
new one, so a request in flight never sees arrays of two different sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from sessionrec.data.vocab import Vocabulary
from sessionrec.errors import ConfigError


@dataclass(frozen=True)
class ItemArrays:
    """Everything per item, in vocabulary order, at one moment of the catalogue.

    The engine reads `vocab`, `item_vectors`, `text`, `similarity` and `popularity`; the
    optional arrays after them are read only by the model that made them.
    """

    vocab: Vocabulary
    item_vectors: np.ndarray
    """(n, C) what session vectors are dotted with."""
    text: np.ndarray
    """(n, D) unit language-model vectors; zero rows for items without text; D = 0 without
    a text model."""
    similarity: np.ndarray
    """(n, ·) unit vectors look-alikes are measured in: text where the model has it, else
    the item vectors."""
    popularity: np.ndarray
    """(n,) log-frequency in training; -inf for items added later."""
    knn_index: np.ndarray | None = None
    """(n,) index of each item in a hybrid's kNN vocabulary (-1: unknown to it)."""
    text_parts: np.ndarray | None = None
    """(n, C) the text parts of the item vectors, where the model finds the trained items
    a new item borrows its vector from."""
    trained: np.ndarray | None = None
    """(n,) bool: the model trained on the item (with `text_parts`)."""

    def __len__(self) -> int:
        return len(self.vocab)


def frozen(array: np.ndarray) -> np.ndarray:
    """`array` contiguous and read-only: what `ItemArrays` holds, shared between threads."""
    out = np.ascontiguousarray(array)
    out.setflags(write=False)
    return out


@runtime_checkable
class EmbeddingModel(Protocol):
    """What the engine asks of a fitted model, beyond `Recommender.score`."""

    @property
    def max_length(self) -> int:
        """Most recent events the model reads."""
        ...

    @property
    def text_dimension(self) -> int:
        """Size of the language-model vectors the model reads (0: trained without text)."""
        ...

    @property
    def text_encoder(self) -> str | None:
        """The text encoder spec the model's item vectors came from (None: the default)."""
        ...

    @property
    def text_template(self) -> str:
        """How catalogue fields became the text the encoder read."""
        ...

    @property
    def reads_each_interest(self) -> bool:
        """Whether `item_scores` reads each query's own event sequence (a hybrid's kNN
        half does), so the engine passes one sequence per interest rather than the
        session's."""
        ...

    def item_arrays(self) -> ItemArrays:
        """The per-item arrays of the model as it is now (a full pass over the catalogue)."""
        ...

    def session_states(
        self, arrays: ItemArrays, sequence: np.ndarray, types: np.ndarray
    ) -> np.ndarray:
        """(T, C): the model's reading of one session after each of its last T events
        (T = min(len, max_length)), from vocabulary rows and event-type codes oldest first;
        row -1 is the session vector. (0, C) for an empty session."""
        ...

    def text_to_item_space(self, vectors: np.ndarray) -> np.ndarray:
        """(m, C): language-model vectors (of items or of a typed request) as item vectors."""
        ...

    def item_scores(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        sequences: Sequence[np.ndarray],
        histories: Sequence[np.ndarray],
    ) -> np.ndarray:
        """(n, R) scores of every item for R query vectors: what `score` gives a session
        whose vector is the query. Per query, `sequences` holds the events the query stands
        for (vocabulary rows; a hybrid's kNN half reads them) and `histories` the items of
        its whole session (what repeat offsets push down)."""
        ...

    def add_items(
        self, arrays: ItemArrays, item_ids: list[str], text_vectors: np.ndarray
    ) -> ItemArrays:
        """Grow or update the model from items' text vectors; the arrays after the change.
        New items are scored at once, as the model scores any item it never trained on.
        Callers serialise calls."""
        ...


@runtime_checkable
class RowScoringModel(Protocol):
    """An embedding model that can score chosen rows alone: its scores are dot products
    with `ItemArrays.item_vectors` (plus offsets for the session's own items and, for items
    it never trained on, a boost), so an engine over a catalogue too large to score
    whole retrieves the best rows through an index over the item vectors and scores those
    (the transformer; not the hybrid, whose kNN half is no dot product)."""

    def row_scores(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        rows: np.ndarray,
        histories: Sequence[np.ndarray],
    ) -> np.ndarray:
        """(len(rows), R): `item_scores` of these sorted distinct rows, the same numbers
        without scoring the rest of the catalogue."""
        ...


EMBEDDING_MEMBERS = (
    "max_length",
    "text_dimension",
    "text_encoder",
    "text_template",
    "reads_each_interest",
    "item_arrays",
    "session_states",
    "text_to_item_space",
    "item_scores",
    "add_items",
)


def as_embedding_model(model: object) -> EmbeddingModel:
    """`model` as an `EmbeddingModel`, or a ConfigError naming what it lacks."""
    missing = [name for name in EMBEDDING_MEMBERS if not hasattr(type(model), name)]
    if missing:
        name = getattr(model, "name", type(model).__name__)
        raise ConfigError(
            f"the interactive engine needs a model with an embedding space; {name!r} lacks "
            f"{', '.join(missing)} (models.embedding.EmbeddingModel). Train one that has "
            "it, e.g. `sessionrec train --model transformer` or `--model hybrid`"
        )
    assert isinstance(model, EmbeddingModel)
    return model
