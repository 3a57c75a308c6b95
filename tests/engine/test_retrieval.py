"""Candidates retrieved through an approximate index (`engine.retrieval`): the rows scored
alone score as the whole catalogue scores them, and an engine whose index is FAISS serves
the slates an exact engine serves, having scored only its pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sessionrec.artifact import load_artifact
from sessionrec.data.schema import EventType
from sessionrec.engine import Engine, Query, SessionEvent, ranking, retrieval  # modules too
from sessionrec.engine.ranking import Pool
from sessionrec.index import ExactIndex, FaissIndex, ItemIndex, SizedIndex
from sessionrec.models.embedding import RowScoringModel
from sessionrec.models.hybrid import Hybrid
from sessionrec.models.transformer import SessionTransformer
from sessionrec.text.base import TextEncoder


def views(*items: str) -> list[SessionEvent]:
    return [SessionEvent(item, EventType.VIEW) for item in items]


SESSIONS = (["a1", "a2", "a1"], ["t1", "a2", "t1", "c3"], [f"c{i % 12}" for i in range(30)])


def test_rows_score_as_the_catalogue_scores_them(
    transformer_folder: Path, encoder: TextEncoder
) -> None:
    model = load_artifact(transformer_folder)
    assert isinstance(model, SessionTransformer) and isinstance(model, RowScoringModel)
    engine = Engine(model, encoder=encoder)
    engine.upsert_item("a-new", "New cartoon", text="cartoon animation kids family colourful")
    arrays = model.item_arrays()
    assert arrays.trained is not None and not arrays.trained.all()  # the new one: borrowed
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(2, arrays.item_vectors.shape[1])).astype(np.float32)
    for items in SESSIONS:
        history = model.vocab.lookup(items)
        dense = model.item_scores(arrays, queries, [history] * 2, [history] * 2)
        rows = np.sort(rng.choice(len(arrays), 12, replace=False))
        rows = np.union1d(rows, [len(arrays) - 1, *history])  # the new item and repeats
        # Every row's score is its own, the new item's (borrowed, boosted) included.
        alone = model.row_scores(arrays, queries, rows, [history] * 2)
        np.testing.assert_allclose(alone, dense[rows], rtol=1e-5, atol=1e-5)


def test_the_hybrid_is_not_retrieved(hybrid_folder: Path) -> None:
    assert not isinstance(load_artifact(hybrid_folder), RowScoringModel)
    model = load_artifact(hybrid_folder)
    assert isinstance(model, Hybrid)


@pytest.fixture
def small_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pools smaller than the 36-item catalogue, so that retrieval has something to leave."""
    monkeypatch.setattr(ranking, "EXACT_SIZE", 10)
    monkeypatch.setattr(ranking, "POOL_SIZE", 8)


@pytest.mark.usefixtures("small_pools")
def test_a_faiss_engine_serves_the_exact_engines_slates(
    transformer_folder: Path, encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = Engine.from_artifact(transformer_folder, encoder=encoder, index=ExactIndex)
    approximate = Engine.from_artifact(
        transformer_folder, encoder=encoder, index=SizedIndex(exact_below=0, kind="hnsw")
    )
    assert isinstance(approximate._snapshot.item_index, FaissIndex)
    pools: list[int] = []
    pool = retrieval.RetrievedScores.pool

    def counting(
        self: retrieval.RetrievedScores, mask: np.ndarray, size: int, exact: bool, index: ItemIndex
    ) -> Pool:
        found = pool(self, mask, size, exact, index)
        pools.append(len(found.rows))
        return found

    monkeypatch.setattr(retrieval.RetrievedScores, "pool", counting)
    queries = [
        Query(events=views(*items), k=5, text=text)
        for items in SESSIONS
        for text in (None, "funny comedy wedding")
    ]
    for query in queries:
        got = [item.item_id for item in approximate.recommend(query).items]
        want = [item.item_id for item in exact.recommend(query).items]
        assert got == want, query
    assert pools and max(pools) < approximate.n_items  # retrieved, not every item scored
    # Evaluation scores every item, whatever the index.
    pools.clear()
    np.testing.assert_allclose(
        approximate.scores(queries[0]), exact.scores(queries[0]), rtol=1e-6, atol=1e-6
    )
    assert not pools


@pytest.mark.usefixtures("small_pools")
def test_an_empty_session_and_many_new_items_score_densely(
    transformer_folder: Path, encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine.from_artifact(
        transformer_folder, encoder=encoder, index=SizedIndex(exact_below=0, kind="hnsw")
    )
    snapshot = engine._snapshot
    empty = engine.recommend(Query(events=[], k=5))
    assert len(empty.items) == 5  # popularity, scored densely
    session = views("a1", "a2")
    assert engine.recommend(Query(events=session, k=5)).items
    monkeypatch.setattr(retrieval, "MAX_ALWAYS_ROWS", 1)
    assert not retrieval.can_retrieve(snapshot.untrained, np.array([0, 1]))
    assert engine.recommend(Query(events=session, k=5)).items  # dense again, still served


@pytest.mark.usefixtures("small_pools")
def test_an_item_added_while_serving_is_retrieved(
    transformer_folder: Path, encoder: TextEncoder
) -> None:
    """A new item is scored by the text head, not found through the index's vectors: it
    is a candidate of every request, so both engines can show it."""
    exact = Engine.from_artifact(transformer_folder, encoder=encoder, index=ExactIndex)
    approximate = Engine.from_artifact(
        transformer_folder, encoder=encoder, index=SizedIndex(exact_below=0, kind="hnsw")
    )
    for engine in (exact, approximate):
        engine.upsert_item("a-new", "New cartoon", text="cartoon animation kids family colourful")
    assert isinstance(approximate._snapshot.item_index, FaissIndex)
    assert approximate._snapshot.untrained.tolist() == [approximate.n_items - 1]
    query = Query(events=views("a1", "a2", "a3"), k=12)
    want = [item.item_id for item in exact.recommend(query).items]
    got = [item.item_id for item in approximate.recommend(query).items]
    assert "a-new" in want and got == want
