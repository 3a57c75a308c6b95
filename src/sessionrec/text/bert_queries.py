"""A lean forward pass of a BERT-family sentence-transformers model, for typed requests.

A typed request is embedded while a person waits, one to four short spans at a time, and
there the general path spends most of its time outside the arithmetic: on one thread,
all-MiniLM-L6-v2 takes about 13 ms per one-word span through `SentenceTransformer.encode`
and 8 ms through this module's dozen tensor operations per layer, the same vectors to
1e-6. Where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), the matrix products
run in bfloat16 (layer norms, residuals and pooling stay float32): about 5 ms, vectors
within a cosine of 0.9999 of the float32 ones, which moves no request reading (its
thresholds are hundredths apart). Item texts, whose vectors the embedding cache keeps under
the model's name, never take this path.

Only models this forward reproduces are accepted: a `BertModel` with absolute position
embeddings and GELU, mean pooling, optional normalisation; and the result on probe texts
must agree with the library's own before it is used (`lean_query_forward` returns None
otherwise, and the encoder keeps the library's path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch.nn import functional

from sessionrec.text.huggingface import mean_pool, padded_batch

__all__ = ["BertQueryForward", "Precision", "lean_query_forward", "native_bfloat16"]

logger = logging.getLogger(__name__)

Precision = Literal["auto", "float32", "bfloat16"]

PROBES = (
    "an animated film for children",
    "tense",
    "something lighter, not a comedy",
    "hiking boots under 50 euros",
    "适合孩子的动画片",
)
"""Texts on which the lean forward must agree with the library's before it is used."""

MIN_COSINE = {"float32": 0.99999, "bfloat16": 0.999}
"""Agreement required on the probes, per precision (measured: 1 - 1e-7 and 0.99993)."""


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (else bfloat16 is emulated, slower)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # a torch without these probes
        return False


def spare_rows(rows: int) -> int:
    """Idle rows to add to a forward over `rows` token rows: one where `rows` is 3 more
    than a multiple of four (and more than 3). On one thread the CPU's products over 7, 11,
    15 or 19 rows took 0.7-0.8 ms longer than over 8, 12, 16 or 20 (`_layers_forward`,
    MiniLM, float32, medians of five rounds); other counts gained nothing from rounding up."""
    return 1 if rows > 3 and rows % 4 == 3 else 0


@dataclass(frozen=True)
class _Layer:
    qkv: tuple[torch.Tensor, torch.Tensor]
    attention_out: tuple[torch.Tensor, torch.Tensor]
    attention_norm: tuple[torch.Tensor, torch.Tensor]
    hidden: tuple[torch.Tensor, torch.Tensor]
    out: tuple[torch.Tensor, torch.Tensor]
    out_norm: tuple[torch.Tensor, torch.Tensor]


