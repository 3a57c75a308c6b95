"""Tests for the on-disk embedding cache: identical vectors, no re-encoding, no mixing."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from sessionrec.text import cache as cache_module
from sessionrec.text.base import TextEncoder
from sessionrec.text.cache import EmbeddingCache, default_cache_folder, text_key


class CountingEncoder(TextEncoder):
    """A deterministic fake model that records every text it is asked to encode."""

    def __init__(self, name: str = "fake:counting", dimension: int = 8, salt: str = "") -> None:
        self._name = name
        self._dimension = dimension
        self.salt = salt
        self.calls = 0
        self.encoded: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.encoded.extend(texts)
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256((self.salt + text).encode()).digest()[:8])
            rows.append(np.random.default_rng(seed).normal(size=self._dimension))
        return np.asarray(rows)


def shards(folder: Path) -> list[Path]:
    return sorted(folder.rglob("shard-*.npz"))


TEXTS = ["a funny comedy", "a war documentary", "a romantic drama", "a space opera"]


def test_cache_returns_identical_vectors_and_skips_re_encoding(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    first = EmbeddingCache(tmp_path).encode_with_cache(encoder, TEXTS)
    assert first.shape == (4, 8)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    assert sorted(encoder.encoded) == sorted(TEXTS)

    encoder.encoded.clear()
    encoder.calls = 0
    # A new cache object on the same folder: the vectors come from disk, not the model.
    again = EmbeddingCache(tmp_path).encode_with_cache(encoder, list(reversed(TEXTS)))
    assert encoder.calls == 0
    assert encoder.encoded == []
    np.testing.assert_array_equal(again, first[::-1])
    assert again.tobytes() == first[::-1].tobytes()


def test_a_digest_ending_in_a_zero_byte_is_found_again(tmp_path: Path) -> None:
    """numpy strips trailing NULs from ``S32`` elements; such keys once never matched, so
    about one text in 256 was encoded (and the model loaded) in every run."""
    texts = ["film 92", "film 209", "film 1"]
    assert [text_key(t)[-1] == 0 for t in texts] == [True, True, False]
    encoder = CountingEncoder()
    first = EmbeddingCache(tmp_path).encode_with_cache(encoder, texts)
    encoder.encoded.clear()
    again = EmbeddingCache(tmp_path).encode_with_cache(encoder, texts)
    assert encoder.encoded == []
    np.testing.assert_array_equal(again, first)
    assert len(shards(tmp_path)) == 1


def test_only_new_texts_are_encoded(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    cache.encode_with_cache(encoder, TEXTS[:2])
    encoder.encoded.clear()
    vectors = cache.encode_with_cache(encoder, TEXTS)
    assert sorted(encoder.encoded) == sorted(TEXTS[2:])
    np.testing.assert_array_equal(vectors, CountingEncoder().encode(TEXTS))


def test_repeated_texts_in_one_call_are_encoded_once(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    vectors = EmbeddingCache(tmp_path).encode_with_cache(encoder, ["x", "y", "x", "x"])
    assert sorted(encoder.encoded) == ["x", "y"]
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])


def test_different_encoder_names_do_not_mix(tmp_path: Path) -> None:
    one = CountingEncoder("fake:one", salt="one")
    two = CountingEncoder("fake:two", salt="two")
    cache = EmbeddingCache(tmp_path)
    from_one = cache.encode_with_cache(one, TEXTS)
    from_two = cache.encode_with_cache(two, TEXTS)
    assert sorted(two.encoded) == sorted(TEXTS)  # nothing was served from one's vectors
    assert not np.allclose(from_one, from_two)
    assert cache.folder_for("fake:one") != cache.folder_for("fake:two")
    fresh = EmbeddingCache(tmp_path)
    np.testing.assert_array_equal(fresh.encode_with_cache(one, TEXTS), from_one)
    np.testing.assert_array_equal(fresh.encode_with_cache(two, TEXTS), from_two)


def test_names_that_sanitise_alike_get_distinct_folders(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    a, b = cache.folder_for("st:org/model"), cache.folder_for("st:org_model")
    assert a != b
    assert a.parent == tmp_path
    assert "/" not in a.name
    assert a.name.startswith("st_org_model-")


def test_corrupt_file_is_re_encoded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = CountingEncoder()
    expected = EmbeddingCache(tmp_path).encode_with_cache(encoder, TEXTS)
    (shard,) = shards(tmp_path)
    shard.write_bytes(b"not an npz file")
    encoder.encoded.clear()
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.cache"):
        vectors = EmbeddingCache(tmp_path).encode_with_cache(encoder, TEXTS)
    assert "re-encoding" in caplog.text
    assert str(shard) in caplog.text
    assert sorted(encoder.encoded) == sorted(TEXTS)
    np.testing.assert_array_equal(vectors, expected)
    assert not shard.exists()  # removed, so the warning does not repeat every run


def test_shard_with_wrong_layout_is_discarded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    folder = cache.folder_for(encoder.name)
    folder.mkdir(parents=True)
    bad = folder / "shard-bad.npz"
    np.savez(
        bad,
        keys=np.array([text_key("x")], dtype="S32"),
        vectors=np.ones((2, 8), dtype=np.float32),  # two rows for one key
        name=np.array(encoder.name),
    )
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.cache"):
        cache.encode_with_cache(encoder, ["x"])
    assert "wrong layout" in caplog.text
    assert encoder.encoded == ["x"]


def test_files_hold_no_pickles_and_no_temporaries_are_left(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path).encode_with_cache(CountingEncoder(), TEXTS)
    (shard,) = shards(tmp_path)
    with np.load(shard, allow_pickle=False) as data:
        assert data["keys"].dtype == np.dtype("S32")
        assert data["vectors"].dtype == np.float32
        assert str(data["name"]) == "fake:counting"
    assert [p.name for p in shard.parent.iterdir()] == [shard.name]


def test_many_shards_are_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_SHARDS", 3)
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    texts = [f"item {i}" for i in range(10)]
    for text in texts:
        cache.encode_with_cache(encoder, [text])
    assert len(shards(tmp_path)) <= 3
    encoder.encoded.clear()
    vectors = EmbeddingCache(tmp_path).encode_with_cache(encoder, texts)
    assert encoder.encoded == []
    np.testing.assert_array_equal(vectors, CountingEncoder().encode(texts))


def test_a_changed_dimension_replaces_the_old_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    EmbeddingCache(tmp_path).encode_with_cache(CountingEncoder(dimension=8), ["x"])
    wider = CountingEncoder(dimension=16)
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.cache"):
        vectors = EmbeddingCache(tmp_path).encode_with_cache(wider, ["x", "y"])
    assert vectors.shape == (2, 16)
    assert "discarding" in caplog.text
    assert len(shards(tmp_path)) == 1


def test_no_texts_give_an_empty_matrix(tmp_path: Path) -> None:
    vectors = EmbeddingCache(tmp_path).encode_with_cache(CountingEncoder(dimension=5), [])
    assert vectors.shape == (0, 5)
    assert vectors.dtype == np.float32


def test_default_folder_follows_sessionrec_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONREC_CACHE", str(tmp_path))
    assert default_cache_folder() == tmp_path / "embeddings"
    assert EmbeddingCache().folder == tmp_path / "embeddings"


def test_encoder_batches_and_restores_input_order() -> None:
    encoder = CountingEncoder()
    texts = ["bb", "a", "dddd", "ccc", "e"]
    batched = encoder.encode(texts, batch_size=2)
    assert encoder.calls == 3
    one_by_one = np.vstack([CountingEncoder().encode([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6)
