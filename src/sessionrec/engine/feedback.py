"""Reading a session's events as the engine acts on them, and the feedback adjustments.

What each event type means here:

- view, click, cart, purchase, like, rating: the item enters the model's sequence with its
  type (the transformer conditions on it) and counts as seen;
- like and purchase also pull items that read like it (language-model cosine) up; a click
  or add-to-cart pulls them too, more weakly (`CLICK_WEIGHT`);
- dislike: the item leaves the sequence (earlier views of it included: the person has
  since said no) and never appears again in the session. One dislike pushes down only
  its near-duplicates (`NEAR_DUPLICATE_SHARE`): 'not this one' is not 'not this kind'. An
  item alike to two or more disliked items (a repeated no to one kind) is pushed down
  with the whole kind's ramp; 'no more cartoons' typed as a request excludes the kind
  outright (`constraints`);
- skip (shown, passed over): the item decays, as do items the caller reports as shown.

A type the model never saw in training reads as the commonest type it did see
(`training_type_codes`). Scores here are log-preferences in units of the model score's
spread (see `ranking.standardise`), so adding `log(f)` multiplies an item's preference by
`f`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sessionrec.data.schema import EventType
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.engine.closeness import Closeness
from sessionrec.engine.query import SessionEvent

NEGATIVE_TYPES = frozenset({EventType.DISLIKE, EventType.SKIP})
"""Events that say 'not this': they never become context for the model."""

LIKED_TYPES = frozenset({EventType.LIKE, EventType.PURCHASE})
"""Events whose items pull their look-alikes up with LIKE_WEIGHT."""

CLICKED_TYPES = frozenset({EventType.CLICK, EventType.CART})
"""Events whose items pull their look-alikes up with CLICK_WEIGHT: a choice made in the
session, weaker than a like. Views and ratings (a history) pull nothing."""

LOOKALIKE_FLOOR = 0.5
"""Cosine below which two items do not count as alike. Item texts of one template share
much wording, so unrelated films already sit at 0.3-0.5 with MiniLM."""

LOOKALIKE_SPREADS = 0.49
"""Where the look-alike floor sits among a catalogue's cosines between items: this many
of their spreads (95th percentile minus median) above their median, or LOOKALIKE_FLOOR
where that is higher (`lookalike_floor`). Encoders place the same catalogue's cosines at
different heights: on ml-100k MiniLM's pairs have a median of 0.42 and a 95th percentile
of 0.58, so 0.5 sits 0.49 spreads up and MiniLM keeps its floor; multilingual-e5's have
0.89 and 0.93, every pair above 0.5. With 0.5, every film was a look-alike of every other
under e5, a like pulled the whole catalogue and two dislikes pushed it; its floor is now
0.91, placed as MiniLM's is."""

DISLIKE_WEIGHT = 3.0
"""Push on an item identical in text to a disliked one, in score spreads. Three spreads
take an item from the top of a slate to well outside it."""

NEAR_DUPLICATE_SHARE = 0.01
"""A single dislike pushes the items among the disliked item's closest 1 % of the
catalogue (by cosine, measured over the catalogue's fixed sample; `closeness`),
falling linearly from DISLIKE_WEIGHT at identical text to 0 at that threshold (or at
LOOKALIKE_FLOOR, if higher: the closest of unrelated items is no near-duplicate). After
liking Toy Story and Aladdin, one dislike of The Lion King should leave the other
animated films; the broader ramp from LOOKALIKE_FLOOR took all but one of them out."""

REPEATED_DISLIKES = 2
"""Disliked items an item must look like (cosine above `lookalike_floor`) before the whole
kind's ramp pushes it: a no repeated within one kind."""

LIKE_WEIGHT = 8.0
"""Pull on an item identical in text to a liked one, in score spreads. Chosen on simulated
users held apart from the benchmark's (`benchmarks/bench_simulate.py --split validation`):
SR@10 with feedback rose with the pull up to 6 spreads and then levelled off (the CHANGELOG
has the grid). Items a little alike (cosine just above LOOKALIKE_FLOOR) gain a fraction of
it, so the session still orders the liked kind."""

CLICK_WEIGHT = 4.0
"""Pull of a clicked item's look-alikes: half a like's, chosen with LIKE_WEIGHT."""

IMPRESSION_DECAY = 0.85
"""Preference kept per time an item was shown in an earlier slate without being chosen."""

SKIP_DECAY = 0.6
"""Preference kept per explicit skip: a stronger signal than a mere impression."""

MAX_DECAY = 0.1
"""Decay never takes an item below this share of its preference: shown often is not
disliked, and the item may still be the best there is."""


