"""The user simulator: information policy, determinism, turn metrics, abandonment."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sessionrec.data.schema import ITEM_ID, USER_ID, EventType
from sessionrec.engine import Engine
from sessionrec.engine.query import Query, Slate, SlateItem
from sessionrec.eval.cases import Language
from sessionrec.interactive.simulate import (
    ALL_MODES,
    ItemFacts,
    Mode,
    RequestBuilder,
    SimulatedUser,
    TargetProfile,
    UserPolicy,
    best_jaccard,
    genre_request,
    leaks_title,
    prefix_interactions,
    profile_request,
    sample_users,
    simulate,
    simulate_session,
    users_from_interactions,
)
from sessionrec.interactive.turn_metrics import (
    SessionOutcome,
    average_turns,
    hdcg,
    mean_hdcg,
    slate_diversity,
    success_rates,
    summarise,
)
from sessionrec.testing import (
    BagOfWordsEncoder,
    genre_catalogue,
    genre_transformer_artifact,
    interactions,
)

# Each user starts in one genre and looks for items of another (or the same) genre.
USERS = [
    SimulatedUser("u0", ("a0", "a1", "a2", "a3", "a4"), ("t5", "t7")),
    SimulatedUser("u1", ("t0", "t1", "t2", "t3", "t4"), ("c9",)),
    SimulatedUser("u2", ("c0", "c1", "c2", "c3", "c4"), ("c11", "a8")),
    SimulatedUser("u3", ("a5", "a6", "a7", "a9", "a10"), ("a11",)),
]
POLICY = UserPolicy(k=3, turns=6, patience=3)


class Recorder:
    """The system as the simulator sees it, recording every input it receives."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queries: list[Query] = []

    def recommend(
        self,
        query: Query,
        item_stats: Mapping[str, tuple[int, int]] | None = None,
        rng: np.random.Generator | None = None,
    ) -> Slate:
        self.queries.append(query)
        assert item_stats is None
        return self.engine.recommend(query, item_stats, rng)


class Scripted:
    """A system that shows fixed slates, turn after turn."""

    def __init__(self, slates: list[list[str]]) -> None:
        self.slates = slates
        self.queries: list[Query] = []

    def recommend(
        self,
        query: Query,
        item_stats: Mapping[str, tuple[int, int]] | None = None,
        rng: np.random.Generator | None = None,
    ) -> Slate:
        ids = self.slates[len(self.queries)]
        self.queries.append(query)
        items = tuple(SlateItem(i, 0.0, None, ()) for i in ids)
        return Slate(items, (), ())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return genre_transformer_artifact(tmp_path_factory.mktemp("simulate") / "transformer")


@pytest.fixture(scope="module")
def engines(folder: Path) -> tuple[Engine, Engine]:
    encoder = BagOfWordsEncoder()
    return (
        Engine.from_artifact(folder, encoder=encoder, max_interests=1),
        Engine.from_artifact(folder, encoder=encoder),
    )


@pytest.fixture(scope="module")
def facts() -> ItemFacts:
    return ItemFacts.from_catalogue(genre_catalogue())


def run(
    engines: tuple[Engine, Engine],
    facts: ItemFacts,
    seed: int = 0,
    request: RequestBuilder = genre_request,
    modes: Sequence[Mode] = ALL_MODES,
) -> tuple[dict[str, Any], list[Query]]:
    plain, split = Recorder(engines[0]), Recorder(engines[1])
    result = simulate(plain, USERS, facts, POLICY, seed, modes, split, request)
    return result, plain.queries + split.queries


def test_the_system_never_sees_a_target(engines: tuple[Engine, Engine], facts: ItemFacts) -> None:
    result, queries = run(engines, facts)
    assert set(result["modes"]) == {m.value for m in Mode}
    assert queries
    by_first_event = {u.prefix[0]: u for u in USERS}  # the prefixes tell the users apart
    texts = 0
    for query in queries:
        user = by_first_event[query.events[0].item_id]
        targets = set(user.targets)
        titles = [facts.titles[t] for t in targets]
        sent = {e.item_id for e in query.events} | set(query.impressions)
        if query.filters is not None:
            sent |= set(query.filters.exclude_items)
        assert not sent & targets
        if query.text is not None:
            texts += 1
            assert not leaks_title(query.text, titles)
            assert not any(t in query.text.split() for t in targets)
    assert texts  # feedback+query did type requests
    assert all(m["leaks_dropped"] == 0 for m in result["modes"].values())


def test_a_leaking_request_is_dropped_and_counted(
    engines: tuple[Engine, Engine], facts: ItemFacts
) -> None:
    # A builder that cheats (it could only know a title by peeking): the guard catches it.
    by_profile = {facts.profile(u): facts.titles[u.targets[0]] for u in USERS}

    def cheat(profile: TargetProfile) -> str:
        return f"something like {by_profile[profile].lower()} please"

    result, queries = run(engines, facts, request=cheat, modes=[Mode.QUERY])
    assert result["modes"][Mode.QUERY.value]["leaks_dropped"] == len(USERS)
    assert queries and all(q.text is None for q in queries)


