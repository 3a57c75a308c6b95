"""Several interests in one session: a small Gaussian mixture, its size chosen by BIC.

A person looking at both animated films and thrillers should get both, in proportion,
rather than a slate averaged into neither. The session's items are clustered in the
model's item space, unit-normalised: that is the space scores are computed in (so a
cluster is exactly a set of items that pull the slate the same way), it already carries
the text through the model's adapter, and at 64 dimensions a mixture over a few dozen
points stays well-posed, where 384-dimensional text vectors would not.

Components are spherical and share one variance: with at most a few dozen points, a full
or even diagonal covariance would have more parameters than data, and BIC would never
split; with a variance per component, one odd item alone in a component would have a
near-zero variance and so a likelihood high enough to split off every outlier.
EM is a few dozen tiny numpy operations, well under a millisecond for a session of 50.

`session_interests` applies the mixture to one session (step 2 of `Engine.recommend`),
remembering the fit per set of items (`MixtureCache`): successive requests of one session
mostly reuse it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from sessionrec.engine.catalogue import CatalogueSnapshot, unit_rows
from sessionrec.engine.explain import interest_label
from sessionrec.engine.feedback import ResolvedSession
from sessionrec.engine.query import Interest

MAX_INTERESTS = 3
"""At most this many interests: more splits a slate of 10 into slivers nobody notices."""

MIXTURE_CACHE = 4096
"""Sessions whose interest split is remembered: successive requests of one session reuse it."""

MIN_POINTS_TO_SPLIT = 4
"""Below this many distinct items a session is one interest: BIC cannot tell two apart."""

VARIANCE_FLOOR = 0.05
"""Smallest component variance, as a share of a reference variance: the whole catalogue's
where the caller gives it, else the points' own. Items closer together than that (about a
fifth of the catalogue's spread) count as one interest, however the session's few points
happen to scatter; it also keeps a repeated item from having infinite likelihood."""

MAX_ITERATIONS = 12
"""EM rounds at most: from far-apart seeds it settles in about six; the cap bounds the
slowest sessions' latency (a mixture short of convergence still separates interests)."""
TOLERANCE = 1e-2
"""EM stops when the log-likelihood per point improves by less than this (in nats): the
BIC comparisons it feeds differ by tens of nats, so finer convergence changes nothing."""


@dataclass(frozen=True)
class Mixture:
    """A fitted spherical Gaussian mixture over n points in d dimensions."""

    weights: np.ndarray
    """(K,) component shares, summing to 1."""
    means: np.ndarray
    """(K, d)."""
    variances: np.ndarray
    """(K,) per-dimension variance of each component (all equal: tied)."""
    responsibilities: np.ndarray
    """(n, K) posterior of each component for each point."""
    log_likelihood: float
    bic: float

    @property
    def k(self) -> int:
        return len(self.weights)

    @property
    def labels(self) -> np.ndarray:
        """(n,) the most likely component of each point."""
        return self.responsibilities.argmax(axis=1)


def _squared_distances(points: np.ndarray, sq_norms: np.ndarray, means: np.ndarray) -> np.ndarray:
    """(m, n, K) squared distances of each point to each of the (m, K, d) means."""
    cross = points @ means.transpose(0, 2, 1)  # (m, n, K)
    sq = sq_norms[None, :, None] - 2.0 * cross + np.add.reduce(means * means, axis=2)[:, None, :]
    return np.maximum(sq, 0.0, out=sq)


@dataclass(frozen=True)
class _Spread:
    """The points' squared deviations from their centroid, computed once per fit: the
    one-component mixture, the initial tied variance and the first seed all need them."""

    mean: np.ndarray
    """(1, d) the centroid."""
    squares: np.ndarray
    """(n, d) squared deviation of each coordinate from the centroid."""

    @classmethod
    def of(cls, x: np.ndarray) -> _Spread:
        # The operations numpy's `x.mean(axis=0)` and `x.var(axis=0)` perform, shared.
        mean = np.add.reduce(x, axis=0, keepdims=True) / x.shape[0]
        centred = x - mean
        return cls(mean, np.multiply(centred, centred, out=centred))

    def total_variance(self) -> float:
        """`x.var(axis=0).sum()`."""
        return float((np.add.reduce(self.squares, axis=0) / self.squares.shape[0]).sum())


def _farthest_point_init(points: np.ndarray, k: int, spread: _Spread | None = None) -> np.ndarray:
    """Starting means far apart: the point farthest from the centre, then repeatedly the
    point farthest from all chosen. Deterministic, and with well-separated interests it
    puts one seed in each, where random seeding often puts two in one."""
    squares = (spread or _Spread.of(points)).squares
    chosen = [int(np.argmax(np.add.reduce(squares, axis=1)))]
    sq = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        nxt = int(np.argmax(sq))
        chosen.append(nxt)
        sq = np.minimum(sq, ((points - points[nxt]) ** 2).sum(axis=1))
    return points[chosen].copy()


