"""The interactive engine: a trained artifact plus a live session in, a slate out.

Per request, `Engine.recommend` runs these steps (3 to 6 are `Engine._rank`, which
`Engine.scores` shares):

1. Read the session (`feedback.read_session`): events resolved to vocabulary rows and
   sorted by meaning (context, likes, dislikes, skips).
2. Split it into interests (`interests.session_interests`): a small mixture over its items.
3. Mark the items that may appear (`ranking.candidate_mask`): filters, dislikes, seen;
   a typed request is read into facts about the catalogue (`interpret`) whose hard part
   (categories asked for and refused, ranges, values) narrows the mask (`constraints`).
4. Score every item for every interest (`ranking.model_scores`): the model reads the
   session once; each interest's query, turned toward what the request leaves to steer
   by (`steering`), is one column of one product.
5. Standardise the scores (`ranking.standardise`): units of their spread over a fixed
   sample, so the terms of step 6 mean the same for any model and catalogue size.
6. Adjust a candidate pool (`ranking.ranked_pool`): request match, look-alikes of liked
   and disliked items, decay of items shown or skipped; the pool grows until no item
   outside it could have made the slate.
7. Cut the slate, split across interests by weight (`ranking.select`).
8. Top it up by exploration (`explore.exploration_picks`).
9. Explain it (`explain.slate_reasons`).

No step loops over the catalogue in Python. The model is used only through
`models.embedding.EmbeddingModel` and item vectors are searched only through an
`index.ItemIndex`, so the engine's base scores are the model's own `score` (over a
catalogue searched through FAISS, for the rows the index retrieves: `retrieval`). Browsing,
search and added items are the catalogue's (`catalogue`); the engine delegates to it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sessionrec.artifact import CATALOGUE_FILE, load_artifact, read_catalogue, read_manifest
from sessionrec.data.schema import (
    ATTRIBUTES,
    CATEGORIES,
    ITEM_ID,
    TITLE,
    Catalogue,
    EventType,
    make_catalogue,
)
from sessionrec.engine.catalogue import (
    CatalogueSnapshot,
    ItemInfo,
    ItemTable,
    lookalikes,
    new_item_info,
    popular,
    search,
)
from sessionrec.engine.constraints import Constraints, apply_constraints, has_constraints
from sessionrec.engine.explain import REQUEST_SHARE, SlateContext, interest_tags, slate_reasons
from sessionrec.engine.explore import exploration_picks, explore_slots
from sessionrec.engine.feedback import (
    NEGATIVE_TYPES,
    ResolvedSession,
    lookalike_floor,
    manifest_training_types,
    read_session,
    training_type_codes,
)
from sessionrec.engine.generative import (
    GenerativeLayer,
    explain_slate,
    recent_titles,
    rerank_picks,
)
from sessionrec.engine.interests import (
    MAX_INTERESTS,
    NO_INTERESTS,
    MixtureCache,
    SessionInterests,
    interest_memberships,
    session_interests,
)
from sessionrec.engine.interpret import (
    LAST,
    Facets,
    RequestInterpreter,
    Titles,
    UnderstoodRequest,
)
from sessionrec.engine.query import Query, SessionEvent, Slate, SlateItem
from sessionrec.engine.ranking import (
    Picks,
    Ranking,
    Scores,
    adjustments,
    candidate_mask,
    model_scores,
    ranked_pool,
    select,
    session_queries,
)
from sessionrec.engine.retrieval import can_retrieve, retrieved_scores
from sessionrec.engine.steering import RequestEncoder
from sessionrec.errors import ConfigError
from sessionrec.index.base import IndexBuilder
from sessionrec.index.exact import ExactIndex
from sessionrec.index.sized import index_builder
from sessionrec.models.base import Recommender
from sessionrec.models.embedding import RowScoringModel, as_embedding_model
from sessionrec.text.base import TextEncoder
from sessionrec.text.registry import load_encoder
from sessionrec.text.template import ItemTextTemplate


class Engine:
    """Slates for live sessions from a trained model with an embedding space.

    Safe to share between threads: requests read one immutable `CatalogueSnapshot`;
    `upsert_item` builds the next snapshot under a lock and swaps it in.
    """

    def __init__(
        self,
        model: Recommender,
        catalogue: Catalogue | None = None,
        encoder: TextEncoder | None = None,
        artifact: Path | None = None,
        training_types: Mapping[str, int] | None = None,
        max_interests: int = MAX_INTERESTS,
        index: IndexBuilder | None = None,
        llm: GenerativeLayer | None = None,
    ) -> None:
        """`model` must implement `EmbeddingModel` (a ConfigError names what it lacks);
        `index` builds the indexes item vectors are searched through (default
        `index.sized.index_builder()`: exact below 200,000 items, FAISS above, or what
        $SESSIONREC_INDEX names); past an exact index, candidates are retrieved through it
        rather than every item scored (`retrieval`); `llm`, optional,
        reads requests, re-ranks and explains in `recommend` (never in `scores`)."""
        if not 1 <= max_interests <= MAX_INTERESTS:
            raise ConfigError(f"max_interests must be from 1 to {MAX_INTERESTS}")
        self.max_interests = max_interests
        self._model = as_embedding_model(model)
        # Checked once: a runtime protocol check costs more than the rest of the decision.
        self._row_scorer = self._model if isinstance(self._model, RowScoringModel) else None
        self._type_codes = training_type_codes(training_types)
        arrays = self._model.item_arrays()
        table = ItemTable.build(arrays.vocab.ids, catalogue)
        builder = index_builder() if index is None else index
        self._snapshot = CatalogueSnapshot.build(arrays, table, builder)
        # A model may set up its serving path on first use (the transformer traces its
        # session encoder); reading one full-length session now keeps that cost out of the
        # first request.
        length = min(self._model.max_length, len(arrays))
        self._model.session_states(arrays, np.arange(length), np.zeros(length, np.int64))
        spec = self._model.text_encoder
        self._requests = RequestEncoder(
            lambda: encoder if encoder is not None else load_encoder(spec)
        )
        self._template = ItemTextTemplate(self._model.text_template, allow_id_fallback=True)
        self._artifact = artifact
        self._upsert_lock = threading.Lock()
        self._mixtures = MixtureCache()
        self._interpreter_lock = threading.Lock()
        self._interpreter: tuple[ItemTable, RequestInterpreter] | None = None
        self.llm = llm

    @classmethod
    def from_artifact(
        cls,
        folder: str | Path,
        encoder: TextEncoder | None = None,
        max_interests: int = MAX_INTERESTS,
        index: IndexBuilder | None = None,
        llm: GenerativeLayer | None = None,
    ) -> Engine:
        """The engine over an artifact written by `sessionrec train` (checked file by file).

        `max_interests` 1 keeps every session one interest (a slate that is never split).
        """
        path = Path(folder)
        manifest = read_manifest(path)
        model = load_artifact(path)
        items = read_catalogue(path / CATALOGUE_FILE) if (path / CATALOGUE_FILE).is_file() else None
        types = manifest_training_types(manifest)
        return cls(model, items, encoder, path, types, max_interests, index, llm)

    def prepare(self) -> None:
        """Build the request interpreter (the catalogue's facets and titles) and load the
        text encoder now, so that the first typed request does not pay for them: at
        100,000 items that is about a second, plus the encoder's load. Services call it
        at start-up; without it the first request does the same work. The numeric
        attributes a range can ask about ("before 1990") are read into arrays too (0.15 s
        at 100,000 items), and the catalogue's look-alike floor is measured."""
        table = self._snapshot.table
        interpreter = self._interpreter_for(table)
        for attribute in interpreter.facets.numeric:
            table.numeric_values(attribute)
        lookalike_floor(self._snapshot.closeness)
        if self._has_text:
            self._requests.encoder  # noqa: B018 - loaded for its side effect

    @property
    def _has_text(self) -> bool:
        return self._model.text_dimension > 0

    # -- catalogue --------------------------------------------------------------------------

    @property
    def n_items(self) -> int:
        return len(self._snapshot.arrays)

    @property
    def artifact(self) -> Path:
        """The folder the engine was loaded from."""
        if self._artifact is None:
            raise ConfigError("this engine was built from a model in memory, not an artifact")
        return self._artifact

    def has_item(self, item_id: str) -> bool:
        return item_id in self._snapshot.arrays.vocab

    def item(self, item_id: str) -> ItemInfo | None:
        snapshot = self._snapshot
        row = snapshot.table.index.get(item_id)
        return None if row is None else snapshot.table.infos[row]

    def popular(self, limit: int = 20) -> list[ItemInfo]:
        """The items most frequent in training, most frequent first."""
        return popular(self._snapshot, limit)

    def lookalikes(self, item_id: str, min_cosine: float) -> list[str]:
        """Items whose text is at least `min_cosine` close to this one's (itself excluded),
        closest first; what a dislike pushes down and a like pulls up."""
        return lookalikes(self._snapshot, item_id, min_cosine)

    def search(self, text: str, limit: int = 20) -> list[ItemInfo]:
        """Items whose title contains `text` (most popular first), then those whose text is
        closest to it in language-model space."""
        encode = self._request_vector if self._has_text else None
        return search(self._snapshot, text, limit, encode)

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
        info = new_item_info(item_id, title, text, categories, attributes)
        if not self._has_text:
            raise ConfigError(
                "this model was trained without item text, so it cannot score new items; "
                "retrain with text (the default) to add items at run time"
            )
        vectors = self._text_vectors(info)
        with self._upsert_lock:
            snapshot = self._snapshot
            arrays = self._model.add_items(snapshot.arrays, [info.item_id], vectors)
            self._snapshot = snapshot.changed(arrays, snapshot.table.with_item(info))
        self._mixtures.clear()  # an edited item's vector may have moved

    def _text_vectors(self, info: ItemInfo) -> np.ndarray:
        """(1, D): the item's text as the model's training template wrote it, encoded."""
        title = str(info.title)  # never None: `new_item_info` requires one
        row = make_catalogue(
            [info.item_id],
            [title],
            [info.text or ""],
            [list(info.categories)],
            [dict(info.attributes)],
        )
        item_text = self._template.build(row)[0] or title
        encoder = self._requests.encoder
        vectors = encoder.encode([item_text])
        if vectors.shape[1] != self._model.text_dimension:
            raise ConfigError(
                f"text encoder {encoder.name} gives {vectors.shape[1]}-dimensional vectors, "
                f"the model reads {self._model.text_dimension}"
            )
        return vectors

    @property
    def vocabulary_ids(self) -> list[str]:
        """Item ids in the order of `scores`."""
        return self._snapshot.arrays.vocab.ids

    # -- recommending -----------------------------------------------------------------------

    def recommend(
        self,
        query: Query,
        item_stats: Mapping[str, tuple[int, int]] | None = None,
        rng: np.random.Generator | None = None,
    ) -> Slate:
        """The slate for `query`; `item_stats` (item → positives, negatives) feed exploration."""
        snapshot = self._snapshot
        llm = self.llm
        deadline = None if llm is None else llm.deadline()  # for all the model's calls
        reading = self._read_request(snapshot, query.text, deadline)
        events = session_events(query.events, reading.understood)
        session = read_session(events, snapshot.arrays.vocab)
        interests = self._interests(snapshot, session)
        ranking = self._rank(
            snapshot, query, session, interests, reading, exact=False, depth=query.k
        )
        k_explore = explore_slots(query.explore, query.k)
        titles = [] if llm is None else recent_titles(snapshot.table, session.sequence)
        if llm is not None and deadline is not None and (query.text or not session.is_empty):
            table, k_exploit = snapshot.table, query.k - k_explore
            picks = rerank_picks(
                llm, ranking, interests, k_exploit, table, query.text, titles, deadline
            )
        else:
            picks = select(ranking, interests, query.k - k_explore)
        if k_explore:
            vocab = snapshot.arrays.vocab
            picks += exploration_picks(
                ranking, vocab, picks.rows, query.k, k_explore, item_stats, rng
            )
        slate = _slate(snapshot, query, session, interests, ranking, picks, item_stats, reading)
        if llm is not None and deadline is not None and query.explain and llm.options.explain:
            slate = explain_slate(llm, slate, snapshot.table, titles, deadline)
        return slate

    def scores(self, query: Query) -> np.ndarray:
        """Final scores of every item in vocabulary order (-inf: excluded), as one interest.

        For evaluation and benchmarks: ranks far below any slate become visible.
        """
        snapshot = self._snapshot
        reading = self._read_request(snapshot, query.text)
        events = session_events(query.events, reading.understood)
        session = read_session(events, snapshot.arrays.vocab)
        ranking = self._rank(snapshot, query, session, NO_INTERESTS, reading, exact=True)
        out = np.full(len(snapshot.arrays), -np.inf)
        out[ranking.pool] = ranking.scores[:, 0]
        return out

    def _interests(self, snapshot: CatalogueSnapshot, session: ResolvedSession) -> SessionInterests:
        return session_interests(
            snapshot, session, self._model.max_length, self.max_interests, self._mixtures
        )

    def _rank(
        self,
        snapshot: CatalogueSnapshot,
        query: Query,
        session: ResolvedSession,
        interests: SessionInterests,
        reading: RequestReading,
        exact: bool,
        depth: int = 1,
    ) -> Ranking:
        """Steps 3 to 6: final scores of a candidate pool, exact for the best `depth` of
        each interest (`exact`: every allowed item is in the pool)."""
        arrays = snapshot.arrays
        mask = candidate_mask(arrays.vocab, snapshot.table, query, session)
        constraints = reading.constrain(snapshot.table, mask)
        if constraints.mask is not None:
            mask &= constraints.mask
        if reading.understood is not None and reading.understood.mentions:
            # Titles the person named are ones they know: the point is something like them.
            named = arrays.vocab.lookup(list(reading.understood.mentions))
            mask[named[named >= 0]] = False
        reading.notes.extend(n for n in constraints.notes if n not in reading.notes)
        steer = reading.steering_text
        request = None if steer is None else self._request_vector(steer)
        types = self._type_codes[session.types]
        scored: Scores
        scorer = self._row_scorer
        if not exact and scorer is not None and self._retrieves(snapshot, session, request):
            read = session_queries(self._model, arrays, session, interests, types, request)
            scored = retrieved_scores(scorer, arrays, read, session.sequence, snapshot.untrained)
        else:
            scored = model_scores(self._model, arrays, session, interests, types, request)
        scale = scored.scale(snapshot.scale_rows)
        terms = adjustments(
            arrays, session, query.impressions, request, snapshot.scale_rows, snapshot.closeness
        )
        return ranked_pool(scored, scale, mask, terms, snapshot.item_index, exact, depth)

    def _retrieves(
        self, snapshot: CatalogueSnapshot, session: ResolvedSession, request: np.ndarray | None
    ) -> bool:
        """Whether this request's candidates come from the item index (`retrieval`), for a
        model whose scores are dot products with the indexed vectors: the index is
        approximate (a catalogue too large to scan) and the session gives it something to
        read."""
        return (
            not isinstance(snapshot.item_index, ExactIndex)
            and not (session.is_empty and request is None)
            and can_retrieve(snapshot.untrained, session.sequence)
        )

    def _read_request(
        self, snapshot: CatalogueSnapshot, text: str | None, llm_deadline: float | None = None
    ) -> RequestReading:
        """What a typed request asks for (`interpret`), and the text left to steer by.

        A model without item text can still honour the request's hard constraints; only a
        request with nothing but soft wishes is refused there (a ConfigError, a 4xx).
        """
        if text is None:
            return RequestReading(None, None, [])
        interpreter = self._interpreter_for(snapshot.table)
        understood = interpreter.interpret(text)
        if llm_deadline is not None and self.llm is not None and self.llm.options.interpret:
            # the generative model's reading, the embedded one its fallback
            understood = self.llm.interpret(text, interpreter.facets, understood, llm_deadline)
        notes = list(understood.conflicts)
        steer = steering_text(text, understood)
        if steer is not None and not self._has_text:
            if not has_constraints(understood):
                self._request_vector(steer)  # raises: the model cannot read requests
            notes.append(f"this model reads no item text, so {steer!r} could not steer")
            steer = None
        return RequestReading(understood, steer, notes)

    def _interpreter_for(self, table: ItemTable) -> RequestInterpreter:
        """The interpreter over this table's facets, rebuilt when items are added."""
        with self._interpreter_lock:
            if self._interpreter is not None and self._interpreter[0] is table:
                return self._interpreter[1]
        frame = pd.DataFrame(
            {
                ITEM_ID: [info.item_id for info in table.infos],
                TITLE: [info.title for info in table.infos],
                CATEGORIES: [list(info.categories) for info in table.infos],
                ATTRIBUTES: [dict(info.attributes) for info in table.infos],
            }
        )
        encode = self._requests.encode_many if self._has_text else None
        interpreter = RequestInterpreter(
            Facets.from_catalogue(frame), encode, titles=Titles.from_catalogue(frame)
        )
        with self._interpreter_lock:
            self._interpreter = (table, interpreter)
        return interpreter

    def _request_vector(self, text: str) -> np.ndarray:
        """The unit language-model vector of a typed request (or search text)."""
        if not self._has_text:
            raise ConfigError(
                "this model was trained without item text, so it cannot read requests"
            )
        return self._requests.encode_one(text, self._model.text_dimension)


def session_events(
    events: Sequence[SessionEvent], understood: UnderstoodRequest | None
) -> Sequence[SessionEvent]:
    """The session as the request extends it.

    Titles the request mentions with liking ("I loved Alien last night") act as likes of
    the session, titles it refuses ("nothing like Grease") as dislikes, and a reference to
    the session ("more like the last one", "更轻松一点") as a like of its last item that was
    not turned down, so the request is anchored where the person points.
    """
    if understood is None or not (
        understood.mentions or understood.avoid_mentions or understood.reference
    ):
        return events
    extra: list[SessionEvent] = []
    if understood.reference == LAST:
        turned_down = {e.item_id for e in events if e.type is EventType.DISLIKE}
        last = next(
            (
                e.item_id
                for e in reversed(events)
                if e.type not in NEGATIVE_TYPES and e.item_id not in turned_down
            ),
            None,
        )
        if last is not None:
            extra.append(SessionEvent(last, EventType.LIKE))
    extra += [SessionEvent(i, EventType.LIKE) for i in understood.mentions]
    extra += [SessionEvent(i, EventType.DISLIKE) for i in understood.avoid_mentions]
    return [*events, *extra]


def steering_text(text: str, understood: UnderstoodRequest) -> str | None:
    """The text a request steers the ranking by, if any.

    What the interpreter could not ground in the catalogue's facets (`soft`) steers. A
    request that was all facets does not steer: its constraints already keep out whatever
    does not match, and among the items that do, the session orders better than the
    request's words (simulated users on validation, feedback+query SR@10: 0.92 without
    steering, 0.79 steered by the request's text; CHANGELOG). Nor does one that only
    points at items ("more like the last one"): those act as likes (`session_events`). A
    request nothing was understood of steers by its words.
    """
    if understood.soft:
        return understood.soft
    pointed = understood.mentions or understood.avoid_mentions or understood.reference
    if has_constraints(understood) or understood.avoid or pointed:
        return None
    return text


@dataclass
class RequestReading:
    """One request as read for one recommendation: understood, what steers, notes."""

    understood: UnderstoodRequest | None
    steering_text: str | None
    notes: list[str] = field(default_factory=list)

    def constrain(self, table: ItemTable, allowed: np.ndarray) -> Constraints:
        if self.understood is None:
            return Constraints(None, ())
        return apply_constraints(table, self.understood, allowed)


def _slate(
    snapshot: CatalogueSnapshot,
    query: Query,
    session: ResolvedSession,
    interests: SessionInterests,
    ranking: Ranking,
    picks: Picks,
    item_stats: Mapping[str, tuple[int, int]] | None,
    reading: RequestReading,
) -> Slate:
    """The picked rows as the caller sees them: ids, titles, rounded scores, reasons."""
    rows = np.asarray(picks.rows, dtype=np.int64)
    ids = snapshot.arrays.vocab.decode_list(picks.rows)
    belongs = interest_memberships(snapshot, interests, rows)
    tags = interest_tags(snapshot.table, rows, interests.reported, belongs)
    if query.explain:
        request_cosines, request_threshold = None, np.inf
        if ranking.request is not None and ranking.request_sample is not None:
            request_cosines = snapshot.arrays.text[rows] @ ranking.request
            request_threshold = float(np.quantile(ranking.request_sample, 1.0 - REQUEST_SHARE))
        context = SlateContext(
            snapshot.table,
            snapshot.arrays.similarity,
            session,
            interests.reported,
            reading.steering_text,
            request_cosines,
            request_threshold,
            snapshot.closeness,
            reading.understood,
        )
        known = item_stats or {}
        stats = [known.get(i) for i in ids]
        reasons = slate_reasons(context, rows, belongs, picks.explored, stats)
    else:
        reasons = [()] * len(rows)
    items = tuple(
        SlateItem(
            item_id=item_id,
            score=round(float(score), 6),
            title=snapshot.table.infos[row].title,
            reasons=why,
            interest=interest,
            interest_label=tag,
        )
        for item_id, row, score, why, interest, tag in zip(
            ids, picks.rows, picks.scores, reasons, picks.interests, tags, strict=True
        )
    )
    understood = None if reading.understood is None else reading.understood.as_json()
    return Slate(items, interests.reported, session.unknown, understood, tuple(reading.notes))
