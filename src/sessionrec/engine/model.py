"""The trained model seen as an embedding space: session vectors, item vectors, text.

The engine needs more than `Recommender.score`: it steers the session vector with a
request, scores several interests at once and compares items in language-model space.
This adapter offers that for the session transformer and for the hybrid (whose kNN half
is blended in as a probability, as `Hybrid.score` does). Every per-item array is
precomputed once into an immutable `ItemArrays`; adding items builds a new one, so a
request in flight never sees arrays of two different sizes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sessionrec.data.schema import EventType
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.models.base import Recommender as Model
from sessionrec.models.base import SessionBatch
from sessionrec.models.exposure import as_new_items
from sessionrec.models.hybrid import Hybrid, as_distribution
from sessionrec.models.repeats import repeat_offsets
from sessionrec.models.sequences import left_pad
from sessionrec.models.transformer import CausalTransformer, SessionTransformer
from sessionrec.text.base import normalise_rows

PROBABILITY_FLOOR = 1e-12
"""Added before the log of a hybrid's blended probability, so items nobody votes for and
the transformer finds unlikely still rank (by the transformer) instead of tying at -inf."""


@dataclass(frozen=True)
class ItemArrays:
    """Everything per item, in vocabulary order, at one moment of the catalogue."""

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
    knn_index: np.ndarray | None
    """(n,) index of each item in a hybrid's kNN vocabulary (-1: unknown to it)."""
    text_parts: np.ndarray | None = None
    """(n, C) the text parts of the item vectors, where the model scores items it never
    trained on through its text head (`SessionTransformer.calibrates_untrained_items`)."""
    trained: np.ndarray | None = None
    """(n,) bool: the model trained on the item (with `text_parts`)."""

    def __len__(self) -> int:
        return len(self.vocab)


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array)
    out.setflags(write=False)
    return out


Encoder = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class _Encode(torch.nn.Module):
    """`CausalTransformer.encode` as a module's forward, so that it can be traced."""

    def __init__(self, net: CausalTransformer) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, items: torch.Tensor, types: torch.Tensor, table: torch.Tensor
    ) -> torch.Tensor:
        return self.net.encode(items, types, table)


WARMUP_RUNS = 10
"""Runs of the traced encoder at load time."""


def _traced_encoder(net: CausalTransformer, length: int) -> Encoder:
    """The network's session encoder traced to TorchScript for one session of `length`.

    A request runs the network once on one short sequence, where Python's per-operation
    overhead is most of the cost; the traced graph removes a third of it. Falls back to the
    plain method if tracing fails (the results are the same either way).
    """
    with torch.inference_mode():
        table = net.items.table()  # the real shape: the graph specialises on it
    items = torch.arange(length).unsqueeze(0) % table.shape[0]
    types = torch.zeros(1, length, dtype=torch.long)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.freeze(
                torch.jit.trace(  # type: ignore[no-untyped-call]
                    _Encode(net).eval(), (items, types, table), check_trace=False
                )
            )
        with torch.inference_mode():
            # TorchScript's profiling executor optimises the graph over its first runs;
            # doing them here keeps that cost out of the first requests.
            for _ in range(WARMUP_RUNS):
                traced(items, types, table)
    except Exception:  # tracing is an optimisation; any failure means eager mode
        return net.encode
    return traced


