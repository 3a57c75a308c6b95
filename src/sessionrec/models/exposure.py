"""How items never seen in training are scored, and how much they are boosted.

A new item has text but no history. It borrows a vector: the mean of the vectors of the k
trained items whose text parts (the adapter's reading of their text, which the text head
trains to be a recommender on its own) are closest to its own, k one of
`NEIGHBOUR_CHOICES`, chosen on validation. Its score is
then what the session makes of items like it, popularity included, on the same scale as
every trained item's. (Before, a new item was scored by the text head's log-probability
moved onto the full head's scale; at the same exposure that cost twice the NDCG@10 on
ml-100k's cold split: CHANGELOG, issue 13.)

That score is honest but humble: a new item rarely outscores the well-known items its
neighbours are, so left alone it would hardly ever be shown. A catalogue that adds items
wants them seen, so the model adds a boost to their scores: the smallest one under which
new items reach the top `HIT_K` at least `exposure` times as often as known items do.

The boost is chosen without any real new item: a seeded share of the trained items with
text ("probes") is kept out of the text head's loss, so to the text head they are as
unknown as a new item. On the validation cases, a probe target is scored as a new item is
at inference (its vector borrowed from its neighbours, never itself), and the boost is
read off the probes' hit rate against the rest.
"""

from __future__ import annotations

import numpy as np

from sessionrec.text.base import normalise_rows

PROBE_SHARE = 0.1
"""Share of trained items with text that the text head does not train on."""
NEIGHBOUR_CHOICES = (10, 5, 20)
"""How many trained items a new item may borrow its vector from: the model keeps the one
whose boost search hits most often on validation (`BoostSearch.hit_rate`), the first on
a tie. Few neighbours follow the item's own text more closely; many give a steadier mean."""
NEIGHBOURS = NEIGHBOUR_CHOICES[0]
"""The number a model uses until validation chooses (and a model saved before the choice)."""
HIT_K = 20
"""The slate length whose hit rate the exposure target compares."""
BOOST_GRID = np.arange(0.0, 6.01, 0.25)
"""Boosts tried, in logits (6 = a factor of 400 on an item's odds)."""
CONFIDENCE_Z = 1.645
"""The probes' hit rate is a small-sample estimate (a tenth of the items, so on ml-100k
about 90 validation cases): the boost must reach the target with the rate's one-sided 95 %
lower bound (Wilson), not just its point estimate."""
ROWS_PER_CHUNK = 256
"""Rows whose neighbours are found per matrix product: 256 × 100,000 similarities is
100 MB."""


def choose_probes(eligible: np.ndarray, share: float, seed: int) -> np.ndarray:
    """(n_items,) bool: a seeded `share` of the `eligible` items, at least one if any."""
    candidates = np.flatnonzero(eligible)
    probes = np.zeros(len(eligible), dtype=bool)
    if len(candidates) < 2 or share <= 0:
        return probes
    n = min(max(1, round(share * len(candidates))), len(candidates) - 1)
    probes[np.random.default_rng(seed).choice(candidates, size=n, replace=False)] = True
    return probes