def test_the_same_seed_gives_the_same_json(
    engines: tuple[Engine, Engine], facts: ItemFacts
) -> None:
    first, _ = run(engines, facts, seed=3)
    again, _ = run(engines, facts, seed=3)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    modes = first["modes"]
    assert first["users"] == len(USERS) and first["turns"] == 6 and first["k"] == 3
    for figures in modes.values():
        rates = [figures[f"SR@{t}"] for t in range(1, 7)]
        assert rates == sorted(rates)
        assert 1.0 <= figures["AT"] <= 6.0
        assert figures["success_before_feedback"] == figures["SR@1"]


def test_static_mode_sends_the_first_session_every_turn(
    engines: tuple[Engine, Engine], facts: ItemFacts
) -> None:
    plain = Recorder(engines[0])
    simulate_session(plain, USERS[0], facts, Mode.STATIC, POLICY, np.random.default_rng(0))
    assert len({q.events for q in plain.queries}) == 1
    assert all(q.text is None and not q.impressions for q in plain.queries)
    shown: set[str] = set()
    for query in plain.queries[1:]:
        assert query.filters is not None
        shown = set(query.filters.exclude_items)
    assert len(shown) == POLICY.k * (len(plain.queries) - 1)  # new items every turn


def test_feedback_mode_sends_the_users_feedback(
    engines: tuple[Engine, Engine], facts: ItemFacts
) -> None:
    plain = Recorder(engines[0])
    policy = UserPolicy(k=3, turns=6, patience=6, p_click=1.0, p_dislike=1.0)
    simulate_session(plain, USERS[0], facts, Mode.FEEDBACK, policy, np.random.default_rng(0))
    last = plain.queries[-1]
    types = {e.type for e in last.events[len(USERS[0].prefix) :]}
    assert types and types <= {EventType.CLICK, EventType.LIKE, EventType.DISLIKE}


def test_success_is_the_turn_and_rank_of_the_first_target(facts: ItemFacts) -> None:
    user = SimulatedUser("u", ("a0", "a1", "a2", "a3", "a4"), ("t5",))
    system = Scripted([["a5", "t1", "c1"], ["a6", "t2", "c2"], ["c3", "t5", "a7"]])
    outcome = simulate_session(system, user, facts, Mode.FEEDBACK, POLICY, np.random.default_rng(0))
    assert (outcome.success_turn, outcome.rank, outcome.turns) == (3, 2, 3)
    assert not outcome.abandoned


def test_the_user_gives_up_after_its_patience(facts: ItemFacts) -> None:
    user = SimulatedUser("u", ("a0", "a1", "a2", "a3", "a4"), ("t5",))
    # Nothing shown shares the target's genre, so the user never clicks.
    slates = [[f"a{5 + t}", f"c{t}", f"c{t + 6}"] for t in range(6)]
    outcome = simulate_session(
        Scripted(slates), user, facts, Mode.FEEDBACK, POLICY, np.random.default_rng(0)
    )
    assert outcome == SessionOutcome(None, None, 3, 0, True, 0)
    # A user who always clicks a related item is never idle: it runs out of turns instead.
    related = [[f"t{t + 6}", f"c{t}", f"c{t + 6}"] for t in range(6)]
    keen = UserPolicy(k=3, turns=6, patience=3, p_click=1.0, min_jaccard=0.0)
    outcome = simulate_session(
        Scripted(related), user, facts, Mode.FEEDBACK, keen, np.random.default_rng(0)
    )
    assert (outcome.success_turn, outcome.turns, outcome.clicks) == (None, 6, 6)
    assert not outcome.abandoned


def test_turn_metrics_by_hand() -> None:
    outcomes = [
        SessionOutcome(1, 1, 1, 0, False),
        SessionOutcome(3, 2, 3, 2, False),
        SessionOutcome(None, None, 2, 1, True),
    ]
    assert success_rates(outcomes, 5) == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert average_turns(outcomes, 5) == pytest.approx((1 + 3 + 5) / 3)
    assert hdcg(1, 1) == pytest.approx(1.0)
    # 1/log2(5) + (1/log2(4) - 1/log2(5)) / log2(3)
    assert hdcg(3, 2) == pytest.approx(0.430677 + (0.5 - 0.430677) / 1.584963, abs=1e-6)
    assert hdcg(2, 3) == pytest.approx(0.5 + (1 / math.log2(3) - 0.5) / 2)
    assert mean_hdcg(outcomes) == pytest.approx((1.0 + hdcg(3, 2)) / 3)
    figures = summarise(outcomes, 5, diversity=0.5, coverage=0.25)
    assert figures["SR@1"] == figures["success_before_feedback"] == pytest.approx(1 / 3, abs=1e-6)
    assert figures["success_after_feedback"] == pytest.approx(1 / 3, abs=1e-6)
    assert figures["clicks"] == pytest.approx(1.0)
    assert figures["abandoned"] == pytest.approx(1 / 3, abs=1e-6)
    with pytest.raises(ValueError):
        hdcg(0, 1)


