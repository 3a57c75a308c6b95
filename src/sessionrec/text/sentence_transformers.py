"""A sentence-transformers model, from a local folder or the local Hugging Face cache.

sentence-transformers folders carry their own pooling and normalisation (``modules.json``),
so this is the most faithful way to run models trained with that library, such as the
bundled all-MiniLM-L6-v2. Loading never downloads: see `model_not_found_offline`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from sessionrec.errors import ConfigError
from sessionrec.text.base import (
    LoadedModelEncoder,
    loading_bars_on_terminals_only,
    model_id,
    model_not_found_offline,
)
from sessionrec.text.bert_queries import BertQueryForward, Precision, lean_query_forward

__all__ = ["SentenceTransformerEncoder"]

logger = logging.getLogger(__name__)


class SentenceTransformerEncoder(LoadedModelEncoder):
    """Encode texts with a sentence-transformers model given by folder path or hub name.

    `name` overrides the cache id; by default a hub name is its own id and a folder gets
    one derived from its path and files (see `model_id`). `device` None lets
    sentence-transformers choose (a GPU when there is one). Typed requests take a lean
    forward pass of BERT models on the CPU (`bert_queries`), its products in
    `query_precision` ("auto": bfloat16 where the CPU has it in hardware), built at the
    first request: a process that only encodes items (training) never holds its weights.
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        device: str | None = None,
        max_length: int | None = None,
        query_precision: Precision = "auto",
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ConfigError(
                "the 'st:' encoder needs the sentence-transformers package "
                "(pip install sentence-transformers)"
            ) from exc
        try:
            # local_files_only: a folder or the local hub cache, never a download.
            with loading_bars_on_terminals_only():
                self._model: Any = SentenceTransformer(model, device=device, local_files_only=True)
        except Exception as exc:
            raise model_not_found_offline("st", model, exc) from exc
        if max_length is not None:
            self._model.max_seq_length = max_length
        self._name = name or model_id("st", model)
        self._dimension = self._read_dimension()
        self._precision: Precision = query_precision
        self._queries: BertQueryForward | None = None
        self._queries_built = False
        self._queries_lock = threading.Lock()
        logger.info("loaded sentence-transformers model %s (%d-d)", self._name, self._dimension)

    @property
    def query_precision(self) -> str:
        """How typed requests are embedded: "float32" or "bfloat16" by the lean forward, or
        "library" (the model is not one the lean forward reproduces)."""
        forward = self._query_forward()
        return "library" if forward is None else forward.precision

    def _query_forward(self) -> BertQueryForward | None:
        """The lean forward, built (and checked on the probes) on first use."""
        with self._queries_lock:
            if not self._queries_built:
                self._queries = lean_query_forward(self._model, self._precision)
                self._queries_built = True
            return self._queries

    def _read_dimension(self) -> int:
        """The model's output size, asking it where it says, else measuring one vector."""
        # sentence-transformers renamed the method; accept either so both old and new work.
        for method in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
            getter = getattr(self._model, method, None)
            if getter is not None:
                value = getter()
                if value:
                    return int(value)
        return int(self._encode_batch(["dimension probe"]).shape[1])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=len(texts),
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_query_batch(self, texts: list[str]) -> np.ndarray:
        forward = self._query_forward()
        if forward is None:
            return self._encode_batch(texts)
        return forward(texts)
