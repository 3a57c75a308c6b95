"""Each baseline's own behaviour, worked out by hand on tiny logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sessionrec.data.schema import Interactions, normalise_events
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch
from sessionrec.models.knn import (
    SessionKNN,
    SharedItems,
    SKNNConfig,
    VectorSessionKNN,
    VSKNNConfig,
)
from sessionrec.models.pop import Pop, PopConfig
from sessionrec.models.rules import SequentialRules, SRConfig


def log(sessions: list[list[str]], start_time: float = 0.0) -> Interactions:
    rows = []
    t = start_time
    for s, items in enumerate(sessions):
        for item in items:
            t += 1.0
            rows.append((f"s{s}", item, t))
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return Interactions(normalise_events(frame))


def scores_by_id(model: Pop | SequentialRules | SessionKNN, session: list[str]) -> dict[str, float]:
    row = model.score(SessionBatch([model.vocab.lookup(session)]))[0]
    return dict(zip(model.vocab.ids, row.tolist(), strict=True))


def test_pop_counts_events_or_sessions() -> None:
    train = log([["a", "a", "b"], ["a", "c"]])
    assert scores_by_id(Pop().fit(train), []) == {"a": 3, "b": 1, "c": 1}
    by_session = Pop(PopConfig(count_sessions=True)).fit(train)
    assert scores_by_id(by_session, []) == {"a": 2, "b": 1, "c": 1}


def test_sr_weights_rules_by_distance_and_scores_by_the_last_item() -> None:
    # a→b at distance 1 (1), a→c at distance 2 (1/2), b→c at 1; second session a→c at 1.
    model = SequentialRules(SRConfig(steps=2)).fit(log([["a", "b", "c"], ["a", "c"]]))
    assert scores_by_id(model, ["a"]) == pytest.approx({"a": 0, "b": 1.0, "c": 1.5})
    assert scores_by_id(model, ["c", "b"]) == pytest.approx({"a": 0, "b": 0, "c": 1.0})


def test_sr_steps_limit_the_distance() -> None:
    model = SequentialRules(SRConfig(steps=1)).fit(log([["a", "b", "c"]]))
    assert scores_by_id(model, ["a"])["c"] == 0


def test_sr_pruning_keeps_the_strongest_rules_first_created_on_ties() -> None:
    model = SequentialRules(SRConfig(steps=1, pruning=2)).fit(
        log([["a", "x"], ["a", "y"], ["a", "z"], ["a", "z"]])
    )
    kept = {k: v for k, v in scores_by_id(model, ["a"]).items() if v > 0}
    assert kept == {"z": 2.0, "x": 1.0}  # y ties with x but was created later


def test_sr_rejects_an_unknown_weighting() -> None:
    with pytest.raises(ConfigError, match="valid: div"):
        SRConfig(weighting="cubic")


def test_sknn_scores_items_by_cosine_of_neighbours() -> None:
    train = log([["a", "b"], ["a", "c", "d", "e"]])
    scores = scores_by_id(SessionKNN().fit(train), ["a"])
    # cos(["a"], s0) = 1/sqrt(2), cos(["a"], s1) = 1/sqrt(4)
    assert scores["b"] == pytest.approx(1 / np.sqrt(2))
    assert scores["c"] == pytest.approx(0.5)
    assert scores["a"] == pytest.approx(1 / np.sqrt(2) + 0.5)


def test_sknn_samples_only_the_most_recent_sessions() -> None:
    train = log([["a", "old"], ["a", "new"]])
    scores = scores_by_id(SessionKNN(SKNNConfig(sample_size=1)).fit(train), ["a"])
    assert scores["old"] == 0 and scores["new"] > 0


def test_sknn_keeps_only_k_neighbours() -> None:
    train = log([["a", "b", "x"], ["a", "b", "y"], ["a", "z", "w", "v"]])
    scores = scores_by_id(SessionKNN(SKNNConfig(k=2)).fit(train), ["a", "b"])
    assert scores["z"] == 0 and scores["x"] > 0 and scores["y"] > 0


def test_vsknn_weights_positions_and_discounts_older_shared_items() -> None:
    # Session [a, b]: quadratic position weights a (1/2)^2 = 0.25, b 1.
    # s0 shares b (the last click, discount 1): sim = 1/2.
    # s1 shares a only (two clicks back, discount 1/4): sim = 0.25/2 = 0.125.
    train = log([["b", "x"], ["a", "y"]])
    scores = scores_by_id(VectorSessionKNN().fit(train), ["a", "b"])
    assert scores["x"] == pytest.approx(0.5)
    assert scores["y"] == pytest.approx(0.125 * 0.25)


def test_vsknn_uses_the_last_occurrence_of_a_repeated_item() -> None:
    # In [a, b, a] item a's last position is 3 of 3: weight 1, shared at distance 1.
    # b (position 2 of 3, two clicks back) weighs (2/3)^2 and is discounted by 1/4.
    train = log([["a", "x"], ["b", "y"]])
    scores = scores_by_id(VectorSessionKNN().fit(train), ["a", "b", "a"])
    assert scores["x"] == pytest.approx(1.0 / 2)
    assert scores["y"] == pytest.approx((2 / 3) ** 2 / 2 * (1 / 4))


def test_shared_items_sum_and_extremes_agree_with_each_sessions_own_items() -> None:
    # What the kNN models read from the postings of the session's items, checked against
    # the sessions' item lists read one by one, over a random log with repeats.
    rng = np.random.default_rng(0)
    sessions = [[f"i{j}" for j in rng.integers(0, 30, rng.integers(1, 9))] for _ in range(80)]
    model = SessionKNN().fit(log(sessions))
    sequence = model.vocab.lookup([f"i{j}" for j in (17, 0, 3, 4, 29, 3, 0)])
    sequence = sequence[sequence >= 0]
    distinct = np.unique(sequence)
    values = rng.normal(size=len(distinct))
    shared = SharedItems.of(model.item_sessions, sequence)
    np.testing.assert_array_equal(shared.distinct, distinct)
    for item, last in zip(shared.distinct, shared.last, strict=True):
        assert sequence[last - 1] == item and item not in sequence[last:]
    total = shared.total(values)
    lowest = shared.extreme(values, np.minimum, np.inf)
    highest = shared.extreme(values, np.maximum, -np.inf)
    count = shared.count()
    matrix = model.session_items
    for row in range(matrix.shape[0]):
        items = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        held = values[np.isin(distinct, items)]
        assert count[row] == len(held)
        assert total[row] == pytest.approx(held.sum(), abs=1e-12)
        assert lowest[row] == (held.min() if len(held) else np.inf)
        assert highest[row] == (held.max() if len(held) else -np.inf)


def test_vsknn_rejects_an_unknown_weighting() -> None:
    with pytest.raises(ConfigError, match="valid:"):
        VSKNNConfig(weighting_score="cubic")
