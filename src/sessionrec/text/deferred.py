"""An encoder whose model loads on first use, for callers that may need only its name.

Training reads its item vectors from the embedding cache, which keys them by the encoder's
name. When every text is cached the model is never asked for a vector, yet loading the
bundled MiniLM (importing sentence-transformers and building the torch model) took about
11 s of a run whose training epochs take 5 s each on ml-100k.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from sessionrec.text.base import DEFAULT_BATCH_SIZE, TextEncoder

__all__ = ["DeferredEncoder"]


class DeferredEncoder(TextEncoder):
    """`name` known now; the encoder from `load` built the first time a vector is needed.

    `load` must build an encoder of exactly that name (checked when it loads), since the
    cache would otherwise file vectors of one model under another's name.
    """

    def __init__(self, name: str, load: Callable[[], TextEncoder]) -> None:
        self._name = name
        self._load = load
        self._encoder: TextEncoder | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        """Whether the model has been built (for tests and logs)."""
        return self._encoder is not None

    @property
    def dimension(self) -> int:
        return self._loaded().dimension

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
    ) -> np.ndarray:
        return self._loaded().encode(texts, batch_size, show_progress)

    def encode_queries(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
    ) -> np.ndarray:
        return self._loaded().encode_queries(texts, batch_size, show_progress)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._loaded().encode(texts, batch_size=max(len(texts), 1))

    def _loaded(self) -> TextEncoder:
        with self._lock:
            if self._encoder is None:
                encoder = self._load()
                if encoder.name != self._name:
                    raise ValueError(
                        f"the deferred encoder {self._name!r} loaded a model named {encoder.name!r}"
                    )
                self._encoder = encoder
            return self._encoder
