"""Ranking one request: from a resolved session to final scores and the slate's rows.

The stages, in the order `Engine.recommend` runs them:

1. `candidate_mask`: the items that may appear at all (filters, dislikes, seen items).
2. `model_scores`: the model reads the session once; each interest's query is its
   reading right after that interest's latest event (`interest_queries`), turned toward a
   typed request; one product scores every item for every query.
3. `standardise`: scores in units of their spread over a fixed sample of the catalogue,
   so the adjustments below mean the same for any model and catalogue size.
4. `ranked_pool`: the candidates (`candidate_pool`) get the terms the model does not
   know (`adjust`: request match, look-alikes of liked and disliked items, decay of items
   shown or skipped); the pool grows until no item left outside could make the slate.
5. `select`: the slate's rows, split across interests by weight.

Every stage is a function of its arguments; none loops over the catalogue in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sessionrec.data.vocab import Vocabulary
from sessionrec.engine.catalogue import ItemTable
from sessionrec.engine.closeness import Closeness
from sessionrec.engine.feedback import (
    ResolvedSession,
    decay_penalty,
    feedback_adjustment,
    pool_products,
)
from sessionrec.engine.interests import SessionInterests, slot_order
from sessionrec.engine.query import Query
from sessionrec.engine.steering import blend_queries, request_term
from sessionrec.index.base import ItemIndex
from sessionrec.index.exact import top_k, top_k_columns
from sessionrec.models.embedding import EmbeddingModel, ItemArrays

POOL_SIZE = 1000
"""Items per interest that get the language-model terms in a large catalogue. Those terms
need the items' text vectors (384 numbers each), too many to read for 100,000 items per
request; the model's own score already ranks everything, and what a request or a dislike
changes happens among its best thousand."""

EXACT_SIZE = 5000
"""Catalogues up to this size give every item the language-model terms (exact ranking)."""


# -- 1. which items may appear --------------------------------------------------------------


def candidate_mask(
    vocab: Vocabulary, table: ItemTable, query: Query, session: ResolvedSession
) -> np.ndarray:
    """(n,) bool: the items that may appear: filters pass, never disliked, unseen if asked."""
    filters = query.filters
    exclude: list[np.ndarray] = [session.disliked]
    if query.exclude_seen:
        exclude.append(session.seen)
    if filters is not None and filters.exclude_items:
        rows = vocab.lookup(list(filters.exclude_items))
        exclude.append(rows[rows >= 0])
    excluded = np.concatenate(exclude)
    if filters is None or not (filters.categories or filters.attributes):
        mask = np.ones(len(vocab), dtype=bool)
        mask[excluded] = False
        return mask
    return table.filter_mask(filters.categories, filters.attributes, excluded)


# -- 2. the model's scores ------------------------------------------------------------------


@dataclass(frozen=True)
class ModelScores:
    """The model's scores of every item for each query of one request."""

    base: np.ndarray
    """(n, R): one column per query (per interest, or the session's one)."""
    projected: np.ndarray | None
    """(C,) the typed request as an item vector (None without a request)."""

    def scale(self, scale_rows: np.ndarray) -> ScoreScale:
        """`standardise` over the scale sample."""
        return standardise(self.base, scale_rows)

    def pool(self, mask: np.ndarray, size: int, exact: bool, item_index: ItemIndex) -> Pool:
        """`candidate_pool` of these scores."""
        return candidate_pool(self.base, mask, size, exact, item_index, self.projected)


class Scores(Protocol):
    """What the ranking needs of the model's scores: dense (`ModelScores`, every item
    scored) or retrieved through the index (`retrieval.RetrievedScores`)."""

    @property
    def projected(self) -> np.ndarray | None: ...

    def scale(self, scale_rows: np.ndarray) -> ScoreScale: ...

    def pool(self, mask: np.ndarray, size: int, exact: bool, item_index: ItemIndex) -> Pool: ...