def fit_mixture(points: np.ndarray, k: int, reference_variance: float | None = None) -> Mixture:
    """EM for a k-component spherical mixture with a tied variance; BIC = -2 log L + p log n.

    `reference_variance` (per dimension) sets the variance floor; None: the points' own.
    """
    x = np.asarray(points, dtype=np.float64)
    floor = _floor(x, reference_variance)
    spread = _Spread.of(x)
    if k == 1:
        return _single(x, floor, spread)
    return _fit_several(x, [k], floor, spread)[0]


def _floor(x: np.ndarray, reference_variance: float | None) -> float:
    reference = float(x.var(axis=0).mean()) if reference_variance is None else reference_variance
    return max(VARIANCE_FLOOR * reference, 1e-12)


def _single(x: np.ndarray, floor: float, spread: _Spread) -> Mixture:
    """The one-component mixture, in closed form."""
    n, d = x.shape
    sq_dist = float(spread.squares.sum())
    variance = max(sq_dist / (n * d), floor)
    log_l = -0.5 * (n * d * math.log(2.0 * math.pi * variance) + sq_dist / variance)
    return Mixture(
        np.ones(1), spread.mean, np.array([variance]), np.ones((n, 1)), log_l, _bic(log_l, 1, n, d)
    )


def _row_max(values: np.ndarray) -> np.ndarray:
    """`values.max(axis=-1, keepdims=True)` over a last axis of two or three components,
    as elementwise maxima: a reduction along such a short axis costs several times more."""
    top = values[..., :1]
    for c in range(1, values.shape[-1]):
        top = np.maximum(top, values[..., c : c + 1])
    return top


def _fit_several(x: np.ndarray, ks: list[int], floor: float, spread: _Spread) -> list[Mixture]:
    """EM for mixtures of several sizes at once, stacked along a first axis.

    With a few dozen points each numpy call costs more in overhead than in arithmetic, so
    fitting the 2- and 3-component mixtures in the same calls halves the time, and the
    loop keeps its calls few (reductions as `np.add.reduce`, constants folded out of it).
    Unused component slots of the smaller mixtures have weight 0 throughout.
    """
    n, d = x.shape
    m, k_max = len(ks), max(ks)
    sq_norms = np.add.reduce(x * x, axis=1)
    active = np.arange(k_max)[None, :] < np.asarray(ks)[:, None]  # (m, k_max)
    seeds = _farthest_point_init(x, k_max, spread)  # greedy: the first k seeds are the k-seed init
    means = np.where(active[:, :, None], seeds[None, :, :], 0.0)  # (m, k_max, d)
    log_weights = np.where(active, -np.log(np.asarray(ks, dtype=np.float64))[:, None], -np.inf)
    tied = np.full(m, max(spread.total_variance() / d, floor))
    sq_dist = _squared_distances(x, sq_norms, means)
    previous = np.full(m, -np.inf)
    log_l = previous
    resp = np.where(active[:, None, :], 1.0, 0.0) / np.asarray(ks)[:, None, None]
    normaliser = -0.5 * n * d  # the Gaussian's log normalising constant per log(2 pi var)
    two_pi = 2.0 * math.pi
    stop = TOLERANCE * n
    for _ in range(MAX_ITERATIONS):
        # E-step: responsibilities under the current means, variance and weights. The
        # Gaussian's normalising constant is the same for every component (tied variance),
        # so it enters the log-likelihood once, not the responsibilities.
        joint = log_weights[:, None, :] - sq_dist * (0.5 / tied)[:, None, None]
        top = _row_max(joint)
        shifted = np.exp(np.subtract(joint, top, out=joint), out=joint)
        totals = np.add.reduce(shifted, axis=2, keepdims=True)
        resp = np.divide(shifted, totals, out=shifted)
        constant = normaliser * np.log(two_pi * tied)
        log_l = (
            np.add.reduce(np.log(totals), axis=(1, 2)) + np.add.reduce(top, axis=(1, 2)) + constant
        )
        if all(gain < stop for gain in (log_l - previous).tolist()):
            break
        previous = log_l
        # M-step: weights, means, and the one variance each mixture's components share.
        counts = np.add.reduce(resp, axis=1) + 1e-12  # (m, k_max)
        log_weights = np.where(active, np.log(counts / n), -np.inf)
        means = (resp.transpose(0, 2, 1) @ x) / counts[:, :, None]
        sq_dist = _squared_distances(x, sq_norms, means)
        tied = np.maximum(np.add.reduce(resp * sq_dist, axis=(1, 2)) / (n * d), floor)
    out = []
    for i, k in enumerate(ks):
        weights = np.exp(log_weights[i, :k])
        weights = weights / weights.sum()
        ll = float(log_l[i])
        out.append(
            Mixture(
                weights, means[i, :k], np.full(k, tied[i]), resp[i, :, :k], ll, _bic(ll, k, n, d)
            )
        )
    return out


