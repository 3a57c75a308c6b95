"""A testing kit: synthetic logs and catalogues with known answers, quick configs, and
contract tests a new model, store, text encoder or index passes by subclassing one class.

The builders and configs here need nothing beyond sessionrec's own dependencies:

- `ring_sessions`, `pairs_log`, `no_repeat_log`: logs whose next item is learnable;
  `interactions(rows)` for a hand-written one;
- `genre_catalogue`, `genre_events`, `genre_text_vectors`, `BagOfWordsEncoder`: three
  genres a bag of words tells apart, offline and in microseconds; `films`: forty films in
  four genres a real language model tells apart;
- `QUICK_TRANSFORMER` and friends, `quick_model(name)`: configs that train in seconds.

Submodules with heavier needs are imported by name: `sessionrec.testing.contracts`
(pytest), `sessionrec.testing.service` (FastAPI's test client, httpx),
`sessionrec.testing.redis_server` (a redis-server binary) and
`sessionrec.testing.embedding_service` (a fake OpenAI-compatible embeddings server).
"""

from __future__ import annotations

from sessionrec.testing import films
from sessionrec.testing.artifacts import genre_transformer_artifact
from sessionrec.testing.configs import (
    QUICK_CONFIGS,
    QUICK_GRU4REC,
    QUICK_HYBRID,
    QUICK_HYBRID_GENRES,
    QUICK_TRANSFORMER,
    QUICK_TRANSFORMER_FILMS,
    QUICK_TRANSFORMER_GENRES,
    QUICK_TRANSFORMER_PAIRS,
    QUICK_TRANSFORMER_REPEATS,
    QUICK_TRANSFORMER_SMALL,
    QUICK_TRANSFORMER_SMOKE,
    quick_config,
    quick_model,
)
from sessionrec.testing.genres import (
    BAG_OF_WORDS_DIMENSION,
    GENRES,
    PER_GENRE,
    BagOfWordsEncoder,
    genre_catalogue,
    genre_events,
    genre_item_ids,
    genre_text_vectors,
)
from sessionrec.testing.logs import interactions, no_repeat_log, pairs_log, ring_sessions

__all__ = [
    "BAG_OF_WORDS_DIMENSION",
    "GENRES",
    "PER_GENRE",
    "QUICK_CONFIGS",
    "QUICK_GRU4REC",
    "QUICK_HYBRID",
    "QUICK_HYBRID_GENRES",
    "QUICK_TRANSFORMER",
    "QUICK_TRANSFORMER_FILMS",
    "QUICK_TRANSFORMER_GENRES",
    "QUICK_TRANSFORMER_PAIRS",
    "QUICK_TRANSFORMER_REPEATS",
    "QUICK_TRANSFORMER_SMALL",
    "QUICK_TRANSFORMER_SMOKE",
    "BagOfWordsEncoder",
    "films",
    "genre_catalogue",
    "genre_events",
    "genre_item_ids",
    "genre_text_vectors",
    "genre_transformer_artifact",
    "interactions",
    "no_repeat_log",
    "pairs_log",
    "quick_config",
    "quick_model",
    "ring_sessions",
]
