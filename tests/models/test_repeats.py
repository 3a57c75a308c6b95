"""Repeat offsets: learned per distance bucket, the same in training, scoring and the engine."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from sessionrec.models.base import SessionBatch
from sessionrec.models.repeats import STEP_BOOST, RepeatBias, distance_buckets, repeat_offsets
from sessionrec.models.transformer import SessionTransformer
from sessionrec.testing import QUICK_TRANSFORMER_REPEATS, no_repeat_log


def test_distance_buckets_double_in_width() -> None:
    distances = np.array([0, 1, 2, 3, 4, 7, 8, 15, 16, 63, 64, 1000])
    assert distance_buckets(distances).tolist() == [0, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 7]


def test_training_offsets_match_the_scoring_offsets() -> None:
    """The torch path (every position) and the numpy path (last position) agree."""
    repeats = RepeatBias()
    with torch.no_grad():
        repeats.raw.copy_((torch.arange(8, dtype=torch.float32) - 3.5) / STEP_BOOST)
    items = np.array([[-1, -1, 4, 2, 4], [0, 1, 2, 3, 0]])
    last = torch.zeros(items.shape, dtype=torch.bool)
    last[:, -1] = True
    with torch.no_grad():
        got = repeats.add_to(torch.zeros(2, 6), torch.from_numpy(items), last).numpy()
    expected = np.zeros((2, 6))
    rows, columns, values = repeat_offsets(items, repeats.bias.detach().numpy())
    np.add.at(expected, (rows, columns), values)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    expected = np.round(expected, 5)
    # Item 4 of session 0 occurred 0 and 2 events ago: buckets 0 and 2 add up.
    assert expected[0, 4] == (-3.5) + (-1.5)
    assert expected[1, 0] == (-3.5) + (3 - 3.5)  # 0 and 4 events ago (bucket 3)


def share_of_top_items_unseen(model: SessionTransformer) -> float:
    rng = np.random.default_rng(1)
    sessions = [model.vocab.lookup([f"i{k}" for k in rng.permutation(10)[:5]]) for _ in range(40)]
    scores = model.score(SessionBatch(sessions))
    top = scores.argmax(axis=1)
    return float(np.mean([t not in s for t, s in zip(top, sessions, strict=True)]))


def test_a_domain_without_repeats_learns_to_push_seen_items_down() -> None:
    with_bias = SessionTransformer(QUICK_TRANSFORMER_REPEATS).fit(no_repeat_log())
    bias = with_bias.repeat_bias()
    assert bias is not None
    assert (bias[:4] < -1).all()  # buckets that occur in 10-item sessions
    assert share_of_top_items_unseen(with_bias) == 1.0
    without = SessionTransformer(replace(QUICK_TRANSFORMER_REPEATS, repeat_bias=False))
    without.fit(no_repeat_log())
    assert without.repeat_bias() is None


def test_scores_are_the_dot_product_plus_the_offsets() -> None:
    model = SessionTransformer(replace(QUICK_TRANSFORMER_REPEATS, epochs=3)).fit(no_repeat_log())
    sessions = [model.vocab.lookup(["i1", "i2", "i1"]), model.vocab.lookup([])]
    batch = SessionBatch(sessions)
    expected = (model.session_vectors(batch) @ model.item_vectors().T).astype(np.float64)
    bias = model.repeat_bias()
    assert bias is not None
    expected[0, model.vocab.index("i1")] += bias[0] + bias[2]
    expected[0, model.vocab.index("i2")] += bias[1]
    np.testing.assert_allclose(model.score(batch), expected, rtol=1e-5, atol=1e-6)
    assert (model.score(batch)[1] == 0).all()


def test_offsets_never_reward_a_repeat() -> None:
    """A dot-product model already ranks seen items high; offsets may only push down."""
    repeats = RepeatBias()
    with torch.no_grad():
        repeats.raw.fill_(1.0)
    assert (repeats.bias == 0).all()


def test_numpy_offsets_are_the_torch_bias_to_the_bit() -> None:
    module = RepeatBias()
    with torch.no_grad():
        module.raw.copy_(torch.tensor([0.3, -0.01, -0.2, 0.0, -1e-7, -0.05, 0.7, -3.1]))
    expected = module.bias.detach().numpy().astype(np.float64)
    np.testing.assert_array_equal(module.offsets(), expected)
    assert module.offsets().dtype == np.float64 and (module.offsets() <= 0).all()
