"""The text-fused causal session transformer.

Item vector = ID embedding + adapter(frozen language-model text vector). A GPT-style stack
reads the session's item vectors plus position and event-type embeddings; the output at the
last position, dotted with every item vector, scores the next item. Trained with full
softmax cross-entropy at every position (the loss of gSASRec / SASRec-CE, which beats the
original one-negative BCE by a wide margin).

ID dropout zeroes an item's ID part at random during training, so the text path alone
learns to stand for an item. A second loss (the text head) scores items by their text part
alone; an item never seen in training is scored by that head, on the full head's scale,
plus a boost chosen on validation (`models.exposure`). Learned offsets push down items the
session already holds where the training data says people do not repeat
(`models.repeats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Self

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from sessionrec.data.schema import ITEM_ID, Catalogue, EventType, Interactions
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.models.base import Recommender, SessionBatch
from sessionrec.models.exposure import PROBE_SHARE, BoostSearch, as_new_items, choose_probes
from sessionrec.models.neural import NeuralConfig, load_module_arrays, module_arrays
from sessionrec.models.repeats import RepeatBias, repeat_offsets
from sessionrec.models.sequences import (
    left_pad,
    split_sequences,
    training_windows,
    validation_score,
    validation_split,
    with_validation,
)
from sessionrec.text.features import item_text_vectors
from sessionrec.text.template import DEFAULT_TEMPLATE
from sessionrec.train.trainer import Trainer, TrainResult

N_EVENT_TYPES = len(EventType)
MAX_BOOST_CASES = 5000
"""Validation cases (a seeded sample) the new-item boost is chosen on."""


@dataclass(frozen=True)
class TransformerConfig(NeuralConfig):
    """Options of the session transformer (defaults chosen on validation splits)."""

    learning_rate: float = 3e-3
    patience: int = 5
    """Chosen for time to early stop, on ml-100k validation (3 seeds): with 1e-3 and
    patience 10 validation NDCG@10 crept up for 41-76 epochs (0.0988); 3e-3 with patience
    5 stops after 20-30 (0.0941), 2e-3 with patience 5 after 22-26 (0.0914). Half the
    epochs for a twentieth of the score keeps training on two cores within three minutes."""
    embedding_size: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.5
    """High, because session data is small and sparse (0.5 beat 0.2 on ml-100k validation)."""
    max_length: int = 50
    """Most recent events the model reads."""
    window_stride: int | None = None
    """Training windows overlap by max_length - stride (None: no overlap)."""
    random_windows: bool = False
    """Shift each long sequence's window boundaries by a random offset every epoch."""
    use_ids: bool = True
    """Learn an embedding per item id (off: text only)."""
    use_text: bool = True
    """Add the adapter over the item's text vector where text vectors are given."""
    id_dropout: float = 0.1
    """Probability of hiding an item's ID part in training (teaches the text path)."""
    text_head: float = 1.0
    """Weight of a second loss that scores items by their text part alone (0: off). It
    makes the adapter a recommender on its own, so items never seen in training (which
    have nothing else) get scores on the scale of the trained ones; see `score`."""
    text_head_positions: float = 0.25
    """Share of target positions (drawn per batch) the text head's loss is taken over: an
    estimate, as it costs as much as the main loss when taken everywhere."""
    new_item_exposure: float = 0.3
    """Items never seen in training get a score boost, the smallest under which they reach
    a top 20 at least this share as often as trained items do on validation (see
    `models.exposure`); 0: no boost, their scores are the text head's probabilities."""
    text_encoder: str | None = None
    """Text encoder spec for `sessionrec.text.load_encoder` (None: the bundled MiniLM)."""
    text_template: str = DEFAULT_TEMPLATE
    """How an item's catalogue fields become the text the encoder reads."""
    sampled_softmax_above: int = 50_000
    """Catalogue size above which training uses sampled softmax instead of the full one."""
    n_negatives: int = 2048
    """Negatives shared by a batch under sampled softmax."""
    repeat_bias: bool = True
    """Learn score offsets for items already in the session, by how long ago they occurred
    (see `models.repeats`); trained under the full softmax only."""
    refit: bool = False
    """After early stopping, retrain from scratch on training + validation events for the
    chosen number of epochs (doubles training time)."""

    def __post_init__(self) -> None:
        if self.embedding_size % self.n_heads:
            raise ConfigError("embedding_size must be a multiple of n_heads")
        if not (self.use_ids or self.use_text):
            raise ConfigError("switch on at least one of use_ids and use_text")
        if not 0 <= self.id_dropout < 1 or not 0 <= self.dropout < 1:
            raise ConfigError("dropout rates must lie in [0, 1)")