def _bic(log_likelihood: float, k: int, n: int, d: int) -> float:
    parameters = k * d + 1 + (k - 1)  # means, the shared variance, free weights
    return -2.0 * log_likelihood + parameters * math.log(n)


def choose_mixture(
    points: np.ndarray, max_k: int = MAX_INTERESTS, reference_variance: float | None = None
) -> Mixture:
    """The mixture with the lowest BIC among 1..max_k components (1 for few points).

    Deterministic. Components that end up owning no point are dropped and the weights
    renormalised, so every interest reported has at least one member.
    """
    x = np.asarray(points, dtype=np.float64)
    n = len(x)
    floor = _floor(x, reference_variance)
    spread = _Spread.of(x)
    best = _single(x, floor, spread)
    sizes = list(range(2, min(max_k, n // 2) + 1))
    if n < MIN_POINTS_TO_SPLIT or not sizes or float(best.variances[0]) <= floor:
        return best  # too few points, or all within the floor of each other: one interest
    for candidate in _fit_several(x, sizes, floor, spread):
        if candidate.bic < best.bic:
            best = candidate
    return _without_empty(best)


def _without_empty(mixture: Mixture) -> Mixture:
    owned = np.unique(mixture.labels)
    if len(owned) == mixture.k:
        return mixture
    weights = mixture.weights[owned] / mixture.weights[owned].sum()
    resp = mixture.responsibilities[:, owned]
    resp = resp / np.maximum(resp.sum(axis=1, keepdims=True), 1e-12)
    return Mixture(
        weights,
        mixture.means[owned],
        mixture.variances[owned],
        resp,
        mixture.log_likelihood,
        mixture.bic,
    )


def allocate(weights: np.ndarray, slots: int) -> np.ndarray:
    """Slots per interest in proportion to the weights (largest remainder), each ≥ 1
    while there are slots to give."""
    k = len(weights)
    if k == 0 or slots <= 0:
        return np.zeros(k, dtype=np.int64)
    share = np.asarray(weights, dtype=np.float64) / float(np.sum(weights)) * slots
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: slots - int(counts.sum())]] += 1
    # An interest with a real weight but no slot still gets one, taken from the largest.
    for i in np.flatnonzero(counts == 0):
        donor = int(np.argmax(counts))
        if counts[donor] > 1:
            counts[donor] -= 1
            counts[i] += 1
    return counts


@lru_cache(maxsize=4096)
def slot_order(weights: tuple[float, ...], slots: int) -> tuple[int, ...]:
    """`interleave(allocate(weights, slots))`, remembered: it depends only on the (rounded)
    interest weights and the slate size, which recur across requests, and computing it
    costs dozens of tiny numpy calls."""
    return tuple(interleave(allocate(np.asarray(weights, dtype=np.float64), slots)))


def interleave(counts: np.ndarray) -> list[int]:
    """An order of interests for slate positions that keeps every prefix proportional
    (each position goes to the interest furthest behind its share). Plain Python: a slate
    has at most a hundred positions and three interests."""
    wanted = [int(c) for c in counts]
    total = sum(wanted)
    taken = [0] * len(wanted)
    order: list[int] = []
    for position in range(1, total + 1):
        best, best_deficit = -1, -math.inf
        for i, want in enumerate(wanted):
            if taken[i] < want:
                deficit = want * position / total - taken[i]
                if deficit > best_deficit:
                    best, best_deficit = i, deficit
        taken[best] += 1
        order.append(best)
    return order


# -- a session's interests ----------------------------------------------------------------


@dataclass(frozen=True)
class SessionInterests:
    """A session split into interests: what the slate reports, and which of the session's
    items and events belong to each."""

    reported: tuple[Interest, ...]
    """Weight, items and label of each interest, heaviest first (what `Slate` carries)."""
    members: tuple[np.ndarray, ...]
    """Vocabulary rows of each interest's session items."""
    of_event: np.ndarray
    """Per context event of the session, the interest it belongs to (-1: none)."""
    means: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """(K, d) each interest's mean unit item vector, in `reported` order."""
    variance: float = 0.0
    """The mixture's per-dimension variance, shared by its components."""

    @property
    def split(self) -> bool:
        """Whether the session has several interests, each with its own query."""
        return len(self.members) > 1


NO_INTERESTS = SessionInterests((), (), np.zeros(0, dtype=np.int64))

MEMBERSHIP_DEVIATIONS = 3.0
"""An item belongs to an interest when that interest is its most likely component and its
squared distance to the mean is within this many standard deviations of what the
component's own spherical Gaussian gives its members (a chi-square with d degrees of
freedom: mean d·σ², deviation σ²·sqrt(2d)). Far from every interest, an item belongs to
none, however the posterior splits between them."""


def interest_memberships(
    snapshot: CatalogueSnapshot, interests: SessionInterests, rows: np.ndarray
) -> list[int | None]:
    """Per row, the interest it belongs to by the session mixture's own model (None: no
    interest, or a session of one). What an interest reason may claim."""
    if not interests.split or not len(rows):
        return [None] * len(rows)
    points = unit_rows(snapshot.arrays.item_vectors.take(rows, axis=0))
    means, variance = interests.means, max(interests.variance, 1e-12)
    sq = (
        np.add.reduce(points * points, axis=1)[:, None]
        - 2.0 * points @ means.T
        + np.add.reduce(means * means, axis=1)[None, :]
    )
    weights = np.asarray([i.weight for i in interests.reported], dtype=np.float64)
    joint = np.log(np.maximum(weights, 1e-12))[None, :] - sq / (2.0 * variance)
    best = joint.argmax(axis=1)
    d = points.shape[1]
    limit = variance * (d + MEMBERSHIP_DEVIATIONS * math.sqrt(2.0 * d))
    near = sq[np.arange(len(rows)), best] <= limit
    return [int(b) if ok else None for b, ok in zip(best.tolist(), near.tolist(), strict=True)]


"""An empty session's, and the one query of `Engine.scores`."""


@dataclass(frozen=True)
class FittedMixture:
    """What a session's mixture leaves for its later requests."""

    weights: np.ndarray
    labels: np.ndarray
    means: np.ndarray
    variance: float


class MixtureCache:
    """Fitted mixtures by the session's distinct items, least recently used dropped first;
    safe to share between threads."""

    def __init__(self, size: int = MIXTURE_CACHE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, ...], FittedMixture] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, ...]) -> FittedMixture | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[int, ...], value: FittedMixture) -> None:
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every mixture (an edited item's vector may have moved)."""
        with self._lock:
            self._entries.clear()


def session_interests(
    snapshot: CatalogueSnapshot,
    session: ResolvedSession,
    max_length: int,
    max_interests: int,
    cache: MixtureCache,
) -> SessionInterests:
    """The session's interests: a mixture over the unit item vectors of its distinct items
    (the last `max_length`, what the model reads), at most `max_interests`."""
    if session.is_empty:
        return NO_INTERESTS
    # Distinct items, most recent occurrence last. Kept as Python lists: the bookkeeping
    # below is per item of one session, too small for numpy calls to pay off.
    sequence = session.sequence.tolist()
    distinct = list(dict.fromkeys(reversed(sequence)))[::-1][-max_length:]
    key = tuple(distinct)
    fitted = cache.get(key)
    if fitted is None:
        vectors = unit_rows(snapshot.arrays.item_vectors.take(distinct, axis=0))
        mixture = choose_mixture(vectors, max_interests, snapshot.vector_spread)
        fitted = FittedMixture(
            mixture.weights, mixture.labels, mixture.means, float(mixture.variances[0])
        )
        cache.put(key, fitted)
    weights, labels = fitted.weights, fitted.labels
    order = np.argsort(-weights, kind="stable").tolist()
    rank_of = [0] * len(order)
    for rank, component in enumerate(order):
        rank_of[component] = rank
    label_of = labels.tolist()
    # Each event's interest, through its item's (items are distinct, so one each).
    interest_of_item = {
        item: rank_of[label] for item, label in zip(distinct, label_of, strict=True)
    }
    of_event = np.asarray([interest_of_item.get(i, -1) for i in sequence], dtype=np.int64)
    reported: list[Interest] = []
    members: list[np.ndarray] = []
    taken: set[str] = set()
    vocab = snapshot.arrays.vocab
    for component in order:
        in_component = [i for i, c in zip(distinct, label_of, strict=True) if c == component]
        rows = np.asarray(in_component, dtype=np.int64)
        members.append(rows)
        label = interest_label(snapshot.table, rows, taken)
        taken.add(label)
        reported.append(
            Interest(
                weight=round(float(weights[component]), 6),
                item_ids=tuple(vocab.decode_list(in_component)),
                label=label,
            )
        )
    means = fitted.means[order]
    return SessionInterests(tuple(reported), tuple(members), of_event, means, fitted.variance)
