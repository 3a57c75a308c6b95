"""The interactive engine: a trained artifact plus a live session in, a slate out.

Per request: the session's events are resolved and sorted by meaning (`feedback`); the
session is split into interests (`interests`); the transformer reads the session once, and
each interest's query is its reading right after that interest's latest event, which a
typed request turns toward itself (`steering`); one matrix product scores every item for
every interest; scores are put in units of their spread over a fixed sample of the
catalogue, so the adjustments below mean the same for any model and catalogue size; the
candidates (every item in a catalogue of up to `EXACT_SIZE`, else the model's best
`POOL_SIZE` per interest, grown when dislikes push them down) get the language-model terms
(request match, look-alikes of liked and disliked items, decay of items shown or skipped);
the slate is cut from them, split across interests by weight, topped up by exploration
(`explore`) and explained (`explain`). No step loops over the catalogue in Python.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sessionrec.artifact import CATALOGUE_FILE, load_artifact, read_catalogue, read_manifest
from sessionrec.data.schema import Catalogue, make_catalogue
from sessionrec.engine.catalogue import ItemInfo, ItemTable
from sessionrec.engine.explain import SlateContext, interest_label, slate_reasons
from sessionrec.engine.explore import CANDIDATE_FACTOR, explore_slots, thompson_pick
from sessionrec.engine.feedback import (
    SessionState,
    decay_penalty,
    feedback_adjustment,
    pool_products,
    read_session,
)
from sessionrec.engine.interests import MAX_INTERESTS, choose_mixture, slot_order
from sessionrec.engine.model import EmbeddingModel, ItemArrays
from sessionrec.engine.query import MAX_K, MAX_QUERY_CHARS, Interest, Query, Slate, SlateItem
from sessionrec.engine.steering import RequestEncoder, blend_queries, request_term
from sessionrec.errors import ConfigError
from sessionrec.index.exact import top_k, top_k_columns
from sessionrec.models.base import Recommender as Model
from sessionrec.text.base import TextEncoder
from sessionrec.text.registry import load_encoder
from sessionrec.text.template import ItemTextTemplate

POOL_SIZE = 1000
"""Items per interest that get the language-model terms in a large catalogue. Those terms
need the items' text vectors (384 numbers each), too many to read for 100,000 items per
request; the model's own score already ranks everything, and what a request or a dislike
changes happens among its best thousand."""

EXACT_SIZE = 5000
"""Catalogues up to this size give every item the language-model terms (exact ranking)."""

SCALE_SAMPLE = 1024
"""Items (a fixed random sample) over which the spread of model scores is measured."""

MIXTURE_CACHE = 4096
"""Sessions whose interest split is remembered: successive requests of one session reuse it."""

MAX_ID_CHARS = 200
"""Longest item id accepted by `upsert_item`."""

MAX_ITEM_TEXT_CHARS = 10_000
"""Longest item description accepted by `upsert_item` (the encoder reads far less)."""


@dataclass(frozen=True)
class _State:
    """One consistent view of the catalogue; replaced whole when items are added."""

    arrays: ItemArrays
    table: ItemTable
    scale_rows: np.ndarray
    spread: float
    """Per-dimension variance of unit item vectors over `scale_rows`: the scale against
    which a session's items count as one interest or several."""


@dataclass(frozen=True)
class _Interests:
    interests: tuple[Interest, ...]
    members: tuple[np.ndarray, ...]
    """Vocabulary rows of each interest's session items."""
    of_event: np.ndarray | None = None
    """Per context event of the session, the interest it belongs to (-1: none)."""


@dataclass(frozen=True)
class _Ranking:
    """Adjusted scores of a candidate pool for one or more query vectors."""

    pool: np.ndarray
    """Sorted vocabulary rows."""
    scores: np.ndarray
    """(len(pool), R): final score of each candidate under each interest."""
    request: np.ndarray | None
    request_reference: float


def _scale_rows(n: int) -> np.ndarray:
    if n <= SCALE_SAMPLE:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n, SCALE_SAMPLE, replace=False)).astype(np.int64)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    # `np.linalg.norm(vectors, axis=1, keepdims=True)` for real rows, without its checks.
    norms = np.sqrt(np.add.reduce(vectors * vectors, axis=1, keepdims=True))
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float64)


