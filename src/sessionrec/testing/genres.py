"""A tiny catalogue of three genres whose texts share words within a genre and not across,
a log of sessions that stay within one genre, and a bag-of-words text encoder that tells
the genres apart offline and in microseconds.

Item ids are the genre letter and a number ("a0".."a11" animation, "t0".."t11" thriller,
"c0".."c11" comedy); an item's text is its genre's words plus its own id.
"""

from __future__ import annotations

import hashlib

import numpy as np

from sessionrec.data.schema import Catalogue, Interactions, make_catalogue
from sessionrec.testing.logs import interactions
from sessionrec.text.base import TextEncoder
from sessionrec.text.template import ItemTextTemplate

GENRES: dict[str, tuple[str, str]] = {
    "a": ("Animation", "cartoon animation kids family colourful"),
    "t": ("Thriller", "crime thriller dark murder night"),
    "c": ("Comedy", "comedy laugh funny romance wedding"),
}
"""Genre letter → (category, the words every item of the genre has in its text)."""
PER_GENRE = 12
"""Items per genre."""
BAG_OF_WORDS_DIMENSION = 64
"""Length of `BagOfWordsEncoder`'s vectors."""


class BagOfWordsEncoder(TextEncoder):
    """Each word hashed to a fixed random direction, summed: shared words, shared direction.

    Deterministic across processes and machines (the direction is seeded by the word's
    SHA-256), so it stands in for a language model wherever a test needs texts about the
    same thing to be close.
    """

    def __init__(self, dimension: int = BAG_OF_WORDS_DIMENSION) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        """Cache id; the dimension is part of it where it is not the default."""
        suffix = "" if self._dimension == BAG_OF_WORDS_DIMENSION else f"-{self._dimension}"
        return f"test:bag-of-words{suffix}"

    @property
    def dimension(self) -> int:
        """Vector length."""
        return self._dimension

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").replace(",", " ").split():
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
                out[row] += np.random.default_rng(seed).normal(size=self._dimension)
        return out


def genre_item_ids(genre: str) -> list[str]:
    """The ids of one genre's items, e.g. "a0".."a11" for genre "a"."""
    return [f"{genre}{i}" for i in range(PER_GENRE)]


def genre_catalogue() -> Catalogue:
    """The 36 items: title "<Category> film <i>", text "<genre words> <id>", the genre as
    the only category and a "decade" attribute (odd numbers 1990s, even 2000s)."""
    ids, titles, texts, categories, attributes = [], [], [], [], []
    for genre, (category, words) in GENRES.items():
        for i, item in enumerate(genre_item_ids(genre)):
            ids.append(item)
            titles.append(f"{category} film {i}")
            texts.append(f"{words} {item}")
            categories.append([category])
            attributes.append({"decade": "1990s" if i % 2 else "2000s"})
    return make_catalogue(ids, titles, texts, categories, attributes, source="test")


def genre_events(n_sessions: int = 360, length: int = 5, seed: int = 0) -> Interactions:
    """Sessions that stay within one genre (session s: genre "atc"[s % 3]), `length`
    distinct items drawn at random from it; all views."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, float]] = []
    t = 0.0
    for s in range(n_sessions):
        genre = "atc"[s % 3]
        for item in rng.choice(genre_item_ids(genre), size=length, replace=False):
            t += 1.0
            rows.append((f"s{s}", str(item), t))
    return interactions(rows)


def genre_text_vectors(
    catalogue: Catalogue | None = None, encoder: TextEncoder | None = None
) -> dict[str, np.ndarray]:
    """Item id → text vector of the catalogue (default: `genre_catalogue()`) under the
    default item-text template, by `encoder` (default: `BagOfWordsEncoder()`)."""
    catalogue = catalogue if catalogue is not None else genre_catalogue()
    texts = ItemTextTemplate().build(catalogue)
    vectors = (encoder or BagOfWordsEncoder()).encode(texts)
    return {str(item): vectors[row] for row, item in enumerate(catalogue.frame["item_id"])}