class EmbeddingModel:
    """A transformer or hybrid read as an embedding space (see the module docstring)."""

    def __init__(self, model: Model, training_types: Mapping[str, int] | None = None) -> None:
        if isinstance(model, Hybrid):
            self.transformer = model.transformer
            self.hybrid: Hybrid | None = model
        elif isinstance(model, SessionTransformer):
            self.transformer = model
            self.hybrid = None
        else:
            raise ConfigError(
                f"the interactive engine needs a 'transformer' or 'hybrid' artifact, not "
                f"{model.name!r}: train one with `sessionrec train --model hybrid`"
            )
        self.model = model
        net = self.transformer.net
        if net is None:
            raise ConfigError("the artifact's transformer is not fitted")
        net.eval()
        self.net = net
        self.max_length = self.transformer.config.max_length
        self.text_dimension = int(net.items.text.shape[1])
        self.has_text = self.text_dimension > 0 and net.items.adapter is not None
        self.type_codes = self._type_codes(training_types)
        self._encode = _traced_encoder(net, self.max_length)
        self.repeat_bias = self.transformer.repeat_bias()
        self.has_text_head = (
            self.has_text and self.transformer.config.text_head > 0 and net.items.ids is not None
        )
        self.new_item_boost = float(net.items.new_item_boost)
        self._positions: dict[int, torch.Tensor] = {}
        """Per session length, the padded table positions the encoder reads (constant, so
        built once; never written to)."""

    def arrays(self) -> ItemArrays:
        """The per-item arrays of the model as it is now (a full pass over the catalogue)."""
        vocab = self.transformer.vocab
        item_vectors = self.transformer.item_vectors()
        text = self.net.items.text.numpy().astype(np.float32)
        text = normalise_rows(text) if self.has_text else np.zeros((len(vocab), 0), np.float32)
        similarity = text if self.has_text else normalise_rows(item_vectors)
        knn_index = None
        if self.hybrid is not None and self.hybrid.weight < 1:
            knn_index = self.hybrid.knn.vocab.lookup(vocab.ids)
        text_parts = trained = None
        if self.has_text_head:
            text_parts = _frozen(self.transformer.text_item_vectors())
            trained = _frozen(self.net.items.trained.numpy().copy())
        return ItemArrays(
            vocab=vocab,
            item_vectors=_frozen(item_vectors),
            text=_frozen(text),
            similarity=_frozen(similarity),
            popularity=_frozen(self.net.items.log_q.numpy().astype(np.float64)),
            knn_index=None if knn_index is None else _frozen(knn_index),
            text_parts=text_parts,
            trained=trained,
        )

    def _type_codes(self, training_types: Mapping[str, int] | None) -> np.ndarray:
        """Event-type code → the code the model reads.

        A type the model never saw in training has an untrained embedding; such events are
        read as the most common training type instead (MovieLens has only ratings, so a
        click on the demo page reads as a rating).
        """
        codes = np.arange(len(EventType), dtype=np.int64)
        valid = {t.value for t in EventType}
        seen = {EventType(t): n for t, n in (training_types or {}).items() if t in valid}
        if not seen:
            return codes
        commonest = max(seen, key=lambda t: seen[t]).code
        for event_type in EventType:
            if event_type not in seen:
                codes[event_type.code] = commonest
        return codes

    # -- per request ----------------------------------------------------------------------

    def session_states(
        self, arrays: ItemArrays, sequence: np.ndarray, types: np.ndarray
    ) -> np.ndarray:
        """(T, C): the transformer's reading of the session after each of its last T events
        (T = min(len, max_length)); row -1 is the session vector, row t what the model makes
        of the session up to event t. (0, C) for an empty session.

        Only the rows of the session's own items are handed to the network, not the whole
        item table, which the model's own `session_vectors` would rebuild per call.
        """
        rows = np.asarray(sequence, dtype=np.int64)[-self.max_length :]
        length = len(rows)
        if not length:
            return np.zeros((0, arrays.item_vectors.shape[1]), dtype=np.float32)
        # Each event gets its own table row (repeats included): cheaper than deduplicating.
        items = self._positions.get(length)
        if items is None:
            items = torch.from_numpy(left_pad([np.arange(length)], self.max_length, UNKNOWN_INDEX))
            self._positions[length] = items
        codes = left_pad(
            [self.type_codes[np.asarray(types, dtype=np.int64)[-self.max_length :]]],
            self.max_length,
            0,
        )
        table = torch.from_numpy(arrays.item_vectors.take(rows, axis=0))
        with torch.inference_mode():
            hidden = self._encode(items, torch.from_numpy(codes), table)
        # Sliced as numpy (torch indexing costs more than the copy) and copied out.
        return hidden.numpy()[0, -length:, :].astype(np.float32)

    def base_scores(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        sequences: Sequence[np.ndarray],
        history: np.ndarray,
    ) -> np.ndarray:
        """(n, R): model scores of every item for R query vectors.

        For a transformer, the logits (float32: one pass over the item vectors is the
        biggest cost of a request), with the model's learned offsets for items already in
        `history` (the session's items) and its text-head scores for items it never
        trained on. For a hybrid, the log of its blend of the transformer's softmax and the
        kNN votes of `sequences` (one per query).
        """
        logits = arrays.item_vectors @ queries.T
        if self.repeat_bias is not None and len(history):
            window = left_pad([np.asarray(history, np.int64)], self.max_length, UNKNOWN_INDEX)
            _, columns, values = repeat_offsets(window, self.repeat_bias)
            offsets = np.zeros(len(logits), dtype=np.float64)
            np.add.at(offsets, columns, values)
            logits = logits + offsets.astype(np.float32)[:, None]
        trained = arrays.trained
        if (
            arrays.text_parts is not None
            and trained is not None
            and 0 < trained.sum() < len(trained)
        ):
            # Items never trained on: text-head scores on the full head's scale.
            text_logits = arrays.text_parts @ queries.T  # (no repeat offsets: see the model)
            logits = as_new_items(
                logits.T.astype(np.float64),
                text_logits.T.astype(np.float64),
                ~trained,
                trained,
                self.new_item_boost,
            ).T.astype(np.float32)
        if self.hybrid is None or arrays.knn_index is None:
            return logits
        weight = self.hybrid.weight
        blended = weight * as_distribution(logits.T.astype(np.float64), "logits").T
        blended += (1 - weight) * self._knn_probabilities(arrays.knn_index, sequences)
        return np.log(blended + PROBABILITY_FLOOR)

    def _knn_probabilities(self, to_knn: np.ndarray, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """(n, R) kNN vote distributions, re-indexed to the transformer's vocabulary."""
        assert self.hybrid is not None
        translated = SessionBatch(
            [np.where(s >= 0, to_knn[np.maximum(s, 0)], -1) for s in sequences]
        )
        votes = as_distribution(self.hybrid.knn.score(translated), "votes")
        out = np.zeros((len(to_knn), len(sequences)))
        known = to_knn >= 0
        out[known] = votes[:, to_knn[known]].T
        return out

    def text_to_item_space(self, vectors: np.ndarray) -> np.ndarray:
        return self.transformer.text_to_item_space(vectors)

    # -- catalogue changes ----------------------------------------------------------------

    def add_items(
        self, arrays: ItemArrays, item_ids: list[str], text_vectors: np.ndarray
    ) -> ItemArrays:
        """Grow or update the model; returns the arrays after the change.

        Callers serialise calls. New items get their text as their only part (the model's
        rule for items it never trained on), so they are scored at once.
        """
        if not self.has_text:
            raise ConfigError(
                "this model was trained without item text, so it cannot score new items; "
                "retrain with text (the default) to add items at run time"
            )
        if any(item in arrays.vocab for item in item_ids):
            # A known item's text changed: its vector mixes a learned ID part and the text,
            # so rebuild the arrays from the model (rare, an admin edit).
            self.transformer.add_items(item_ids, text_vectors)
            self._sync_hybrid()
            return self.arrays()
        self.transformer.add_items(item_ids, text_vectors)
        self._sync_hybrid()
        unit = normalise_rows(text_vectors)
        fresh = self.transformer.text_to_item_space(unit)
        n_new = len(item_ids)
        knn_index = arrays.knn_index
        if knn_index is not None:
            knn_index = np.concatenate([knn_index, np.full(n_new, UNKNOWN_INDEX, np.int64)])
        text_parts, trained = arrays.text_parts, arrays.trained
        if text_parts is not None and trained is not None:
            text_parts = _frozen(np.concatenate([text_parts, fresh]))
            trained = _frozen(np.concatenate([trained, np.zeros(n_new, dtype=bool)]))
        return ItemArrays(
            vocab=self.transformer.vocab,
            item_vectors=_frozen(np.concatenate([arrays.item_vectors, fresh])),
            text=_frozen(np.concatenate([arrays.text, unit])),
            similarity=_frozen(np.concatenate([arrays.similarity, unit])),
            popularity=_frozen(np.concatenate([arrays.popularity, np.full(n_new, -np.inf)])),
            knn_index=None if knn_index is None else _frozen(knn_index),
            text_parts=text_parts,
            trained=trained,
        )

    def _sync_hybrid(self) -> None:
        if self.hybrid is not None:
            # The hybrid scores over the transformer's vocabulary; its kNN half simply does
            # not know the new items (probability 0 there).
            self.hybrid.vocab = self.transformer.vocab
