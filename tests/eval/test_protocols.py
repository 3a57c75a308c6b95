"""The protocols on hand-made logs: filtering, prefixes, histories, and no leaks."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.data.schema import Interactions
from sessionrec.errors import ConfigError, DataError
from sessionrec.eval.protocols import (
    hold_out_cold_items,
    prepare_leave_one_out,
    prepare_next_item,
)
from sessionrec.eval.runner import evaluate_model, fit_and_evaluate, without_seen
from sessionrec.metrics import TiePolicy
from sessionrec.models.base import SessionBatch
from sessionrec.models.pop import Pop
from sessionrec.testing import interactions


def sessions(data: dict[str, list[str]], start: float = 0.0) -> Interactions:
    rows = []
    t = start
    for session, items in data.items():
        for item in items:
            t += 1.0
            rows.append((session, item, t))
    return interactions(rows, columns=["session_id", "item_id", "timestamp"])


def decode(prepared_cases: object, indices: np.ndarray) -> list[str]:
    return prepared_cases.vocab.decode(indices)  # type: ignore[attr-defined]


def test_next_item_drops_unseen_items_then_short_sessions() -> None:
    train = sessions({"t1": ["a", "b", "c"], "t2": ["b", "d"]})
    test = sessions({"x": ["a", "z", "b", "c"], "y": ["z", "d"], "w": ["q", "r"]}, 100)
    prepared = prepare_next_item(train, test)
    cases = prepared.test_cases
    # x becomes a, b, c (two predictions); y and w fall below two known events.
    assert [decode(cases, p) for p in cases.prefixes] == [["a"], ["a", "b"]]
    assert decode(cases, cases.targets) == ["b", "c"]
    assert prepared.stats["test_cases"] == 2
    assert prepared.stats["items"] == 4


def test_next_item_refuses_a_test_log_sharing_nothing_with_train() -> None:
    with pytest.raises(DataError, match="shares no items"):
        prepare_next_item(sessions({"t": ["a", "b"]}), sessions({"x": ["y", "z"]}))


def loo_log() -> Interactions:
    rows = [("u1", f"i{k}", float(k)) for k in range(60)]
    rows += [("u2", "i1", 1.0), ("u2", "i2", 2.0), ("u2", "i3", 3.0)]
    return interactions(rows, columns=["user_id", "item_id", "timestamp"])


def test_leave_one_out_history_includes_validation_and_is_cut_to_fifty() -> None:
    prepared = prepare_leave_one_out(loo_log())
    cases = prepared.test_cases
    assert decode(cases, cases.targets) == ["i59", "i3"]
    u1_history = decode(cases, cases.prefixes[0])
    assert len(u1_history) == 50
    assert u1_history[-1] == "i58"  # the validation item
    assert u1_history[0] == "i9"  # i0..i58 precede the target; the last 50 start at i9
    assert decode(cases, cases.prefixes[1]) == ["i1", "i2"]


def test_leave_one_out_never_shows_a_test_target_to_training_or_validation() -> None:
    prepared = prepare_leave_one_out(loo_log())
    train = prepared.train.frame
    assert not ((train["user_id"] == "u1") & (train["item_id"] == "i59")).any()
    assert "i58" not in set(train.loc[train["user_id"] == "u1", "item_id"])
    assert prepared.valid is not None
    valid = prepared.valid.frame
    assert valid.groupby("session_id")["item_id"].last().to_dict() == {"u1": "i58", "u2": "i2"}
    assert "i59" not in set(valid["item_id"])
    assert "i3" not in set(valid.loc[valid["user_id"] == "u2", "item_id"])


def test_targets_unknown_to_the_model_count_as_misses() -> None:
    prepared = prepare_leave_one_out(loo_log())
    # i59 never occurs in training, so the model cannot score it.
    model = Pop().fit(prepared.train)
    metrics = evaluate_model(model, prepared.test_cases, ks=(100,))
    assert metrics["HR@100"] == pytest.approx(0.5)


def test_a_model_with_another_vocabulary_is_evaluated_on_its_own_indices() -> None:
    train = sessions({"t1": ["a", "b", "c"], "t2": ["c", "b"], "t3": ["b"]})
    prepared = prepare_next_item(train, sessions({"x": ["a", "b"]}, 100))
    model = Pop().fit(sessions({"s": ["c", "b", "b", "a"]}))  # b most popular, other order
    assert model.vocab != prepared.test_cases.vocab
    batches = prepared.test_cases.batches(model.vocab, 10)
    batch, targets = batches[0]
    assert model.vocab.decode(targets) == ["b"]
    assert model.vocab.decode(batch.items[0]) == ["a"]
    assert fit_and_evaluate(Pop(), prepared).metrics["HR@10"] == 1.0
    assert isinstance(batch, SessionBatch)


def test_cold_items_leave_training_entirely_and_are_reported_apart() -> None:
    prepared = prepare_leave_one_out(loo_log())
    split = hold_out_cold_items(prepared, 0.2, seed=3)
    assert split.cold_items == hold_out_cold_items(prepared, 0.2, seed=3).cold_items
    assert len(split.cold_items) == round(0.2 * len(prepared.test_cases.vocab))
    cold = set(split.cold_items)
    assert not cold & set(split.prepared.train.frame["item_id"])
    assert split.prepared.valid is not None
    assert not cold & set(split.prepared.valid.frame["item_id"])
    targets = prepared.test_cases.vocab.decode(prepared.test_cases.targets)
    assert split.cold_cases.tolist() == [t in cold for t in targets]
    # Test cases are untouched: a live session may contain a cold item.
    assert len(split.prepared.test_cases) == len(prepared.test_cases)


def test_cold_share_must_be_a_proper_fraction() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        hold_out_cold_items(prepare_leave_one_out(loo_log()), 1.0, seed=0)


def test_exclusion_reaches_the_whole_history_not_only_what_models_read() -> None:
    """u1 rated i0..i59: its test prefix is cut to the last 50, but all 59 items before
    the target are what --exclude-seen removes."""
    prepared = prepare_leave_one_out(loo_log())
    cases = prepared.test_cases
    first = list(prepared.test_cases.targets).index(cases.vocab.index("i59"))
    assert len(cases.prefixes[first]) == 50
    seen = cases.seen(cases.vocab, first, first + 1)[0]
    assert sorted(cases.vocab.decode(seen)) == sorted(f"i{k}" for k in range(59))


def test_exclusion_ranks_the_target_above_history_items() -> None:
    """Pop ranks the session's own, more popular items first; excluded, the target is first."""
    train = sessions({"t1": ["a", "b", "c"], "t2": ["a", "b"], "t3": ["a", "b"]})
    prepared = prepare_next_item(train, sessions({"x": ["a", "b", "c"]}, 100))
    model = Pop().fit(prepared.train)
    ranked = evaluate_model(model, prepared.test_cases, ks=(1,))
    excluded = evaluate_model(model, prepared.test_cases, ks=(1,), exclude_seen=True)
    # Cases: a → b (b is second to a, which is seen), a, b → c (a and b seen).
    assert ranked["HR@1"] == 0.0
    assert excluded["HR@1"] == 1.0


@pytest.mark.parametrize("ties", list(TiePolicy))
def test_a_target_already_seen_is_a_miss_under_every_tie_policy(ties: TiePolicy) -> None:
    """A repeated click (rsc15 has them) cannot be recommended once history is excluded."""
    train = sessions({"t1": ["a", "b"], "t2": ["b", "a"]})
    prepared = prepare_next_item(train, sessions({"x": ["a", "b", "a"]}, 100))
    model = Pop().fit(prepared.train)
    metrics = evaluate_model(model, prepared.test_cases, ks=(2,), ties=ties, exclude_seen=True)
    # a → b hits (the only unseen item); a, b → a is a miss, though 2 items fill the top 2.
    assert metrics["HR@2"] == 0.5


def test_without_seen_leaves_the_model_scores_alone() -> None:
    scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    out, targets = without_seen(scores, np.array([1, 2]), [np.array([0]), np.array([2, 1])])
    assert np.array_equal(out, [[-np.inf, 2.0, 1.0], [1.0, -np.inf, -np.inf]])
    assert targets.tolist() == [1, -1]
    assert scores[0, 0] == 3.0  # a copy: the caller's scores are unchanged