def test_slate_diversity_is_mean_pairwise_jaccard_distance() -> None:
    a, b, ab = frozenset({"A"}), frozenset({"B"}), frozenset({"A", "B"})
    assert slate_diversity([a, a]) == 0.0
    assert slate_diversity([a, b]) == 1.0
    # pairs: (a, b) 1, (a, ab) 1/2, (b, ab) 1/2
    assert slate_diversity([a, b, ab]) == pytest.approx(2 / 3)


def test_leaks_title_matches_titles_fuzzily() -> None:
    titles = ["Shawshank Redemption, The", "Heat (1995)"]
    assert leaks_title("I want The Shawshank Redemption", titles)
    assert leaks_title("something like shawshank redemtion", titles)
    assert leaks_title("heat!", titles)
    assert not leaks_title("a Drama film", titles)
    assert not leaks_title("a heated debate", titles)


def test_the_request_is_the_targets_commonest_genre() -> None:
    profile = TargetProfile((frozenset({"Drama", "War"}), frozenset({"War"}), frozenset()))
    assert genre_request(profile) == "a War film"
    assert genre_request(TargetProfile((frozenset({"B", "A"}),))) == "a A film"
    assert genre_request(TargetProfile((frozenset(),))) is None


def test_the_typed_request_names_the_targets_categories_and_decade() -> None:
    one = TargetProfile((frozenset({"Romance", "Comedy"}),), (1990,))
    assert profile_request(one) == "a comedy romance film from the 1990s"
    assert profile_request(one, Language.ZH) == "1990年代的喜剧爱情电影"
    # Several targets: the categories most of them share, and their commonest decade.
    three = TargetProfile(
        (frozenset({"Drama", "War"}), frozenset({"War"}), frozenset({"Action"})),
        (1970, 1980, 1980),
    )
    assert profile_request(three) == "a war film from the 1980s"
    assert profile_request(TargetProfile((frozenset({"Animation"}),))) == "an animation film"
    assert profile_request(TargetProfile((frozenset({"unknown"}),), (1990,))) is None


def test_attributes_are_categories_and_decade() -> None:
    facts = ItemFacts(
        {"x": frozenset({"A", "B"}), "y": frozenset({"A", "B"}), "tg": frozenset({"A", "B"})},
        {},
        {"x": 1990, "y": 1950, "tg": 1990},
    )
    profile = facts.profile(SimulatedUser("u", ("p",), ("tg",)))
    assert profile.features == (frozenset({"A", "B", "1990s"}),)
    assert best_jaccard(facts.features("x"), profile) == 1.0
    assert best_jaccard(facts.features("y"), profile) == pytest.approx(2 / 4)
    assert facts.features("missing") == frozenset()


def test_decades_come_from_the_catalogue_year() -> None:
    facts = ItemFacts.from_catalogue(genre_catalogue())
    profile = facts.profile(USERS[0])
    assert profile.decades == (1990, 1990)  # t5 and t7: odd items are from the 1990s


def test_users_from_held_out_data_and_training_without_targets() -> None:
    rows = [(f"u{u}", f"i{(u + t) % 9}", float(t)) for u in range(3) for t in range(8)]
    rows.append(("u3", "i0", 0.0))  # too short to simulate
    log = interactions(rows, columns=(USER_ID, ITEM_ID, "timestamp"))
    users = users_from_interactions(log, n_targets=2, min_prefix=5)
    assert [u.user_id for u in users] == ["u0", "u1", "u2"]
    assert users[1].prefix == tuple(f"i{1 + t}" for t in range(6))
    assert users[1].targets == ("i7", "i8")
    train = prefix_interactions(log, n_targets=2).frame
    for user in users:
        seen = set(train[train[USER_ID] == user.user_id][ITEM_ID])
        assert seen == set(user.prefix)
        assert not seen & set(user.targets)
    assert sample_users(users, 2, seed=1) == sample_users(users, 2, seed=1)
    assert len(sample_users(users, 2, seed=1)) == 2
    assert sample_users(users, 10) == users


def test_a_genre_request_is_not_a_title_that_names_the_genre() -> None:
    assert not leaks_title("a Comedy film", ["Comedy film 9"])
    assert leaks_title("comedy film 9", ["Comedy film 9"])


def test_min_jaccard_keeps_loosely_related_items_from_a_click() -> None:
    facts = ItemFacts(
        {"x": frozenset({"A", "B", "C"}), "tg": frozenset({"A"})}, {"x": "X", "tg": "Target"}
    )
    user = SimulatedUser("u", ("p0",), ("tg",))
    for threshold, clicks, abandoned in ((0.0, 3, False), (0.5, 0, True)):
        policy = UserPolicy(k=1, turns=4, patience=3, p_click=1.0, min_jaccard=threshold)
        outcome = simulate_session(
            Scripted([["x"]] * 4), user, facts, Mode.FEEDBACK, policy, np.random.default_rng(0)
        )
        assert (outcome.clicks >= clicks, outcome.abandoned) == (True, abandoned)
        if abandoned:
            assert outcome.clicks == 0
