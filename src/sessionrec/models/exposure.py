"""How much to boost items never seen in training, chosen on validation.

The text head scores an item the model never trained on with the probability its text
alone suggests. That probability is honest but humble: a new item has no history, so it
rarely outscores well-known items, and left alone it would hardly ever be shown. A
catalogue that adds items wants them seen, so the model adds a boost to their
log-probabilities: the smallest one under which new items reach the top `HIT_K` at least
`exposure` times as often as known items do.

The boost is chosen without any real new item: before training, a seeded share of the
trained items with text ("probes") is kept out of the text head's loss, so to the text head
they are as unknown as a new item. On the validation cases, probes are scored as new items
are at inference, and the boost is read off their hit rate against the rest.
"""

from __future__ import annotations

import numpy as np

PROBE_SHARE = 0.1
"""Share of trained items with text that the text head does not train on."""
HIT_K = 20
"""The slate length whose hit rate the exposure target compares."""
BOOST_GRID = np.arange(0.0, 6.01, 0.25)
"""Boosts tried, in log-probability (6 = 400 times the estimated probability)."""
CONFIDENCE_Z = 1.645
"""The probes' hit rate is a small-sample estimate (a tenth of the items, so on ml-100k
about 90 validation cases): the boost must reach the target with the rate's one-sided 95 %
lower bound (Wilson), not just its point estimate."""


def choose_probes(eligible: np.ndarray, share: float, seed: int) -> np.ndarray:
    """(n_items,) bool: a seeded `share` of the `eligible` items, at least one if any."""
    candidates = np.flatnonzero(eligible)
    probes = np.zeros(len(eligible), dtype=bool)
    if len(candidates) < 2 or share <= 0:
        return probes
    n = min(max(1, round(share * len(candidates))), len(candidates) - 1)
    probes[np.random.default_rng(seed).choice(candidates, size=n, replace=False)] = True
    return probes


def as_new_items(
    full: np.ndarray, text: np.ndarray, new: np.ndarray, known: np.ndarray, boost: float
) -> np.ndarray:
    """Scores with the `new` items scored as items never trained on are.

    `full`, `text`: (B, n) scores by the full and the text head; `known`: the items the
    log-partitions run over. A new item's score is its text-head log-probability put on
    the full head's scale (both log-partitions over the known items), plus `boost`.
    """
    out = full.copy()
    out[:, new] = text[:, new] + (text_to_full_scale(full, text, known) + boost)[:, None]
    return out


def text_to_full_scale(full: np.ndarray, text: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(B,) what puts text-head scores on the full head's log-probability scale."""
    return log_partition(full[:, known]) - log_partition(text[:, known])


def log_partition(scores: np.ndarray) -> np.ndarray:
    """(B,) logsumexp of each row."""
    top = scores.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True)))[:, 0]


class BoostSearch:
    """Hit counts at every boost on `BOOST_GRID`, accumulated over chunks of cases.

    Each case is ranked as inference would rank it: items never trained on are scored as
    `as_new_items` does, every trained item by the full head, the log-partitions over the
    trained items. A probe target alone is scored as new, since at inference the other
    probes are ordinary trained items. (Scoring every probe as new made a tenth of the
    catalogue compete for a new item's slots, about twice the items never trained on in a
    10 % cold split, so the boost chosen was larger than the one that meets the target:
    on ml-100k the cold items then reached a top 20 1.3 times as often as known ones, at
    a third of the NDCG@10; CHANGELOG.) A boost moves the new items and nothing else, so
    per case the rank of its target at each boost is a few binary searches, not a
    re-scoring of the catalogue.
    """

    def __init__(self, probes: np.ndarray, trained: np.ndarray) -> None:
        self.probes = probes & trained
        self.new = ~trained
        self.known = trained
        self.probe_hits = np.zeros(len(BOOST_GRID))
        self.known_hits = np.zeros(len(BOOST_GRID))
        self.n_probe_cases = 0
        self.n_known_cases = 0

    def add(self, full: np.ndarray, text: np.ndarray, targets: np.ndarray) -> None:
        """Count hits of (B, n) full- and text-head scores of B cases with `targets`."""
        if not self.known.any():
            return
        shift = text_to_full_scale(full, text, self.known)
        for row, target in enumerate(targets):
            if target < 0 or not self.known[target]:
                continue
            known = np.sort(full[row, self.known])
            new = np.sort(text[row, self.new] + shift[row])
            if self.probes[target]:
                score = text[row, target] + shift[row]
                boosted = score + BOOST_GRID
                ties_new = len(new) - np.searchsorted(new, score, side="left")
                above_known = len(known) - np.searchsorted(known, boosted, side="left")
                above_known -= full[row, target] >= boosted  # its own full-head score
                self.probe_hits += (1 + above_known + ties_new) <= HIT_K
                self.n_probe_cases += 1
            else:
                score = full[row, target]
                ties_known = len(known) - np.searchsorted(known, score, side="left")
                above_new = len(new) - np.searchsorted(new, score - BOOST_GRID, side="left")
                self.known_hits += (ties_known + above_new) <= HIT_K
                self.n_known_cases += 1

    def smallest_boost(self, exposure: float) -> float:
        """The smallest boost under which probe targets hit the top `HIT_K` at least
        `exposure` times as often as known targets, by the lower confidence bound of the
        probes' rate (the largest boost if none does; 0 without cases of both kinds)."""
        if exposure <= 0 or not self.n_probe_cases or not self.n_known_cases:
            return 0.0
        probe_rate = wilson_lower_bound(self.probe_hits, self.n_probe_cases, CONFIDENCE_Z)
        known_rate = self.known_hits / self.n_known_cases
        reached = np.flatnonzero(probe_rate >= exposure * known_rate)
        return float(BOOST_GRID[reached[0] if len(reached) else -1])


def wilson_lower_bound(hits: np.ndarray, n: int, z: float) -> np.ndarray:
    """Lower end of the Wilson score interval of a binomial rate (`hits` of `n`)."""
    rate = np.asarray(hits, dtype=np.float64) / n
    z2 = z * z
    centre = rate + z2 / (2 * n)
    spread = z * np.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
    return np.asarray((centre - spread) / (1 + z2 / n))
