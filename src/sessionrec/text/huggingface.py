"""Any Hugging Face encoder (BERT, RoBERTa, E5, ...) with masked mean pooling.

For models that were not packaged for sentence-transformers: the token vectors of the last
layer are averaged over the real (non-padding) tokens, the usual sentence embedding for
encoders trained without a pooling head. Loading never downloads: see
`model_not_found_offline`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from sessionrec.errors import ConfigError
from sessionrec.text.base import (
    LoadedModelEncoder,
    loading_bars_on_terminals_only,
    model_id,
    model_not_found_offline,
)

__all__ = ["DEFAULT_MAX_LENGTH", "HuggingFaceEncoder", "mean_pool", "padded_batch"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 256
"""Tokens kept per text: item descriptions rarely need more, and cost grows with length."""


def padded_batch(tokenizer: Any, texts: list[str], max_length: int) -> Any:
    """Token ids and attention mask as torch tensors, padded to the longest text and cut
    at `max_length` tokens: how every local model here is fed."""
    return tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """(B, C) the mean of each text's token vectors (B, T, C) over its real tokens."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    # Padding tokens carry vectors too; the mask keeps them out of the average.
    summed = (hidden * mask).sum(dim=1)  # (B, C)
    counts = mask.sum(dim=1).clamp(min=1.0)  # (B, 1); an empty text would divide by 0
    return summed / counts


class HuggingFaceEncoder(LoadedModelEncoder):
    """Encode texts with `AutoModel` + masked mean pooling, from a folder or the hub cache.

    `device` None picks CUDA when available, else the CPU. `max_length` is capped at what
    the tokenizer supports.
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        device: str | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - dependencies of the package
            raise ConfigError(
                "the 'hf:' encoder needs the transformers and torch packages"
            ) from exc
        if max_length < 1:
            raise ConfigError(f"max_length must be at least 1, got {max_length}")
        self._device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            # local_files_only: a folder or the local hub cache, never a download.
            with loading_bars_on_terminals_only():
                self._tokenizer: Any = AutoTokenizer.from_pretrained(model, local_files_only=True)
                self._model: Any = AutoModel.from_pretrained(model, local_files_only=True)
        except Exception as exc:
            raise model_not_found_offline("hf", model, exc) from exc
        self._model.to(self._device).eval()
        tokenizer_limit = getattr(self._tokenizer, "model_max_length", None) or max_length
        self._max_length = min(max_length, int(tokenizer_limit))
        self._name = name or model_id("hf", model)
        self._dimension = self._read_dimension()
        logger.info("loaded Hugging Face model %s (%d-d)", self._name, self._dimension)

    def _read_dimension(self) -> int:
        """Hidden size from the model config, else measured on one text."""
        config = self._model.config
        for attribute in ("hidden_size", "d_model", "dim"):
            value = getattr(config, attribute, None)
            if isinstance(value, int) and value > 0:
                return value
        return int(self._encode_batch(["dimension probe"]).shape[1])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        tokens = padded_batch(self._tokenizer, texts, self._max_length).to(self._device)
        with torch.inference_mode():
            hidden = self._model(**tokens).last_hidden_state  # (B, T, C) batch, tokens, channels
        return mean_pool(hidden, tokens["attention_mask"]).float().cpu().numpy()
