"""The fitted transformer as an embedding space: session vectors, item vectors, scores.

Scores are dot products of a session vector and item vectors, plus the learned offsets of
items the session already holds; an item the model never trained on has a vector borrowed
from its nearest trained items by text, and a boost (`models.exposure`).
`EmbeddingSpace._scores` computes them once for both callers: `score` (one
session vector per session of a batch) and the interactive engine's `item_scores` (query
vectors it has steered), so the engine's base scores are the model's scores. The rest
implements `models.embedding.EmbeddingModel`: per-item arrays, one session read event by
event through a traced encoder, and items added from their text while serving.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch
from sessionrec.models.embedding import ItemArrays, frozen
from sessionrec.models.exposure import borrowed_vectors
from sessionrec.models.neural import inference
from sessionrec.models.repeats import repeat_offsets
from sessionrec.models.sequences import left_pad, without_leading_padding
from sessionrec.models.transformer.net import CausalTransformer, TransformerConfig
from sessionrec.text.base import normalise_rows

Encoder = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""(items, types, table) -> hidden states: `CausalTransformer.encode`'s signature."""

WARMUP_RUNS = 10
"""Runs of the traced encoder right after tracing."""


class _Encode(nn.Module):
    """`CausalTransformer.encode` as a module's forward, so that it can be traced."""

    def __init__(self, net: CausalTransformer) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, items: torch.Tensor, types: torch.Tensor, table: torch.Tensor
    ) -> torch.Tensor:
        return self.net.encode(items, types, table)


def traced_encoder(net: CausalTransformer, length: int) -> Encoder:
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


class SessionEncoder:
    """Reads one session at a time through the network, traced on first use.

    Safe to share between threads: the encoder is traced once under a lock (again only if
    the model's network is replaced, by fitting or loading).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traced: tuple[CausalTransformer, Encoder] | None = None
        """The network the encoder was traced from, and the traced encoder."""
        self._positions: dict[int, torch.Tensor] = {}
        """Per session length, the padded table positions the encoder reads (constant, so
        built once; never written to)."""

    def encoder(self, net: CausalTransformer, max_length: int) -> Encoder:
        """`traced_encoder` of `net`, traced by the first caller."""
        traced = self._traced
        if traced is not None and traced[0] is net:
            return traced[1]
        with self._lock:
            if self._traced is None or self._traced[0] is not net:
                net.eval()
                self._traced = (net, traced_encoder(net, max_length))
            return self._traced[1]

    def states(
        self, net: CausalTransformer, table: np.ndarray, types: np.ndarray, max_length: int
    ) -> np.ndarray:
        """(T, C) hidden states of a session of T ≤ max_length events whose item vectors
        are the rows of `table` (T, C), oldest first, with event-type codes `types` (T,)."""
        length = len(table)
        encode = self.encoder(net, max_length)
        # Each event gets its own table row (repeats included): cheaper than deduplicating.
        items = self._positions.get(length)
        if items is None:
            items = torch.from_numpy(left_pad([np.arange(length)], max_length, UNKNOWN_INDEX))
            self._positions[length] = items
        codes = torch.from_numpy(left_pad([types], max_length, 0))
        with torch.inference_mode():
            hidden = encode(items, codes, torch.from_numpy(table))
        # Sliced as numpy (torch indexing costs more than the copy) and copied out.
        return hidden.numpy()[0, -length:, :].astype(np.float32)


FEW_QUERIES = 64
"""Up to this many queries, item scores are computed as the tall product (items ×
queries) and transposed: OpenBLAS runs that shape 1.5 to 3 times faster than the wide one
for a handful of queries over 100,000 items, to the same bits."""


def dot_rows(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(B, n) dot products of each query with each row of `vectors`: what the engine's
    few per-request queries and the evaluation's large batches both need."""
    if len(queries) <= FEW_QUERIES:
        return (vectors @ queries.T).T  # a view of the (n, B) product, F-ordered
    return queries @ vectors.T