@dataclass(frozen=True)
class ResolvedSession:
    """A session's events resolved to vocabulary indices and sorted by meaning."""

    sequence: np.ndarray
    """Indices of the context events, oldest first (what the model reads)."""
    types: np.ndarray
    """`EventType.code` per context event."""
    seen: np.ndarray
    """Distinct indices with a context event."""
    liked: np.ndarray
    """Distinct indices liked or purchased (and not disliked)."""
    clicked: np.ndarray
    """Distinct indices whose strongest event is a click or add-to-cart (not disliked)."""
    disliked: np.ndarray
    """Distinct indices disliked: excluded from every slate of the session."""
    skips: Mapping[int, int]
    """Index → number of skip events."""
    unknown: tuple[str, ...]
    """Event item ids the vocabulary lacks, in order of first appearance."""
    liked_types: Mapping[int, EventType]
    """The strongest positive type per seen index (for reason wording)."""

    @property
    def is_empty(self) -> bool:
        return len(self.sequence) == 0


def manifest_training_types(manifest: Mapping[str, Any]) -> dict[str, int] | None:
    """The event-type counts `sessionrec train` records (None for older artifacts)."""
    types = manifest.get("event_types")
    if not isinstance(types, dict):
        return None
    return {str(k): int(v) for k, v in types.items()}


def training_type_codes(training_types: Mapping[str, int] | None) -> np.ndarray:
    """Event-type code → the code the model reads.

    A type the model never saw in training has an untrained embedding; such events are
    read as the most common training type instead (MovieLens has only ratings, so a
    click on the demo page reads as a rating). Without counts every type reads as itself.
    """
    codes = np.arange(len(EventType), dtype=np.int64)
    valid = {t.value for t in EventType}
    seen = {EventType(t): n for t, n in (training_types or {}).items() if t in valid}
    if not seen:
        return codes
    commonest = max(seen, key=lambda t: seen[t]).code
    for event_type in EventType:
        if event_type not in seen:
            codes[event_type.code] = commonest
    return codes


_STRENGTH = {
    EventType.PURCHASE: 5,
    EventType.LIKE: 4,
    EventType.CART: 3,
    EventType.CLICK: 2,
    EventType.RATING: 1,
    EventType.VIEW: 0,
}


_CODES = {t: t.code for t in EventType}
_DISLIKE, _SKIP = EventType.DISLIKE, EventType.SKIP


def read_session(events: Sequence[SessionEvent], vocab: Vocabulary) -> ResolvedSession:
    """Resolve ids, split context from negative feedback, count skips.

    Plain Python over lists (ids resolved in one dictionary pass, types compared by
    identity): a session has tens of events, where per-element numpy calls cost more than
    the work.
    """
    item_ids = [e.item_id for e in events]
    kinds = [e.type for e in events]
    indices = vocab.indices(item_ids)
    unknown: dict[str, None] = {}
    disliked: set[int] = set()
    skips: dict[int, int] = {}
    for item_id, kind, i in zip(item_ids, kinds, indices, strict=True):
        if i == UNKNOWN_INDEX:
            unknown.setdefault(item_id, None)
        elif kind is _DISLIKE:
            disliked.add(i)
        elif kind is _SKIP:
            skips[i] = skips.get(i, 0) + 1
    sequence: list[int] = []
    types: list[int] = []
    strongest: dict[int, EventType] = {}
    for kind, i in zip(kinds, indices, strict=True):
        if i == UNKNOWN_INDEX or i in disliked or kind in NEGATIVE_TYPES:
            continue
        sequence.append(i)
        types.append(_CODES[kind])
        best = strongest.get(i)
        if best is None or (best is not kind and _STRENGTH.get(kind, 0) > _STRENGTH.get(best, 0)):
            strongest[i] = kind
    liked = [i for i, t in strongest.items() if t in LIKED_TYPES]
    clicked = [i for i, t in strongest.items() if t in CLICKED_TYPES]
    return ResolvedSession(
        sequence=np.asarray(sequence, dtype=np.int64),
        types=np.asarray(types, dtype=np.int64),
        seen=np.asarray(sorted(strongest), dtype=np.int64),
        liked=np.asarray(liked, dtype=np.int64),
        clicked=np.asarray(clicked, dtype=np.int64),
        disliked=np.asarray(sorted(disliked), dtype=np.int64),
        skips=skips,
        unknown=tuple(unknown),
        liked_types=strongest,
    )


def lookalike_ramp(cosines: np.ndarray, floor: float = LOOKALIKE_FLOOR) -> np.ndarray:
    """0 below `floor` (`lookalike_floor`), rising linearly to 1 at identical text."""
    return np.clip((cosines - floor) / max(1.0 - floor, 1e-6), 0.0, 1.0)


