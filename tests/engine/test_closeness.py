"""The closeness measure: an item is among an anchor's closest share of the catalogue."""

from __future__ import annotations

import numpy as np

from sessionrec.engine.closeness import Closeness, closeness_thresholds


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_threshold_lets_in_exactly_the_closest_share_leaving_the_anchor_out() -> None:
    rng = np.random.default_rng(0)
    similarity = unit(rng.normal(size=(201, 8)))
    rows = np.arange(201)
    (threshold,) = closeness_thresholds(similarity, np.array([7]), rows, 0.05)
    cosines = similarity @ similarity[7]
    inside = np.flatnonzero(cosines > threshold)
    assert 7 in inside  # itself (cosine 1) is above, but was not counted
    assert len(inside) == 1 + 10  # 5 % of the 200 others
    at_least = closeness_thresholds(similarity, np.array([7]), rows, 0.0, at_least=3)[0]
    assert int((cosines > at_least).sum()) == 1 + 3


def test_a_share_taking_in_everything_lets_everything_in() -> None:
    similarity = unit(np.eye(4) + 0.1)
    assert closeness_thresholds(similarity, np.array([0]), np.arange(4), 1.0)[0] == -np.inf


def test_thresholds_are_remembered_and_equal_the_direct_measure() -> None:
    rng = np.random.default_rng(1)
    similarity = unit(rng.normal(size=(300, 8)))
    sample = np.arange(0, 300, 2)
    closeness = Closeness(similarity, sample)
    anchors = np.array([3, 10, 3])
    first = closeness.thresholds(anchors, 0.05, 5)
    # Equal up to rounding: BLAS may sum a repeated anchor's row in another kernel (the
    # remembered path computes each distinct anchor once), a last-bit difference on some CPUs.
    direct = closeness_thresholds(similarity, anchors, sample, 0.05, 5)
    np.testing.assert_allclose(first, direct, rtol=1e-12, atol=0)
    similarity[:] = 0.0  # a remembered threshold is not computed again
    np.testing.assert_array_equal(closeness.thresholds(anchors, 0.05, 5), first)
