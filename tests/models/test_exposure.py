"""New items: probes, vectors borrowed from text neighbours, and the boost search."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.models.exposure import (
    BOOST_GRID,
    CONFIDENCE_Z,
    HIT_K,
    ROWS_PER_CHUNK,
    BoostSearch,
    borrowed_vectors,
    choose_probes,
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


def test_a_new_item_borrows_the_mean_vector_of_its_nearest_trained_items_by_text() -> None:
    rng = np.random.default_rng(0)
    n, width = 40, 6
    vectors = rng.normal(size=(n, width)).astype(np.float32)
    parts = rng.normal(size=(n, width)).astype(np.float32)
    donors = np.arange(n) % 5 != 0
    rows = np.array([0, 3, 5, 17])  # new items (0, 5) and trained ones (3, 17)
    borrowed = borrowed_vectors(vectors, parts, donors, rows, k=4)
    unit = parts / np.linalg.norm(parts, axis=1, keepdims=True)
    for got, row in zip(borrowed, rows, strict=True):
        cosine = unit[donors] @ unit[row]
        candidates = np.flatnonzero(donors)
        keep = candidates != row  # a trained row is not its own neighbour
        nearest = candidates[keep][np.argsort(-cosine[keep])[:4]]
        np.testing.assert_allclose(got, vectors[nearest].mean(axis=0), rtol=1e-5)
    # By cosine, not by length: scaling a text part changes nothing.
    scaled = parts * rng.uniform(0.5, 3.0, size=(n, 1)).astype(np.float32)
    np.testing.assert_allclose(
        borrowed_vectors(vectors, scaled, donors, rows, k=4), borrowed, rtol=1e-5
    )


def test_borrowing_is_chunked_and_bounded_by_the_donors() -> None:
    rng = np.random.default_rng(1)
    n = ROWS_PER_CHUNK + 50
    vectors, parts = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
    donors = np.zeros(n, dtype=bool)
    donors[:3] = True
    rows = np.arange(n)
    borrowed = borrowed_vectors(vectors, parts, donors, rows, k=10)  # k above the donors
    np.testing.assert_allclose(borrowed[10], vectors[:3].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(borrowed[-1], vectors[:3].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(borrowed[0], vectors[1:3].mean(axis=0), rtol=1e-5)  # not itself
    # Nothing to borrow from: a row keeps its text part.
    alone = np.zeros(n, dtype=bool)
    alone[0] = True
    np.testing.assert_allclose(borrowed_vectors(vectors, parts, alone, np.array([0])), parts[:1])
    none = borrowed_vectors(vectors, parts, np.zeros(n, dtype=bool), np.array([4, 5]))
    np.testing.assert_allclose(none, parts[[4, 5]])
    assert borrowed_vectors(vectors, parts, donors, np.zeros(0, dtype=np.int64)).shape == (0, 4)


def brute_force_rates(
    scores: np.ndarray,
    probe_scores: np.ndarray,
    targets: np.ndarray,
    probes: np.ndarray,
    trained: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each case re-scored as inference scores it: items never trained on boosted, a probe
    target too, at its score as a new item (the other probes are trained items there)."""
    probe_rate, known_rate = [], []
    for boost in BOOST_GRID:
        probe_hits, known_hits = [], []
        for row, target in enumerate(targets):
            if not trained[target]:
                continue
            ranked = scores[row].copy()
            ranked[~trained] += boost
            if probes[target]:
                ranked[target] = probe_scores[row] + boost
            hit = (ranked >= ranked[target]).sum() <= HIT_K
            (probe_hits if probes[target] else known_hits).append(hit)
        probe_rate.append(np.mean(probe_hits))
        known_rate.append(np.mean(known_hits))
    return np.array(probe_rate), np.array(known_rate)


def test_the_boost_search_counts_hits_as_rescoring_would() -> None:
    rng = np.random.default_rng(1)
    n, cases = 120, 300
    trained = rng.random(n) > 0.1
    probes = choose_probes(trained, 0.15, seed=0)
    scores = rng.normal(size=(cases, n)) * 2
    targets = rng.integers(0, n, size=cases)
    probe_scores = scores[np.arange(cases), targets] * 0.3 + rng.normal(size=cases) - 1
    search = BoostSearch(probes, trained)
    search.add(scores[:100], probe_scores[:100], targets[:100])  # in chunks, as the model does
    search.add(scores[100:], probe_scores[100:], targets[100:])
    probe_rate, known_rate = brute_force_rates(scores, probe_scores, targets, probes, trained)
    np.testing.assert_allclose(search.probe_hits / search.n_probe_cases, probe_rate)
    np.testing.assert_allclose(search.known_hits / search.n_known_cases, known_rate)
    # More boost: probes hit more often, known targets less often.
    assert probe_rate[-1] > probe_rate[0] and known_rate[-1] < known_rate[0]
    lower = wilson_lower_bound(search.probe_hits, search.n_probe_cases, CONFIDENCE_Z)
    assert (lower <= probe_rate).all() and (lower < probe_rate)[probe_rate > 0].all()
    for exposure in (0.2, 0.5, 1.0):
        reached = np.flatnonzero(lower >= exposure * known_rate)
        expected = BOOST_GRID[reached[0]] if len(reached) else BOOST_GRID[-1]
        assert search.smallest_boost(exposure) == expected
    assert search.smallest_boost(0.0) == 0.0
    assert BoostSearch(probes, trained).smallest_boost(0.3) == 0.0  # no cases seen
    # The hit rate a choice of neighbours is judged by: every counted case at that boost.
    counted = search.n_probe_cases + search.n_known_cases
    at_one = int(np.flatnonzero(BOOST_GRID == 1.0)[0])
    expected_rate = (search.probe_hits[at_one] + search.known_hits[at_one]) / counted
    assert search.hit_rate(1.0) == pytest.approx(expected_rate)
    assert BoostSearch(probes, trained).hit_rate(1.0) == 0.0


def test_the_wilson_bound_is_below_the_rate_and_tightens_with_cases() -> None:
    # 9 hits in 90 cases: a rate of 0.1; worked by hand, the bound is 0.0591 at z 1.645.
    assert float(wilson_lower_bound(np.array(9.0), 90, 1.645)) == pytest.approx(0.0591, abs=2e-4)
    more = float(wilson_lower_bound(np.array(90.0), 900, 1.645))
    assert 0.0591 < more < 0.1
    assert float(wilson_lower_bound(np.array(0.0), 90, 1.645)) == 0.0