def lookalike_floor(closeness: Closeness) -> float:
    """The cosine below which two items of this catalogue do not count as alike: the
    higher of LOOKALIKE_FLOOR and the one LOOKALIKE_SPREADS above its sampled pairs'
    median (`Closeness.pair_quantile`)."""
    median = closeness.pair_quantile(0.5)
    spread = closeness.pair_quantile(0.05) - median
    return max(LOOKALIKE_FLOOR, median + LOOKALIKE_SPREADS * spread)


def pool_products(matrix: np.ndarray, pool: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(len(queries), len(pool)) dot products of queries with the pool's rows of `matrix`.

    A pool that covers most of the catalogue is cheaper to compute in full and then index
    than to copy out row by row.
    """
    if 2 * len(pool) >= len(matrix):
        return (queries @ matrix.T)[:, pool]
    return queries @ matrix[pool].T


def feedback_adjustment(
    similarity: np.ndarray,
    pool: np.ndarray,
    liked: np.ndarray,
    disliked: np.ndarray,
    clicked: np.ndarray | None = None,
    closeness: Closeness | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per pool item: (pull toward liked and clicked look-alikes, push from disliked ones).

    `similarity` holds every item's unit vector (language-model space where the model has
    text); only the strongest look-alike counts, so ten liked comedies do not add up to ten
    pulls. Both are ≥ 0: the score moves by pull − push. `closeness` measures which
    items are a disliked item's near-duplicates (over every row when None).
    """
    clicked = np.zeros(0, dtype=np.int64) if clicked is None else clicked
    pull = np.zeros(len(pool), dtype=np.float64)
    push = np.zeros(len(pool), dtype=np.float64)
    anchors = np.concatenate([liked, clicked, disliked])
    if not len(anchors):
        return pull, push
    if closeness is None:
        closeness = Closeness(similarity, np.arange(len(similarity)))
    floor = lookalike_floor(closeness)
    cosines = pool_products(similarity, pool, similarity[anchors])  # (anchors, pool)
    ramp = lookalike_ramp(cosines, floor)
    n_liked, n_pulling = len(liked), len(liked) + len(clicked)
    if len(liked):
        pull = LIKE_WEIGHT * ramp[:n_liked].max(axis=0)
    if len(clicked):
        pull = np.maximum(pull, CLICK_WEIGHT * ramp[n_liked:n_pulling].max(axis=0))
    if len(disliked):
        push = DISLIKE_WEIGHT * dislike_ramp(
            closeness, disliked, cosines[n_pulling:], ramp[n_pulling:], floor
        )
    return pull, push


def dislike_ramp(
    closeness: Closeness,
    disliked: np.ndarray,
    cosines: np.ndarray,
    kind_ramp: np.ndarray,
    floor: float = LOOKALIKE_FLOOR,
) -> np.ndarray:
    """(pool,) share of DISLIKE_WEIGHT each pool item is pushed by: the near-duplicate ramp
    of its closest disliked item, or the kind's ramp (`lookalike_ramp` from `floor`) where
    it looks like REPEATED_DISLIKES or more of them. `cosines` and `kind_ramp` are
    (disliked, pool)."""
    within = closeness.thresholds(disliked, NEAR_DUPLICATE_SHARE)
    floors = np.maximum(within, floor)[:, None]
    near = np.clip((cosines - floors) / np.maximum(1.0 - floors, 1e-6), 0.0, 1.0)
    push = near.max(axis=0)
    repeated = (kind_ramp > 0).sum(axis=0) >= REPEATED_DISLIKES
    if repeated.any():
        push = np.where(repeated, np.maximum(push, kind_ramp.max(axis=0)), push)
    return push


def decay_penalty(
    pool: np.ndarray, impressions: Mapping[int, int], skips: Mapping[int, int]
) -> np.ndarray:
    """Per pool item (`pool` sorted ascending): log of the preference share left after
    impressions and skips, never below log(MAX_DECAY)."""
    out = np.zeros(len(pool), dtype=np.float64)
    if not (impressions or skips) or not len(pool):
        return out
    counts: dict[int, float] = {}
    per_impression, per_skip = math.log(IMPRESSION_DECAY), math.log(SKIP_DECAY)
    for index, n in impressions.items():
        counts[index] = counts.get(index, 0.0) + n * per_impression
    for index, n in skips.items():
        counts[index] = counts.get(index, 0.0) + n * per_skip
    rows = np.fromiter(counts, dtype=np.int64, count=len(counts))
    values = np.maximum(np.fromiter(counts.values(), dtype=np.float64), math.log(MAX_DECAY))
    position = np.minimum(np.searchsorted(pool, rows), len(pool) - 1)
    hit = pool[position] == rows
    out[position[hit]] = values[hit]
    return out