def _state(arrays: ItemArrays, table: ItemTable, scale_rows: np.ndarray | None = None) -> _State:
    rows = _scale_rows(len(arrays)) if scale_rows is None else scale_rows
    sample = _unit_rows(arrays.item_vectors[rows])
    spread = float(sample.var(axis=0).mean()) if len(sample) > 1 else 1.0
    return _State(arrays, table, rows, spread)


def _scale(by_column: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of the scores (given column-major: `by_column` is (R, n)), the mean and
    standard deviation over `rows` (the scale sample), ignoring -inf (popularity of items
    added at run time)."""
    sample = by_column.take(rows, axis=1).astype(np.float64)  # (R, len(rows))
    finite = np.isfinite(sample)
    if finite.all():
        # The very numbers `sample.T.mean(axis=0)` and `sample.T.std(axis=0)` give (see
        # `_column_sums`), at a fraction of the cost; the mean is computed once for both.
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
    """Row sums of an (R, m) array, rounded as numpy rounds `a.sum(axis=0)` of its row-major
    (m, R) transpose: with one column that is numpy's pairwise sum of a contiguous vector;
    with several, numpy adds one row after another, which a running sum reproduces without
    numpy's m inner loops of length R."""
    if by_column.shape[0] == 1:
        return np.add.reduce(by_column, axis=1)
    return np.add.accumulate(by_column, axis=1)[:, -1]


class Recommender:
    """Slates for live sessions from a trained transformer or hybrid.

    Safe to share between threads: requests read one immutable snapshot of the catalogue;
    `upsert_item` builds the next snapshot under a lock and swaps it in.
    """

    def __init__(
        self,
        model: Model,
        catalogue: Catalogue | None = None,
        encoder: TextEncoder | None = None,
        artifact: Path | None = None,
        training_types: Mapping[str, int] | None = None,
        max_interests: int = MAX_INTERESTS,
    ) -> None:
        if not 1 <= max_interests <= MAX_INTERESTS:
            raise ConfigError(f"max_interests must be from 1 to {MAX_INTERESTS}")
        self.max_interests = max_interests
        self._model = EmbeddingModel(model, training_types)
        arrays = self._model.arrays()
        table = ItemTable.build(arrays.vocab.ids, catalogue)
        self._state = _state(arrays, table)
        config = self._model.transformer.config
        spec = config.text_encoder
        self._requests = RequestEncoder(
            lambda: encoder if encoder is not None else load_encoder(spec)
        )
        self._template = ItemTextTemplate(config.text_template, allow_id_fallback=True)
        self._artifact = artifact
        self._lock = threading.Lock()
        self._mixtures: OrderedDict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._mixtures_lock = threading.Lock()

    @classmethod
    def from_artifact(
        cls,
        folder: str | Path,
        encoder: TextEncoder | None = None,
        max_interests: int = MAX_INTERESTS,
    ) -> Recommender:
        """The engine over an artifact written by `sessionrec train` (checked file by file).

        `max_interests` 1 keeps every session one interest (a slate that is never split).
        """
        path = Path(folder)
        manifest = read_manifest(path)
        model = load_artifact(path)
        catalogue = (
            read_catalogue(path / CATALOGUE_FILE) if (path / CATALOGUE_FILE).is_file() else None
        )
        types = manifest_training_types(manifest)
        return cls(model, catalogue, encoder, path, types, max_interests)

    # -- catalogue --------------------------------------------------------------------------

    @property
    def n_items(self) -> int:
        return len(self._state.arrays)

    @property
    def artifact(self) -> Path:
        """The folder the engine was loaded from."""
        if self._artifact is None:
            raise ConfigError("this engine was built from a model in memory, not an artifact")
        return self._artifact

    def has_item(self, item_id: str) -> bool:
        return item_id in self._state.arrays.vocab

    def item(self, item_id: str) -> ItemInfo | None:
        state = self._state
        row = state.table.index.get(item_id)
        return None if row is None else state.table.infos[row]

    def popular(self, limit: int = 20) -> list[ItemInfo]:
        """The items most frequent in training, most frequent first."""
        _check_limit(limit)
        state = self._state
        rows = top_k(state.arrays.popularity, limit)
        return [state.table.infos[int(r)] for r in rows]

    def lookalikes(self, item_id: str, min_cosine: float) -> list[str]:
        """Items whose text is at least `min_cosine` close to this one's (itself excluded),
        closest first; what a dislike pushes down and a like pulls up."""
        state = self._state
        row = state.arrays.vocab.index(item_id)
        if row < 0:
            raise ConfigError(f"unknown item {item_id!r}")
        cosines = state.arrays.similarity @ state.arrays.similarity[row]
        mask = cosines >= min_cosine
        mask[row] = False
        rows = top_k(cosines, int(mask.sum()), mask)
        return state.arrays.vocab.decode(rows)

    def search(self, text: str, limit: int = 20) -> list[ItemInfo]:
        """Items whose title contains `text` (most popular first), then those whose text is
        closest to it in language-model space."""
        _check_limit(limit)
        needle = _check_text(text, "search text").casefold()
        state = self._state
        titles = state.table.lower_titles
        hits = np.asarray([i for i, t in enumerate(titles) if needle in t], dtype=np.int64)
        if len(hits):
            order = np.lexsort((hits, -state.arrays.popularity[hits]))
            hits = hits[order][:limit]
        found = [int(r) for r in hits]
        if len(found) < limit and self._model.has_text:
            vector = self._requests.encode_one(text, self._model.text_dimension)
            cosines = state.arrays.text @ vector
            mask = np.ones(len(cosines), dtype=bool)
            mask[hits] = False
            found += [int(r) for r in top_k(cosines, limit - len(found), mask)]
        return [state.table.infos[r] for r in found]

    def upsert_item(
        self,
        item_id: str,
        title: str,
        text: str | None = None,
        categories: Sequence[str] = (),
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        """Add an item (or replace one's text): recommendable from the next request on,
        through its text vector, as the model scores any item it never trained on."""
        if not isinstance(item_id, str) or not item_id.strip() or len(item_id) > MAX_ID_CHARS:
            raise ConfigError(
                f"item id must be a non-empty string of at most {MAX_ID_CHARS} characters"
            )
        title = _check_text(title, "item title")
        if text is not None and not isinstance(text, str):
            raise ConfigError("item text must be a string")
        if text is not None and len(text) > MAX_ITEM_TEXT_CHARS:
            raise ConfigError(
                f"item text has {len(text)} characters; the limit is {MAX_ITEM_TEXT_CHARS}"
            )
        if isinstance(categories, str) or any(
            not isinstance(c, str) or not c.strip() for c in categories
        ):
            raise ConfigError("item categories must be a list of non-empty strings")
        attrs: dict[str, Any] = dict(attributes or {})
        for key, value in attrs.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise ConfigError(
                    f"item attributes must map names to strings, got {key!r}: {value!r}"
                )
        if not self._model.has_text:
            raise ConfigError(
                "this model was trained without item text, so it cannot score new items; "
                "retrain with text (the default) to add items at run time"
            )
        cleaned = [c.strip() for c in categories]
        row = make_catalogue([item_id], [title], [text or ""], [cleaned], [attrs])
        item_text = self._template.build(row)[0] or title
        encoder = self._requests.encoder
        vectors = encoder.encode([item_text])
        if vectors.shape[1] != self._model.text_dimension:
            raise ConfigError(
                f"text encoder {encoder.name} gives {vectors.shape[1]}-dimensional vectors, "
                f"the model reads {self._model.text_dimension}"
            )
        info = ItemInfo(item_id, title, tuple(cleaned), attrs, text or None)
        with self._lock:
            state = self._state
            arrays = self._model.add_items(state.arrays, [item_id], vectors)
            table = state.table.with_item(info)
            if len(table) != len(arrays):
                raise RuntimeError("item table and model vocabulary went out of step")
            self._state = _state(arrays, table, state.scale_rows)
        with self._mixtures_lock:
            self._mixtures.clear()  # an edited item's vector may have moved

    # -- recommending -----------------------------------------------------------------------

    def recommend(
        self,
        query: Query,
        item_stats: Mapping[str, tuple[int, int]] | None = None,
        rng: np.random.Generator | None = None,
    ) -> Slate:
        """The slate for `query`; `item_stats` (item → positives, negatives) feed exploration."""
        state = self._state
        session = read_session(query.events, state.arrays.vocab)
        split = self._interests(state, session)
        ranking = self._rank(state, query, session, split, full=False, depth=query.k)
        k_explore = explore_slots(query.explore, query.k)
        chosen, interest_of, scores = self._select(ranking, split, query.k - k_explore)
        explored = [False] * len(chosen)
        if k_explore:
            extra = self._explore(state, ranking, chosen, query.k, k_explore, item_stats, rng)
            chosen += extra
            interest_of += [None] * len(extra)
            explored += [True] * len(extra)
            best = ranking.scores.max(axis=1)
            position = np.searchsorted(ranking.pool, np.asarray(extra, dtype=np.int64))
            scores += [float(best[p]) for p in position]
        rows = np.asarray(chosen, dtype=np.int64)
        ids = state.arrays.vocab.decode_list(chosen)
        if query.explain:
            request_cosines = None
            if ranking.request is not None:
                request_cosines = state.arrays.text[rows] @ ranking.request
            context = SlateContext(
                state.table,
                state.arrays.similarity,
                session,
                split.interests,
                query.text,
                request_cosines,
                ranking.request_reference,
            )
            known = item_stats or {}
            stats = [known.get(i) for i in ids]
            reasons = slate_reasons(context, rows, interest_of, explored, stats)
        else:
            reasons = [()] * len(rows)
        items = tuple(
            SlateItem(
                item_id=item_id,
                score=round(float(score), 6),
                title=state.table.infos[row].title,
                reasons=why,
                interest=interest,
            )
            for item_id, row, score, why, interest in zip(
                ids, chosen, scores, reasons, interest_of, strict=True
            )
        )
        return Slate(items, split.interests, session.unknown)

    def scores(self, query: Query) -> np.ndarray:
        """Final scores of every item in vocabulary order (-inf: excluded), as one interest.

        For evaluation and benchmarks: ranks far below any slate become visible.
        """
        state = self._state
        session = read_session(query.events, state.arrays.vocab)
        ranking = self._rank(state, query, session, _Interests((), ()), full=True)
        out = np.full(len(state.arrays), -np.inf)
        out[ranking.pool] = ranking.scores[:, 0]
        return out

    @property
    def vocabulary_ids(self) -> list[str]:
        """Item ids in the order of `scores`."""
        return self._state.arrays.vocab.ids

    # -- steps ------------------------------------------------------------------------------

    def _interests(self, state: _State, session: SessionState) -> _Interests:
        """The session's interests: a mixture over its distinct items' unit item vectors."""
        if session.is_empty:
            return _Interests((), ())
        # Distinct items, most recent occurrence last, at most what the model reads. Kept as
        # Python lists: the bookkeeping below is per item of one session, too small for numpy
        # calls to pay off.
        sequence = session.sequence.tolist()
        distinct = list(dict.fromkeys(reversed(sequence)))[::-1][-self._model.max_length :]
        key = tuple(distinct)
        with self._mixtures_lock:
            cached = self._mixtures.get(key)
            if cached is not None:
                self._mixtures.move_to_end(key)
        if cached is None:
            vectors = _unit_rows(state.arrays.item_vectors.take(distinct, axis=0))
            mixture = choose_mixture(vectors, self.max_interests, state.spread)
            cached = (mixture.weights, mixture.labels)
            with self._mixtures_lock:
                self._mixtures[key] = cached
                if len(self._mixtures) > MIXTURE_CACHE:
                    self._mixtures.popitem(last=False)
        weights, labels = cached
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
        interests: list[Interest] = []
        members: list[np.ndarray] = []
        taken: set[str] = set()
        vocab = state.arrays.vocab
        for component in order:
            in_component = [i for i, c in zip(distinct, label_of, strict=True) if c == component]
            rows = np.asarray(in_component, dtype=np.int64)
            members.append(rows)
            label = interest_label(state.table, rows, taken)
            taken.add(label)
            interests.append(
                Interest(
                    weight=round(float(weights[component]), 6),
                    item_ids=tuple(vocab.decode_list(in_component)),
                    label=label,
                )
            )
        return _Interests(tuple(interests), tuple(members), of_event)

    def _rank(
        self,
        state: _State,
        query: Query,
        session: SessionState,
        split: _Interests,
        full: bool,
        depth: int = 1,
    ) -> _Ranking:
        """Final scores of a candidate pool; exact for the best `depth` of each interest."""
        arrays = state.arrays
        n = len(arrays)
        mask = self._candidates(state, query, session)
        request = None
        if query.text is not None:
            if not self._model.has_text:
                raise ConfigError(
                    "this model was trained without item text, so it cannot read requests"
                )
            request = self._requests.encode_one(query.text, self._model.text_dimension)
        # One query per interest, or the whole session's. The model reads the session once;
        # an interest's query is its reading right after that interest's latest event, when
        # that interest was what the person was looking at. (The kNN half of a hybrid reads
        # each interest's own events.)
        split_up = len(split.members) > 1 and split.of_event is not None
        sequences = [session.sequence]
        if split_up and split.of_event is not None and self._model.hybrid is not None:
            sequences = [session.sequence[split.of_event == i] for i in range(len(split.members))]
        projected = None
        if session.is_empty and request is None:
            base = np.where(
                np.isfinite(arrays.popularity),
                arrays.popularity,
                np.min(arrays.popularity, initial=0.0, where=np.isfinite(arrays.popularity)) - 1,
            )[:, None]
        else:
            states = self._model.session_states(arrays, session.sequence, session.types)
            queries = (
                states[-1:]
                if len(states)
                else np.zeros((1, arrays.item_vectors.shape[1]), np.float32)
            )
            if split_up and split.of_event is not None:
                # Each interest's latest event in the model's window (the last row if none).
                window = split.of_event[-len(states) :].tolist()
                latest = [len(window) - 1] * len(split.members)
                found = [False] * len(split.members)
                for position in range(len(window) - 1, -1, -1):
                    owner = window[position]
                    if 0 <= owner < len(latest) and not found[owner]:
                        latest[owner], found[owner] = position, True
                queries = states.take(latest, axis=0)
            if request is not None:
                projected = self._model.text_to_item_space(np.array(request[None, :]))[0]
                queries = blend_queries(queries, projected)
            base = self._model.base_scores(arrays, queries, sequences, session.sequence)
        # Standardising per column is faster on a column-major copy (long inner loops, where
        # a row-major (n, R) array has loops of R); the numbers are the same.
        by_column = np.ascontiguousarray(base.T)
        mean, spread = _scale(by_column, state.scale_rows)
        impressions: dict[int, int] = {}
        if query.impressions:
            rows = arrays.vocab.lookup(list(query.impressions))
            impressions = {
                int(r): int(c)
                for r, c in zip(rows, query.impressions.values(), strict=True)
                if r >= 0 and c > 0
            }
        reference = 0.0
        if request is not None:
            reference = float(np.mean(arrays.text[state.scale_rows] @ request))
        # Candidates are chosen on the raw scores (an affine change per column does not
        # reorder them); only the pool is standardised and adjusted. Dislikes and decay can
        # only lower a score, so when the pool's k-th best final score still beats the best
        # score left outside, no outsider could have made the slate; otherwise the pool
        # grows. What can raise a score is approximate at scale: a request's text term and a
        # like's pull act on the pool, which the model retrieved with the request blended
        # into its query and the like read as an event (so look-alikes are in it already).
        size = POOL_SIZE
        while True:
            if full or n <= max(EXACT_SIZE, size):
                finite = np.isfinite(base)
                # All finite is the usual case, and a whole-array test is far cheaper than
                # the row-wise one.
                usable = mask if finite.all() else mask & finite.any(axis=1)
                pool, outside = np.flatnonzero(usable), None
            else:
                picks = [top_k(base[:, r], size + 1, mask) for r in range(base.shape[1])]
                outside = np.asarray(
                    [base[p[-1], r] if len(p) > size else -np.inf for r, p in enumerate(picks)]
                )
                chosen = [p[:size] for p in picks]
                if projected is not None:
                    # The items that match the request alone, as the model maps it into item
                    # space, are candidates too: the text term may lift them into the slate.
                    chosen.append(top_k(arrays.item_vectors @ projected, size, mask))
                pool = np.unique(np.concatenate(chosen))
            standard = by_column.take(pool, axis=1).astype(np.float64)
            scores = ((standard - mean[:, None]) / spread[:, None]).T  # (len(pool), R)
            # Terms that are zero for this session are left out rather than added: adding
            # or subtracting 0.0 would change no score.
            lowered = scores
            raised: np.ndarray | None = None
            if len(session.liked) or len(session.disliked):
                pull, push = feedback_adjustment(
                    arrays.similarity, pool, session.liked, session.disliked
                )
                lowered = scores - (push - decay_penalty(pool, impressions, session.skips))[:, None]
                raised = pull
            elif impressions or session.skips:
                lowered = scores + decay_penalty(pool, impressions, session.skips)[:, None]
            if request is not None:
                cosines = pool_products(arrays.text, pool, request[None, :])[0]
                term = request_term(cosines, reference)
                raised = term if raised is None else raised + term
            final = lowered if raised is None else lowered + raised[:, None]
            if outside is None:
                break
            best_outside = (outside - mean) / spread
            if len(lowered) >= depth:
                kth = -np.partition(-lowered, depth - 1, axis=0)[depth - 1]
            else:
                kth = np.full(lowered.shape[1], -np.inf)
            if (kth >= best_outside).all():
                break
            size *= 4
        return _Ranking(pool, final, request, reference)

    def _candidates(self, state: _State, query: Query, session: SessionState) -> np.ndarray:
        """Items that may appear: filters pass, never disliked, unseen if asked."""
        filters = query.filters
        exclude: list[np.ndarray] = [session.disliked]
        if query.exclude_seen:
            exclude.append(session.seen)
        if filters is not None and filters.exclude_items:
            rows = state.arrays.vocab.lookup(list(filters.exclude_items))
            exclude.append(rows[rows >= 0])
        excluded = np.concatenate(exclude)
        if filters is None or not (filters.categories or filters.attributes):
            mask = np.ones(len(state.arrays), dtype=bool)
            mask[excluded] = False
            return mask
        return state.table.filter_mask(filters.categories, filters.attributes, excluded)

    def _select(
        self, ranking: _Ranking, split: _Interests, k: int
    ) -> tuple[list[int], list[int | None], list[float]]:
        """The exploit part of the slate: rows, their interest, their score."""
        if k <= 0:
            return [], [], []
        pool, scores = ranking.pool, ranking.scores
        single = 0 if split.interests else None
        if scores.shape[1] == 1:
            order = top_k(scores[:, 0], k)
            return (
                [int(pool[i]) for i in order],
                [single] * len(order),
                [float(scores[i, 0]) for i in order],
            )
        shares = tuple(i.weight for i in split.interests)
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
                # This interest ran out of candidates: the others fill its place.
                for other in np.argsort(-weights, kind="stable"):
                    if take(int(other)):
                        break
        # Rows and scores gathered once for the whole slate, not element by element.
        at = np.asarray(picked, dtype=np.int64)
        columns = np.asarray(owners, dtype=np.int64)
        return pool[at].tolist(), owners, scores[at, columns].tolist()

    def _explore(
        self,
        state: _State,
        ranking: _Ranking,
        chosen: list[int],
        k: int,
        slots: int,
        stats: Mapping[str, tuple[int, int]] | None,
        rng: np.random.Generator | None,
    ) -> list[int]:
        """Rows for the exploration slots: Thompson draws among the next-best candidates."""
        best = ranking.scores.max(axis=1)
        mask = np.ones(len(best), dtype=bool)
        mask[np.searchsorted(ranking.pool, np.asarray(chosen, dtype=np.int64))] = False
        candidates = ranking.pool[top_k(best, CANDIDATE_FACTOR * k, mask)]
        ids = state.arrays.vocab.decode(candidates)
        picks = thompson_pick(
            ids, stats, slots, rng if rng is not None else np.random.default_rng()
        )
        return [int(candidates[p]) for p in picks]


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_K:
        raise ConfigError(f"limit must be an integer from 1 to {MAX_K}, got {limit!r}")


def _check_text(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{what} must not be empty")
    if len(text) > MAX_QUERY_CHARS:
        raise ConfigError(f"{what} has {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    return text.strip()


def manifest_training_types(manifest: Mapping[str, Any]) -> dict[str, int] | None:
    """The event-type counts `sessionrec train` records (None for older artifacts)."""
    types = manifest.get("event_types")
    if not isinstance(types, dict):
        return None
    return {str(k): int(v) for k, v in types.items()}
