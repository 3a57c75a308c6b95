"""The one model protocol: fit on interactions, score sessions, save and load.

Evaluation calls nothing else; the interactive engine also reads a model's embedding space
(`models.embedding`). A new model is one file that subclasses `Recommender`, plus its
entry in the hand-written list of `models.registry`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from sessionrec.data.schema import EVENT_TYPE, ITEM_ID, Catalogue, Interactions, event_type_codes
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError, DataError

CONFIG_FILE = "config.json"
VOCAB_FILE = "items.json"
STATE_FILE = "weights.safetensors"


@dataclass(frozen=True)
class SessionBatch:
    """Sessions to score: per session, item indices oldest first (UNKNOWN_INDEX allowed).

    `event_types` parallels `items` with `EventType.code` values; None means all views.
    """

    items: Sequence[np.ndarray]
    event_types: Sequence[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def of(cls, *sessions: Sequence[int]) -> SessionBatch:
        """A batch from plain lists of indices (tests, quick experiments)."""
        return cls([np.asarray(s, dtype=np.int64) for s in sessions])

    def rows(self, start: int, stop: int) -> SessionBatch:
        """Sessions start..stop-1 with their event types: a chunk to score at once."""
        types = None if self.event_types is None else self.event_types[start:stop]
        return SessionBatch(self.items[start:stop], types)

    def take(self, indices: Sequence[int] | np.ndarray) -> SessionBatch:
        """The sessions at `indices`, in that order, with their event types."""
        types = None if self.event_types is None else [self.event_types[i] for i in indices]
        return SessionBatch([self.items[i] for i in indices], types)

    def known(self, i: int) -> np.ndarray:
        """Session i without its unknown items: models score what they know."""
        seq = self.items[i]
        return seq[seq != UNKNOWN_INDEX]

    def known_types(self, i: int) -> np.ndarray:
        """Event-type codes parallel to `known(i)` (all views when no types were given)."""
        seq = np.asarray(self.items[i])
        if self.event_types is None:
            return np.zeros(int((seq != UNKNOWN_INDEX).sum()), dtype=np.int64)
        return np.asarray(self.event_types[i], dtype=np.int64)[seq != UNKNOWN_INDEX]


@dataclass(frozen=True)
class ModelConfig:
    """Base for each model's typed config; subclasses add documented fields."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """Build from a dict, rejecting unknown names so typos do not pass silently."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {unknown} for {cls.__name__}; valid: {sorted(names)}"
            )
        return cls(**values)


class Recommender(ABC):
    """A session recommender over a fixed item vocabulary.

    `score` returns one row per session and one column per vocabulary item; higher is
    better. Items the model knows nothing about may score 0 or -inf but never NaN.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    trains_in_parallel: ClassVar[bool] = False
    """Whether `fit` splits its work across DDP processes (`train.distributed`); a model
    that does not would train the same thing in every process."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()
        self.vocab: Vocabulary = Vocabulary([])

    @property
    def n_items(self) -> int:
        return len(self.vocab)

    @abstractmethod
    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        """Learn from `train` (ordered by session, then time); `valid` only for selection."""

    @abstractmethod
    def score(self, sessions: SessionBatch) -> np.ndarray:
        """Scores of shape (len(sessions), n_items), float."""

    @abstractmethod
    def _to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted model's weights as named arrays: what `save` writes, and with config
        and vocabulary all `_from_arrays` needs."""

    @abstractmethod
    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted model's weights from what `_to_arrays` gave (after `load` has set
        config and vocabulary)."""

    def save(self, path: str | Path) -> None:
        """Write config, vocabulary and weight arrays (safetensors, no pickle) into a folder."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"model": self.name, "config": self.config.to_dict()}
        (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        (folder / VOCAB_FILE).write_text(json.dumps(self.vocab.to_list()))
        arrays = {k: np.ascontiguousarray(v) for k, v in self._to_arrays().items()}
        save_file(arrays, str(folder / STATE_FILE))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read what `save` wrote; refuses a directory saved by another model."""
        folder = Path(path)
        try:
            meta = json.loads((folder / CONFIG_FILE).read_text())
            ids = json.loads((folder / VOCAB_FILE).read_text())
            arrays = load_file(str(folder / STATE_FILE))
        except (OSError, ValueError, KeyError, SafetensorError) as exc:
            raise DataError(f"cannot load model: {exc}", path=folder) from exc
        if meta.get("model") != cls.name:
            raise DataError(f"saved model is {meta.get('model')!r}, not {cls.name!r}", path=folder)
        model = cls(cls.config_class.from_dict(meta["config"]))
        model.vocab = Vocabulary(ids)
        model._from_arrays(arrays)
        return model


def encode_sessions(train: Interactions, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Training sessions as CSR-like arrays: item indices and session start offsets.

    Rows are taken in the frame's order, which the protocols guarantee is by session and
    then time; a session is a run of equal session ids.
    """
    frame = train.frame
    items = vocab.lookup(frame[ITEM_ID].to_numpy())
    keys = pd.factorize(frame["session_id"])[0]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    offsets = np.r_[starts, len(items)].astype(np.int64)
    return items, offsets


def encode_event_types(train: Interactions) -> np.ndarray:
    """Event-type codes of the training rows, parallel to `encode_sessions`' items."""
    return event_type_codes(train.frame[EVENT_TYPE])