class ItemEncoder(nn.Module):
    """All item vectors: ID embedding (+ adapter over the frozen text vector)."""

    text: torch.Tensor
    """(n_items, text dim) frozen language-model vectors (text dim 0 without text)."""
    trained: torch.Tensor
    """(n_items,) bool: the item occurred in training (only those get an ID part)."""
    log_q: torch.Tensor
    """(n_items,) log-probability of drawing each item as a sampled-softmax negative."""
    probes: torch.Tensor
    """(n_items,) bool: trained items the text head does not train on (`models.exposure`)."""
    new_item_boost: torch.Tensor
    """() the log-probability boost of items never trained on, chosen on validation."""

    def __init__(
        self, n_items: int, size: int, text: torch.Tensor | None, use_ids: bool, dropout: float
    ) -> None:
        super().__init__()
        self.n_items = n_items
        self.ids = nn.Embedding(n_items, size) if use_ids else None
        if self.ids is not None:
            nn.init.normal_(self.ids.weight, std=0.02)
        self.register_buffer("text", text if text is not None else torch.zeros(n_items, 0))
        self.register_buffer("trained", torch.ones(n_items, dtype=torch.bool))
        self.register_buffer("log_q", torch.full((n_items,), -math.log(max(n_items, 1))))
        self.register_buffer("probes", torch.zeros(n_items, dtype=torch.bool))
        self.register_buffer("new_item_boost", torch.zeros(()))
        self.adapter = (
            nn.Sequential(
                nn.Linear(text.shape[1], size),
                nn.GELU(),
                Dropout(dropout),
                nn.Linear(size, size),
            )
            if text is not None
            else None
        )

    @property
    def all_trained(self) -> bool:
        """Every item occurred in training (then no score needs masking)."""
        return bool(self.trained.all())

    def table(self, id_dropout: float = 0.0) -> torch.Tensor:
        """(n_items, C) item vectors; items never trained have no ID part."""
        return self.combine(*self.parts(id_dropout))

    @staticmethod
    def combine(ids: torch.Tensor | None, text: torch.Tensor | None) -> torch.Tensor:
        """Item vectors from their parts (`parts`): the sum of those switched on."""
        if ids is None:
            assert text is not None
            return text
        return ids if text is None else ids + text

    def parts(self, id_dropout: float = 0.0) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The ID parts and the text parts of all item vectors (None where switched off)."""
        ids = None
        if self.ids is not None:
            keep = self.trained.unsqueeze(1).float()
            if self.training and id_dropout > 0 and self.adapter is not None:
                keep = keep * (torch.rand_like(keep) >= id_dropout).float()
            ids = self.ids.weight * keep
        text = self.adapter(self.text) if self.adapter is not None else None
        return ids, text


class Dropout(nn.Module):
    """Inverted dropout from a uniform draw: the same regulariser as `nn.Dropout`.

    On CPU, torch's dropout draws its mask with `bernoulli_`, which cost an eighth of a
    training step here; comparing a `rand_like` draw with p is about twice as fast.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1 - self.p)


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then an MLP."""

    def __init__(self, size: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(size)
        self.qkv = nn.Linear(size, 3 * size)
        self.proj = nn.Linear(size, size)
        self.ln2 = nn.LayerNorm(size)
        self.mlp = nn.Sequential(
            nn.Linear(size, 4 * size), nn.GELU(), nn.Linear(4 * size, size), Dropout(dropout)
        )
        self.scale = 1.0 / math.sqrt(size // n_heads)
        self.attention_dropout = Dropout(dropout)
        self.resid_dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()  # batch, time, channels  # noqa: N806
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        # Written out rather than F.scaled_dot_product_attention: with dropout, torch's CPU
        # path draws the attention mask with the slow bernoulli_ (see `Dropout`).
        weights = (q @ k.transpose(-2, -1) * self.scale).masked_fill(~mask, float("-inf"))
        attended = self.attention_dropout(weights.softmax(dim=-1)) @ v
        attended = attended.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.resid_dropout(self.proj(attended))
        return x + self.mlp(self.ln2(x))


class CausalTransformer(nn.Module):
    """Session encoder: item vectors + positions + event types through causal blocks."""

    def __init__(self, config: TransformerConfig, items: ItemEncoder) -> None:
        super().__init__()
        size = config.embedding_size
        self.config = config
        self.items = items
        self.positions = nn.Embedding(config.max_length, size)
        self.event_types = nn.Embedding(N_EVENT_TYPES, size)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(size, config.n_heads, config.dropout) for _ in range(config.n_layers)
        )
        self.ln_f = nn.LayerNorm(size)
        self.repeats = RepeatBias() if config.repeat_bias else None
        # Small initial weights everywhere (as GPT-2): with torch's N(0, 1) default, position
        # embeddings would drown the item vectors and training stalls at popularity.
        for name, parameter in self.named_parameters():
            if name.startswith("items."):
                continue
            if parameter.dim() >= 2:
                nn.init.normal_(parameter, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)

    def forward(
        self, items: torch.Tensor, types: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """items, types: (B, T) left-padded with -1 items; targets (B, T), -1 = none.

        Returns (logits, loss): logits (B, n_items) for the last position at inference,
        (B, T, n_items) when targets are given.
        """
        id_part, text_part = self.items.parts(self.config.id_dropout)
        table = self.items.combine(id_part, text_part)  # (n_items, C)
        hidden = self.encode(items, types, table)
        if targets is None:
            logits = hidden[:, -1, :] @ table.T
            if self.repeats is not None:
                last = torch.zeros_like(items, dtype=torch.bool)
                last[:, -1] = True
                logits = self.repeats.add_to(logits, items, last)
            return logits, None
        logits, loss = self._score_targets(hidden, items, targets, table)
        if self.config.text_head > 0 and id_part is not None and text_part is not None:
            # Probes are unknown to the text head: never its targets, never its negatives.
            probes = self.items.probes
            skip = probes[targets.clamp(min=0)]
            if self.config.text_head_positions < 1:
                draw = torch.rand(targets.shape, device=targets.device)
                skip = skip | (draw >= self.config.text_head_positions)
            text_targets = targets.masked_fill(skip, UNKNOWN_INDEX)
            _, text_loss = self._score_targets(hidden, None, text_targets, text_part, probes)
            loss = loss + self.config.text_head * text_loss
        return logits, loss

    def encode(self, items: torch.Tensor, types: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """(B, T, C) hidden states; position t has read the session up to and including t."""
        T = items.size(1)  # noqa: N806  # time
        padding = items < 0
        x = table[items.clamp(min=0)] * (~padding).unsqueeze(-1)
        x = x * math.sqrt(x.size(-1)) + self.event_types(types)
        x = x + self.positions(torch.arange(T, device=items.device))
        x = self.drop(x)
        # A position sees itself and the real (non-pad) positions before it.
        causal = torch.ones(T, T, dtype=torch.bool, device=items.device).tril()
        visible = (~padding).unsqueeze(1) | torch.eye(T, dtype=torch.bool, device=items.device)
        mask = (causal & visible).unsqueeze(1)  # (B, 1, T, T)
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_f(x)

    def _score_targets(
        self,
        hidden: torch.Tensor,
        items: torch.Tensor | None,
        targets: torch.Tensor,
        table: torch.Tensor,
        excluded: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and loss at the positions with a target; with the repeat offsets of
        `items` (None: without, as for the text head), `excluded` items never scored."""
        # Score only the positions that have a target: padding costs no softmax.
        has_target = targets >= 0
        hidden, targets = hidden[has_target], targets[has_target]  # (N, C), (N,)
        if self.items.n_items > self.config.sampled_softmax_above:
            return self.sampled_softmax(hidden, targets, table, excluded)
        logits = hidden @ table.T  # (N, n_items)
        if self.repeats is not None and items is not None:
            logits = self.repeats.add_to(logits, items, has_target)
        if not self.items.all_trained:
            logits = logits.masked_fill(~self.items.trained, float("-inf"))
        if excluded is not None and bool(excluded.any()):
            logits = logits.masked_fill(excluded, float("-inf"))
        if len(targets) == 0:
            return logits, logits.sum() * 0.0
        return logits, F.cross_entropy(logits, targets)

    def sampled_softmax(
        self,
        hidden: torch.Tensor,
        targets: torch.Tensor,
        table: torch.Tensor,
        excluded: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy against shared negatives drawn by popularity, logQ-corrected.

        With a large catalogue the full softmax costs more than the rest of the model; a few
        thousand negatives drawn in proportion to popularity^0.75 estimate it, and
        subtracting log q (Yi et al. 2019) removes the bias toward unpopular items that the
        sampling would otherwise teach.
        """
        log_q = self.items.log_q
        negatives = torch.multinomial(log_q.exp(), self.config.n_negatives, replacement=True)
        positive = (hidden * table[targets]).sum(-1, keepdim=True) - log_q[targets].unsqueeze(1)
        negative = hidden @ table[negatives].T - log_q[negatives]  # (N, negatives)
        drop = negatives.unsqueeze(0) == targets.unsqueeze(1)
        if excluded is not None:
            drop = drop | excluded[negatives].unsqueeze(0)
        negative = negative.masked_fill(drop, float("-inf"))
        logits = torch.cat([positive, negative], dim=1)
        zeros = torch.zeros(len(targets), dtype=torch.long, device=targets.device)
        return logits, F.cross_entropy(logits, zeros)


class SessionTransformer(Recommender):
    """The core model: a causal transformer over text-fused item vectors."""

    name = "transformer"
    config_class = TransformerConfig
    config: TransformerConfig

    def __init__(
        self,
        config: TransformerConfig | None = None,
        text_vectors: dict[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(config)
        self.text_vectors = text_vectors
        self.net: CausalTransformer | None = None
        self.training_result = TrainResult()

    # -- fitting ------------------------------------------------------------------------

    def _item_text(self) -> torch.Tensor | None:
        if not self.config.use_text or not self.text_vectors:
            return None
        dim = len(next(iter(self.text_vectors.values())))
        table = np.zeros((len(self.vocab), dim), dtype=np.float32)
        for index, item in enumerate(self.vocab.ids):
            vector = self.text_vectors.get(item)
            if vector is not None:
                table[index] = vector
        return torch.from_numpy(table)

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        cfg = self.config
        if self.text_vectors is None and cfg.use_text and catalogue is not None:
            self.text_vectors = item_text_vectors(
                catalogue, cfg.text_encoder, cfg.text_template, show_progress=cfg.progress
            )
        extra = list(self.text_vectors) if self.text_vectors and cfg.use_text else []
        refit_items = valid.item_ids() if valid is not None and cfg.refit else []
        self.vocab = Vocabulary(train.item_ids() + refit_items + extra)
        fit_data, valid_batch, valid_targets = validation_split(
            train, valid, self.vocab, cfg.validation_share
        )

        def validate() -> float:
            return validation_score(self, valid_batch, valid_targets)

        self.net = self._new_net(fit_data)
        self.training_result = Trainer(cfg.train_options()).fit(
            self.net, self._epoch_losses(self.net, fit_data), validate, "transformer"
        )
        self._choose_new_item_boost(valid_batch, valid_targets)
        if cfg.refit and self.training_result.best_epoch > 0:
            # Early stopping has chosen how long to train; the events it held out are
            # not test data, so the final model learns from them too.
            everything = with_validation(train, valid)
            self.net = self._new_net(everything)
            options = replace(cfg.train_options(), epochs=self.training_result.best_epoch)
            refit = Trainer(options).fit(
                self.net, self._epoch_losses(self.net, everything), None, "transformer, refit"
            )
            self.training_result.seconds += refit.seconds
            self.training_result.peak_memory_mb = refit.peak_memory_mb
        return self

    def _choose_new_item_boost(self, batch: SessionBatch, targets: np.ndarray) -> None:
        """Set the boost of items never trained on from the probes' validation hit rate."""
        net = self._fitted_net()
        probes = net.items.probes.numpy()
        if not probes.any() or len(targets) == 0:
            return
        search = BoostSearch(probes, net.items.trained.numpy())
        chosen = np.random.default_rng(self.config.seed).permutation(len(targets))
        chosen = np.sort(chosen[:MAX_BOOST_CASES])
        for start in range(0, len(chosen), 512):
            rows = chosen[start : start + 512]
            types = None if batch.event_types is None else [batch.event_types[r] for r in rows]
            full, text = self._head_scores(
                SessionBatch([batch.items[r] for r in rows], types), True
            )
            assert text is not None
            search.add(full, text, targets[rows])
        net.items.new_item_boost.fill_(search.smallest_boost(self.config.new_item_exposure))

    def _new_net(self, data: Interactions) -> CausalTransformer:
        """A freshly initialised network (seeded) for items as they occur in `data`."""
        cfg = self.config
        torch.manual_seed(cfg.seed)
        items = ItemEncoder(
            len(self.vocab), cfg.embedding_size, self._item_text(), cfg.use_ids, cfg.dropout
        )
        trained = np.zeros(len(self.vocab), dtype=bool)
        trained[self.vocab.lookup(data.item_ids())] = True
        items.trained.copy_(torch.from_numpy(trained))
        items.log_q.copy_(torch.from_numpy(negative_log_probabilities(data, self.vocab)))
        if cfg.text_head > 0 and cfg.new_item_exposure > 0 and cfg.use_ids and items.adapter:
            has_text = (items.text != 0).any(dim=1).numpy()
            probes = choose_probes(trained & has_text, PROBE_SHARE, cfg.seed)
            items.probes.copy_(torch.from_numpy(probes))
        return CausalTransformer(cfg, items)

    def _epoch_losses(
        self, net: CausalTransformer, data: Interactions
    ) -> Callable[[np.random.Generator], Iterator[torch.Tensor]]:
        """One epoch over `data`'s training windows in shuffled mini-batches."""
        cfg = self.config
        seqs, types = split_sequences(data, self.vocab)
        fixed = training_windows(seqs, types, cfg.max_length, cfg.window_stride)

        def losses(rng: np.random.Generator) -> Iterator[torch.Tensor]:
            inputs, input_types, targets = (
                training_windows(seqs, types, cfg.max_length, cfg.window_stride, rng)
                if cfg.random_windows
                else fixed
            )
            order = rng.permutation(len(inputs))
            for start in range(0, len(order), cfg.batch_size):
                rows = order[start : start + cfg.batch_size]
                _, loss = net(
                    torch.from_numpy(inputs[rows]),
                    torch.from_numpy(input_types[rows]),
                    torch.from_numpy(targets[rows]),
                )
                assert loss is not None
                yield loss

        return losses

    # -- scoring ------------------------------------------------------------------------

    def score(self, sessions: SessionBatch) -> np.ndarray:
        full, text = self._head_scores(sessions, self.calibrates_untrained_items)
        if text is None:
            return full
        items = self._fitted_net().items
        trained = items.trained.numpy()
        return as_new_items(full, text, ~trained, trained, float(items.new_item_boost))

    def _head_scores(
        self, sessions: SessionBatch, with_text: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, n) scores by the full head (with the repeat offsets) and, `with_text`, by the
        text head."""
        # A session with no known item has a zero vector and no repeats: all scores 0.
        vectors = self.session_vectors(sessions)
        offsets = np.zeros((len(sessions), len(self.vocab)))
        bias = self.repeat_bias()
        if bias is not None:
            rows, columns, values = repeat_offsets(self._padded_items(sessions), bias)
            np.add.at(offsets, (rows, columns), values)
        item_vectors, text_vectors = self._item_tables()
        full = (vectors @ item_vectors.T) + offsets
        if not with_text:
            return full, None
        if text_vectors is None:
            raise ConfigError("this transformer was trained without item text")
        # The text head is trained without repeat offsets (items it must score are new).
        return full, (vectors @ text_vectors.T).astype(np.float64)

    @property
    def calibrates_untrained_items(self) -> bool:
        """Whether items never seen in training are scored by the text head, shifted onto
        the scale of the full scores (`models.exposure.as_new_items`), rather than by their
        text part dotted with the session as if it were a full item vector."""
        net = self._fitted_net()
        items = net.items
        return (
            self.config.text_head > 0
            and items.ids is not None
            and items.adapter is not None
            and not items.all_trained
            and bool(items.trained.any())
        )

    def text_item_vectors(self) -> np.ndarray:
        """(n_items, C) float32: the text parts of the item vectors (the text head's items)."""
        _, text = self._item_tables()
        if text is None:
            raise ConfigError("this transformer was trained without item text")
        return text

    def _item_tables(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(n_items, C) float32 item vectors and their text parts (None without text), from
        one pass of the adapter over the catalogue."""
        net = self._fitted_net()
        was_training = net.training
        net.eval()
        with torch.no_grad():
            ids, text = net.items.parts()
            table = net.items.combine(ids, text).numpy().astype(np.float32)
        net.train(was_training)
        return table, None if text is None else text.numpy().astype(np.float32)

    def repeat_bias(self) -> np.ndarray | None:
        """The learned score offset per distance bucket (`models.repeats`), if any."""
        repeats = self._fitted_net().repeats
        return None if repeats is None else repeats.bias.detach().numpy().astype(np.float64)

    def _padded_items(self, sessions: SessionBatch) -> np.ndarray:
        """(B, max_length) known item indices, left-padded with -1: what the model reads."""
        n = len(sessions)
        return left_pad(
            [sessions.known(i) for i in range(n)], self.config.max_length, UNKNOWN_INDEX
        )

    # -- the embedding space, for the interactive engine ---------------------------------
    # Scores are dot products of a session vector and item vectors; the engine adjusts
    # the session vector (requests, feedback) and searches items in this space directly.

    def _fitted_net(self) -> CausalTransformer:
        if self.net is None:
            raise ConfigError("the transformer is not fitted")
        return self.net

    def session_vectors(self, sessions: SessionBatch) -> np.ndarray:
        """(B, C) float32: what each session asks for (zeros for a session with no known item)."""
        net = self._fitted_net()
        n = len(sessions)
        items = self._padded_items(sessions)
        type_codes = left_pad(
            [sessions.known_types(i) for i in range(n)], self.config.max_length, 0
        )
        was_training = net.training
        net.eval()
        with torch.no_grad():
            table = net.items.table()
            hidden = net.encode(torch.from_numpy(items), torch.from_numpy(type_codes), table)
        net.train(was_training)
        out = hidden[:, -1, :].numpy().astype(np.float32)
        out[(items < 0).all(axis=1)] = 0.0
        return out

    def item_vectors(self) -> np.ndarray:
        """(n_items, C) float32 item vectors, in vocabulary order."""
        return self._item_tables()[0]

    @property
    def has_text(self) -> bool:
        """Whether items are read through language-model text vectors."""
        return self._fitted_net().items.adapter is not None

    def text_to_item_space(self, text_vectors: np.ndarray) -> np.ndarray:
        """(m, C): language-model vectors (of items or of a typed request) as item vectors.

        Through the adapter alone, as for an item never seen in training.
        """
        net = self._fitted_net()
        adapter = net.items.adapter
        if adapter is None:
            raise ConfigError("this transformer was trained without item text")
        vectors = np.asarray(text_vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != net.items.text.shape[1]:
            raise ConfigError(
                f"text vectors must have shape (m, {net.items.text.shape[1]}), got {vectors.shape}"
            )
        was_training = adapter.training
        adapter.eval()
        with torch.no_grad():
            out = adapter(torch.from_numpy(vectors)).numpy().astype(np.float32)
        adapter.train(was_training)
        return out

    def add_items(self, item_ids: list[str], text_vectors: np.ndarray) -> None:
        """Make items recommendable at once: new ids get their text as their only part.

        Known ids get their text vector replaced (their learned ID part stays). The
        vocabulary grows at the end, so existing indices keep their meaning.
        """
        net = self._fitted_net()
        items = net.items
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

    # -- persistence ----------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        if self.net is None:
            raise ConfigError("the transformer is not fitted")
        return module_arrays(self.net)

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        cfg = self.config
        text = state.get("items.text")
        text_tensor = torch.from_numpy(text) if text is not None and text.shape[1] > 0 else None
        items = ItemEncoder(
            len(self.vocab), cfg.embedding_size, text_tensor, cfg.use_ids, cfg.dropout
        )
        self.net = CausalTransformer(cfg, items)
        load_module_arrays(self.net, state)


def negative_log_probabilities(train: Interactions, vocab: Vocabulary) -> np.ndarray:
    """log q(item) ∝ 0.75 · log count (items never seen in training are never drawn)."""
    indices = vocab.lookup(train.frame[ITEM_ID].to_numpy())
    counts = np.bincount(indices[indices >= 0], minlength=len(vocab)).astype(np.float64)
    weights = counts**0.75
    with np.errstate(divide="ignore"):
        return np.log(weights / weights.sum()).astype(np.float32)
