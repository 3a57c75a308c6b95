"""The engine's per-request shortcuts give exactly what the plain computations give."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.engine.catalogue import ItemInfo, ItemTable
from sessionrec.engine.interests import _Spread, allocate, interleave, slot_order
from sessionrec.engine.recommender import _scale


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


def test_spread_reproduces_numpy_mean_and_variance_exactly() -> None:
    x = np.random.default_rng(1).normal(size=(37, 16))
    spread = _Spread.of(x)
    np.testing.assert_array_equal(spread.mean, x.mean(axis=0, keepdims=True))
    assert spread.total_variance() == float(x.var(axis=0).sum())


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


def test_scale_gives_numpy_s_mean_and_standard_deviation_exactly() -> None:
    rng = np.random.default_rng(7)
    for columns in (1, 2, 3):
        for n in (2, 9, 700, 1700):
            # Magnitudes far apart, so that the order of summation shows in the rounding.
            scores = rng.normal(size=(n, columns)) * 10 ** rng.uniform(-3, 3, size=(1, columns))
            scores = scores.astype(np.float32)
            rows = np.sort(rng.choice(n, min(n, 1024), replace=False))
            mean, spread = _scale(np.ascontiguousarray(scores.T), rows)
            sample = scores[rows].astype(np.float64)
            np.testing.assert_array_equal(mean, sample.mean(axis=0))
            np.testing.assert_array_equal(spread, sample.std(axis=0))
    with_missing = np.array([[1.0, -np.inf], [3.0, 2.0], [-np.inf, 4.0]], dtype=np.float32)
    mean, spread = _scale(np.ascontiguousarray(with_missing.T), np.arange(3))
    assert mean.tolist() == [2.0, 3.0] and spread.tolist() == [1.0, 1.0]
