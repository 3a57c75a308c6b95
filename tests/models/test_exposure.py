"""The new-item boost: probes, the calibrated scores of new items, and the boost search."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.models.exposure import (
    BOOST_GRID,
    CONFIDENCE_Z,
    HIT_K,
    BoostSearch,
    as_new_items,
    choose_probes,
    log_partition,
    wilson_lower_bound,
)


def test_probes_are_a_seeded_share_of_the_eligible_items() -> None:
    eligible = np.arange(100) % 4 != 0
    probes = choose_probes(eligible, 0.1, seed=3)
    assert probes.sum() == round(0.1 * eligible.sum())
    assert not (probes & ~eligible).any()
    assert (choose_probes(eligible, 0.1, seed=3) == probes).all()
    assert not choose_probes(eligible, 0.0, seed=3).any()
    assert choose_probes(np.array([True, True]), 0.9, seed=0).sum() == 1  # one stays known


def test_new_items_get_their_text_probability_on_the_full_scale() -> None:
    rng = np.random.default_rng(0)
    full, text = rng.normal(size=(3, 6)) * 3, rng.normal(size=(3, 6))
    new = np.array([False, False, False, False, True, True])
    scores = as_new_items(full, text, new, ~new, boost=0.0)
    np.testing.assert_array_equal(scores[:, ~new], full[:, ~new])
    # log p_text(new item) relative to the known items == log p_full on the known items.
    text_log_p = text[:, new] - log_partition(text[:, ~new])[:, None]
    np.testing.assert_allclose(scores[:, new] - log_partition(full[:, ~new])[:, None], text_log_p)
    boosted = as_new_items(full, text, new, ~new, boost=1.5)
    np.testing.assert_allclose(boosted[:, new], scores[:, new] + 1.5)


def brute_force_rates(
    full: np.ndarray, text: np.ndarray, targets: np.ndarray, probes: np.ndarray, trained: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each case re-scored as inference scores it: items never trained on as new items, a
    probe target too (the other probes are trained items there), partitions over the
    trained items."""
    probe_rate, known_rate = [], []
    for boost in BOOST_GRID:
        probe_hits, known_hits = [], []
        for row, target in enumerate(targets):
            if not trained[target]:
                continue
            new = ~trained
            new[target] |= probes[target]
            scores = as_new_items(full[row : row + 1], text[row : row + 1], new, trained, boost)
            hit = (scores[0] >= scores[0, target]).sum() <= HIT_K
            (probe_hits if probes[target] else known_hits).append(hit)
        probe_rate.append(np.mean(probe_hits))
        known_rate.append(np.mean(known_hits))
    return np.array(probe_rate), np.array(known_rate)


def test_the_boost_search_counts_hits_as_rescoring_would() -> None:
    rng = np.random.default_rng(1)
    n, cases = 120, 300
    trained = rng.random(n) > 0.1
    probes = choose_probes(trained, 0.15, seed=0)
    full = rng.normal(size=(cases, n)) * 2
    text = full * 0.3 + rng.normal(size=(cases, n))
    targets = rng.integers(0, n, size=cases)
    search = BoostSearch(probes, trained)
    search.add(full[:100], text[:100], targets[:100])  # in chunks, as the model does
    search.add(full[100:], text[100:], targets[100:])
    probe_rate, known_rate = brute_force_rates(full, text, targets, probes, trained)
    np.testing.assert_allclose(search.probe_hits / search.n_probe_cases, probe_rate)
    np.testing.assert_allclose(search.known_hits / search.n_known_cases, known_rate)
    # More boost: probes hit more often, known targets less often.
    assert probe_rate[-1] > probe_rate[0] and known_rate[-1] < known_rate[0]
    lower = wilson_lower_bound(search.probe_hits, search.n_probe_cases, CONFIDENCE_Z)
    assert (lower < probe_rate).all()
    for exposure in (0.2, 0.5, 1.0):
        reached = np.flatnonzero(lower >= exposure * known_rate)
        expected = BOOST_GRID[reached[0]] if len(reached) else BOOST_GRID[-1]
        assert search.smallest_boost(exposure) == expected
    assert search.smallest_boost(0.0) == 0.0
    assert BoostSearch(probes, trained).smallest_boost(0.3) == 0.0  # no cases seen


def test_the_wilson_bound_is_below_the_rate_and_tightens_with_cases() -> None:
    # 9 hits in 90 cases: a rate of 0.1; worked by hand, the bound is 0.0591 at z 1.645.
    assert float(wilson_lower_bound(np.array(9.0), 90, 1.645)) == pytest.approx(0.0591, abs=2e-4)
    more = float(wilson_lower_bound(np.array(90.0), 900, 1.645))
    assert 0.0591 < more < 0.1
    assert float(wilson_lower_bound(np.array(0.0), 90, 1.645)) == 0.0
