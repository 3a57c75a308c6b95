"""The network: item vectors, a causal transformer over them, and its two losses.

Pure torch (no data frames, no vocabulary), in the shape of nanoGPT's `model.py`. Every
random draw (initialisation, dropout, ID dropout, the text head's positions, sampled-softmax
negatives) comes from one `torch.Generator`, so a seed in the config decides them all.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sessionrec.data.schema import EventType
from sessionrec.data.vocab import UNKNOWN_INDEX
from sessionrec.errors import ConfigError
from sessionrec.models.exposure import NEIGHBOURS
from sessionrec.models.neural import NeuralConfig, reset_parameters
from sessionrec.models.repeats import RepeatBias
from sessionrec.text.template import DEFAULT_TEMPLATE

N_EVENT_TYPES = len(EventType)
VALIDATION_METRICS = ("NDCG@10", "NDCG")
"""What `TransformerConfig.validation_metric` may name."""


@dataclass(frozen=True)
class TransformerConfig(NeuralConfig):
    """Options of the session transformer (defaults chosen on validation splits)."""

    learning_rate: float = 3e-3
    """Higher than the shared default, with a shorter patience: early stopping comes in
    about half the epochs for a small loss of validation score."""
    patience: int = 5
    """Short, to keep training on two cores within minutes (see `learning_rate`)."""
    min_epochs: int = 1
    """Epochs run before early stopping may end training."""
    min_steps: int = 400
    """Optimiser steps taken before early stopping may end training (issue 13). With few,
    long histories an epoch is a handful of steps (ten on 300 MovieLens users), and five
    epochs of patience ended some seeds long before the model had learnt past popularity:
    their validation score was still climbing under its epoch-to-epoch noise. 400 steps is
    about 21 epochs on ml-100k (19 steps each, where training ran 20-30 epochs anyway) and
    three on rsc15-100k; the value won on validation among 0, 200, 300 and 400 (CHANGELOG)."""
    validation_smoothing: int = 1
    """Early stopping reads the mean of the last this many epochs' validation scores."""
    weight_average: float | None = 0.98
    """Decay of the moving average of the weights that is validated and kept (issue 13).
    With a constant learning rate the weights jitter from step to step as much as training
    still gains; the average over the last ~50 steps does not. It beat the raw weights on
    ml-100k's validation split at every seed, for about a third more epochs (CHANGELOG)."""
    validation_metric: str = "NDCG@10"
    """What early stopping maximises: "NDCG@10", or "NDCG" over the whole ranking, which
    every validation case moves (not only the tenth with the target in the top 10), so it is
    less noisy on a small validation split."""
    embedding_size: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.5
    """High, because session data is small and sparse."""
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
    """Loss weight of the text head, a second loss that scores items by their text part
    alone (0: off). It makes the adapter a recommender on its own, so the text parts of
    items people treat alike lie close, and an item never seen in training borrows its
    vector from its nearest trained items there (`models.exposure`)."""
    text_head_positions: float = 0.25
    """Share of target positions (drawn per batch) the text head's loss is taken over: an
    estimate, as it costs as much as the main loss when taken everywhere."""
    new_item_exposure: float = 0.3
    """Target share: items never seen in training get the smallest score boost under which
    they reach a top 20 at least this share as often as trained items do on validation
    (`models.exposure`); 0: no boost, their scores are their borrowed vectors' alone."""
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
    refit: bool | None = None
    """After early stopping, retrain from scratch on training + validation events for the
    chosen number of epochs (training takes about twice as long). None: refit when the
    validation sessions were carved from the training log (the latest `validation_share`
    of whole sessions, which the final model would otherwise never see), not when the protocol gives
    its own validation events (leave-one-out's one event per user)."""

    def __post_init__(self) -> None:
        if self.embedding_size % self.n_heads:
            raise ConfigError("embedding_size must be a multiple of n_heads")
        if not (self.use_ids or self.use_text):
            raise ConfigError("switch on at least one of use_ids and use_text")
        if not 0 <= self.id_dropout < 1 or not 0 <= self.dropout < 1:
            raise ConfigError("dropout rates must lie in [0, 1)")
        if self.validation_metric not in VALIDATION_METRICS:
            raise ConfigError(
                f"validation_metric must be one of {', '.join(VALIDATION_METRICS)}, "
                f"got {self.validation_metric!r}"
            )


