"""The engine's per-request shortcuts give exactly what the plain computations give."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.engine.catalogue import ItemInfo, ItemTable
from sessionrec.engine.interests import (
    allocate,
    choose_mixture,
    fit_mixture,
    interleave,
    slot_order,
)
from sessionrec.engine.ranking import sorted_union, standardise


def test_vocabulary_list_paths_match_the_array_paths() -> None:
    vocab = Vocabulary(["a", "b", "c"])
    ids = ["c", "zz", "a", "a"]
    assert vocab.indices(ids) == vocab.lookup(ids).tolist() == [2, UNKNOWN_INDEX, 0, 0]
    assert vocab.decode_list([2, 0, 1]) == vocab.decode(np.array([2, 0, 1])) == ["c", "a", "b"]
    assert vocab.decode_list([]) == []
    for bad in ([3], [-1]):
        with pytest.raises(IndexError):
            vocab.decode_list(bad)


def test_slot_order_is_the_interleaved_allocation() -> None:
    for weights, slots in (((0.6, 0.4), 10), ((0.9, 0.05, 0.05), 5), ((0.3, 0.3, 0.4), 7)):
        expected = interleave(allocate(np.asarray(weights), slots))
        assert list(slot_order(weights, slots)) == expected


def test_the_one_interest_mixture_is_numpy_s_mean_and_variance() -> None:
    x = np.random.default_rng(1).normal(size=(37, 16))
    for mixture in (fit_mixture(x, 1), choose_mixture(x, 1)):
        np.testing.assert_array_equal(mixture.means, x.mean(axis=0, keepdims=True))
        np.testing.assert_allclose(mixture.variances, [x.var(axis=0).mean()], rtol=1e-12)


def test_category_rarity_is_the_idf_of_the_category() -> None:
    table = ItemTable(
        [
            ItemInfo("1", "One", ("Drama",)),
            ItemInfo("2", "Two", ("Drama", "Comedy")),
            ItemInfo("3", "Three", ()),
        ]
    )
    assert table.category_rarity("Drama") == math.log(4 / 3)
    assert table.category_rarity("Comedy") == math.log(4 / 2)
    assert table.category_rarity("Drama") == math.log(4 / 3)  # remembered, unchanged


def test_standardise_uses_numpy_s_mean_and_standard_deviation_exactly() -> None:
    rng = np.random.default_rng(7)
    for columns in (1, 2, 3):
        for n in (2, 9, 700, 1700):
            # Magnitudes far apart, so that the order of summation shows in the rounding.
            scores = rng.normal(size=(n, columns)) * 10 ** rng.uniform(-3, 3, size=(1, columns))
            scores = scores.astype(np.float32)
            rows = np.sort(rng.choice(n, min(n, 1024), replace=False))
            scale = standardise(scores, rows)
            sample = scores[rows].astype(np.float64)
            np.testing.assert_array_equal(scale.mean, sample.mean(axis=0))
            np.testing.assert_array_equal(scale.spread, sample.std(axis=0))
            everything = np.arange(n)
            expected = (scores.astype(np.float64) - sample.mean(axis=0)) / sample.std(axis=0)
            np.testing.assert_array_equal(scale.standard_rows(everything), expected)
            np.testing.assert_array_equal(scale.standard(scores[0]), expected[0])


def test_standardise_ignores_items_added_after_training() -> None:
    with_missing = np.array([[1.0, -np.inf], [3.0, 2.0], [-np.inf, 4.0]], dtype=np.float32)
    scale = standardise(with_missing, np.arange(3))
    assert scale.mean.tolist() == [2.0, 3.0] and scale.spread.tolist() == [1.0, 1.0]
    constant = standardise(np.full((4, 1), 5.0, dtype=np.float32), np.arange(4))
    assert constant.spread.tolist() == [1.0]  # no spread: scores keep their units


def test_the_pool_s_union_is_numpy_s_unique() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = int(rng.integers(1, 5000))
        parts = [rng.integers(0, n, int(rng.integers(0, 300))) for _ in range(4)]
        expected = np.unique(np.concatenate(parts))
        got = sorted_union(parts, n)
        assert got.tolist() == expected.tolist()
        assert got.dtype == np.int64
