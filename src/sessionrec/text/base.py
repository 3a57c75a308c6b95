"""The one text-encoder contract: texts in, unit-length float32 vectors out.

Every encoder (a sentence-transformers model, a plain Hugging Face encoder, an HTTP
embeddings service) subclasses `TextEncoder` and implements only `_encode_batch`. Batching,
length sorting, the progress bar, the float32 cast and L2 normalisation live here once, so
the cache, the model and the engine can rely on the same output from any encoder.

Two roles: item texts are encoded with `encode` (they are what is searched, "passages"),
typed requests with `encode_queries` (what a person asks). Most models read both alike, and
`encode_queries` is then `encode`; a model trained with asymmetric inputs, such as E5's
"query: " / "passage: " prefixes, also implements `_encode_query_batch`.
"""

from __future__ import annotations

import hashlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sessionrec.errors import ConfigError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "TextEncoder",
    "is_local_model",
    "loading_bars_on_terminals_only",
    "model_id",
    "model_not_found_offline",
    "normalise_rows",
]

DEFAULT_BATCH_SIZE = 32
"""Texts per forward pass or request: small enough for a CPU, large enough to amortise calls."""


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit L2 length as float32; all-zero rows stay zero rather than NaN."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, np.float32(1e-12))


def is_local_model(name_or_path: str) -> bool:
    """Whether a model spec names a folder on disk (rather than a hub name)."""
    return Path(name_or_path).expanduser().is_dir()


def model_id(kind: str, name_or_path: str) -> str:
    """A stable encoder name for a hub model name or a local model folder.

    A hub name is its own id. A folder gets its base name plus a short hash of its resolved
    path and of each file's size and modification time, so retraining a model in place, or
    two different folders called "model", never share cached vectors.
    """
    folder = Path(name_or_path).expanduser()
    if not folder.is_dir():
        return f"{kind}:{name_or_path}"
    folder = folder.resolve()
    digest = hashlib.sha256(str(folder).encode())
    for entry in sorted(folder.iterdir()):
        if entry.is_file():
            info = entry.stat()
            digest.update(f"|{entry.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return f"{kind}:{folder.name}@{digest.hexdigest()[:10]}"


def model_not_found_offline(kind: str, name_or_path: str, cause: BaseException) -> ConfigError:
    """The error for a model that is neither a local folder nor in the local hub cache.

    sessionrec never downloads weights at run time (machines may have no route to a model
    hub), so the message says how to point at a folder that holds the model instead.
    """
    looks_like_path = (
        name_or_path.startswith(("/", ".", "~")) or Path(name_or_path).expanduser().exists()
    )
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    if looks_like_path:
        problem = f"the folder {name_or_path!r} does not exist or holds no loadable model"
    else:
        problem = (
            f"{name_or_path!r} could not be loaded offline: it is not a local folder and "
            "not in the local Hugging Face cache (sessionrec does not download models)"
        )
    return ConfigError(
        f"{kind} model {problem}. Pass the path of a local folder holding the model files "
        f"(config.json, weights, tokenizer), e.g. '{kind}:/path/to/model', or leave the "
        f"encoder unset to use the bundled all-MiniLM-L6-v2. Cause: {reason}"
    )


@contextmanager
def loading_bars_on_terminals_only() -> Iterator[None]:
    """Inside: Hugging Face's model-loading bars show only when stderr is a terminal.

    They redraw with carriage returns, which on a terminal is a bar and in a log file (a
    server's, a CI run's) a line of bar frames among the log lines.
    """
    from transformers.utils import logging as hf_logging

    if sys.stderr.isatty() or not hf_logging.is_progress_bar_enabled():
        yield
        return
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


class TextEncoder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    `name` is a stable id for the model (e.g. ``"st:all-MiniLM-L6-v2"``): the embedding cache
    keys vectors by it, so two encoders with the same name must give the same vectors.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """Stable id of the model, used as the cache key; changes whenever the vectors would."""

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of every vector this encoder returns."""

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Encode one batch of item texts; returns (len(texts), dimension), normalised or not."""

    def _encode_query_batch(self, texts: list[str]) -> np.ndarray:
        """Encode one batch of requests; by default exactly as item texts (`_encode_batch`)."""
        return self._encode_batch(texts)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Encode item texts in batches; returns (n, dimension) float32 rows of unit length.

        Texts are batched in order of length so each batch pads to similar lengths (much
        less wasted compute on mixed short and long texts); rows come back in input order.
        These are the vectors the embedding cache stores under `name`.
        """
        return self._encode_in_batches(texts, batch_size, show_progress, self._encode_batch)

    def encode_queries(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Encode typed requests (search queries), to be compared with `encode`'s item vectors.

        Same shapes and guarantees as `encode`. The same as `encode` unless the encoder
        reads queries differently (E5's "query: " prefix); the embedding cache never stores
        these vectors, so they never mix with the item vectors kept under `name`.
        """
        return self._encode_in_batches(texts, batch_size, show_progress, self._encode_query_batch)

    def _encode_in_batches(
        self,
        texts: Sequence[str],
        batch_size: int,
        show_progress: bool,
        encode_batch: Callable[[list[str]], np.ndarray],
    ) -> np.ndarray:
        """Batch texts by length, encode each batch with `encode_batch`, check, normalise."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        items = [str(t) for t in texts]
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
        out: np.ndarray | None = None
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        # On stderr beside the log lines, and only on a terminal: in a log file a bar is
        # noise (and rich leaves a blank line where it was).
        console = Console(stderr=True)
        disable = not show_progress or not console.is_terminal
        with Progress(*columns, console=console, transient=True, disable=disable) as progress:
            task = progress.add_task(f"encoding with {self.name}", total=len(items))
            for start in range(0, len(items), batch_size):
                index = order[start : start + batch_size]
                batch = encode_batch([items[i] for i in index])
                batch = self._check_batch(batch, len(index))
                if out is None:
                    out = np.empty((len(items), batch.shape[1]), dtype=np.float32)
                elif batch.shape[1] != out.shape[1]:
                    raise ValueError(
                        f"encoder {self.name} changed dimension within one call: "
                        f"{out.shape[1]} then {batch.shape[1]}"
                    )
                out[index] = batch
                progress.advance(task, len(index))
        # items is non-empty, so the loop ran and `out` is set.
        return np.asarray(out, dtype=np.float32)

    def _check_batch(self, batch: np.ndarray, expected_rows: int) -> np.ndarray:
        """Cast, validate the shape and normalise one batch from `_encode_batch`."""
        array = np.asarray(batch, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != expected_rows:
            raise ValueError(
                f"encoder {self.name} returned shape {array.shape} for {expected_rows} texts"
            )
        return normalise_rows(array)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class LoadedModelEncoder(TextEncoder):
    """An encoder over a model loaded in-process, which knows its id and size once loaded.

    Subclasses set `_name` and `_dimension` in their constructor; the properties are the
    same for every such encoder, so they live here once.
    """

    _name: str
    _dimension: int

    @property
    def name(self) -> str:
        """Cache id, e.g. "st:all-MiniLM-L6-v2" or "hf:intfloat/e5-small-v2"."""
        return self._name

    @property
    def dimension(self) -> int:
        """Vector length of the loaded model."""
        return self._dimension