def model_scores(
    model: EmbeddingModel,
    arrays: ItemArrays,
    session: ResolvedSession,
    interests: SessionInterests,
    types: np.ndarray,
    request: np.ndarray | None,
) -> ModelScores:
    """What the model makes of the session, per interest; `types` are the event-type codes
    the model reads, `request` the typed request's unit language-model vector.

    An empty session without a request has nothing to read: every item scores its
    popularity (items added later just below the least popular).
    """
    if session.is_empty and request is None:
        return ModelScores(popularity_scores(arrays.popularity), None)
    read = session_queries(model, arrays, session, interests, types, request)
    base = model.item_scores(arrays, read.queries, read.sequences, read.histories)
    return ModelScores(base, read.projected)


@dataclass(frozen=True)
class SessionQueries:
    """The query vectors one request scores items for, and what each query stands for."""

    queries: np.ndarray
    """(R, C) one per interest (or the session's one), turned toward the request."""
    projected: np.ndarray | None
    """(C,) the typed request as an item vector (None without a request)."""
    sequences: Sequence[np.ndarray]
    """Per query, the events it stands for (a hybrid's kNN half reads them)."""
    histories: Sequence[np.ndarray]
    """Per query, the items of the whole session (what repeat offsets push down)."""


def session_queries(
    model: EmbeddingModel,
    arrays: ItemArrays,
    session: ResolvedSession,
    interests: SessionInterests,
    types: np.ndarray,
    request: np.ndarray | None,
) -> SessionQueries:
    """The model reads the session once; each interest's query is its reading right after
    that interest's latest event, blended with the request."""
    states = model.session_states(arrays, session.sequence, types)
    queries = interest_queries(states, interests, arrays.item_vectors.shape[1])
    projected = None
    if request is not None:
        projected = model.text_to_item_space(np.array(request[None, :]))[0]
        queries = blend_queries(queries, projected)
    sequences: Sequence[np.ndarray] = [session.sequence] * len(queries)
    if model.reads_each_interest and interests.split:
        # The kNN half of a hybrid reads each interest's own events.
        sequences = [session.sequence[interests.of_event == i] for i in range(len(queries))]
    histories = [session.sequence] * len(queries)
    return SessionQueries(queries, projected, sequences, histories)


def popularity_scores(popularity: np.ndarray) -> np.ndarray:
    """(n, 1): log-popularity, with items never seen in training (-inf) placed just below
    the least popular one, so they still rank."""
    finite = np.isfinite(popularity)
    floor = np.min(popularity, initial=0.0, where=finite) - 1
    return np.where(finite, popularity, floor)[:, None]


def interest_queries(states: np.ndarray, interests: SessionInterests, width: int) -> np.ndarray:
    """(R, C): one query per interest, or the session vector alone.

    `states` are the model's readings of the session after each of its last T events. An
    interest's query is the reading right after that interest's latest event in the window
    (the last reading if none is in it): the moment that interest was what the person was
    looking at. Zeros (1, C) for a session the model cannot read.
    """
    if not len(states):
        return np.zeros((1, width), np.float32)
    if not interests.split:
        return states[-1:]
    window = interests.of_event[-len(states) :].tolist()
    count = len(interests.members)
    latest = [len(window) - 1] * count
    found = [False] * count
    for position in range(len(window) - 1, -1, -1):
        owner = window[position]
        if 0 <= owner < count and not found[owner]:
            latest[owner], found[owner] = position, True
    return states.take(latest, axis=0)


# -- 3. scores in units of their spread ---------------------------------------------------