class Dropout(nn.Module):
    """Inverted dropout from 16 random bits an element: the same regulariser as `nn.Dropout`.

    On CPU, torch's dropout draws its mask with `bernoulli_`, and `rand_like` spends one
    32-bit draw of the generator on every element; together with the arithmetic, dropout
    took a fifth of a training step on ml-100k. One 64-bit draw here gives the bits of four
    elements, and the mask is scaled before it meets `x`, so the backward pass is one
    multiplication: 2.2 times faster forward and backward. `p` is rounded to 1/65536.
    """

    def __init__(self, p: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = p
        self.generator = generator
        # Bits read as a signed 16-bit integer h: P(h >= threshold) = 1 - p (rounded).
        self.threshold = round(p * 65536) - 32768

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.numel() == 0:
            return x
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
        words.random_(-(2**63), None, generator=self.generator)  # every bit random
        keep = words.view(torch.int16)[:n].view(x.shape) >= self.threshold
        return x * (keep * (1.0 / (1 - self.p))).to(x.dtype)


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
    """() the score boost of items never trained on, chosen on validation."""
    new_item_neighbours: torch.Tensor
    """() how many trained items a new item borrows its vector from, chosen on validation
    (`models.exposure`)."""

    def __init__(
        self,
        n_items: int,
        size: int,
        text: torch.Tensor | None,
        use_ids: bool,
        dropout: float,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.n_items = n_items
        self.generator = generator
        self.ids = nn.Embedding(n_items, size) if use_ids else None
        if self.ids is not None:
            reset_parameters(self.ids, generator)
            nn.init.normal_(self.ids.weight, std=0.02, generator=generator)
        self.register_buffer("text", text if text is not None else torch.zeros(n_items, 0))
        self.register_buffer("trained", torch.ones(n_items, dtype=torch.bool))
        self.register_buffer("log_q", torch.full((n_items,), -math.log(max(n_items, 1))))
        self.register_buffer("probes", torch.zeros(n_items, dtype=torch.bool))
        self.register_buffer("new_item_boost", torch.zeros(()))
        self.register_buffer("new_item_neighbours", torch.tensor(NEIGHBOURS))
        self.adapter = (
            nn.Sequential(
                nn.Linear(text.shape[1], size),
                nn.GELU(),
                Dropout(dropout, generator),
                nn.Linear(size, size),
            )
            if text is not None
            else None
        )
        if self.adapter is not None:
            for layer in self.adapter:
                reset_parameters(layer, generator)

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
            keep = self.trained.unsqueeze(1).float()  # (n_items, 1)
            if self.training and id_dropout > 0 and self.adapter is not None:
                draw = torch.rand_like(keep, generator=self.generator)
                keep = keep * (draw >= id_dropout).float()
            ids = self.ids.weight * keep
        text = self.adapter(self.text) if self.adapter is not None else None
        return ids, text


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees itself and the real ones before."""

    def __init__(
        self, size: int, n_heads: int, dropout: float, generator: torch.Generator | None
    ) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(size, 3 * size)
        self.proj = nn.Linear(size, size)
        self.scale = 1.0 / math.sqrt(size // n_heads)
        self.attention_dropout = Dropout(dropout, generator)
        self.resid_dropout = Dropout(dropout, generator)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """(B, T, C) outputs, or (B, 1, C) for the last position alone (`last_only`, with
        `mask` (B, 1, 1, T), its row): what reading a session for its next item needs."""
        B, _, C = x.size()  # batch, time, channels
        q, k, v = self.qkv(x).split(C, dim=2)
        if last_only:
            q = q[:, -1:]
        # (B, T, C) -> (B, heads, T, C / heads)
        q, k, v = (
            t.view(B, -1, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v)
        )
        # Written out rather than F.scaled_dot_product_attention: with dropout, torch's CPU
        # path draws the attention mask with the slow bernoulli_ (see `Dropout`).
        weights = (q @ k.transpose(-2, -1) * self.scale).masked_fill(~mask, float("-inf"))
        attended = self.attention_dropout(weights.softmax(dim=-1)) @ v  # (B, heads, T, C / heads)
        attended = attended.transpose(1, 2).contiguous().view(B, -1, C)  # heads side by side
        return self.resid_dropout(self.proj(attended))


class MLP(nn.Module):
    """Position-wise feed-forward layer, four times wider inside (as GPT-2)."""

    def __init__(self, size: int, dropout: float, generator: torch.Generator | None) -> None:
        super().__init__()
        self.fc = nn.Linear(size, 4 * size)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(4 * size, size)
        self.dropout = Dropout(dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then an MLP, each residual."""

    def __init__(
        self, size: int, n_heads: int, dropout: float, generator: torch.Generator | None
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(size)
        self.attention = CausalSelfAttention(size, n_heads, dropout, generator)
        self.ln2 = nn.LayerNorm(size)
        self.mlp = MLP(size, dropout, generator)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """(B, T, C), or (B, 1, C) for the last position alone (see `CausalSelfAttention`)."""
        attended = self.attention(self.ln1(x), mask, last_only)
        x = (x[:, -1:] if last_only else x) + attended
        return x + self.mlp(self.ln2(x))


LEGACY_NAMES = {
    "qkv": "attention.qkv",
    "proj": "attention.proj",
    "mlp.0": "mlp.fc",
    "mlp.2": "mlp.proj",
}
"""Block parameters saved before attention and MLP were modules of their own → today's."""
_LEGACY = re.compile(r"^(blocks\.\d+\.)(qkv|proj|mlp\.0|mlp\.2)\.")


def current_name(name: str) -> str:
    """A saved parameter's name as this network calls it, so models saved earlier load."""
    return _LEGACY.sub(lambda m: f"{m[1]}{LEGACY_NAMES[m[2]]}.", name, count=1)


class Losses(NamedTuple):
    """The training losses of one batch, and the main head's logits they came from."""

    logits: torch.Tensor
    """(N, n_items) at the N positions with a target, or (N, 1 + n_negatives) under
    sampled softmax (the target first)."""
    main: torch.Tensor
    """Cross-entropy of the next item scored by the full item vectors."""
    text: torch.Tensor | None
    """Cross-entropy of the next item scored by the item vectors' text parts alone (the
    text head, `TransformerConfig.text_head`); None when off."""


class CausalTransformer(nn.Module):
    """Session encoder: item vectors + positions + event types through causal blocks."""

    def __init__(
        self,
        config: TransformerConfig,
        items: ItemEncoder,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        size = config.embedding_size
        self.config = config
        self.generator = generator
        self.items = items
        self.positions = nn.Embedding(config.max_length, size)
        self.event_types = nn.Embedding(N_EVENT_TYPES, size)
        self.drop = Dropout(config.dropout, generator)
        self.blocks = nn.ModuleList(
            Block(size, config.n_heads, config.dropout, generator) for _ in range(config.n_layers)
        )
        self.ln_f = nn.LayerNorm(size)
        self.repeats = RepeatBias() if config.repeat_bias else None
        for name, module in self.named_modules():  # in the order they were built
            if not name.startswith("items"):
                reset_parameters(module, generator)
        # Small initial weights everywhere (as GPT-2): with torch's N(0, 1) default, position
        # embeddings would drown the item vectors and training stalls at popularity.
        for name, parameter in self.named_parameters():
            if name.startswith("items."):
                continue
            if parameter.dim() >= 2:
                nn.init.normal_(parameter, std=0.02, generator=generator)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)

    def forward(
        self, items: torch.Tensor, types: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """items, types: (B, T), items left-padded with -1; targets (B, T), -1 = none.

        Returns (logits, loss). Without targets: logits (B, n_items) for the item after
        each session's last position, with the repeat offsets; loss None. With targets:
        `losses`' logits, (N, n_items) over the N positions that have a target, or
        (N, 1 + n_negatives) under sampled softmax; and the training loss, the main
        cross-entropy plus `text_head` times the text head's.
        """
        if targets is not None:
            losses = self.losses(items, types, targets)
            if losses.text is None:
                return losses.logits, losses.main
            return losses.logits, losses.main + self.config.text_head * losses.text
        table = self.items.table(self.config.id_dropout)  # (n_items, C)
        hidden = self.encode(items, types, table)
        logits = hidden[:, -1, :] @ table.T  # (B, n_items)
        if self.repeats is not None:
            last = torch.zeros_like(items, dtype=torch.bool)
            last[:, -1] = True
            logits = self.repeats.add_to(logits, items, last)
        return logits, None

    def losses(self, items: torch.Tensor, types: torch.Tensor, targets: torch.Tensor) -> Losses:
        """The main and the text head's cross-entropy of `targets` (B, T), -1 = none."""
        id_part, text_part = self.items.parts(self.config.id_dropout)
        table = self.items.combine(id_part, text_part)  # (n_items, C)
        hidden = self.encode(items, types, table)
        logits, main = self._score_targets(hidden, items, targets, table)
        if self.config.text_head <= 0 or id_part is None or text_part is None:
            return Losses(logits, main, None)
        # Probes are unknown to the text head: never its targets, never its negatives.
        probes = self.items.probes
        skip = probes[targets.clamp(min=0)]
        if self.config.text_head_positions < 1:
            draw = torch.rand(targets.shape, device=targets.device, generator=self.generator)
            skip = skip | (draw >= self.config.text_head_positions)
        text_targets = targets.masked_fill(skip, UNKNOWN_INDEX)
        _, text = self._score_targets(hidden, None, text_targets, text_part, probes)
        return Losses(logits, main, text)

    def encode(
        self,
        items: torch.Tensor,
        types: torch.Tensor,
        table: torch.Tensor,
        last_only: bool = False,
    ) -> torch.Tensor:
        """(B, T, C) hidden states; position t has read the session up to and including t.

        `last_only`: (B, 1, C), the last position's alone, which is all that scoring a
        session's next item reads; its last block then attends from that position only
        (a third less work with two blocks, the same numbers).
        """
        T = items.size(1)  # time
        padding = items < 0
        x = table[items.clamp(min=0)] * (~padding).unsqueeze(-1)  # (B, T, C)
        x = x * math.sqrt(x.size(-1)) + self.event_types(types)
        # Positions count back from the window's end, so leading padding can be cut off.
        first = self.config.max_length - T
        x = x + self.positions(torch.arange(first, first + T, device=items.device))
        x = self.drop(x)
        # A position sees itself and the real (non-pad) positions before it.
        causal = torch.ones(T, T, dtype=torch.bool, device=items.device).tril()
        visible = (~padding).unsqueeze(1) | torch.eye(T, dtype=torch.bool, device=items.device)
        mask = (causal & visible).unsqueeze(1)  # (B, 1, T, T)
        blocks = list(self.blocks)
        last = blocks.pop() if last_only and blocks else None
        for block in blocks:
            x = block(x, mask)
        if last_only:
            x = x[:, -1:] if last is None else last(x, mask[:, :, -1:], last_only=True)
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
        blocked = None if self.items.all_trained else ~self.items.trained
        if excluded is not None and bool(excluded.any()):
            blocked = excluded if blocked is None else blocked | excluded
        if blocked is None:
            logits = hidden @ table.T  # (N, n_items)
        else:
            # Items that must never be scored get -inf through the product's bias term: the
            # same logits as masking them after, without a masked copy forward and backward.
            floor = torch.zeros(len(blocked), dtype=hidden.dtype, device=hidden.device)
            logits = torch.addmm(floor.masked_fill(blocked, float("-inf")), hidden, table.T)
        if self.repeats is not None and items is not None:
            logits = self.repeats.add_to(logits, items, has_target)
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
        negatives = torch.multinomial(
            log_q.exp(), self.config.n_negatives, replacement=True, generator=self.generator
        )
        positive = (hidden * table[targets]).sum(-1, keepdim=True) - log_q[targets].unsqueeze(1)
        negative = hidden @ table[negatives].T - log_q[negatives]  # (N, negatives)
        drop = negatives.unsqueeze(0) == targets.unsqueeze(1)
        if excluded is not None:
            drop = drop | excluded[negatives].unsqueeze(0)
        negative = negative.masked_fill(drop, float("-inf"))
        logits = torch.cat([positive, negative], dim=1)  # (N, 1 + negatives): target first
        zeros = torch.zeros(len(targets), dtype=torch.long, device=targets.device)
        return logits, F.cross_entropy(logits, zeros)


DATA_BUFFERS = (
    "items.text",
    "items.trained",
    "items.log_q",
    "items.probes",
    "items.new_item_boost",
    "items.new_item_neighbours",
)
"""Item buffers a network takes from its own training data and catalogue, never from the
network it is warm-started from (`warm_start`)."""


def warm_start(net: CausalTransformer, previous: CausalTransformer, rows: np.ndarray) -> int:
    """Overwrite freshly initialised `net` with `previous`'s weights; how many items' ID
    vectors it copied.

    `rows` (net's n_items,) is each of `net`'s items' row in `previous` (-1: an item
    `previous` does not know). Items `previous` trained on get its ID vectors; the others
    keep their fresh initialisation, as in a network trained from scratch. Every other
    weight (adapter, positions, event types, blocks, repeat offsets) is copied whole; a
    weight whose shape differs means another architecture and is a `ConfigError` naming
    it. `DATA_BUFFERS` stay `net`'s own.
    """
    theirs = previous.state_dict()
    ours = net.state_dict()  # views of net's own tensors
    differ = sorted(set(theirs).symmetric_difference(ours) - set(DATA_BUFFERS))
    if differ:
        raise ConfigError(
            f"cannot warm-start: the previous network and this one differ in {', '.join(differ)} "
            "(another n_layers, use_ids, use_text or repeat_bias)"
        )
    copied = 0
    with torch.no_grad():
        for name, mine in ours.items():
            if name in DATA_BUFFERS:
                continue
            old = theirs[name]
            per_item = 1 if name == "items.ids.weight" else 0  # rows: each vocabulary's own
            if old.shape[per_item:] != mine.shape[per_item:]:
                raise ConfigError(
                    f"cannot warm-start: {name} has shape {tuple(old.shape)} in the previous "
                    f"network and {tuple(mine.shape)} in this one (another embedding_size, "
                    "n_layers, n_heads, max_length or text encoder)"
                )
            if per_item:
                known = rows >= 0
                known[known] = previous.items.trained[rows[known]].numpy()
                mine[torch.from_numpy(known)] = old[torch.from_numpy(rows[known])]
                copied = int(known.sum())
            else:
                mine.copy_(old)
    return copied
