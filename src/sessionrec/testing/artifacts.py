"""Trained artifacts the engine's tests start from, built the one way they all need."""

from __future__ import annotations

from pathlib import Path

from sessionrec.artifact import save_artifact
from sessionrec.models.transformer import SessionTransformer
from sessionrec.testing.configs import QUICK_TRANSFORMER_GENRES
from sessionrec.testing.genres import genre_catalogue, genre_events, genre_text_vectors


def genre_transformer_artifact(folder: Path) -> Path:
    """A quick transformer trained on `genre_events()` with bag-of-words item text, saved
    as an artifact with its catalogue in `folder` (serve it with `BagOfWordsEncoder`)."""
    catalogue = genre_catalogue()
    train = genre_events()
    model = SessionTransformer(QUICK_TRANSFORMER_GENRES, text_vectors=genre_text_vectors(catalogue))
    model.fit(train, catalogue)
    return save_artifact(model, folder, train, {"event_types": {"view": 1800}}, catalogue)