@dataclass(frozen=True)
class ScoreScale:
    """The model's scores with the mean and spread that standardise each column."""

    raw_by_column: np.ndarray | None
    """(R, n) the model scores, column-major: standardising a pool reads one row each
    (None: only the pool's rows were scored, and the pool carries them)."""
    mean: np.ndarray
    """(R,) per column, over the scale sample."""
    spread: np.ndarray
    """(R,) standard deviation per column over the scale sample (1 where it is ~0)."""

    def standard_rows(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), R) the standardised scores of these items."""
        if self.raw_by_column is None:
            raise RuntimeError("these scores cover the pool only: use standard_pool")
        raw = self.raw_by_column.take(rows, axis=1).astype(np.float64)
        return ((raw - self.mean[:, None]) / self.spread[:, None]).T

    def standard_pool(self, pool: Pool) -> np.ndarray:
        """(len(pool.rows), R) the standardised scores of a candidate pool."""
        if pool.raw is None:
            return self.standard_rows(pool.rows)
        return (pool.raw - self.mean[None, :]) / self.spread[None, :]

    def standard(self, values: np.ndarray) -> np.ndarray:
        """(R,) one raw score per column, standardised."""
        return (values - self.mean) / self.spread


def standardise(base: np.ndarray, scale_rows: np.ndarray) -> ScoreScale:
    """The scale of (n, R) model scores over the items `scale_rows`, ignoring -inf
    (popularity of items added at run time)."""
    # Standardising per column is faster on a column-major copy (long inner loops, where
    # a row-major (n, R) array has loops of R); the numbers are the same.
    by_column = np.ascontiguousarray(base.T)
    mean, spread = column_scale(by_column, scale_rows)
    return ScoreScale(by_column, mean, spread)


def column_scale(by_column: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the (R, n) `by_column`, the mean and standard deviation over `rows`."""
    sample = by_column.take(rows, axis=1).astype(np.float64)  # (R, len(rows))
    finite = np.isfinite(sample)
    if finite.all():
        # The numbers `sample.T.mean(axis=0)` and `sample.T.std(axis=0)` give (see
        # `_column_sums`) at a fraction of the cost; the mean is computed once for both.
        count = sample.shape[1]
        mean = _column_sums(sample) / count
        centred = sample - mean[:, None]
        np.multiply(centred, centred, out=centred)
        spread = np.sqrt(_column_sums(centred) / count)
    else:
        sample, finite = np.ascontiguousarray(sample.T), np.ascontiguousarray(finite.T)
        count = np.maximum(finite.sum(axis=0), 1)
        clean = np.where(finite, sample, 0.0)
        mean = clean.sum(axis=0) / count
        spread = np.sqrt(np.where(finite, (clean - mean) ** 2, 0.0).sum(axis=0) / count)
    return mean, np.where(spread > 1e-9, spread, 1.0)


def _column_sums(by_column: np.ndarray) -> np.ndarray:
    """Row sums of an (R, m) array, rounded as numpy's `a.sum(axis=0)` of the row-major
    (m, R) transpose rounds them, so standardised scores do not depend on the layout."""
    if by_column.shape[0] == 1:
        return np.add.reduce(by_column, axis=1)  # numpy's pairwise sum of one vector
    return np.add.accumulate(by_column, axis=1)[:, -1]  # numpy adds row after row


# -- 4. the candidate pool and what moves it ----------------------------------------------


@dataclass(frozen=True)
class Adjustments:
    """What moves a candidate's standardised score in one request, besides the model."""

    similarity: np.ndarray
    """(n, ·) unit vectors look-alikes are measured in."""
    text: np.ndarray
    """(n, D) unit language-model vectors the request is matched against."""
    liked: np.ndarray
    disliked: np.ndarray
    clicked: np.ndarray
    impressions: Mapping[int, int]
    """Row → times shown in earlier slates."""
    skips: Mapping[int, int]
    """Row → explicit skips."""
    request: np.ndarray | None
    """(D,) the typed request's unit vector (None without a request)."""
    request_sample: np.ndarray | None
    """The request's cosines over the scale sample (None without a request): what the
    match term and a request reason are measured against."""
    request_reference: float
    """Mean request cosine over the scale sample: the match term is measured from it."""
    request_spread: float
    """Standard deviation of the request's cosines over the scale sample: the match term's
    unit, so it means the same for any encoder."""
    closeness: Closeness
    """Which items are a disliked item's near-duplicates (the snapshot's)."""


def adjustments(
    arrays: ItemArrays,
    session: ResolvedSession,
    impressions: Mapping[str, int],
    request: np.ndarray | None,
    scale_rows: np.ndarray,
    closeness: Closeness,
) -> Adjustments:
    """The adjustments of one request: its session's feedback, the items the caller
    reports as shown (ids the vocabulary lacks are ignored), its request."""
    shown: dict[int, int] = {}
    if impressions:
        rows = arrays.vocab.lookup(list(impressions))
        shown = {
            int(r): int(c)
            for r, c in zip(rows, impressions.values(), strict=True)
            if r >= 0 and c > 0
        }
    sample, reference, spread = None, 0.0, 1.0
    if request is not None:
        sample = arrays.text[scale_rows] @ request
        reference, spread = float(np.mean(sample)), float(np.std(sample))
    return Adjustments(
        arrays.similarity,
        arrays.text,
        session.liked,
        session.disliked,
        session.clicked,
        shown,
        session.skips,
        request,
        sample,
        reference,
        spread,
        closeness,
    )


