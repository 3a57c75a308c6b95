"""Exploration: bounded, seeded, Thompson draws follow the feedback statistics."""

from __future__ import annotations

import numpy as np

from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.explore import explore_slots, thompson_pick


def session() -> list[SessionEvent]:
    return [SessionEvent(i, "view") for i in ("a1", "a2", "t1")]  # type: ignore[arg-type]


def test_slots_are_the_floor_of_the_share() -> None:
    assert explore_slots(0.0, 10) == 0
    assert explore_slots(0.3, 10) == 3
    assert explore_slots(0.2, 4) == 0
    assert explore_slots(0.1, 10) == 1


def test_thompson_prefers_items_with_good_feedback() -> None:
    ids = ["x", "y", "z"]
    stats = {"x": (0, 500), "y": (500, 0), "z": (0, 500)}
    picks = [thompson_pick(ids, stats, 1, np.random.default_rng(s))[0] for s in range(20)]
    assert picks == [1] * 20
    # Without feedback every item is equally uncertain: picks spread.
    spread = {thompson_pick(ids, None, 1, np.random.default_rng(s))[0] for s in range(30)}
    assert spread == {0, 1, 2}
    assert thompson_pick(ids, stats, 0, np.random.default_rng(0)) == []


def test_exploration_share_is_bounded_and_marked(engine: Engine) -> None:
    query = Query(events=session(), k=10, explore=0.3)
    slate = engine.recommend(query, rng=np.random.default_rng(1))
    explored = [i for i in slate.items if any(r.kind == "explore" for r in i.reasons)]
    assert len(explored) == 3 and len(slate.items) == 10
    assert all(i.interest is None for i in explored)
    assert len({i.item_id for i in slate.items}) == 10
    plain = engine.recommend(Query(events=session(), k=10))
    assert not any(r.kind == "explore" for i in plain.items for r in i.reasons)
    # The first seven are what the plain slate would have put first.
    assert [i.item_id for i in slate.items[:7]] == [i.item_id for i in plain.items[:7]]


def test_exploration_is_deterministic_given_the_generator(engine: Engine) -> None:
    query = Query(events=session(), k=10, explore=0.3)

    def picks(seed: int) -> list[str]:
        slate = engine.recommend(query, rng=np.random.default_rng(seed))
        return [i.item_id for i in slate.items[7:]]

    assert picks(5) == picks(5)
    assert len({tuple(picks(s)) for s in range(8)}) > 1


def test_exploration_follows_item_stats(engine: Engine) -> None:
    query = Query(events=session(), k=10, explore=0.1)
    plain = engine.recommend(Query(events=session(), k=50))
    candidates = [i.item_id for i in plain.items[9:20]]
    favourite = candidates[-1]
    stats = {item: (0, 1000) for item in candidates}
    stats[favourite] = (1000, 0)
    for seed in range(5):
        slate = engine.recommend(query, item_stats=stats, rng=np.random.default_rng(seed))
        assert slate.items[-1].item_id == favourite
        assert "1000 of 1000" in slate.items[-1].reasons[0].text
