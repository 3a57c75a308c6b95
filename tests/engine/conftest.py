"""Small offline fixtures: a bag-of-words text encoder and tiny trained models over three
genres whose item texts share words within a genre and not across."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sessionrec.artifact import save_artifact
from sessionrec.data.schema import Catalogue, Interactions, make_catalogue, normalise_events
from sessionrec.engine import Recommender
from sessionrec.models.hybrid import Hybrid, HybridConfig
from sessionrec.models.transformer import SessionTransformer, TransformerConfig
from sessionrec.text.base import TextEncoder
from sessionrec.text.template import ItemTextTemplate

DIMENSION = 64

GENRES = {
    "a": ("Animation", "cartoon animation kids family colourful"),
    "t": ("Thriller", "crime thriller dark murder night"),
    "c": ("Comedy", "comedy laugh funny romance wedding"),
}
PER_GENRE = 12


class BagOfWordsEncoder(TextEncoder):
    """Each word hashed to a few fixed signed dimensions: shared words, shared direction."""

    @property
    def name(self) -> str:
        return "test:bag-of-words"

    @property
    def dimension(self) -> int:
        return DIMENSION

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").replace(",", " ").split():
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
                out[row] += np.random.default_rng(seed).normal(size=DIMENSION)
        return out


def item_ids(genre: str) -> list[str]:
    return [f"{genre}{i}" for i in range(PER_GENRE)]


def catalogue() -> Catalogue:
    ids, titles, texts, cats, attrs = [], [], [], [], []
    for genre, (category, words) in GENRES.items():
        for i, item in enumerate(item_ids(genre)):
            ids.append(item)
            titles.append(f"{category} film {i}")
            texts.append(f"{words} {item}")
            cats.append([category])
            attrs.append({"decade": "1990s" if i % 2 else "2000s"})
    return make_catalogue(ids, titles, texts, cats, attrs, source="test")


def events() -> Interactions:
    """Sessions that stay within one genre, items drawn at random from it."""
    rng = np.random.default_rng(0)
    rows = []
    t = 0.0
    for s in range(360):
        genre = "atc"[s % 3]
        for item in rng.choice(item_ids(genre), size=5, replace=False):
            t += 1.0
            rows.append((f"s{s}", str(item), t))
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return Interactions(normalise_events(frame))


def text_vectors(cat: Catalogue) -> dict[str, np.ndarray]:
    texts = ItemTextTemplate().build(cat)
    vectors = BagOfWordsEncoder().encode(texts)
    return {str(i): vectors[r] for r, i in enumerate(cat.frame["item_id"])}


CONFIG = {
    "epochs": 8,
    "patience": 8,
    "embedding_size": 32,
    "n_heads": 2,
    "n_layers": 1,
    "dropout": 0.1,
    "learning_rate": 5e-3,
    "max_length": 20,
    "progress": False,
    "threads": 1,
}


@pytest.fixture(scope="session")
def encoder() -> BagOfWordsEncoder:
    return BagOfWordsEncoder()


@pytest.fixture(scope="session")
def transformer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cat = catalogue()
    train = events()
    model = SessionTransformer(TransformerConfig(**CONFIG), text_vectors=text_vectors(cat))
    model.fit(train, cat)
    folder = tmp_path_factory.mktemp("engine") / "transformer"
    return save_artifact(model, folder, train, {"event_types": {"view": 1800}}, cat)


@pytest.fixture(scope="session")
def hybrid_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cat = catalogue()
    train = events()
    config = HybridConfig(transformer=TransformerConfig(**CONFIG), weights=(0.5,), progress=False)
    model = Hybrid(config)
    model.transformer.text_vectors = text_vectors(cat)
    model.fit(train, cat)
    folder = tmp_path_factory.mktemp("engine") / "hybrid"
    return save_artifact(model, folder, train, None, cat)


@pytest.fixture
def engine(transformer_folder: Path, encoder: BagOfWordsEncoder) -> Recommender:
    """A fresh engine per test (tests may add items)."""
    return Recommender.from_artifact(transformer_folder, encoder=encoder)
