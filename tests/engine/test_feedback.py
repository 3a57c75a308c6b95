"""Feedback: dislikes stick and push look-alikes down, likes pull them up, shown items decay."""

from __future__ import annotations

import math

import numpy as np

from sessionrec.data.schema import EventType
from sessionrec.data.vocab import Vocabulary
from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.closeness import Closeness, pair_cosines, pair_quantile
from sessionrec.engine.feedback import (
    DISLIKE_WEIGHT,
    IMPRESSION_DECAY,
    LOOKALIKE_FLOOR,
    LOOKALIKE_SPREADS,
    MAX_DECAY,
    SKIP_DECAY,
    decay_penalty,
    feedback_adjustment,
    lookalike_floor,
    lookalike_ramp,
    read_session,
)


def ev(item: str, kind: str = "view") -> SessionEvent:
    return SessionEvent(item, EventType(kind))


def ranks(engine: Engine, query: Query) -> dict[str, int]:
    """Every ranked item's position (0 = best)."""
    scores = engine.scores(query)
    order = [i for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])]
    ids = engine.vocabulary_ids
    return {ids[i]: r for r, i in enumerate(order)}


def test_read_session_sorts_events_by_meaning() -> None:
    vocab = Vocabulary(["a", "b", "c", "d"])
    events = [
        ev("a"),
        ev("b", "like"),
        ev("zz"),
        ev("c"),
        ev("c", "dislike"),
        ev("d", "skip"),
        ev("d", "skip"),
        ev("b", "purchase"),
    ]
    state = read_session(events, vocab)
    assert state.sequence.tolist() == [0, 1, 1]  # c left with its dislike, d was skipped
    assert state.types.tolist() == [EventType.VIEW.code, EventType.LIKE.code, 3]
    assert state.disliked.tolist() == [2]
    assert state.liked.tolist() == [1]
    assert dict(state.skips) == {3: 2}
    assert state.unknown == ("zz",)
    assert state.seen.tolist() == [0, 1]


def test_lookalike_adjustment_scales_with_cosine() -> None:
    assert lookalike_ramp(np.array([0.0, 0.5, 0.75, 1.0])).tolist() == [0.0, 0.0, 0.5, 1.0]
    similarity = np.eye(6)
    similarity[2, :3] = [0.8, 0.6, 0.0]  # item 2 reads like item 0 (cosine 0.8)
    pool = np.arange(6)
    pull, push = feedback_adjustment(similarity, pool, np.array([], int), np.array([0]))
    assert push[2] > 0 and push[1] == 0 and not pull.any()
    assert math.isclose(push[2], DISLIKE_WEIGHT * 0.6)  # the floor is LOOKALIKE_FLOOR here
    pull, push = feedback_adjustment(similarity, pool, np.array([0]), np.array([], int))
    assert pull[2] > 0 and pull[1] == 0 and not push.any()


def compressed_catalogue(n_kinds: int = 4, per_kind: int = 10) -> np.ndarray:
    """Unit vectors as multilingual-e5 spreads item texts: every pair above 0.8, items of
    one kind a little closer (about 0.98) than items of different kinds (about 0.88)."""
    rng = np.random.default_rng(0)
    shared = rng.normal(size=64)
    kinds = rng.normal(size=(n_kinds, 64))
    rows = [
        3.0 * shared / np.linalg.norm(shared)
        + kinds[k] / np.linalg.norm(kinds[k])
        + 0.4 * rng.normal(size=64) / 8
        for k in range(n_kinds)
        for _ in range(per_kind)
    ]
    vectors = np.array(rows)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_lookalike_floor_follows_where_the_catalogue_cosines_sit() -> None:
    similarity = compressed_catalogue()
    closeness = Closeness(similarity, np.arange(len(similarity)))
    cosines = similarity @ similarity.T
    assert cosines.min() > 0.8  # LOOKALIKE_FLOOR alone: every item alike to every other
    pairs = np.sort(cosines[np.triu_indices(len(similarity), k=1)])
    np.testing.assert_allclose(pair_cosines(similarity), pairs)
    median, top = np.quantile(pairs, 0.5), np.quantile(pairs, 0.95)
    floor = lookalike_floor(closeness)
    assert math.isclose(floor, median + LOOKALIKE_SPREADS * (top - median))
    # Between the kinds: above every pair of different kinds, below every pair within one.
    kind = np.arange(len(similarity)) // 10
    same = (kind[:, None] == kind[None, :]) & ~np.eye(len(similarity), dtype=bool)
    assert cosines[~same & (kind[:, None] != kind[None, :])].max() < floor < cosines[same].min()
    # Where cosines spread as MiniLM's do, the fixed floor stays.
    assert lookalike_floor(Closeness(np.eye(40), np.arange(40))) == LOOKALIKE_FLOOR
    # Zero rows (items without text) are not pairs.
    padded = np.vstack([similarity, np.zeros((40, similarity.shape[1]))])
    np.testing.assert_array_equal(pair_cosines(padded), pair_cosines(similarity))
    assert pair_quantile(np.zeros(0), 0.5) == -np.inf


