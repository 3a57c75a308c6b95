"""Tests for the OpenAI-compatible embeddings client against a real local HTTP server.

The server (`sessionrec.testing.embedding_service`) runs on 127.0.0.1 on a free port for
this module, answers /v1/embeddings with deterministic (not normalised) vectors, and can be
told to fail, so the client's true urllib path, retries and error messages are exercised
without any outside network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sessionrec.errors import ConfigError, SessionrecError
from sessionrec.testing.embedding_service import (
    DIMENSION,
    Behaviour,
    FakeEmbeddingService,
    raw_vector,
)
from sessionrec.text.openai_http import (
    EmbeddingServiceError,
    OpenAIEmbeddingEncoder,
    embeddings_url,
)
from sessionrec.text.registry import load_encoder


@pytest.fixture(scope="module")
def server() -> Iterator[FakeEmbeddingService]:
    with FakeEmbeddingService() as s:
        yield s


@pytest.fixture
def service(server: FakeEmbeddingService) -> Behaviour:
    return server.reset()


@pytest.fixture
def base_url(server: FakeEmbeddingService) -> str:
    return server.base_url


def encoder_for(base_url: str, **options: Any) -> OpenAIEmbeddingEncoder:
    options.setdefault("env", {})
    options.setdefault("backoff_s", 0.01)
    return OpenAIEmbeddingEncoder("test-model", base_url, **options)


def test_batches_and_normalises_in_input_order(service: Behaviour, base_url: str) -> None:
    texts = ["alpha", "be", "gamma ray", "d", "epsilon"]
    vectors = encoder_for(base_url).encode(texts, batch_size=2)
    assert vectors.shape == (5, DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    for text, row in zip(texts, vectors, strict=True):
        expected = np.asarray(raw_vector(text), dtype=np.float32)
        np.testing.assert_allclose(row, expected / np.linalg.norm(expected), rtol=1e-6)
    assert [len(r["body"]["input"]) for r in service.requests] == [2, 2, 1]
    assert all(r["body"]["model"] == "test-model" for r in service.requests)
    assert sorted(t for r in service.requests for t in r["body"]["input"]) == sorted(texts)
    assert all(r["path"] == "/v1/embeddings" for r in service.requests)


def test_sends_the_api_key_as_a_bearer_token(service: Behaviour, base_url: str) -> None:
    service.required_key = "sk-test"
    encoder_for(base_url, api_key="sk-test").encode(["x"])
    assert service.requests[-1]["auth"] == "Bearer sk-test"


def test_api_key_comes_from_the_environment(service: Behaviour, base_url: str) -> None:
    env = {"OPENAI_API_KEY": "sk-openai", "SESSIONREC_EMBEDDINGS_API_KEY": "sk-own"}
    encoder_for(base_url, env=env).encode(["x"])
    encoder_for(base_url, env={"OPENAI_API_KEY": "sk-openai"}).encode(["x"])
    encoder_for(base_url, env={}).encode(["x"])
    assert [r["auth"] for r in service.requests] == ["Bearer sk-own", "Bearer sk-openai", None]


def test_retries_once_after_a_503(
    service: Behaviour, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    service.failures.append((503, {}, b'{"error": "warming up"}'))
    vectors = encoder_for(base_url).encode(["x", "y"])
    assert vectors.shape == (2, DIMENSION)
    assert len(service.requests) == 2
    assert "503" in caplog.text


def test_retry_after_header_is_followed(service: Behaviour, base_url: str) -> None:
    service.failures.append((429, {"Retry-After": "0"}, b"slow down"))
    encoder_for(base_url, backoff_s=30.0).encode(["x"])  # would hang if Retry-After were ignored
    assert len(service.requests) == 2


def test_gives_up_after_the_retries(service: Behaviour, base_url: str) -> None:
    service.failures.extend([(500, {}, b"boom")] * 3)
    with pytest.raises(EmbeddingServiceError) as caught:
        encoder_for(base_url, max_retries=2).encode(["x"])
    assert caught.value.status == 500
    assert len(service.requests) == 3
    assert "boom" in str(caught.value)


def test_401_is_a_clear_error_without_retries(service: Behaviour, base_url: str) -> None:
    service.required_key = "sk-right"
    with pytest.raises(EmbeddingServiceError) as caught:
        encoder_for(base_url, api_key="sk-wrong").encode(["x"])
    message = str(caught.value)
    assert caught.value.status == 401
    assert f"{base_url}/v1/embeddings" in message
    assert "401" in message
    assert "API key" in message
    assert "SESSIONREC_EMBEDDINGS_API_KEY" in message
    assert "Incorrect API key provided" in message
    assert "sk-wrong" not in message
    assert len(service.requests) == 1
    assert isinstance(caught.value, SessionrecError)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>gateway</html>", "not JSON"),
        (b'{"result": []}', "no 'data' list"),
        (b'{"data": [{"index": 0, "embedding": [1.0, 2.0]}]}', "1 embeddings for 2 inputs"),
        (
            b'{"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": "x"}]}',
            "not a non-empty list",
        ),
        (
            b'{"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1, 2]}]}',
            "differ in length",
        ),
        (
            b'{"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]}',
            "indices",
        ),
        (b'{"data": [1, 2]}', "not an object"),
    ],
)
def test_malformed_answers_are_clear_errors(
    service: Behaviour, base_url: str, body: bytes, why: str
) -> None:
    service.body_override = body
    with pytest.raises(EmbeddingServiceError, match="malformed") as caught:
        encoder_for(base_url).encode(["x", "y"])
    assert why in str(caught.value)
    assert f"{base_url}/v1/embeddings" in str(caught.value)


def test_unreachable_service_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe socket is closed.
    encoder = encoder_for(f"http://127.0.0.1:{port}", max_retries=1)
    with pytest.raises(EmbeddingServiceError, match="could not be reached after 2 tries"):
        encoder.encode(["x"])


def test_dimension_is_probed_once_when_not_given(service: Behaviour, base_url: str) -> None:
    encoder = encoder_for(base_url)
    assert encoder.dimension == DIMENSION
    assert encoder.dimension == DIMENSION
    assert len(service.requests) == 1
    assert encoder_for(base_url, dimension=DIMENSION).dimension == DIMENSION
    assert len(service.requests) == 1


def test_a_different_dimension_is_an_error(service: Behaviour, base_url: str) -> None:
    with pytest.raises(EmbeddingServiceError, match="expected 12"):
        encoder_for(base_url, dimension=12).encode(["x"])


def test_base_url_may_end_in_v1(service: Behaviour, base_url: str) -> None:
    encoder_for(f"{base_url}/v1/").encode(["x"])
    assert service.requests[-1]["path"] == "/v1/embeddings"
    assert embeddings_url("https://api.example.com") == "https://api.example.com/v1/embeddings"


@pytest.mark.parametrize("bad", ["localhost:8000", "ftp://host", "", "http://"])
def test_bad_base_urls_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="base URL"):
        OpenAIEmbeddingEncoder("m", bad)


def test_registry_builds_the_http_encoder(service: Behaviour, base_url: str) -> None:
    encoder = load_encoder(f"openai:test-model@{base_url}", env={})
    assert encoder.name == f"openai:test-model@{base_url}"
    assert encoder.encode(["x"]).shape == (1, DIMENSION)
    from_env = load_encoder("openai:test-model", env={"SESSIONREC_EMBEDDINGS_BASE_URL": base_url})
    assert from_env.encode(["x"]).shape == (1, DIMENSION)
    with pytest.raises(ConfigError, match="SESSIONREC_EMBEDDINGS_BASE_URL"):
        load_encoder("openai:test-model", env={})