class EmbeddingSpace:
    """The embedding-space half of `SessionTransformer` (see the module docstring)."""

    config: TransformerConfig
    vocab: Vocabulary
    net: CausalTransformer | None
    text_vectors: dict[str, np.ndarray] | None
    _session_encoder: SessionEncoder

    def _fitted_net(self) -> CausalTransformer:
        if self.net is None:
            raise ConfigError("the transformer is not fitted")
        return self.net

    # -- vectors ----------------------------------------------------------------------------

    def session_vectors(
        self, sessions: SessionBatch, item_vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """(B, C) float32: what each session asks for (zeros for a session with no known
        item), reading the items through `item_vectors` (default: `item_vectors()`), so an
        item never trained on reads as its borrowed vector, as the engine reads it."""
        net = self._fitted_net()
        if item_vectors is None:
            item_vectors = self.item_vectors()
        n = len(sessions)
        items = self._padded_items(sessions)
        type_codes = left_pad(
            [sessions.known_types(i) for i in range(n)], self.config.max_length, 0
        )
        read, read_types = without_leading_padding(items, type_codes)
        with inference(net):
            table = torch.from_numpy(item_vectors)
            read_items, read_codes = torch.from_numpy(read), torch.from_numpy(read_types)
            hidden = net.encode(read_items, read_codes, table, last_only=True)
        out = hidden[:, -1, :].numpy().astype(np.float32)  # the last position's reading
        out[(items < 0).all(axis=1)] = 0.0
        return out

    def _padded_items(self, sessions: SessionBatch) -> np.ndarray:
        """(B, max_length) known item indices, left-padded with -1: what the model reads."""
        n = len(sessions)
        return left_pad(
            [sessions.known(i) for i in range(n)], self.config.max_length, UNKNOWN_INDEX
        )

    def item_vectors(self) -> np.ndarray:
        """(n_items, C) float32 item vectors, in vocabulary order."""
        return self._item_tables()[0]

    def _item_tables(self, neighbours: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(n_items, C) float32 item vectors and their text parts (None without text), from
        one pass of the adapter over the catalogue. With a text head, items never trained
        on have vectors borrowed from their `neighbours` nearest trained items (default:
        the number the model chose, `models.exposure`)."""
        net = self._fitted_net()
        with inference(net):
            ids, text = net.items.parts()
            table = net.items.combine(ids, text).numpy().astype(np.float32)
        parts = None if text is None else text.numpy().astype(np.float32)
        if parts is not None and self._has_text_head:
            trained = net.items.trained.numpy()
            new = np.flatnonzero(~trained)
            if len(new) and trained.any():
                k = int(net.items.new_item_neighbours) if neighbours is None else neighbours
                table[new] = borrowed_vectors(table, parts, trained, new, k)
        return table, parts

    def repeat_bias(self) -> np.ndarray | None:
        """The learned score offset per distance bucket (`models.repeats`), if any."""
        repeats = self._fitted_net().repeats
        return None if repeats is None else repeats.offsets()

    @property
    def has_text(self) -> bool:
        """Whether items are read through language-model text vectors."""
        return self._fitted_net().items.adapter is not None

    @property
    def _has_text_head(self) -> bool:
        """Whether the model has a text head, whose text parts new items borrow vectors by."""
        items = self._fitted_net().items
        return self.config.text_head > 0 and items.ids is not None and items.adapter is not None

    @property
    def borrows_untrained_vectors(self) -> bool:
        """Whether items never seen in training are scored through vectors borrowed from
        their nearest trained items by text, plus the boost (`models.exposure`), rather
        than by their text part dotted with the session as if it were a full item vector."""
        items = self._fitted_net().items
        return self._has_text_head and not items.all_trained and bool(items.trained.any())

    # -- scores -----------------------------------------------------------------------------

    def _scores(
        self,
        queries: np.ndarray,
        item_vectors: np.ndarray,
        trained: np.ndarray | None,
        histories: Sequence[np.ndarray],
    ) -> np.ndarray:
        """(B, n) float64 scores of every item for B session vectors, with the repeat
        offsets of each session's `histories` and, given which items were `trained` on, the
        new-item boost on the others (whose rows of `item_vectors` are borrowed,
        `models.exposure`). What `score` and `item_scores` both return."""
        full = self._head_scores(queries, item_vectors, histories)
        boost = self._new_item_boost(trained)
        if boost and trained is not None:
            full[:, ~trained] += boost
        return full

    def _new_item_boost(self, trained: np.ndarray | None) -> float:
        """The boost on items never `trained` on; 0 when every item was, or none (a shift
        of every score alike changes no ranking)."""
        if trained is None or not 0 < np.count_nonzero(trained) < len(trained):
            return 0.0
        return float(self._fitted_net().items.new_item_boost)

    def _head_scores(
        self, queries: np.ndarray, item_vectors: np.ndarray, histories: Sequence[np.ndarray]
    ) -> np.ndarray:
        """(B, n) float64 dot products with the repeat offsets, without the boost."""
        # A session with no known item has a zero vector and no repeats: all scores 0.
        # (B, n): one matrix product for the whole batch, in float64 from here on.
        full = dot_rows(queries, item_vectors).astype(np.float64)
        offsets = self._history_offsets(histories)
        if offsets is not None:
            rows, columns, values = offsets
            # An item may occur repeatedly: its offsets are summed first (in the order a
            # dense array of offsets would add them), then added to its score once. The
            # same numbers as adding a (B, n) array of offsets, without building one.
            n = full.shape[1]
            cells, cell_of = np.unique(rows * n + columns, return_inverse=True)
            sums = np.zeros(len(cells))
            np.add.at(sums, cell_of, values)
            full[cells // n, cells % n] += sums  # cells are distinct: one add each
        return full

    def row_scores(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        rows: np.ndarray,
        histories: Sequence[np.ndarray],
    ) -> np.ndarray:
        """(len(rows), R) float64: what `item_scores` gives these sorted, distinct rows,
        without scoring the rest of the catalogue (`models.embedding.RowScoringModel`):
        every score is the row's own, a new item's from its borrowed vector and the boost.
        """
        full = self._full_head_rows(
            arrays, np.asarray(queries), rows, self._history_offsets(histories)
        )
        boost = self._new_item_boost(arrays.trained)
        if boost and arrays.trained is not None:
            full[:, ~arrays.trained[rows]] += boost
        return full.T

    def _history_offsets(
        self, histories: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(query, vocabulary row, offset) of each repeat offset the histories' items get
        (`models.repeats`), from each history's last `max_length` known items; None for a
        model without learned offsets."""
        bias = self.repeat_bias()
        if bias is None:
            return None
        known = [np.asarray(h, dtype=np.int64) for h in histories]
        window = left_pad(
            [h[h != UNKNOWN_INDEX] for h in known], self.config.max_length, UNKNOWN_INDEX
        )
        return repeat_offsets(window, bias)

    def _full_head_rows(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        rows: np.ndarray,
        offsets: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:
        """(R, len(rows)) float64 full-head scores of sorted distinct rows, with the repeat
        `offsets` (`_history_offsets`) of the items among them."""
        full = dot_rows(queries, arrays.item_vectors[rows]).astype(np.float64)
        if offsets is None or not len(rows):
            return full
        query_of, columns, values = offsets
        at = np.minimum(np.searchsorted(rows, columns), len(rows) - 1)
        hit = rows[at] == columns
        np.add.at(full, (query_of[hit], at[hit]), values[hit])
        return full

    # -- the embedding-model protocol (`models.embedding.EmbeddingModel`) -----------------

    @property
    def max_length(self) -> int:
        """Most recent events the model reads."""
        return self.config.max_length

    @property
    def text_dimension(self) -> int:
        """Size of the language-model vectors the model reads (0: none, or not fitted)."""
        if self.net is None or self.net.items.adapter is None:
            return 0
        return int(self.net.items.text.shape[1])

    @property
    def text_encoder(self) -> str | None:
        """The text encoder spec the item vectors came from (None: the bundled default)."""
        return self.config.text_encoder

    @property
    def text_template(self) -> str:
        """How catalogue fields became the text the encoder read."""
        return self.config.text_template

    @property
    def reads_each_interest(self) -> bool:
        """False: the transformer's scores depend on the query vector alone."""
        return False

    def item_arrays(self) -> ItemArrays:
        """The per-item arrays of the model as it is now (one adapter pass)."""
        net = self._fitted_net()
        item_vectors, text_parts = self._item_tables()
        if self.text_dimension:
            text = normalise_rows(net.items.text.numpy().astype(np.float32))
        else:
            text = np.zeros((len(self.vocab), 0), np.float32)
        similarity = text if self.text_dimension else normalise_rows(item_vectors)
        head = self._has_text_head and text_parts is not None
        return ItemArrays(
            vocab=self.vocab,
            item_vectors=frozen(item_vectors),
            text=frozen(text),
            similarity=frozen(similarity),
            popularity=frozen(net.items.log_q.numpy().astype(np.float64)),
            text_parts=frozen(text_parts) if head and text_parts is not None else None,
            trained=frozen(net.items.trained.numpy().copy()) if head else None,
        )

    def session_states(
        self, arrays: ItemArrays, sequence: np.ndarray, types: np.ndarray
    ) -> np.ndarray:
        """(T, C): the transformer's reading of the session after each of its last T events
        (T = min(len, max_length)); row -1 is the session vector, row t what the model makes
        of the session up to event t. (0, C) for an empty session.

        Only the rows of the session's own items are handed to the network, not the whole
        item table, which `session_vectors` rebuilds per call.
        """
        rows = np.asarray(sequence, dtype=np.int64)[-self.max_length :]
        if not len(rows):
            return np.zeros((0, arrays.item_vectors.shape[1]), dtype=np.float32)
        codes = np.asarray(types, dtype=np.int64)[-self.max_length :]
        table = arrays.item_vectors.take(rows, axis=0)
        return self._session_encoder.states(self._fitted_net(), table, codes, self.max_length)

    def text_to_item_space(self, vectors: np.ndarray) -> np.ndarray:
        """(m, C): language-model vectors (of items or of a typed request) as item vectors.

        Through the adapter alone, as for an item never seen in training.
        """
        net = self._fitted_net()
        adapter = net.items.adapter
        if adapter is None:
            raise ConfigError("this transformer was trained without item text")
        text = np.array(vectors, dtype=np.float32)  # a copy: torch wants writable memory
        if text.ndim != 2 or text.shape[1] != net.items.text.shape[1]:
            raise ConfigError(
                f"text vectors must have shape (m, {net.items.text.shape[1]}), got {text.shape}"
            )
        with inference(adapter):
            return adapter(torch.from_numpy(text)).numpy().astype(np.float32)

    def item_scores(
        self,
        arrays: ItemArrays,
        queries: np.ndarray,
        sequences: Sequence[np.ndarray],
        histories: Sequence[np.ndarray],
    ) -> np.ndarray:
        """(n, R) float64: `score` of sessions whose vectors are `queries` (see
        `EmbeddingModel`); `sequences` are not read (the transformer reads `queries`)."""
        return self._scores(np.asarray(queries), arrays.item_vectors, arrays.trained, histories).T

    def add_items(
        self, arrays: ItemArrays, item_ids: list[str], text_vectors: np.ndarray
    ) -> ItemArrays:
        """Grow or update the model from items' text vectors; the arrays after the change.

        New items are scored at once: with a text head, through vectors borrowed from
        their nearest trained items by text (`models.exposure`); without, through their
        text part alone. Callers serialise calls.
        """
        if not self.text_dimension:
            raise ConfigError(
                "this model was trained without item text, so it cannot score new items; "
                "retrain with text (the default) to add items at run time"
            )
        if any(item in arrays.vocab for item in item_ids):
            # A known item's text changed: its vector mixes a learned ID part and the text,
            # so rebuild the arrays from the model (rare, an admin edit).
            self._grow(item_ids, text_vectors)
            return self.item_arrays()
        self._grow(item_ids, text_vectors)
        unit = normalise_rows(text_vectors)
        fresh = self.text_to_item_space(unit)
        n_new = len(item_ids)
        text_parts, trained = arrays.text_parts, arrays.trained
        vectors = fresh
        if text_parts is not None and trained is not None:
            text_parts = frozen(np.concatenate([text_parts, fresh]))
            trained = frozen(np.concatenate([trained, np.zeros(n_new, dtype=bool)]))
            new_rows = np.arange(len(arrays.item_vectors), len(trained))
            table = np.concatenate([arrays.item_vectors, fresh])  # donors: the trained rows
            k = int(self._fitted_net().items.new_item_neighbours)
            vectors = borrowed_vectors(table, text_parts, trained, new_rows, k)
        return ItemArrays(
            vocab=self.vocab,
            item_vectors=frozen(np.concatenate([arrays.item_vectors, vectors])),
            text=frozen(np.concatenate([arrays.text, unit])),
            similarity=frozen(np.concatenate([arrays.similarity, unit])),
            popularity=frozen(np.concatenate([arrays.popularity, np.full(n_new, -np.inf)])),
            text_parts=text_parts,
            trained=trained,
        )

    def _grow(self, item_ids: list[str], text_vectors: np.ndarray) -> None:
        """Make items recommendable in place: new ids get their text as their only part.

        Known ids get their text vector replaced (their learned ID part stays). The
        vocabulary grows at the end, so existing indices keep their meaning.
        """
        items = self._fitted_net().items
        if items.adapter is None:
            raise ConfigError("this transformer was trained without item text")
        vectors = torch.from_numpy(np.asarray(text_vectors, dtype=np.float32))
        if vectors.ndim != 2 or vectors.shape != (len(item_ids), items.text.shape[1]):
            raise ConfigError(
                f"expected {len(item_ids)} text vectors of size {items.text.shape[1]}, "
                f"got shape {tuple(vectors.shape)}"
            )
        new_rows = [i for i, item in enumerate(item_ids) if item not in self.vocab]
        for i, item in enumerate(item_ids):
            if item in self.vocab:
                items.text[self.vocab.index(item)] = vectors[i]
        if not new_rows:
            return
        self.vocab = Vocabulary(self.vocab.ids + [item_ids[i] for i in new_rows])
        n_new = len(new_rows)
        items.text = torch.cat([items.text, vectors[new_rows]])
        items.trained = torch.cat([items.trained, torch.zeros(n_new, dtype=torch.bool)])
        items.probes = torch.cat([items.probes, torch.zeros(n_new, dtype=torch.bool)])
        items.log_q = torch.cat([items.log_q, torch.full((n_new,), float("-inf"))])
        if items.ids is not None:
            grown = nn.Embedding(items.n_items + n_new, items.ids.embedding_dim)
            with torch.no_grad():
                grown.weight[: items.n_items] = items.ids.weight
                grown.weight[items.n_items :] = 0.0
            items.ids = grown
        items.n_items += n_new
        if self.text_vectors is not None:
            for i in new_rows:
                self.text_vectors[item_ids[i]] = text_vectors[i]
