"""Tests for the lean forward that embeds typed requests (`sessionrec.text.bert_queries`).

The bundled all-MiniLM-L6-v2 is the model: the lean forward must give sentence-
transformers' own vectors, refuse models it does not reproduce, and `encode_queries` of
the default encoder must go through it.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from sessionrec.text import bert_queries
from sessionrec.text.bert_queries import lean_query_forward, native_bfloat16
from sessionrec.text.registry import DEFAULT_ENCODER_NAME, bundled_model_folder
from sessionrec.text.sentence_transformers import SentenceTransformerEncoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MIXED = [
    "tense",
    "an animated film for children, nothing scary",
    "适合孩子的动画片",
    "hiking boots under 50 euros",
    "a word " * 400,  # past the model's 256 tokens: truncated alike
    "ok",
]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(
        str(bundled_model_folder()), name=DEFAULT_ENCODER_NAME, query_precision="float32"
    )


def library(encoder: SentenceTransformerEncoder) -> Any:
    return encoder._model


def reference(encoder: SentenceTransformerEncoder, texts: list[str]) -> np.ndarray:
    vectors = library(encoder).encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)


def test_float32_forward_gives_the_library_vectors_in_padded_batches(
    encoder: SentenceTransformerEncoder,
) -> None:
    forward = lean_query_forward(library(encoder), "float32")
    assert forward is not None and forward.precision == "float32"
    expected = reference(encoder, MIXED)
    np.testing.assert_allclose(forward(MIXED), expected, atol=2e-6)  # one padded batch
    alone = np.vstack([forward([text]) for text in MIXED])
    np.testing.assert_allclose(alone, expected, atol=2e-6)


def test_texts_of_several_lengths_are_packed_into_one_row_without_padding(
    encoder: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = lean_query_forward(library(encoder), "float32")
    assert forward is not None
    shapes: list[tuple[int, ...]] = []
    layers = bert_queries.BertQueryForward._layers_forward

    def spy(self: bert_queries.BertQueryForward, x: torch.Tensor, blocked: Any) -> torch.Tensor:
        shapes.append(tuple(x.shape[:2]))
        return layers(self, x, blocked)

    monkeypatch.setattr(bert_queries.BertQueryForward, "_layers_forward", spy)
    texts = ["cozy", "rainy", "cozy for a rainy evening"]
    packed = forward(texts)
    assert shapes == [(1, 3 + 3 + 7)]  # [CLS] word [SEP] twice, then seven tokens
    np.testing.assert_allclose(packed, reference(encoder, texts), atol=2e-6)
    forward(["tense", "cozy"])  # one length: the plain batch
    assert shapes[-1] == (2, 3)
    one = forward(["cozy for a rainy evening"])  # 7 rows: an idle eighth, seeing only itself
    assert shapes[-1] == (1, 8)
    np.testing.assert_allclose(one, packed[2:], atol=2e-6)
    assert [bert_queries.spare_rows(n) for n in (3, 4, 7, 8, 11, 13)] == [0, 0, 1, 0, 1, 0]


def test_bfloat16_forward_stays_within_its_stated_cosine(
    encoder: SentenceTransformerEncoder,
) -> None:
    forward = lean_query_forward(library(encoder), "bfloat16")
    assert forward is not None and forward.precision == "bfloat16"
    cosines = np.sum(forward(MIXED) * reference(encoder, MIXED), axis=1)
    assert cosines.min() >= bert_queries.MIN_COSINE["bfloat16"]
    assert cosines.min() < 1 - 1e-7  # it did run in bfloat16


def test_auto_takes_bfloat16_only_where_the_cpu_has_it(
    encoder: SentenceTransformerEncoder,
) -> None:
    forward = lean_query_forward(library(encoder), "auto")
    assert forward is not None
    assert forward.precision == ("bfloat16" if native_bfloat16() else "float32")


def test_encode_queries_takes_the_lean_forward(encoder: SentenceTransformerEncoder) -> None:
    assert encoder.query_precision == "float32"
    queries = encoder.encode_queries(MIXED)
    np.testing.assert_allclose(queries, encoder.encode(MIXED), atol=2e-6)
    calls: list[list[str]] = []
    lean = encoder._queries
    assert lean is not None

    def spy(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return lean(texts)

    encoder._queries = spy  # type: ignore[assignment]
    try:
        encoder.encode_queries(["tense"])
    finally:
        encoder._queries = lean
    assert calls == [["tense"]]


def test_the_lean_forward_is_built_at_the_first_request_only() -> None:
    fresh = SentenceTransformerEncoder(str(bundled_model_folder()), name=DEFAULT_ENCODER_NAME)
    fresh.encode(MIXED[:2])  # items (training) never need it
    assert not fresh._queries_built and fresh._queries is None
    fresh.encode_queries(["tense"])
    assert fresh._queries_built and fresh._queries is not None


def test_a_model_with_other_pooling_keeps_the_library_path(
    encoder: SentenceTransformerEncoder,
) -> None:
    model = copy.deepcopy(library(encoder))
    pooling = model[1]
    if hasattr(pooling, "pooling_mode") and isinstance(pooling.pooling_mode, str):
        pooling.pooling_mode = "cls"
    else:  # sentence-transformers before 5
        pooling.pooling_mode_mean_tokens = False
        pooling.pooling_mode_cls_token = True
    assert lean_query_forward(model) is None
    model = copy.deepcopy(library(encoder))
    model[0].auto_model.config.hidden_act = "relu"
    assert lean_query_forward(model) is None


def test_a_forward_that_disagrees_on_the_probes_is_refused(
    encoder: SentenceTransformerEncoder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(bert_queries.MIN_COSINE, "float32", 1.5)  # no vector can agree
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.bert_queries"):
        assert lean_query_forward(library(encoder), "float32") is None
    assert "disagrees with sentence-transformers" in caplog.text


def test_an_unknown_precision_is_named() -> None:
    with pytest.raises(ValueError, match="float16"):
        lean_query_forward(object(), "float16")  # type: ignore[arg-type]


def test_a_forward_that_fails_on_the_probes_is_refused(
    encoder: SentenceTransformerEncoder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_kernel(*args: object) -> torch.Tensor:
        raise RuntimeError("no bfloat16 kernel here")

    monkeypatch.setattr(bert_queries.BertQueryForward, "_layers_forward", no_kernel)
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.bert_queries"):
        assert lean_query_forward(library(encoder), "bfloat16") is None
    assert "no bfloat16 kernel here" in caplog.text