def test_with_compressed_cosines_a_like_pulls_its_kind_and_two_dislikes_push_only_theirs() -> None:
    similarity = compressed_catalogue()  # kind k: items 10k..10k+9
    pool = np.arange(len(similarity))
    kind_zero, others = pool < 10, pool >= 10
    pull, _ = feedback_adjustment(similarity, pool, np.array([0]), np.array([], int))
    assert pull[kind_zero].min() > 0 and not pull[others].any()
    _, push = feedback_adjustment(similarity, pool, np.array([], int), np.array([0, 1]))
    assert push[kind_zero].min() > 0 and not push[others].any()


def test_decay_is_multiplicative_and_bounded() -> None:
    pool = np.array([0, 3, 5, 9])
    penalty = decay_penalty(pool, {3: 1, 5: 2, 7: 4}, {5: 1, 9: 100})
    assert penalty[0] == 0
    assert math.isclose(penalty[1], math.log(IMPRESSION_DECAY))
    assert math.isclose(penalty[2], 2 * math.log(IMPRESSION_DECAY) + math.log(SKIP_DECAY))
    assert math.isclose(penalty[3], math.log(MAX_DECAY))  # bounded however often skipped


def test_a_disliked_item_never_returns_and_its_lookalikes_drop(engine: Engine) -> None:
    session = [ev("a1"), ev("a2"), ev("t1"), ev("t2")]
    before = engine.recommend(Query(events=session, k=10))
    top = before.items[0].item_id
    genre = top[0]
    after_events = [*session, ev(top, "dislike")]
    for exclude_seen in (True, False):
        slate = engine.recommend(Query(events=after_events, k=100, exclude_seen=exclude_seen))
        assert top not in {item.item_id for item in slate.items}
    # Even viewed or liked again later, a disliked item stays out.
    again = engine.recommend(Query(events=[*after_events, ev(top, "like")], k=100))
    assert top not in {item.item_id for item in again.items}
    assert top not in engine.recommend(Query(events=after_events, k=100, explore=0.3)).items
    # One dislike is 'not this one': the rest of its kind barely moves.
    old = ranks(engine, Query(events=session, exclude_seen=True))
    new = ranks(engine, Query(events=after_events, exclude_seen=True))
    lookalikes = [i for i in new if i.startswith(genre)]
    drops = [new[i] - (old[i] - 1) for i in lookalikes]  # -1: the disliked item left the top
    assert np.median(drops) <= 1