@dataclass(frozen=True)
class Pool:
    """The candidates of one round of `ranked_pool`."""

    rows: np.ndarray
    """Sorted vocabulary rows."""
    best_outside: np.ndarray | None
    """(R,) per column, the best model score of an item left out (None: none was)."""
    raw: np.ndarray | None = None
    """(len(rows), R) the model's scores of the rows, where only they were scored."""


def candidate_pool(
    base: np.ndarray,
    mask: np.ndarray,
    size: int,
    exact: bool,
    item_index: ItemIndex,
    projected: np.ndarray | None,
) -> Pool:
    """Every allowed item with a finite score (`exact`, or a catalogue of at most
    max(EXACT_SIZE, size)), else the model's best `size` per column plus the best `size`
    for the request alone, searched in `item_index`.

    Candidates are chosen on the model's raw scores: standardising, an affine change per
    column, does not reorder them.
    """
    if exact or len(base) <= max(EXACT_SIZE, size):
        # All finite is the usual case, and a whole-array test is far cheaper than the
        # row-wise one.
        finite = np.isfinite(base)
        usable = mask if finite.all() else mask & finite.any(axis=1)
        return Pool(np.flatnonzero(usable), None)
    picks = [top_k(base[:, r], size + 1, mask) for r in range(base.shape[1])]
    outside = np.asarray(
        [base[p[-1], r] if len(p) > size else -np.inf for r, p in enumerate(picks)]
    )
    chosen = [p[:size] for p in picks]
    if projected is not None:
        # The items that match the request alone, as the model maps it into item space,
        # are candidates too: the text term may lift them into the slate.
        chosen.append(item_index.search(projected, size, mask)[0])
    return Pool(sorted_union(chosen, len(base)), outside)


