"""The Gaussian mixture finds the number of interests, and slates split by its weights."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.interests import (
    MAX_INTERESTS,
    allocate,
    choose_mixture,
    fit_mixture,
    interleave,
)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clusters(sizes: list[int], seed: int = 0, spread: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), 32))
    parts = [c + spread * rng.normal(size=(n, 32)) for c, n in zip(centres, sizes, strict=True)]
    return unit(np.concatenate(parts))


def test_two_well_separated_clusters_make_two_interests() -> None:
    mixture = choose_mixture(clusters([6, 4]))
    assert mixture.k == 2
    labels = mixture.labels
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]
    assert sorted(np.round(mixture.weights, 2)) == [0.4, 0.6]


def test_one_cluster_is_one_interest() -> None:
    assert choose_mixture(clusters([10])).k == 1
    assert choose_mixture(unit(np.random.default_rng(3).normal(size=(40, 32)))).k == 1


def test_three_clusters_and_the_cap() -> None:
    assert choose_mixture(clusters([8, 8, 8])).k == 3
    assert choose_mixture(clusters([6, 6, 6, 6, 6], spread=0.1)).k <= MAX_INTERESTS


def test_few_points_are_one_interest() -> None:
    points = clusters([2, 1])
    assert choose_mixture(points).k == 1


def test_identical_points_do_not_break_em() -> None:
    points = np.repeat(clusters([1]), 6, axis=0)
    mixture = choose_mixture(points)
    assert mixture.k == 1 and np.isfinite(mixture.bic)


def test_a_catalogue_reference_keeps_a_tight_session_whole() -> None:
    tight = clusters([5, 5], spread=0.3)
    tight = unit(tight * 0.02 + np.ones(32))  # two sub-clusters, both tiny on a wide scale
    assert choose_mixture(tight).k == 2  # judged by their own spread: two
    assert choose_mixture(tight, reference_variance=1 / 32).k == 1  # by the catalogue's: one


def test_deterministic_and_bic_is_finite() -> None:
    points = clusters([5, 5, 5], seed=4)
    a, b = choose_mixture(points), choose_mixture(points)
    np.testing.assert_array_equal(a.labels, b.labels)
    mixture = fit_mixture(points, 2)
    np.testing.assert_allclose(mixture.weights.sum(), 1.0)
    np.testing.assert_allclose(mixture.responsibilities.sum(axis=1), 1.0)


def test_allocation_is_proportional_and_gives_every_interest_a_slot() -> None:
    assert allocate(np.array([0.6, 0.4]), 10).tolist() == [6, 4]
    assert allocate(np.array([0.9, 0.05, 0.05]), 5).tolist() == [3, 1, 1]
    assert allocate(np.array([0.5, 0.5]), 1).sum() == 1
    assert allocate(np.array([]), 3).tolist() == []


def test_interleaving_keeps_prefixes_proportional() -> None:
    order = interleave(np.array([6, 3]))
    assert sorted(order) == [0] * 6 + [1] * 3
    assert order[:3].count(0) == 2  # a third of every prefix for the smaller interest


def session(items: list[str]) -> list[SessionEvent]:
    return [SessionEvent(i, "view") for i in items]  # type: ignore[arg-type]


def test_a_two_genre_session_gets_two_interests_and_a_split_slate(engine: Engine) -> None:
    items = ["a1", "a2", "a3", "a4", "a5", "a6", "t1", "t2", "t3"]
    slate = engine.recommend(Query(events=session(items), k=9))
    assert len(slate.interests) == 2
    by_label = {i.label: i for i in slate.interests}
    assert set(by_label) == {"Animation", "Thriller"}
    assert by_label["Animation"].weight == pytest.approx(6 / 9, abs=0.01)
    assert set(by_label["Thriller"].item_ids) == {"t1", "t2", "t3"}
    genres = [item.item_id[0] for item in slate.items]
    assert genres.count("a") == 6 and genres.count("t") == 3
    for item in slate.items:
        assert item.interest is not None
        assert slate.interests[item.interest].label[0].lower() == item.item_id[0]
        assert any(r.kind == "interest" for r in item.reasons)
    assert len({i.item_id for i in slate.items}) == 9  # merged without duplicates


def test_a_one_genre_session_is_one_interest(engine: Engine) -> None:
    slate = engine.recommend(Query(events=session(["c1", "c2", "c3", "c4", "c5"]), k=5))
    assert len(slate.interests) == 1
    assert slate.interests[0].weight == 1.0 and slate.interests[0].label == "Comedy"
    assert all(item.interest == 0 for item in slate.items)
    assert all(item.item_id.startswith("c") for item in slate.items)
