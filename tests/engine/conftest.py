"""Tiny trained models over the kit's three genres (`sessionrec.testing.genres`), whose
item texts share words within a genre and not across, and its bag-of-words text encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionrec.artifact import save_artifact
from sessionrec.engine import Engine
from sessionrec.models.hybrid import Hybrid
from sessionrec.testing import (
    QUICK_HYBRID_GENRES,
    BagOfWordsEncoder,
    genre_catalogue,
    genre_events,
    genre_text_vectors,
    genre_transformer_artifact,
)


@pytest.fixture(scope="session")
def encoder() -> BagOfWordsEncoder:
    return BagOfWordsEncoder()


@pytest.fixture(scope="session")
def transformer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return genre_transformer_artifact(tmp_path_factory.mktemp("engine") / "transformer")


@pytest.fixture(scope="session")
def hybrid_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalogue = genre_catalogue()
    train = genre_events()
    model = Hybrid(QUICK_HYBRID_GENRES)
    model.transformer.text_vectors = genre_text_vectors(catalogue)
    model.fit(train, catalogue)
    folder = tmp_path_factory.mktemp("engine") / "hybrid"
    return save_artifact(model, folder, train, None, catalogue)


@pytest.fixture
def engine(transformer_folder: Path, encoder: BagOfWordsEncoder) -> Engine:
    """A fresh engine per test (tests may add items)."""
    return Engine.from_artifact(transformer_folder, encoder=encoder)
