"""The session transformer: it learns a known next item, and scores cold items by text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sessionrec.data.schema import Interactions
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch
from sessionrec.models.exposure import (
    BOOST_GRID,
    NEIGHBOUR_CHOICES,
    NEIGHBOURS,
    PROBE_SHARE,
    borrowed_vectors,
)
from sessionrec.models.sequences import with_validation
from sessionrec.models.transformer import Dropout, SessionTransformer, TransformerConfig
from sessionrec.testing import QUICK_TRANSFORMER_PAIRS, interactions, pairs_log


def test_learns_the_next_item_first() -> None:
    model = SessionTransformer(QUICK_TRANSFORMER_PAIRS).fit(pairs_log())
    for k in range(8):
        scores = model.score(SessionBatch([model.vocab.lookup([f"x{k}"])]))[0]
        assert model.vocab.ids[int(np.argmax(scores))] == f"y{k}"


def text_vectors() -> dict[str, np.ndarray]:
    """One-hot-ish text per item; 'y_new' reads exactly like 'y3'."""
    rng = np.random.default_rng(0)
    vectors = {f"{p}{k}": rng.normal(size=16).astype(np.float32) for p in "xy" for k in range(8)}
    vectors["y_new"] = vectors["y3"].copy()
    return vectors


def test_an_item_never_trained_is_scored_through_its_text() -> None:
    config = replace(QUICK_TRANSFORMER_PAIRS, use_ids=False)
    model = SessionTransformer(config, text_vectors=text_vectors()).fit(pairs_log())
    assert "y_new" in model.vocab
    scores = model.score(SessionBatch([model.vocab.lookup(["x3"])]))[0]
    assert np.isfinite(scores).all()
    cold = scores[model.vocab.index("y_new")]
    assert cold == pytest.approx(scores[model.vocab.index("y3")], rel=1e-5)
    # First, tied (up to float rounding) with the item whose text it shares.
    assert (scores > cold + 1e-4 * abs(cold)).sum() == 0


def test_the_ablation_flags_switch_paths_off() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        TransformerConfig(use_ids=False, use_text=False)
    ids_only = SessionTransformer(replace(QUICK_TRANSFORMER_PAIRS, use_text=False), text_vectors())
    ids_only.fit(pairs_log())
    assert ids_only.net is not None and ids_only.net.items.adapter is None
    assert "y_new" not in ids_only.vocab  # no text path, so no way to score it


def test_training_records_its_history() -> None:
    model = SessionTransformer(replace(QUICK_TRANSFORMER_PAIRS, epochs=3)).fit(pairs_log())
    history = model.training_result.history
    assert len(history) == 3
    assert all(h.score is not None for h in history)
    assert model.training_result.peak_memory_mb > 0


def test_sampled_softmax_learns_the_same_pairs() -> None:
    """Above the catalogue-size threshold training switches to logQ-corrected sampling."""
    config = replace(QUICK_TRANSFORMER_PAIRS, epochs=40, sampled_softmax_above=4, n_negatives=8)
    model = SessionTransformer(config).fit(pairs_log())
    assert model.net is not None
    log_q = model.net.items.log_q.numpy()
    np.testing.assert_allclose(np.exp(log_q[np.isfinite(log_q)]).sum(), 1.0, rtol=1e-5)
    hits = 0
    for k in range(8):
        scores = model.score(SessionBatch([model.vocab.lookup([f"x{k}"])]))[0]
        hits += model.vocab.ids[int(np.argmax(scores))] == f"y{k}"
    assert hits >= 7


def test_refit_learns_from_validation_events_too() -> None:
    train = pairs_log()
    # Validation sequences: a new item z follows y0; it is absent from training.
    rows = [("v0", "x0", 1000.0), ("v0", "y0", 1001.0), ("v0", "z", 1002.0)]
    valid = interactions(rows)
    config = replace(QUICK_TRANSFORMER_PAIRS, epochs=5, refit=True)
    model = SessionTransformer(config).fit(train, valid=valid)
    assert model.training_result.best_epoch >= 1
    assert model.net is not None
    # After the refit, an item seen only in validation is a trained item like any other.
    assert "z" in model.vocab
    assert bool(model.net.items.trained[model.vocab.index("z")])


def test_the_default_refits_only_where_validation_was_carved_from_training() -> None:
    # Carved: the latest sessions are held out, and only a refit trains on their items.
    log = pairs_log()
    latest = interactions([("late", "x0", 10_000.0), ("late", "fresh", 10_001.0)])
    carved = log.replace(pd.concat([log.frame, latest.frame]))
    config = replace(QUICK_TRANSFORMER_PAIRS, epochs=3)
    assert config.refit is None
    model = SessionTransformer(config).fit(carved)
    assert model.net is not None and model.refits(None)
    assert bool(model.net.items.trained[model.vocab.index("fresh")])
    kept = SessionTransformer(replace(config, refit=False)).fit(carved)
    assert kept.net is not None
    assert not bool(kept.net.items.trained[kept.vocab.index("fresh")])
    # Given by the protocol (leave-one-out): no refit, so validation items stay untrained.
    valid = interactions([("v0", "x0", 1000.0), ("v0", "y0", 1001.0), ("v0", "z", 1002.0)])
    given = SessionTransformer(config).fit(log, valid=valid)
    assert not given.refits(valid)
    assert "z" not in given.vocab


def test_with_validation_replaces_a_sessions_rows_once() -> None:
    train = pairs_log(4)
    rows = [("s1", "x1", 2.0), ("s1", "y1", 3.0), ("s1", "extra", 4.0)]
    valid = interactions(rows)
    merged = with_validation(train, valid).frame
    assert merged.groupby("session_id").size().to_dict() == {"s0": 2, "s1": 3, "s2": 2, "s3": 2}
    assert merged.loc[merged["session_id"] == "s1", "item_id"].tolist() == ["x1", "y1", "extra"]
    assert with_validation(train, None) is train


def test_scores_are_session_vectors_dot_item_vectors() -> None:
    """Without repeat offsets (test_repeats) and the text head for untrained items (below),
    scores are plain dot products."""
    config = replace(QUICK_TRANSFORMER_PAIRS, repeat_bias=False, text_head=0.0)
    model = SessionTransformer(config, text_vectors=text_vectors())
    model.fit(pairs_log())
    batch = SessionBatch([model.vocab.lookup(["x1", "y1"]), model.vocab.lookup(["x2"])])
    expected = model.session_vectors(batch) @ model.item_vectors().T
    np.testing.assert_allclose(model.score(batch), expected, rtol=1e-5, atol=1e-6)
    assert model.session_vectors(SessionBatch.of([])).tolist() == [[0.0] * 32]


def test_an_untrained_item_borrows_its_vector_and_text_reads_through_the_adapter() -> None:
    vectors = text_vectors()
    model = SessionTransformer(QUICK_TRANSFORMER_PAIRS, text_vectors=vectors)
    model.fit(pairs_log())
    assert model.net is not None
    row = model.vocab.index("y_new")
    projected = model.text_to_item_space(vectors["y_new"][None, :])
    table, parts = model._item_tables()
    assert parts is not None
    np.testing.assert_allclose(projected[0], parts[row], rtol=1e-5, atol=1e-6)
    # Its vector is borrowed from the trained items nearest its text, as many as chosen.
    neighbours = int(model.net.items.new_item_neighbours)
    assert neighbours in NEIGHBOUR_CHOICES
    trained = model.net.items.trained.numpy()
    expected = borrowed_vectors(table, parts, trained, np.array([row]), neighbours)
    np.testing.assert_allclose(model.item_vectors()[row], expected[0], rtol=1e-5, atol=1e-6)
    # Without a text head there is nothing to borrow by: the text part is the vector.
    plain = SessionTransformer(
        replace(QUICK_TRANSFORMER_PAIRS, text_head=0.0), text_vectors=vectors
    )
    plain.fit(pairs_log())
    np.testing.assert_allclose(
        plain.text_to_item_space(vectors["y_new"][None, :])[0],
        plain.item_vectors()[plain.vocab.index("y_new")],
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(ConfigError, match="shape"):
        model.text_to_item_space(np.zeros((1, 3), dtype=np.float32))


def test_added_items_are_recommendable_at_once_and_survive_save(tmp_path: Path) -> None:
    vectors = text_vectors()
    model = SessionTransformer(
        replace(QUICK_TRANSFORMER_PAIRS, use_ids=False), text_vectors=vectors
    )
    model.fit(pairs_log())
    n_before = model.n_items
    model.add_items(model.item_arrays(), ["brand_new"], vectors["y5"][None, :])
    assert model.n_items == n_before + 1
    scores = model.score(SessionBatch([model.vocab.lookup(["x5"])]))[0]
    assert scores[model.vocab.index("brand_new")] == pytest.approx(
        scores[model.vocab.index("y5")], rel=1e-5
    )
    model.save(tmp_path / "m")
    loaded = SessionTransformer.load(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.score(SessionBatch([loaded.vocab.lookup(["x5"])])), scores[None, :], rtol=1e-5
    )
    with pytest.raises(ConfigError, match="text vectors"):
        model.add_items(model.item_arrays(), ["a", "b"], vectors["y5"][None, :])


def test_the_embedding_interface_needs_text_for_text_operations() -> None:
    model = SessionTransformer(QUICK_TRANSFORMER_PAIRS).fit(pairs_log())
    assert not model.has_text
    with pytest.raises(ConfigError, match="without item text"):
        model.text_to_item_space(np.zeros((1, 16), dtype=np.float32))


def two_kinds() -> tuple[Interactions, dict[str, np.ndarray]]:
    """Sessions that stay within one of two kinds of 25 items ('a…', 'b…'), each kind's
    texts around its own centre; 'a_new' (never in a session) has an 'a' text."""
    rng = np.random.default_rng(0)
    centres = {kind: rng.normal(size=16) for kind in "ab"}
    vectors = {
        f"{kind}{i}": (centres[kind] + 0.3 * rng.normal(size=16)).astype(np.float32)
        for kind in "ab"
        for i in range(25)
    }
    vectors["a_new"] = (centres["a"] + 0.3 * rng.normal(size=16)).astype(np.float32)
    rows: list[tuple[str, str, float]] = []
    for s in range(200):
        kind = "ab"[s % 2]
        for t, i in enumerate(rng.choice(25, size=4, replace=False)):
            rows.append((f"s{s}", f"{kind}{i}", 10.0 * s + t))
    return interactions(rows), vectors


def test_an_untrained_item_ranks_with_the_kind_its_text_belongs_to() -> None:
    log, vectors = two_kinds()
    config = replace(QUICK_TRANSFORMER_PAIRS, epochs=15, patience=15)
    model = SessionTransformer(config, text_vectors=vectors).fit(log)
    assert model.borrows_untrained_vectors
    new = model.vocab.index("a_new")
    b_rows = model.vocab.lookup([f"b{i}" for i in range(25)])
    after_a = model.score(SessionBatch([model.vocab.lookup(["a1", "a2"])]))[0]
    after_b = model.score(SessionBatch([model.vocab.lookup(["b1", "b2"])]))[0]
    assert np.isfinite(after_a).all()
    # Borrowed from 'a' items: after 'a' items it beats every 'b' item, after 'b' items
    # every 'b' item beats it.
    assert after_a[new] > after_a[b_rows].max()
    assert after_b[new] < after_b[b_rows].min()
    plain = SessionTransformer(replace(config, text_head=0.0), text_vectors=vectors).fit(log)
    assert not plain.borrows_untrained_vectors


def test_a_refit_keeps_what_validation_chose_for_new_items() -> None:
    log, vectors = two_kinds()
    config = replace(QUICK_TRANSFORMER_PAIRS, epochs=5, patience=5, new_item_exposure=1.0)
    first = SessionTransformer(config, text_vectors=vectors).fit(log)
    refit = SessionTransformer(replace(config, refit=True), text_vectors=vectors).fit(log)
    assert first.net is not None and refit.net is not None
    boost = float(first.net.items.new_item_boost)
    assert boost > 0  # an exposure of 1.0 needs a boost, so losing it would show
    assert float(refit.net.items.new_item_boost) == boost
    neighbours = int(first.net.items.new_item_neighbours)
    assert int(refit.net.items.new_item_neighbours) == neighbours


def test_the_neighbours_chosen_are_saved_and_an_older_model_loads_with_the_default(
    tmp_path: Path,
) -> None:
    log, vectors = two_kinds()
    config = replace(QUICK_TRANSFORMER_PAIRS, epochs=5, patience=5)
    model = SessionTransformer(config, text_vectors=vectors).fit(log)
    assert model.net is not None
    model.net.items.new_item_neighbours.fill_(5)  # as if validation had chosen 5
    model.save(tmp_path / "m")
    loaded = SessionTransformer.load(tmp_path / "m")
    assert loaded.net is not None and int(loaded.net.items.new_item_neighbours) == 5
    np.testing.assert_allclose(loaded.item_vectors(), model.item_vectors(), rtol=1e-6)
    # Saved before the buffer existed: the number used until it was chosen.
    arrays = model._to_arrays()
    del arrays["items.new_item_neighbours"]
    older = SessionTransformer(config)
    older.vocab = model.vocab
    older._from_arrays(arrays)
    assert older.net is not None and int(older.net.items.new_item_neighbours) == NEIGHBOURS


def test_probes_are_kept_from_the_text_head_and_set_the_boost() -> None:
    model = SessionTransformer(QUICK_TRANSFORMER_PAIRS, text_vectors=text_vectors())
    model.fit(pairs_log())
    assert model.net is not None
    items = model.net.items
    probes, trained = items.probes.numpy(), items.trained.numpy()
    assert probes.sum() == round(PROBE_SHARE * trained.sum())
    assert not (probes & ~trained).any()
    assert float(items.new_item_boost) in BOOST_GRID
    # A batch whose every target is a probe gives the text head nothing to learn from.
    probe = int(np.flatnonzero(probes)[0])
    inputs = torch.tensor([[0, 1, 2]])
    targets = torch.full((1, 3), probe)
    types = torch.zeros((1, 3), dtype=torch.long)
    model.net.eval()
    with torch.no_grad():
        losses = model.net.losses(inputs, types, targets)
        _, total = model.net(inputs, types, targets)
    assert losses.text is not None and float(losses.text) == 0.0
    assert total is not None and float(total) == pytest.approx(float(losses.main))
    off = SessionTransformer(
        replace(QUICK_TRANSFORMER_PAIRS, new_item_exposure=0.0), text_vectors=text_vectors()
    ).fit(pairs_log())
    assert off.net is not None
    assert not off.net.items.probes.any() and float(off.net.items.new_item_boost) == 0.0


def test_the_two_losses_are_named_and_weighted() -> None:
    config = replace(QUICK_TRANSFORMER_PAIRS, text_head=0.5, text_head_positions=1.0)
    model = SessionTransformer(config, text_vectors())
    model.fit(pairs_log(8))
    assert model.net is not None
    inputs = torch.tensor([[-1, 0, 1]])
    targets = torch.tensor([[-1, 1, 2]])
    types = torch.zeros((1, 3), dtype=torch.long)
    model.net.eval()
    with torch.no_grad():
        losses = model.net.losses(inputs, types, targets)
        logits, total = model.net(inputs, types, targets)
    assert losses.logits.shape == logits.shape == (2, model.n_items)  # target positions only
    assert losses.text is not None and total is not None
    assert float(total) == pytest.approx(float(losses.main) + 0.5 * float(losses.text))


def test_a_model_saved_before_the_blocks_were_split_still_loads() -> None:
    model = SessionTransformer(replace(QUICK_TRANSFORMER_PAIRS, epochs=2), text_vectors())
    model.fit(pairs_log(16))
    old_names = {"attention.qkv": "qkv", "attention.proj": "proj", "mlp.fc": "mlp.0"}
    old_names["mlp.proj"] = "mlp.2"
    arrays = {}
    for name, value in model._to_arrays().items():
        for new, old in old_names.items():
            name = name.replace(f".{new}.", f".{old}.")
        arrays[name] = value
    assert "blocks.0.qkv.weight" in arrays and "blocks.0.mlp.2.bias" in arrays
    loaded = SessionTransformer(model.config)
    loaded.vocab = model.vocab
    loaded._from_arrays(arrays)
    batch = SessionBatch([model.vocab.lookup(["x1"]), model.vocab.lookup(["x2", "y2"])])
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))


def test_leading_padding_changes_nothing_the_model_reads() -> None:
    """Training and batch scoring cut the columns that are padding in every row, and batch
    scoring reads the last position alone; the per-request encoder reads every position of
    the whole padded window. All must read a session alike."""
    model = SessionTransformer(QUICK_TRANSFORMER_PAIRS, text_vectors=text_vectors())
    model.fit(pairs_log())
    net = model.net
    assert net is not None
    window = model.config.max_length
    items = torch.full((2, window), -1, dtype=torch.long)
    items[0, -3:] = torch.tensor([0, 3, 5])
    items[1, -1] = 2
    types = torch.zeros_like(items)
    net.eval()
    with torch.inference_mode():
        table = net.items.table()
        whole = net.encode(items, types, table)
        cut = net.encode(items[:, -3:], types[:, -3:], table)
        last = net.encode(items[:, -3:], types[:, -3:], table, last_only=True)
    torch.testing.assert_close(cut, whole[:, -3:], rtol=1e-5, atol=1e-6)
    assert last.shape == (2, 1, whole.shape[-1])
    torch.testing.assert_close(last, whole[:, -1:], rtol=1e-5, atol=1e-6)

    sequence = model.vocab.lookup(["x1", "y1", "x2"])
    arrays = model.item_arrays()
    per_request = model.session_states(arrays, sequence, np.zeros(3, dtype=np.int64))[-1]
    batch = model.session_vectors(SessionBatch([sequence]))[0]
    np.testing.assert_allclose(batch, per_request, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_keeps_one_minus_p_of_every_lane_and_the_mean(p: float) -> None:
    """Four elements share one 64-bit draw: each of the four 16-bit lanes must keep its
    element at the same rate, or some positions would be dropped more than others."""
    x = torch.ones(4000, 101)  # rows not a multiple of four elements: lanes shift by row
    dropout = Dropout(p, torch.Generator().manual_seed(3))
    out = dropout(x)
    kept = out != 0
    lanes = kept.flatten()[: (x.numel() // 4) * 4].view(-1, 4).float().mean(dim=0)
    torch.testing.assert_close(lanes, torch.full((4,), 1 - p), atol=0.006, rtol=0)
    assert float(out.mean()) == pytest.approx(1.0, abs=0.01)  # inverted: the mean is kept
    assert out.unique().tolist() == pytest.approx([0.0, 1 / (1 - p)])
    again = Dropout(p, torch.Generator().manual_seed(3))(x)
    torch.testing.assert_close(again, out)  # the generator decides every draw
    dropout.eval()
    assert dropout(x) is x


def test_dropout_passes_gradients_through_the_kept_elements_only() -> None:
    x = torch.randn(64, 33, requires_grad=True)
    out = Dropout(0.5, torch.Generator().manual_seed(0))(x)
    out.sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, (out != 0).float() * 2.0)