class BertQueryForward:
    """Embeds texts as the wrapped sentence-transformers BERT model does, with less overhead.

    Built once from a model that no longer trains: the embedding tables and layer norms
    are the model's own tensors (no second 47 MB word table), the matrices new ones, with
    query, key and value fused into one product, in `dtype` (the products' precision).
    """

    def __init__(self, model: Any, dtype: torch.dtype) -> None:
        transformer = model[0]
        bert = transformer.auto_model
        config = bert.config
        self._tokenizer = model.tokenizer
        self._max_length = int(model.max_seq_length or config.max_position_embeddings)
        self._lower_case = bool(getattr(transformer, "do_lower_case", False))
        self._normalise = len(model) == 3
        self._heads = int(config.num_attention_heads)
        self._eps = float(config.layer_norm_eps)
        self.dtype = dtype
        embeddings = bert.embeddings

        def copy(tensor: torch.Tensor, to: torch.dtype = torch.float32) -> torch.Tensor:
            # Shared with the model where the type already matches (the 47 MB word table
            # of MiniLM is not held twice); converted or fused matrices are new.
            return tensor.detach().to(to).contiguous()

        def linear(*layers: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
            weight = torch.cat([layer.weight for layer in layers])
            bias = torch.cat([layer.bias for layer in layers])
            return copy(weight, dtype), copy(bias, dtype)

        def norm(layer: torch.nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor]:
            return copy(layer.weight), copy(layer.bias)

        self._words = copy(embeddings.word_embeddings.weight)
        self._positions = copy(embeddings.position_embeddings.weight)
        self._token_type = copy(embeddings.token_type_embeddings.weight[0])
        self._embedding_norm = norm(embeddings.LayerNorm)
        self._layers = []
        for layer in bert.encoder.layer:
            attention = layer.attention
            self._layers.append(
                _Layer(
                    qkv=linear(attention.self.query, attention.self.key, attention.self.value),
                    attention_out=linear(attention.output.dense),
                    attention_norm=norm(attention.output.LayerNorm),
                    hidden=linear(layer.intermediate.dense),
                    out=linear(layer.output.dense),
                    out_norm=norm(layer.output.LayerNorm),
                )
            )

    @property
    def precision(self) -> str:
        """The products' precision by name: "bfloat16" or "float32"."""
        return "bfloat16" if self.dtype == torch.bfloat16 else "float32"

    def __call__(self, texts: list[str]) -> np.ndarray:
        """(len(texts), hidden) float32 rows, unit length when the model normalises."""
        if self._lower_case:
            texts = [text.lower() for text in texts]
        batch = padded_batch(self._tokenizer, texts, self._max_length)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        with torch.inference_mode():
            if bool(mask.all()) and not spare_rows(ids.numel()):
                return self._forward(ids, mask).numpy()
            return self._forward_packed(ids, mask.bool()).numpy()

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Texts of one length (no padding), each its own row."""
        length = ids.shape[1]
        x = self._layers_forward(self._embed(ids, self._positions[:length]), None)
        return self._finish(mean_pool(x, mask))

    def _forward_packed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Texts of several lengths as one row without padding, each attending to itself.

        A padded batch multiplies every text at the longest one's length: two one-word
        spans beside a five-word remainder (what a request's reading embeds at once) cost
        21 token rows instead of 13, and on one thread a token row costs a few percent of
        a call's fixed price. Packed, the block-diagonal mask keeps each text to its own
        tokens and positions restart at each text, so the vectors are the padded batch's
        (to float32 rounding). An idle row, which only sees itself, is added where
        `spare_rows` says so.
        """
        lengths = mask.sum(dim=1)
        counts = torch.cat([lengths, torch.tensor([spare_rows(int(lengths.sum()))])])
        segment = torch.repeat_interleave(torch.arange(len(counts)), counts)
        starts = torch.cumsum(counts, 0) - counts
        positions = torch.arange(len(segment)) - starts[segment]
        tokens = torch.cat([ids[mask], torch.zeros(int(counts[-1]), dtype=ids.dtype)])
        x = self._embed(tokens[None, :], self._positions[positions][None])
        apart = segment[:, None] != segment[None, :]
        blocked = torch.zeros(apart.shape).masked_fill(apart, torch.finfo(torch.float32).min)
        x = self._layers_forward(x, blocked.to(self.dtype)[None, None])[0]
        summed = torch.zeros(len(counts), x.shape[-1]).index_add_(0, segment, x)
        return self._finish(summed[:-1] / lengths[:, None].to(x.dtype))

    def _embed(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """(rows, length, width) normalised embeddings of token `ids` plus `positions`, the
        position embeddings of their places."""
        x = self._words[ids] + positions + self._token_type
        return functional.layer_norm(x, (x.shape[-1],), *self._embedding_norm, self._eps)

    def _layers_forward(self, x: torch.Tensor, blocked: torch.Tensor | None) -> torch.Tensor:
        """The encoder layers over (rows, length, width); `blocked` adds to the attention
        logits (the most negative float where a token must not look), None: all look."""
        rows, length, width = x.shape
        head_width = width // self._heads
        for layer in self._layers:
            qkv = functional.linear(x.to(self.dtype), *layer.qkv)
            q, k, v = qkv.view(rows, length, 3, self._heads, head_width).permute(2, 0, 3, 1, 4)
            context = functional.scaled_dot_product_attention(q, k, v, attn_mask=blocked)
            context = context.transpose(1, 2).reshape(rows, length, width)
            attended = functional.linear(context, *layer.attention_out).to(torch.float32)
            x = functional.layer_norm(attended + x, (width,), *layer.attention_norm, self._eps)
            hidden = functional.gelu(functional.linear(x.to(self.dtype), *layer.hidden))
            out = functional.linear(hidden, *layer.out).to(torch.float32)
            x = functional.layer_norm(out + x, (width,), *layer.out_norm, self._eps)
        return x

    def _finish(self, pooled: torch.Tensor) -> torch.Tensor:
        return functional.normalize(pooled, dim=1) if self._normalise else pooled


def _reproducible(model: Any) -> bool:
    """Whether `BertQueryForward` computes what this model's modules compute."""
    try:
        from sentence_transformers.models import Normalize, Pooling
    except ImportError:  # pragma: no cover - a dependency of the package
        return False
    modules = list(model)
    if len(modules) not in (2, 3) or not isinstance(modules[1], Pooling):
        return False
    if len(modules) == 3 and not isinstance(modules[2], Normalize):
        return False
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None:  # sentence-transformers before 5: one flag per mode
        mode = "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None
        others = ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens")
        if any(getattr(pooling, f"pooling_mode_{name}", False) for name in others):
            return False
    if mode != "mean" or not getattr(pooling, "include_prompt", True):
        return False
    bert = getattr(modules[0], "auto_model", None)
    config = getattr(bert, "config", None)
    return (
        type(bert).__name__ == "BertModel"
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and getattr(config, "hidden_act", None) == "gelu"
        and not getattr(config, "is_decoder", False)
    )


def lean_query_forward(model: Any, precision: Precision = "auto") -> BertQueryForward | None:
    """The lean forward for `model`, or None where it cannot be trusted to match it.

    "auto" takes bfloat16 products on a CPU that has them in hardware, else float32;
    a precision whose probe vectors stray from the library's is refused (None).
    """
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"query precision must be auto, float32 or bfloat16, not {precision!r}")
    if not _reproducible(model):
        return None
    device = getattr(model, "device", torch.device("cpu"))
    if torch.device(device).type != "cpu":
        return None  # on a GPU the library's batched path is already fast
    chosen = precision if precision != "auto" else "bfloat16" if native_bfloat16() else "float32"
    reference = np.asarray(
        model.encode(list(PROBES), convert_to_numpy=True, normalize_embeddings=True),
        dtype=np.float32,
    )
    try:
        forward = BertQueryForward(model, torch.bfloat16 if chosen == "bfloat16" else torch.float32)
        lean = forward(list(PROBES))
    except (RuntimeError, AttributeError, TypeError, ValueError) as exc:
        # A model laid out unlike the BERT this reproduces, or a kernel this CPU lacks.
        logger.warning(
            "the lean %s query forward failed (%s); requests take the library's path", chosen, exc
        )
        return None
    lean = lean / np.maximum(np.linalg.norm(lean, axis=1, keepdims=True), 1e-12)
    agreement = float((reference * lean).sum(axis=1).min())
    if agreement < MIN_COSINE[chosen]:
        logger.warning(
            "the lean %s query forward disagrees with sentence-transformers (cosine %.6f); "
            "requests take the library's path",
            chosen,
            agreement,
        )
        return None
    logger.info("typed requests take the lean %s forward (probe cosine %.6f)", chosen, agreement)
    return forward
