"""Metrics: hand-worked cases, the tie policies, and properties over random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sessionrec.metrics import (
    MetricAccumulator,
    TiePolicy,
    hit_rate,
    ndcg,
    reciprocal_rank,
    target_ranks,
    top_k,
)


def test_ranks_without_ties_are_one_plus_number_of_better_items() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.3]])
    for target, expected in [(1, 1), (2, 2), (3, 3), (0, 4)]:
        for policy in TiePolicy:
            assert target_ranks(scores, np.array([target]), policy)[0] == expected


def test_tie_policies_place_the_target_last_first_or_in_the_middle() -> None:
    # Target (column 0) ties with three others; one item is strictly better.
    scores = np.array([[0.0, 0.0, 0.0, 0.0, 1.0]])
    target = np.array([0])
    assert target_ranks(scores, target, TiePolicy.PESSIMISTIC)[0] == 5
    assert target_ranks(scores, target, TiePolicy.OPTIMISTIC)[0] == 2
    assert target_ranks(scores, target, TiePolicy.AVERAGE)[0] == 3.5


def test_nan_scores_rank_below_everything_and_unknown_targets_miss() -> None:
    scores = np.array([[np.nan, 0.2, -5.0], [0.1, 0.2, 0.3]])
    ranks = target_ranks(scores, np.array([0, -1]))
    assert ranks[0] == 3
    assert math.isinf(ranks[1])


def test_hand_worked_metrics() -> None:
    ranks = np.array([1.0, 3.0, 11.0, np.inf])
    assert hit_rate(ranks, 10).tolist() == [1, 1, 0, 0]
    assert reciprocal_rank(ranks, 10).tolist() == pytest.approx([1, 1 / 3, 0, 0])
    assert ndcg(ranks, 10).tolist() == pytest.approx([1, 1 / math.log2(4), 0, 0])
    assert hit_rate(ranks, 20).tolist() == [1, 1, 1, 0]


def test_top_k_is_best_first_with_ties_to_the_lower_index() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1, 0.5]])
    assert top_k(scores, 3).tolist() == [[1, 0, 2]]
    assert top_k(scores, 10).shape == (1, 5)


def test_accumulator_averages_per_prediction_and_measures_coverage() -> None:
    acc = MetricAccumulator(n_items=4, popularity=np.array([4.0, 2.0, 1.0, 1.0]), ks=(1, 2))
    acc.add(np.array([[0.9, 0.1, 0.0, 0.0], [0.0, 0.1, 0.9, 0.0]]), np.array([0, 1]))
    acc.add(np.array([[0.0, 0.0, 0.0, 0.9]]), np.array([2]))
    result = acc.result()
    # ranks: 1, 2, and 4 (target 2 ties with 0 and 1 at 0.0 behind item 3 -> pessimistic 4)
    assert result["HR@1"] == pytest.approx(1 / 3)
    assert result["HR@2"] == pytest.approx(2 / 3)
    assert result["MRR@2"] == pytest.approx((1 + 0.5) / 3)
    assert result["COV@1"] == pytest.approx(3 / 4)  # slates {0}, {2}, {3}
    assert result["POP@1"] == pytest.approx((1.0 + 0.25 + 0.25) / 3)


score_matrices = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 12)),
    elements=st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0]),
)


@given(score_matrices, st.data())
def test_rank_properties(scores: np.ndarray, data: st.DataObject) -> None:
    rows, cols = scores.shape
    targets = np.array(data.draw(st.lists(st.integers(0, cols - 1), min_size=rows, max_size=rows)))
    pess = target_ranks(scores, targets, TiePolicy.PESSIMISTIC)
    opt = target_ranks(scores, targets, TiePolicy.OPTIMISTIC)
    avg = target_ranks(scores, targets, TiePolicy.AVERAGE)
    assert np.all((opt >= 1) & (opt <= avg) & (avg <= pess) & (pess <= cols))
    # Brute force: pessimistic rank is the count of items scoring at least the target's.
    for r in range(rows):
        expected = sum(1 for c in range(cols) if scores[r, c] >= scores[r, targets[r]])
        assert pess[r] == expected
    for k in (1, 3, 10):
        assert np.all(hit_rate(pess, k) <= hit_rate(opt, k))
        assert np.all(reciprocal_rank(pess, k) <= ndcg(pess, k) + 1e-12)


@given(score_matrices, st.integers(1, 15))
def test_top_k_matches_a_brute_force_sort(scores: np.ndarray, k: int) -> None:
    result = top_k(scores, k)
    for row, picked in zip(scores, result, strict=True):
        expected = sorted(range(len(row)), key=lambda c: (-row[c], c))[:k]
        assert picked.tolist() == expected
