"""Warm starts (`models.warm`): a transformer (and the hybrid's) trained from a fitted one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from sessionrec.data.schema import Catalogue, Interactions, make_catalogue
from sessionrec.errors import ConfigError
from sessionrec.models.hybrid import Hybrid
from sessionrec.models.knn import VectorSessionKNN
from sessionrec.models.pop import Pop
from sessionrec.models.transformer import SessionTransformer, TransformerConfig
from sessionrec.models.warm import warm_startable
from sessionrec.testing import (
    GENRES,
    QUICK_HYBRID_GENRES,
    QUICK_TRANSFORMER_GENRES,
    genre_catalogue,
    genre_events,
    genre_text_vectors,
    interactions,
)

NEW_ITEMS = ["a12", "a13", "t12", "t13"]
"""Items the champion never knew: two more animations and two more thrillers."""


def grown_catalogue() -> Catalogue:
    """The genre catalogue plus `NEW_ITEMS`, with texts of their genres."""
    base = genre_catalogue().frame
    extra = [(item, GENRES[item[0]]) for item in NEW_ITEMS]
    return make_catalogue(
        [*base["item_id"], *(i for i, _ in extra)],
        [*base["title"], *(f"{g[0]} film {i}" for i, g in extra)],
        [*base["text"], *(f"{g[1]} {i}" for i, g in extra)],
        [*base["categories"], *([g[0]] for _, g in extra)],
        [*base["attributes"], *({} for _ in extra)],
    )


def served_sessions(n: int = 120) -> Interactions:
    """Sessions after the champion's: each within a genre, some with the new items."""
    rng = np.random.default_rng(7)
    rows: list[tuple[str, str, float]] = []
    t = 10_000.0
    for s in range(n):
        genre = "at"[s % 2]
        pool = [f"{genre}{i}" for i in range(14)]
        for item in rng.choice(pool, size=5, replace=False):
            t += 1.0
            rows.append((f"served{s}", str(item), t))
    return interactions(rows)


def joined(first: Interactions, second: Interactions) -> Interactions:
    return first.replace(pd.concat([first.frame, second.frame]))


@pytest.fixture(scope="module")
def champion() -> SessionTransformer:
    model = SessionTransformer(QUICK_TRANSFORMER_GENRES, text_vectors=genre_text_vectors())
    return model.fit(genre_events())


def challenger(config: TransformerConfig) -> SessionTransformer:
    return SessionTransformer(config, text_vectors=genre_text_vectors(grown_catalogue()))


def test_a_warm_started_first_epoch_validates_better_than_a_cold_one(
    champion: SessionTransformer,
) -> None:
    """One epoch of one optimiser step (a batch as large as the data): a cold start is
    where text alone takes it (a bag of words tells the genres apart), a warm one where
    the champion left off."""
    data = joined(genre_events(), served_sessions())
    one_step = replace(QUICK_TRANSFORMER_GENRES, epochs=1, batch_size=100_000)
    cold = challenger(one_step).fit(data)
    warm = challenger(one_step)
    warm.warm_start_from(champion)
    warm.fit(data)
    cold_score = cold.training_result.history[0].score
    warm_score = warm.training_result.history[0].score
    champion_score = champion.training_result.best_score
    assert cold_score is not None and warm_score is not None
    assert warm_score > cold_score + 0.08, (warm_score, cold_score)
    assert warm_score > 0.8 * champion_score, (warm_score, champion_score)
    # The vocabulary is the fit's own: the champion's items and the new ones.
    assert set(warm.vocab.ids) == set(champion.vocab.ids) | set(NEW_ITEMS)


def test_known_items_start_from_the_champion_and_new_ones_as_from_scratch(
    champion: SessionTransformer,
) -> None:
    """With a vanishing learning rate a fit changes nothing, so the weights it ends with
    are the ones it started from."""
    data = joined(genre_events(), served_sessions())
    still = replace(QUICK_TRANSFORMER_GENRES, epochs=1, learning_rate=1e-12)
    cold = challenger(still).fit(data)
    warm = challenger(still)
    warm.warm_start_from(champion)
    warm.fit(data)
    assert warm.net is not None and cold.net is not None and champion.net is not None
    mine, fresh, theirs = (m.state_dict() for m in (warm.net, cold.net, champion.net))
    old_rows = champion.vocab.lookup(warm.vocab.ids)
    known = old_rows >= 0
    assert known.sum() == len(champion.vocab) and (~known).sum() == len(NEW_ITEMS)
    ids = mine["items.ids.weight"]
    torch.testing.assert_close(ids[known], theirs["items.ids.weight"][old_rows[known]])
    torch.testing.assert_close(ids[~known], fresh["items.ids.weight"][~known])
    for name, value in mine.items():
        if name.startswith("items.") and not name.startswith("items.adapter"):
            continue
        torch.testing.assert_close(value, theirs[name], msg=name)
    # What the data decides is the fit's own: which items trained, how often they occur.
    for name in ("items.trained", "items.log_q", "items.text"):
        torch.testing.assert_close(mine[name], fresh[name], msg=name)


def test_warm_start_refuses_another_architecture_or_kind(champion: SessionTransformer) -> None:
    wider = challenger(replace(QUICK_TRANSFORMER_GENRES, embedding_size=16, epochs=1))
    wider.warm_start_from(champion)
    with pytest.raises(ConfigError, match=r"cannot warm-start: .* has shape"):
        wider.fit(genre_events(n_sessions=30))
    deeper = challenger(replace(QUICK_TRANSFORMER_GENRES, n_layers=2, epochs=1))
    deeper.warm_start_from(champion)
    with pytest.raises(ConfigError, match=r"differ in blocks\.1\..*n_layers"):
        deeper.fit(genre_events(n_sessions=30))
    with pytest.raises(ConfigError, match="not from 'pop'"):
        challenger(QUICK_TRANSFORMER_GENRES).warm_start_from(Pop().fit(genre_events(30)))
    with pytest.raises(ConfigError, match="unfitted"):
        challenger(QUICK_TRANSFORMER_GENRES).warm_start_from(SessionTransformer())
    # None returns to a cold start.
    model = challenger(replace(QUICK_TRANSFORMER_GENRES, embedding_size=16, epochs=1))
    model.warm_start_from(champion)
    model.warm_start_from(None)
    model.fit(genre_events(n_sessions=30))


def test_the_hybrid_warm_starts_its_transformer_and_refits_knn() -> None:
    config = replace(
        QUICK_HYBRID_GENRES, transformer=replace(QUICK_TRANSFORMER_GENRES, use_text=False)
    )
    old = Hybrid(config).fit(genre_events())
    still = replace(config, transformer=replace(config.transformer, epochs=1, learning_rate=1e-12))
    new = Hybrid(still)
    new.warm_start_from(old)
    new.fit(joined(genre_events(), served_sessions()))
    assert new.transformer.net is not None and old.transformer.net is not None
    torch.testing.assert_close(
        new.transformer.net.blocks[0].attention.qkv.weight,
        old.transformer.net.blocks[0].attention.qkv.weight,
    )
    assert set(NEW_ITEMS) <= set(new.knn.vocab.ids)  # kNN learnt from the new sessions


def test_only_models_with_weights_to_carry_over_warm_start() -> None:
    assert warm_startable(SessionTransformer()) is not None
    assert warm_startable(Hybrid()) is not None
    assert warm_startable(Pop()) is None
    assert warm_startable(VectorSessionKNN()) is None
