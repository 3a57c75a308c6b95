"""Training windows (every event after the first is a target exactly once) and the cases
early stopping scores."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.data.vocab import Vocabulary
from sessionrec.models.base import SessionBatch
from sessionrec.models.sequences import (
    training_windows,
    validation_split,
    within_event_budget,
    without_leading_padding,
)
from sessionrec.testing import interactions


@given(
    st.lists(st.integers(2, 40), min_size=1, max_size=5),
    st.integers(2, 12),
    st.data(),
)
def test_each_target_once_with_its_true_predecessor(
    lengths: list[int], max_length: int, data: st.DataObject
) -> None:
    stride = data.draw(st.integers(1, max_length))
    seed = data.draw(st.one_of(st.none(), st.integers(0, 1000)))
    rng = None if seed is None else np.random.default_rng(seed)
    # Item ids encode (sequence, position) so targets can be traced back.
    sequences = [np.arange(n, dtype=np.int64) + 1000 * s for s, n in enumerate(lengths)]
    types = [np.zeros(n, dtype=np.int8) for n in lengths]
    inputs, _, targets = training_windows(sequences, types, max_length, stride, rng)
    assert inputs.shape == targets.shape
    assert inputs.shape[1] == max_length
    seen = Counter(int(t) for t in targets[targets >= 0])
    expected = Counter(int(x) for seq in sequences for x in seq[1:])
    assert seen == expected
    has_target = targets >= 0
    # The input at a target's position is the event just before it.
    assert np.all(inputs[has_target] == targets[has_target] - 1)


def test_overlapping_windows_give_late_targets_long_context() -> None:
    sequence = [np.arange(30, dtype=np.int64)]
    inputs, _, targets = training_windows(sequence, [np.zeros(30, np.int8)], 10, stride=5)
    for row_inputs, row_targets in zip(inputs, targets, strict=True):
        for position in np.flatnonzero(row_targets >= 0):
            context = (row_inputs[: position + 1] >= 0).sum()
            assert context >= 5 or row_targets[position] <= 5


def test_random_windows_vary_the_context_of_a_target() -> None:
    sequence = [np.arange(100, dtype=np.int64)]
    types = [np.zeros(100, np.int8)]
    contexts = set()
    for seed in range(20):
        inputs, _, targets = training_windows(sequence, types, 10, rng=np.random.default_rng(seed))
        row, position = np.argwhere(targets == 50)[0]
        contexts.add(int((inputs[row, : position + 1] >= 0).sum()))
        last_row, last_position = np.argwhere(targets == 99)[0]
        assert (inputs[last_row, : last_position + 1] >= 0).sum() == 10  # latest: full context
    assert len(contexts) > 3
    short = [np.arange(8, dtype=np.int64)]
    fixed = training_windows(short, [np.zeros(8, np.int8)], 10)
    shifted = training_windows(short, [np.zeros(8, np.int8)], 10, rng=np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(fixed, shifted, strict=True))


def test_known_types_follow_the_known_items() -> None:
    batch = SessionBatch(
        [np.array([3, -1, 5]), np.array([-1])],
        [np.array([1, 2, 4], dtype=np.int8), np.array([6], dtype=np.int8)],
    )
    assert batch.known(0).tolist() == [3, 5]
    assert batch.known_types(0).tolist() == [1, 4]
    assert batch.known_types(1).tolist() == []
    assert SessionBatch.of([7, -1, 8]).known_types(0).tolist() == [0, 0]


def test_leading_padding_is_cut_from_every_aligned_array() -> None:
    items = np.array([[-1, -1, -1, 4, 5], [-1, -1, 7, 8, 9]])
    types = np.arange(10).reshape(2, 5)
    cut_items, cut_types = without_leading_padding(items, types)
    assert cut_items.tolist() == [[-1, 4, 5], [7, 8, 9]]
    assert cut_types.tolist() == [[2, 3, 4], [7, 8, 9]]
    all_padding = np.full((2, 4), -1)
    assert without_leading_padding(all_padding)[0].shape == (2, 1)


def test_a_chunk_or_a_pick_of_a_batch_keeps_its_event_types() -> None:
    items = [np.array([1, 2]), np.array([3]), np.array([4, 5, 6])]
    types = [np.array([0, 1]), np.array([2]), np.array([0, 0, 3])]
    chunk = SessionBatch(items, types).rows(1, 3)
    assert [s.tolist() for s in chunk.items] == [[3], [4, 5, 6]]
    assert chunk.event_types is not None
    assert [t.tolist() for t in chunk.event_types] == [[2], [0, 0, 3]]
    assert SessionBatch(items).rows(0, 1).event_types is None
    picked = SessionBatch(items, types).take(np.array([2, 0]))
    assert [s.tolist() for s in picked.items] == [[4, 5, 6], [1, 2]]
    assert picked.event_types is not None
    assert [t.tolist() for t in picked.event_types] == [[0, 0, 3], [0, 1]]
    assert SessionBatch(items).take([1]).event_types is None


def test_cases_within_the_event_budget_stay_whole() -> None:
    batch = SessionBatch([np.arange(n) for n in (3, 80, 5)], [np.ones(n) for n in (3, 80, 5)])
    targets = np.array([7, 8, 9])
    # 3 + 50 (the window) + 5 events: exactly the budget.
    same, same_targets = within_event_budget(batch, targets, 58, window=50, seed=0)
    assert same is batch and same_targets is targets


def test_cases_over_the_event_budget_are_a_seeded_sample_that_fits_it() -> None:
    lengths = np.random.default_rng(1).integers(1, 120, size=400)
    batch = SessionBatch(
        [np.full(n, i) for i, n in enumerate(lengths)],
        [np.full(n, i % 3) for i, n in enumerate(lengths)],
    )
    targets = np.arange(400) + 1000
    sample, sample_targets = within_event_budget(batch, targets, 2_000, window=50, seed=4)
    kept = sample_targets - 1000
    assert np.all(np.diff(kept) > 0)  # the original order
    assert 2_000 - 50 < np.minimum(lengths[kept], 50).sum() <= 2_000
    for row, case in enumerate(kept):  # items, types and targets stay aligned
        assert np.all(sample.items[row] == case)
        assert sample.event_types is not None and np.all(sample.event_types[row] == case % 3)
    again = within_event_budget(batch, targets, 2_000, window=50, seed=4)[1]
    other = within_event_budget(batch, targets, 2_000, window=50, seed=5)[1]
    np.testing.assert_array_equal(again, sample_targets)
    assert not np.array_equal(other, sample_targets)


def test_carved_validation_of_long_histories_is_capped_only_given_a_window() -> None:
    rows = [(u, f"i{(u * 7 + t) % 300}", t) for u in range(40) for t in range(400)]
    log = interactions(rows)
    vocab = Vocabulary(log.item_ids())
    _, whole, _ = validation_split(log, None, vocab, 0.25)
    _, capped, _ = validation_split(log, None, vocab, 0.25, window=50, seed=0)
    assert len(whole) == 10 * 399  # every next event of the 10 latest sessions
    assert sum(min(len(items), 50) for items in capped.items) <= 100_000 < 50 * len(whole)
    assert len(capped) < len(whole)
