"""Embeddings from an OpenAI-compatible HTTP service (``POST {base_url}/v1/embeddings``).

Many servers speak this protocol (OpenAI itself, vLLM, llama.cpp, Ollama, text-embeddings-
inference), so one small client covers hosted and self-hosted models. It uses the standard
library's urllib, so no HTTP package is needed, retries what is worth retrying (429 and 5xx,
dropped connections) with exponential backoff, and turns every other failure into one clear
error that names the URL and the status.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import numpy as np

from sessionrec.errors import ConfigError, SessionrecError
from sessionrec.openai_protocol import api_key_from_env, endpoint_url, http_error_detail
from sessionrec.text.base import TextEncoder

__all__ = [
    "API_KEY_ENV_VARS",
    "EmbeddingServiceError",
    "OpenAIEmbeddingEncoder",
    "embeddings_url",
]

logger = logging.getLogger(__name__)

API_KEY_ENV_VARS: tuple[str, ...] = ("SESSIONREC_EMBEDDINGS_API_KEY", "OPENAI_API_KEY")
"""Where the key is looked for, in order, when none is passed: sessionrec's own name first."""

_MAX_RETRY_AFTER_S = 60.0


class EmbeddingServiceError(SessionrecError):
    """The embeddings service failed or answered something unusable.

    Carries the URL and, when there was an HTTP answer, its status.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        self.url = url
        self.status = status
        where = f"{url}" + (f" answered HTTP {status}" if status is not None else "")
        super().__init__(f"embeddings service {where}: {message}")


def embeddings_url(base_url: str) -> str:
    """The embeddings endpoint under a base URL, with or without its trailing ``/v1``."""
    return endpoint_url(base_url, "embeddings", "embeddings")


class OpenAIEmbeddingEncoder(TextEncoder):
    """Encode texts by calling an OpenAI-compatible ``/v1/embeddings`` endpoint.

    `api_key` falls back to ``$SESSIONREC_EMBEDDINGS_API_KEY``, then ``$OPENAI_API_KEY``;
    with none, no Authorization header is sent (local servers often need none).
    `dimension` may be given to avoid a probe request; otherwise it is learnt from the
    first answer. `max_retries` counts retries after the first try; the wait doubles from
    `backoff_s`, or follows the server's Retry-After.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        name: str | None = None,
        dimension: int | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not model.strip():
            raise ConfigError("the embeddings model name must not be empty")
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0:
            raise ConfigError(
                "timeout_s must be positive and max_retries, backoff_s not negative; got "
                f"{timeout_s}, {max_retries}, {backoff_s}"
            )
        self.model = model
        self.url = embeddings_url(base_url)
        self._api_key = api_key or api_key_from_env(
            os.environ if env is None else env, API_KEY_ENV_VARS
        )
        self._name = name or f"openai:{model}@{base_url.strip().rstrip('/')}"
        self._dimension = dimension
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    @property
    def name(self) -> str:
        """Cache id, e.g. "openai:text-embedding-3-small@https://api.openai.com"."""
        return self._name

    @property
    def dimension(self) -> int:
        """Vector length; if not given nor seen yet, one short request finds it out."""
        if self._dimension is None:
            self._encode_batch(["dimension probe"])
        assert self._dimension is not None  # set by _encode_batch or it raised
        return self._dimension

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        payload = json.dumps({"model": self.model, "input": texts}).encode("utf-8")
        answer = self._post(payload)
        vectors = self._parse(answer, len(texts))
        if self._dimension is None:
            self._dimension = vectors.shape[1]
        elif vectors.shape[1] != self._dimension:
            raise EmbeddingServiceError(
                f"returned {vectors.shape[1]}-d vectors, expected {self._dimension}",
                url=self.url,
            )
        return vectors

    def _post(self, payload: bytes) -> bytes:
        """POST with retries on 429, 5xx and dropped connections; the body of a 2xx answer."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "sessionrec",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        attempt = 0
        while True:
            request = urllib.request.Request(self.url, data=payload, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    body: bytes = response.read()
                    return body
            except urllib.error.HTTPError as exc:
                status = exc.code
                detail = http_error_detail(exc)
                retry_after = _retry_after(exc.headers.get("Retry-After"))
                exc.close()
                if (status == 429 or status >= 500) and attempt < self.max_retries:
                    wait = self._wait(attempt, retry_after)
                    logger.warning(
                        "%s answered HTTP %d; retry %d/%d in %.1fs",
                        self.url,
                        status,
                        attempt + 1,
                        self.max_retries,
                        wait,
                    )
                else:
                    raise EmbeddingServiceError(
                        _explain(status, detail), url=self.url, status=status
                    ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if attempt >= self.max_retries:
                    raise EmbeddingServiceError(
                        f"could not be reached after {attempt + 1} tries: {reason}", url=self.url
                    ) from exc
                wait = self._wait(attempt, None)
                logger.warning(
                    "%s could not be reached (%s); retry %d/%d in %.1fs",
                    self.url,
                    reason,
                    attempt + 1,
                    self.max_retries,
                    wait,
                )
            time.sleep(wait)
            attempt += 1

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next try: the server's Retry-After, else doubling backoff."""
        if retry_after is not None:
            return min(retry_after, _MAX_RETRY_AFTER_S)
        return float(self.backoff_s * (2**attempt))

    def _parse(self, body: bytes, expected: int) -> np.ndarray:
        """The (expected, d) vectors of an embeddings answer, in input order."""

        def malformed(why: str) -> EmbeddingServiceError:
            return EmbeddingServiceError(
                f"malformed embeddings response ({why}); expected JSON "
                '{"data": [{"index": i, "embedding": [floats]}, ...]}',
                url=self.url,
                status=200,
            )

        try:
            answer: Any = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise malformed(f"not JSON: {exc}") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise malformed("no 'data' list")
        if len(data) != expected:
            raise malformed(f"{len(data)} embeddings for {expected} inputs")
        if not all(isinstance(d, dict) for d in data):
            raise malformed("an entry of 'data' is not an object")
        # The protocol gives each entry its input position; order by it when present.
        if all(isinstance(d.get("index"), int) for d in data):
            if sorted(d["index"] for d in data) != list(range(expected)):
                raise malformed("indices are not 0..n-1")
            data = sorted(data, key=lambda d: d["index"])
        rows: list[list[float]] = []
        for d in data:
            embedding = d.get("embedding")
            if (
                not isinstance(embedding, list)
                or not embedding
                or not all(
                    isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                    for x in embedding
                )
            ):
                raise malformed("an 'embedding' is not a non-empty list of finite numbers")
            rows.append(embedding)
        if len({len(r) for r in rows}) != 1:
            raise malformed("embeddings differ in length")
        return np.asarray(rows, dtype=np.float32)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a numeric Retry-After header; None when absent or a date."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _explain(status: int, detail: str) -> str:
    """A message for a failed request that says what to check."""
    said = f" ({detail})" if detail else ""
    if status in (401, 403):
        variables = " or $".join(API_KEY_ENV_VARS)
        return f"the request was refused{said}; check the API key (api_key, or ${variables})"
    if status == 404:
        return f"not found{said}; check the base URL and the model name"
    if status == 429 or status >= 500:
        return f"still failing after the retries{said}"
    return f"the request was rejected{said}"