def borrowed_vectors(
    item_vectors: np.ndarray,
    text_parts: np.ndarray,
    donors: np.ndarray,
    rows: np.ndarray,
    k: int = NEIGHBOURS,
) -> np.ndarray:
    """(len(rows), C) float32: each of `rows` as a new item, the mean of the `item_vectors`
    of the `k` `donors` (bool, (n,)) whose `text_parts` are closest to its own by cosine.

    A row that is a donor itself is not among its own neighbours (a probe must not see its
    own trained vector). Without any other donor, a row keeps its text part, the rule of a
    model with nothing to borrow from.
    """
    rows = np.asarray(rows, dtype=np.int64)
    donor_rows = np.flatnonzero(donors)
    out = np.array(text_parts[rows], dtype=np.float32)
    if not len(rows) or not len(donor_rows):
        return out
    unit = normalise_rows(text_parts)
    donor_unit = unit[donor_rows]
    donor_vectors = np.asarray(item_vectors[donor_rows], dtype=np.float32)
    for start in range(0, len(rows), ROWS_PER_CHUNK):
        chunk = rows[start : start + ROWS_PER_CHUNK]
        similarity = unit[chunk] @ donor_unit.T  # (c, donors)
        at = np.minimum(np.searchsorted(donor_rows, chunk), len(donor_rows) - 1)
        own = donor_rows[at] == chunk
        similarity[np.flatnonzero(own), at[own]] = -np.inf  # never its own neighbour
        n = min(k, len(donor_rows))
        nearest = np.argpartition(-similarity, n - 1, axis=1)[:, :n]
        weights = np.isfinite(np.take_along_axis(similarity, nearest, axis=1))
        counts = weights.sum(axis=1)  # n, or n - 1 where the row itself had to be taken
        borrowed = (donor_vectors[nearest] * weights[:, :, None]).sum(axis=1)
        has = counts > 0  # 0 only for a row whose one donor is itself
        out[start : start + len(chunk)][has] = borrowed[has] / counts[has, None]
    return out


class BoostSearch:
    """Hit counts at every boost on `BOOST_GRID`, accumulated over chunks of cases.

    Each case is ranked as inference would rank it: the items never trained on by their
    borrowed vectors plus the boost, every trained item by its own. A probe target alone is
    scored as new, since at inference the other probes are ordinary trained items.
    (Scoring every probe as new made a tenth of the catalogue compete for a new item's
    slots, about twice the items never trained on in a 10 % cold split, so the boost
    chosen was larger than the one that meets the target; CHANGELOG.) A boost moves the
    new items and nothing else, so per case the rank of its target at each boost is a few
    binary searches, not a re-scoring of the catalogue.
    """

    def __init__(self, probes: np.ndarray, trained: np.ndarray) -> None:
        self.probes = probes & trained
        self.new = ~trained
        self.known = trained
        self.probe_hits = np.zeros(len(BOOST_GRID))
        self.known_hits = np.zeros(len(BOOST_GRID))
        self.n_probe_cases = 0
        self.n_known_cases = 0

    def add(self, scores: np.ndarray, probe_scores: np.ndarray, targets: np.ndarray) -> None:
        """Count hits of B cases with `targets`: `scores` (B, n) every item's score without
        the boost (new items by their borrowed vectors), `probe_scores` (B,) each case's
        target scored as a new item (read where the target is a probe)."""
        if not self.known.any():
            return
        for row, target in enumerate(targets):
            if target < 0 or not self.known[target]:
                continue
            known = np.sort(scores[row, self.known])
            new = np.sort(scores[row, self.new])
            if self.probes[target]:
                score = probe_scores[row]
                boosted = score + BOOST_GRID
                ties_new = len(new) - np.searchsorted(new, score, side="left")
                above_known = len(known) - np.searchsorted(known, boosted, side="left")
                above_known -= scores[row, target] >= boosted  # its own trained score
                self.probe_hits += (1 + above_known + ties_new) <= HIT_K
                self.n_probe_cases += 1
            else:
                score = scores[row, target]
                ties_known = len(known) - np.searchsorted(known, score, side="left")
                above_new = len(new) - np.searchsorted(new, score - BOOST_GRID, side="left")
                self.known_hits += (ties_known + above_new) <= HIT_K
                self.n_known_cases += 1

    def hit_rate(self, boost: float) -> float:
        """Share of all counted cases, probes and known, whose target hits the top
        `HIT_K` at `boost` (one of `BOOST_GRID`): what a choice of neighbours is judged by."""
        cases = self.n_probe_cases + self.n_known_cases
        if not cases:
            return 0.0
        at = int(np.argmin(np.abs(BOOST_GRID - boost)))
        return float(self.probe_hits[at] + self.known_hits[at]) / cases

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