def test_a_repeated_dislike_lowers_the_whole_kind(engine: Engine) -> None:
    session = [ev("a1"), ev("a2"), ev("t1"), ev("t2")]
    order = [i.item_id for i in engine.recommend(Query(events=session, k=10)).items]
    genre = order[0][0]
    same = [i for i in order if i.startswith(genre)][:2]
    after_events = [*session, *(ev(i, "dislike") for i in same)]
    old = ranks(engine, Query(events=session, exclude_seen=True))
    new = ranks(engine, Query(events=after_events, exclude_seen=True))
    lookalikes = [i for i in new if i.startswith(genre)]
    drops = [new[i] - (old[i] - 2) for i in lookalikes]  # -2: the disliked items left
    assert np.median(drops) >= 5
    others = [i for i in new if not i.startswith(genre)]
    assert np.median([new[i] - (old[i] - 2) for i in others]) < 0  # the rest rise
    assert after_top_genre(engine, after_events) != genre


def test_a_single_dislike_pushes_only_near_duplicates() -> None:
    """Item 1 is item 0's near-duplicate (its closest), items 2-9 are its kind (cosine
    0.8 to it and 0.64 or more to each other, above the look-alike floor): one dislike of
    item 0 pushes item 1 alone; a second dislike of the kind (item 2) pushes the kind."""
    rng = np.random.default_rng(0)
    n = 200
    similarity = rng.normal(size=(n, 16))
    similarity[:, :2] = 0.0
    similarity /= np.linalg.norm(similarity, axis=1, keepdims=True) * 2.0
    similarity[0] = [1.0, 0.0, *[0.0] * 14]
    similarity[1] = [0.99, np.sqrt(1 - 0.99**2), *[0.0] * 14]
    shared = rng.normal(size=14)
    for i in range(2, 10):
        rest = shared + 0.3 * rng.normal(size=14)
        similarity[i] = [0.8, 0.0, *(0.6 * rest / np.linalg.norm(rest))]
    pool = np.arange(n)
    none = np.zeros(0, dtype=np.int64)
    closeness = Closeness(similarity, pool)
    _, once = feedback_adjustment(similarity, pool, none, np.array([0]), none, closeness)
    assert once[1] > 0.5 * DISLIKE_WEIGHT
    assert not once[2:].any()
    _, twice = feedback_adjustment(similarity, pool, none, np.array([0, 2]), none, closeness)
    assert (twice[3:10] > 0).all()
    assert not twice[10:].any()


def after_top_genre(engine: Engine, events: list[SessionEvent]) -> str:
    return engine.recommend(Query(events=events, k=1)).items[0].item_id[0]


def test_a_like_pulls_lookalikes_up_more_than_a_view(engine: Engine) -> None:
    base = [ev("t1"), ev("t2"), ev("t3"), ev("t4"), ev("c1"), ev("c2")]
    viewed = engine.scores(Query(events=[ev("a1"), *base]))
    liked = engine.scores(Query(events=[ev("a1", "like"), *base]))
    ids = np.asarray(engine.vocabulary_ids)
    animation = np.char.startswith(ids.astype(str), "a") & np.isfinite(liked)
    others = ~np.char.startswith(ids.astype(str), "a") & np.isfinite(liked)
    # The model reads the like as it read the view (this fixture was trained on views
    # only); the pull toward the liked item's look-alikes is the difference.
    assert (liked[animation] - viewed[animation] > 1.0).all()
    np.testing.assert_allclose(liked[others], viewed[others])
    slate = engine.recommend(Query(events=[ev("a1", "like"), *base], k=10))
    assert any(
        r.kind == "liked" and r.item_ids == ("a1",) for item in slate.items for r in item.reasons
    )


def test_skips_and_impressions_decay_an_item(engine: Engine) -> None:
    session = [ev("c1"), ev("c2")]
    first = engine.recommend(Query(events=session, k=3)).items[0].item_id
    plain = ranks(engine, Query(events=session))
    shown = ranks(engine, Query(events=session, impressions={first: 3}))
    skipped = ranks(engine, Query(events=[*session, ev(first, "skip")], impressions={first: 3}))
    assert plain[first] == 0
    assert plain[first] <= shown[first] <= skipped[first]
    assert skipped[first] > plain[first]
    # A skip is not context: the session vector is the same as without it.
    state = read_session([*session, ev(first, "skip")], Vocabulary(engine.vocabulary_ids))
    assert len(state.sequence) == 2
