"""Exact top-k and the exact index: best first, ties by index, masks and -inf respected."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.errors import ConfigError
from sessionrec.index import ExactIndex, ItemIndex, exact, top_k, top_k_columns


def test_best_first_with_ties_by_lower_index() -> None:
    scores = np.array([1.0, 3.0, 2.0, 3.0, 0.5])
    assert top_k(scores, 3).tolist() == [1, 3, 2]
    assert top_k(scores, 1).tolist() == [1]


def test_ties_at_the_cut_keep_the_lowest_indices() -> None:
    scores = np.array([1.0, 2.0, 2.0, 2.0, 2.0])
    assert top_k(scores, 2).tolist() == [1, 2]


def test_mask_and_infinite_scores_never_qualify() -> None:
    scores = np.array([5.0, -np.inf, 4.0, np.nan, 3.0])
    mask = np.array([False, True, True, True, True])
    assert top_k(scores, 10, mask).tolist() == [2, 4]
    assert top_k(scores, 10).tolist() == [0, 2, 4]
    assert top_k(scores, 0).tolist() == []
    assert top_k(np.full(3, -np.inf), 2).tolist() == []


def test_matches_a_full_sort_on_random_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=10_000)
    for share in (1.0, 0.7, 0.2, 0.01):
        mask = rng.random(10_000) < share
        expected = [i for i in np.argsort(-scores, kind="stable") if mask[i]][:50]
        assert top_k(scores, 50, mask).tolist() == expected


def test_matches_a_full_sort_with_ties_infinities_and_a_mask() -> None:
    rng = np.random.default_rng(3)
    for trial in range(150):
        n = int(rng.integers(1, 300))
        scores = rng.integers(-3, 4, n).astype(np.float64)  # many ties
        scores[rng.random(n) < 0.1] = -np.inf
        scores[rng.random(n) < 0.05] = np.nan
        share = (0.8, 0.3, 0.05)[trial % 3]
        mask = rng.random(n) < share if trial % 2 else None
        k = int(rng.integers(1, n + 5))
        ok = np.isfinite(scores) & (True if mask is None else mask)
        order = sorted(np.flatnonzero(ok).tolist(), key=lambda i: (-scores[i], i))
        assert top_k(scores, k, mask).tolist() == order[:k]


def _full_sort(scores: np.ndarray, k: int, mask: np.ndarray | None) -> list[int]:
    ok = np.isfinite(scores) & (True if mask is None else mask)
    rows = np.flatnonzero(ok)
    return rows[np.lexsort((rows, -scores[rows].astype(np.float64)))][:k].tolist()


@pytest.mark.filterwarnings("error")  # torch warns when handed a read-only array
def test_large_arrays_read_through_a_sample_give_what_a_full_sort_gives() -> None:
    """From `SAMPLED_FROM` scores on, top-k first keeps what passes a threshold read from
    a sample; ties, -inf, a mask, a sorted array, strided and read-only scores and a mask
    that hides every sampled entry (the full selection then runs) change nothing."""
    rng = np.random.default_rng(5)
    n = 2 * exact.SAMPLED_FROM + 17
    normal = rng.normal(size=n)
    tied = rng.integers(0, 50, n).astype(np.float64)
    tied[rng.random(n) < 0.4] = -np.inf
    rising = np.sort(normal)
    matrix = rng.normal(size=(n, 3)).astype(np.float32)
    matrix.setflags(write=False)
    step = n // exact.SAMPLE_SIZE
    unsampled = np.arange(n) % step != 0
    spiky = np.zeros(n)
    spiky[::step] = 1.0  # the sample sees only the best: too few pass for k = 3,000
    for scores in (normal, tied, rising, rising[::-1].copy(), matrix[:, 1], spiky):
        for mask in (None, rng.random(n) < 0.9, rng.random(n) < 0.05, unsampled):
            for k in (1, 10, 1001, 3000, n // 3):
                assert top_k(scores, k, mask).tolist() == _full_sort(scores, k, mask)


def test_the_sample_threshold_keeps_a_few_times_k() -> None:
    rng = np.random.default_rng(6)
    scores = rng.normal(size=100_000)
    likely = exact._likely_best(scores, np.ones(len(scores), dtype=bool), 1001)
    assert likely is not None
    assert 1001 <= len(likely) <= 6 * 1001
    hidden = np.arange(len(scores)) % (len(scores) // exact.SAMPLE_SIZE) != 0
    assert exact._likely_best(scores, hidden, 1001) is None  # no sampled entry qualifies
    assert exact._likely_best(scores[:1000], np.ones(1000, dtype=bool), 10) is None


@pytest.mark.filterwarnings("error")  # torch warns when handed a read-only array
def test_any_layout_and_dtype_of_scores() -> None:
    """The engine ranks read-only item arrays, columns of a score matrix (strided), float32
    model scores and integer popularity counts: each gives what a full sort gives."""
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(5_000, 3)).astype(np.float32)
    matrix.setflags(write=False)
    counts = rng.integers(0, 20, 5_000)  # many ties
    halves = rng.normal(size=5_000).astype(np.float16)
    for scores in (matrix[:, 1], np.ascontiguousarray(matrix[:, 2]), counts, halves):
        expected = np.lexsort((np.arange(len(scores)), -scores.astype(np.float64)))[:40]
        assert top_k(scores, 40).tolist() == expected.tolist()
        assert top_k(scores, 40).dtype == np.int64


def test_shape_errors() -> None:
    with pytest.raises(ConfigError, match="score vector"):
        top_k(np.zeros((2, 2)), 1)
    with pytest.raises(ConfigError, match="mask shape"):
        top_k(np.zeros(3), 1, np.ones(2, dtype=bool))


def test_index_search_and_updates() -> None:
    vectors = np.eye(4, dtype=np.float32)
    index = ExactIndex.build(vectors)
    assert isinstance(index, ItemIndex)
    assert len(index) == 4 and index.dimension == 4
    rows, scores = index.search(np.array([0.0, 1.0, 0.5, 0.0]), 2)
    assert rows.tolist() == [1, 2]
    np.testing.assert_allclose(scores, [1.0, 0.5])
    grown = index.with_rows(np.array([[0.0, 2.0, 0.0, 0.0]]))
    assert len(grown) == 5 and len(index) == 4  # the old index is untouched
    assert grown.search(np.array([0.0, 1.0, 0.0, 0.0]), 1)[0].tolist() == [4]
    edited = index.with_rows(np.array([[0.0, 0.0, 0.0, 9.0]]), np.array([0]))
    assert edited.search(np.array([0.0, 0.0, 0.0, 1.0]), 1)[0].tolist() == [0]
    assert index.search(np.array([0.0, 0.0, 0.0, 1.0]), 1)[0].tolist() == [3]
    with pytest.raises(ConfigError, match=r"a query must have shape \(4,\)"):
        index.search(np.zeros(3), 1)
    with pytest.raises(ValueError):
        index.vectors[0, 0] = 1.0  # read-only: readers never see a half update
    vectors[0, 0] = 5.0  # and the caller's array stays the caller's
    assert index.search(np.array([1.0, 0.0, 0.0, 0.0]), 1)[1].tolist() == [1.0]


def test_index_search_is_top_k_of_the_dot_products() -> None:
    """The engine's slates depend on it: the same rows in the same order as `top_k` over
    the scores the engine computed before it searched through an index, ties and masks
    included (small integer vectors make ties common)."""
    rng = np.random.default_rng(0)
    for trial in range(100):
        n, d = int(rng.integers(1, 60)), int(rng.integers(1, 6))
        vectors = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
        query = rng.integers(-2, 3, size=d).astype(np.float32)
        mask = rng.random(n) > 0.3 if trial % 2 else None
        k = int(rng.integers(0, n + 3))
        index = ExactIndex.build(vectors)
        if trial % 3 == 0:  # an index grown by an upsert answers as one built whole
            index = ExactIndex.build(vectors[: n // 2]).with_rows(vectors[n // 2 :])
        rows, scores = index.search(query, k, mask)
        expected = top_k(vectors @ query, k, mask)
        assert rows.tolist() == expected.tolist()
        np.testing.assert_array_equal(scores, (vectors @ query)[expected])


def test_top_k_columns_matches_top_k_per_column() -> None:
    rng = np.random.default_rng(0)
    for trial in range(200):
        n, columns = int(rng.integers(1, 40)), int(rng.integers(1, 4))
        # Few distinct values, so ties at the cut are common.
        scores = np.round(rng.normal(size=(n, columns)), int(rng.integers(0, 2)))
        if trial % 5 == 0:
            scores[int(rng.integers(n)), 0] = -np.inf
        k = int(rng.integers(0, 45))
        expected = [top_k(scores[:, r], k) for r in range(columns)]
        got = top_k_columns(scores, k)
        assert [g.tolist() for g in got] == [e.tolist() for e in expected]
        # A column-major layout (what the engine passes) gives the same.
        got_f = top_k_columns(np.asfortranarray(scores), k)
        assert [g.tolist() for g in got_f] == [e.tolist() for e in expected]
    with pytest.raises(ConfigError):
        top_k_columns(np.zeros(3), 1)
