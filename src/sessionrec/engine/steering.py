"""Language steering: a typed request moves the slate toward items that match it.

The request is read by the same language model that read the items, so "an animated film
for children" lands near items whose text says so. It acts twice:

- in item space: projected through the model's item adapter (as a brand-new item with this
  text would be) and blended with the session vector, so the model retrieves candidates
  that fit both the session and the request;
- in language-model space: its cosine to each candidate's text is added to the score, a
  direct and transparent match term that also works where the adapter is weak.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from sessionrec.errors import ConfigError
from sessionrec.text.base import TextEncoder

REQUEST_BLEND = 0.5
"""Share of the (unit) projected request in the query vector; the session keeps the rest.
Half and half: a request is explicit intent, but the session still says which of the
matching items this person is likely to pick."""

REQUEST_WEIGHT = 0.8
"""Score spreads added per standard deviation of the request's cosines over the catalogue
(measured per request, over the fixed sample): the unit follows the encoder, whose cosines
spread very differently (MiniLM's genre requests on MovieLens by 0.064-0.094, mean 0.075;
e5's are compressed toward 1). 0.8 keeps what the MiniLM-tuned term gave before, one
spread per 0.1 of cosine: items that match a genre request sit about two deviations above
the rest, enough to fill most of a slate with matches while the session orders them."""

MIN_REQUEST_SPREAD = 0.01
"""Floor of that deviation: a request equally close to everything must not be amplified
into a strong term."""

CACHE_SIZE = 1024
"""Request vectors kept; people repeat and refine requests, and encoding costs milliseconds."""


class RequestEncoder:
    """Encodes request texts with the model's own text encoder, loaded on first use."""

    def __init__(self, factory: Callable[[], TextEncoder]) -> None:
        self._factory = factory
        self._encoder: TextEncoder | None = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def encoder(self) -> TextEncoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = self._factory()
            return self._encoder

    def encode_one(self, text: str, dimension: int) -> np.ndarray:
        """The unit vector of one text (cached); ConfigError if the model reads another size."""
        key = " ".join(text.split())
        with self._lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
        if vector is None:
            encoder = self.encoder
            with self._lock:  # sentence-transformers models are not safe to share across threads
                vector = encoder.encode_queries([key])[0]
            self._remember(key, vector)
        if vector.shape[0] != dimension:
            raise ConfigError(
                f"text encoder {self.encoder.name} gives {vector.shape[0]}-dimensional vectors "
                f"but the model was trained on {dimension}-dimensional ones; use the encoder it "
                "was trained with"
            )
        return vector

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Unit query vectors of several short texts (the interpreter's spans and facet
        names). The interpreter keeps its own cache; they are remembered here too, since
        what is left of a request to steer by is often one of its spans ("something
        lighter" steers by "lighter"), which then needs no second encoder call."""
        encoder = self.encoder
        with self._lock:
            vectors = encoder.encode_queries(list(texts))
        for text, vector in zip(texts, vectors, strict=True):
            self._remember(" ".join(text.split()), vector.copy())
        return vectors

    def _remember(self, key: str, vector: np.ndarray) -> None:
        vector.setflags(write=False)
        with self._lock:
            self._cache[key] = vector
            self._cache.move_to_end(key)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)


def blend_queries(session: np.ndarray, request: np.ndarray) -> np.ndarray:
    """(R, C) session vectors turned toward the (C,) projected request.

    Both are compared as directions (unit length), then the session's own length is
    restored so the logits keep their scale; an empty session (zero vector) becomes the
    request alone.
    """
    request_unit = request / max(float(np.linalg.norm(request)), 1e-12)
    norms = np.linalg.norm(session, axis=1, keepdims=True)
    directions = session / np.maximum(norms, 1e-12)
    blended = (1.0 - REQUEST_BLEND) * directions + REQUEST_BLEND * request_unit[None, :]
    scale = np.where(norms > 0, norms, 1.0)
    return (blended * scale).astype(np.float32)


def request_match(text: np.ndarray, rows: np.ndarray, request: np.ndarray) -> np.ndarray:
    """Cosine of the request to the text of each item in `rows` (0 for items without text)."""
    return (text[rows] @ request).astype(np.float64)


def request_term(cosines: np.ndarray, reference: float, spread: float) -> np.ndarray:
    """Score added for request cosines, in deviations from the catalogue's mean cosine."""
    return REQUEST_WEIGHT * (cosines - reference) / max(spread, MIN_REQUEST_SPREAD)