def sorted_union(parts: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The distinct rows of `parts`, ascending, as `np.unique(np.concatenate(parts))`:
    marking them in an array of `n` flags costs a sixth of the sort at 100,000 items and
    a few thousand candidates."""
    marked = np.zeros(n, dtype=bool)
    for part in parts:
        marked[part] = True
    return np.flatnonzero(marked)


@dataclass(frozen=True)
class Adjusted:
    """Standardised scores of a pool after the adjustments, in two parts."""

    penalised: np.ndarray
    """(len(pool), R) minus the dislike push and the decay: never above the model's own
    standardised score, so it bounds what an item outside the pool could have reached."""
    final: np.ndarray
    """(len(pool), R) plus the like pull and the request term: what the slate is cut by."""


def adjust(scores: np.ndarray, pool: np.ndarray, terms: Adjustments) -> Adjusted:
    """(len(pool), R) standardised scores with the adjustments of one request applied.

    Terms that are zero for this request are left out rather than added: adding or
    subtracting 0.0 would change no score.
    """
    penalised = scores
    lift: np.ndarray | None = None  # (len(pool),) the same for every interest
    if len(terms.liked) or len(terms.disliked) or len(terms.clicked):
        pull, push = feedback_adjustment(
            terms.similarity, pool, terms.liked, terms.disliked, terms.clicked, terms.closeness
        )
        decay = decay_penalty(pool, terms.impressions, terms.skips)
        penalised = scores - (push - decay)[:, None]
        lift = pull
    elif terms.impressions or terms.skips:
        penalised = scores + decay_penalty(pool, terms.impressions, terms.skips)[:, None]
    if terms.request is not None:
        cosines = pool_products(terms.text, pool, terms.request[None, :])[0]
        term = request_term(cosines, terms.request_reference, terms.request_spread)
        lift = term if lift is None else lift + term
    return Adjusted(penalised, penalised if lift is None else penalised + lift[:, None])


def outsiders_cannot_enter(penalised: np.ndarray, best_outside: np.ndarray, depth: int) -> bool:
    """Whether the pool's `depth`-th best penalised score beats, in every column, the best
    standardised score left outside: dislikes and decay only lower scores, so no outsider
    could then reach the top `depth`."""
    if len(penalised) >= depth:
        kth = -np.partition(-penalised, depth - 1, axis=0)[depth - 1]
    else:
        kth = np.full(penalised.shape[1], -np.inf)
    return bool((kth >= best_outside).all())


@dataclass(frozen=True)
class Ranking:
    """Final scores of a candidate pool for one or more query vectors."""

    pool: np.ndarray
    """Sorted vocabulary rows."""
    scores: np.ndarray
    """(len(pool), R): final score of each candidate under each interest."""
    request: np.ndarray | None
    request_sample: np.ndarray | None
    """The request's cosines over the scale sample (`Adjustments.request_sample`)."""


def ranked_pool(
    scored: Scores,
    scale: ScoreScale,
    mask: np.ndarray,
    terms: Adjustments,
    item_index: ItemIndex,
    exact: bool,
    depth: int = 1,
) -> Ranking:
    """Final scores of a candidate pool; exact for the best `depth` of each column.

    The pool starts at `POOL_SIZE` per column and grows fourfold until no item outside it
    could have made the top `depth`. What can raise a score is approximate at scale: the
    request's text term and a like's pull act on the pool, which the model retrieved with
    the request blended into its query and the like read as an event (so look-alikes are
    in it already).
    """
    size = POOL_SIZE
    while True:
        pool = scored.pool(mask, size, exact, item_index)
        adjusted = adjust(scale.standard_pool(pool), pool.rows, terms)
        if pool.best_outside is None or outsiders_cannot_enter(
            adjusted.penalised, scale.standard(pool.best_outside), depth
        ):
            return Ranking(pool.rows, adjusted.final, terms.request, terms.request_sample)
        size *= 4


# -- 5. the slate's rows --------------------------------------------------------------------


@dataclass(frozen=True)
class Picks:
    """Slate rows in slate order, with the interest each serves and its score."""

    rows: list[int]
    interests: list[int | None]
    """Index into the session's interests (None: exploration, or a session without any)."""
    scores: list[float]
    explored: list[bool]

    def __add__(self, other: Picks) -> Picks:
        return Picks(
            self.rows + other.rows,
            self.interests + other.interests,
            self.scores + other.scores,
            self.explored + other.explored,
        )


def select(ranking: Ranking, interests: SessionInterests, k: int) -> Picks:
    """The exploit part of the slate: the best k, positions shared among interests in
    proportion to their weights (an interest that runs out leaves its place to the
    others)."""
    if k <= 0:
        return Picks([], [], [], [])
    pool, scores = ranking.pool, ranking.scores
    if scores.shape[1] == 1:
        single = 0 if interests.reported else None
        order = top_k(scores[:, 0], k)
        return Picks(
            [int(pool[i]) for i in order],
            [single] * len(order),
            [float(scores[i, 0]) for i in order],
            [False] * len(order),
        )
    shares = tuple(i.weight for i in interests.reported)
    weights = np.asarray(shares)
    lists = [top.tolist() for top in top_k_columns(scores, 2 * k)]
    cursors = [0] * len(lists)
    taken: set[int] = set()
    picked: list[int] = []
    owners: list[int | None] = []

    def take(r: int) -> bool:
        while cursors[r] < len(lists[r]):
            i = lists[r][cursors[r]]
            cursors[r] += 1
            if i not in taken:
                taken.add(i)
                picked.append(i)
                owners.append(r)
                return True
        return False

    for r in slot_order(shares, k):
        if not take(r):
            for other in np.argsort(-weights, kind="stable"):
                if take(int(other)):
                    break
    # Rows and scores gathered once for the whole slate, not element by element.
    at = np.asarray(picked, dtype=np.int64)
    columns = np.asarray(owners, dtype=np.int64)
    return Picks(pool[at].tolist(), owners, scores[at, columns].tolist(), [False] * len(at))
