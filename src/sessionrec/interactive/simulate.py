"""A simulated user who looks for held-out items through the engine, turn by turn.

Users come from held-out data (`users_from_interactions`): a user's chronological history
up to a cut starts the session (as views) and the items after the cut are the hidden
targets; by default one, the next item, as in the multi-round conversational
recommendation simulators of EAR (Lei et al. 2020) and UNICORN (Deng et al. 2021), where a
user looks for one item. The model must be trained without them: `prefix_interactions` is
every user's history up to the same cut, the only data an artifact for the simulation may
see.

What the user knows of an item are its attributes (`ItemFacts.features`): its categories
and, where the catalogue has a year, its decade. Each turn the system shows `k` items. The
user

- accepts and ends the session when a target is on the slate (success);
- otherwise, with probability `p_click`, clicks (or, with `p_like`, likes) the shown item
  whose attributes are closest to one target's (Jaccard similarity, at least
  `min_jaccard`), if one shares a category with it; with `p_dislike`, dislikes a shown
  item sharing no category with any target; doing neither is a skip;
- gives up after `patience` turns in a row without a click (abandonment).

Information policy (the leak Zhu et al. 2024, "How Reliable is Your Simulator?", found in
iEvaLM): the user's behaviour reads only its targets' attributes (`TargetProfile`), never
their ids or titles. A typed request is built from the profile alone and is checked
against the targets' titles (`leaks_title`, a fuzzy match); a leaking request is dropped
(the query goes without text) and counted. The system never sees a target: events are the
prefix and feedback on shown non-targets, and the session ends when a target is shown.

Modes, all with the same users and random draws:

- static: the same model with feedback ignored: every turn sends the turn-1 session
  (the prefix), with the items already shown excluded, so the user pages down one ranking;
- feedback: the prefix plus the clicks, likes and dislikes so far (shown items excluded
  and reported as impressions);
- feedback+query: feedback plus the typed request (`profile_request`) from turn 1 on;
- feedback+interests: feedback on an engine that splits the session into interests;
- feedback+explore: feedback with a share of each slate spent on exploration (no item
  statistics: Thompson draws from the prior among the best candidates).

Every draw comes from one numpy Generator made from the seed: it samples the users, then
gives each user one seed from which every mode replays the same stream (four uniforms
per turn, whatever the user does), so modes differ by the system alone.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sessionrec.data.schema import (
    ATTRIBUTES,
    CATEGORIES,
    ITEM_ID,
    TITLE,
    USER_ID,
    Catalogue,
    EventType,
    Interactions,
)
from sessionrec.data.splits import position_from_end, sort_sequences
from sessionrec.engine.query import Filters, Query, SessionEvent, Slate
from sessionrec.errors import ConfigError, DataError
from sessionrec.eval.cases import IGNORED_CATEGORIES, Language, category_name, decade_of
from sessionrec.interactive.turn_metrics import SessionOutcome, slate_diversity, summarise

logger = logging.getLogger(__name__)

DEFAULT_TARGETS = 1
"""Held-out items per user: the last one of the history (the item the user looks for)."""

MIN_PREFIX = 5
"""Fewest prefix events a simulated user starts with."""

MAX_PREFIX = 50
"""Most recent prefix events sent (the transformer reads 50)."""

MIN_JACCARD = 0.5
"""Least attribute similarity to a target that makes a shown item worth a click: half its
attributes in common, as "this is the kind of thing I mean" would need."""

LEAK_RATIO = 0.9
"""`SequenceMatcher` ratio from which a run of request words counts as a target title:
high enough that "a Comedy film" does not match the title "Comedy film 9"."""


class Mode(StrEnum):
    """How the system treats the user's feedback (see the module docstring)."""

    STATIC = "static"
    FEEDBACK = "feedback"
    QUERY = "feedback+query"
    INTERESTS = "feedback+interests"
    EXPLORE = "feedback+explore"


ALL_MODES: tuple[Mode, ...] = tuple(Mode)


class Recommending(Protocol):
    """What the simulator needs of the system: `Engine.recommend`."""

    def recommend(
        self,
        query: Query,
        item_stats: Mapping[str, tuple[int, int]] | None = None,
        rng: np.random.Generator | None = None,
    ) -> Slate: ...


@dataclass(frozen=True)
class SimulatedUser:
    """A user from held-out data: the prefix starts the session, the targets are hidden."""

    user_id: str
    prefix: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class TargetProfile:
    """All the simulated user knows of what it looks for: each target's categories and
    decade (None where the catalogue has no year)."""

    categories: tuple[frozenset[str], ...]
    decades: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        if not self.decades:
            object.__setattr__(self, "decades", (None,) * len(self.categories))
        if len(self.decades) != len(self.categories):
            raise ConfigError("a target profile needs one decade (or None) per target")

    @property
    def union(self) -> frozenset[str]:
        return frozenset().union(*self.categories)

    @property
    def features(self) -> tuple[frozenset[str], ...]:
        """Per target, its categories and its decade token (`decade_token`)."""
        return tuple(
            cats | {decade_token(d)} if d is not None else cats
            for cats, d in zip(self.categories, self.decades, strict=True)
        )


def decade_token(decade: int) -> str:
    """A decade as an attribute of its own ("1990s"), beside the category names."""
    return f"{decade}s"


@dataclass(frozen=True)
class ItemFacts:
    """Item id → categories, decade and title, from the catalogue."""

    categories: Mapping[str, frozenset[str]]
    titles: Mapping[str, str]
    decades: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_catalogue(cls, catalogue: Catalogue) -> ItemFacts:
        frame = catalogue.frame
        cats = {
            str(item): frozenset(str(c) for c in (values if values is not None else ()))
            for item, values in zip(frame[ITEM_ID], frame[CATEGORIES], strict=True)
        }
        titles = {
            str(item): str(title)
            for item, title in zip(frame[ITEM_ID], frame[TITLE], strict=True)
            if isinstance(title, str) and title
        }
        decades = {}
        for item, attributes in zip(frame[ITEM_ID], frame[ATTRIBUTES], strict=True):
            decade = decade_of(attributes) if isinstance(attributes, Mapping) else None
            if decade is not None:
                decades[str(item)] = decade
        return cls(cats, titles, decades)

    def of(self, item_id: str) -> frozenset[str]:
        """The item's categories."""
        return self.categories.get(item_id, frozenset())

    def features(self, item_id: str) -> frozenset[str]:
        """The item's categories and decade token: what the user compares with a target."""
        decade = self.decades.get(item_id)
        cats = self.of(item_id)
        return cats | {decade_token(decade)} if decade is not None else cats

    def profile(self, user: SimulatedUser) -> TargetProfile:
        return TargetProfile(
            tuple(self.of(t) for t in user.targets),
            tuple(self.decades.get(t) for t in user.targets),
        )


@dataclass(frozen=True)
class UserPolicy:
    """How the simulated users behave and how long they may talk."""

    k: int = 10
    """Items per slate."""
    turns: int = 15
    """Most slates per session."""
    patience: int = 3
    """Turns in a row without a click after which the user gives up."""
    p_click: float = 0.8
    """Chance of clicking a shown item that shares a category with a target."""
    p_like: float = 0.5
    """Chance that such a click is a like."""
    p_dislike: float = 0.5
    """Chance of disliking a shown item that shares no category with any target."""
    explore: float = 0.2
    """Share of the slate spent on exploration in feedback+explore."""
    min_jaccard: float = MIN_JACCARD
    """Least Jaccard similarity of attributes (`ItemFacts.features`) to some target that
    makes a shown item worth a click (0: any shared category will do)."""

    def __post_init__(self) -> None:
        if self.k < 1 or self.turns < 1 or self.patience < 1:
            raise ConfigError("k, turns and patience must be at least 1")
        for name in ("p_click", "p_like", "p_dislike"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a probability, got {value!r}")


ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""(mode, users) → the callback to advance by a number of users done."""

RequestBuilder = Callable[[TargetProfile], str | None]
"""Builds the user's typed request from what it knows of its targets (None: no request)."""


def profile_request(profile: TargetProfile, language: Language = Language.EN) -> str | None:
    """What the user types: the categories most of its targets have (all of them for one
    target, alphabetical) and their commonest decade, e.g. "a comedy romance film from the
    1990s" / "90年代的喜剧爱情电影". None when the targets have no category.

    No exclusions: a request that says what is wanted is the common case, and one built
    from the targets' own attributes cannot name a category they lack.
    """
    counts = Counter(c for cats in profile.categories for c in cats if c not in IGNORED_CATEGORIES)
    if not counts:
        return None
    top = max(counts.values())
    chosen = sorted(c for c, n in counts.items() if n == top)
    decades = Counter(d for d in profile.decades if d is not None)
    decade = min(decades, key=lambda d: (-decades[d], d)) if decades else None
    names = [category_name(c, language) for c in chosen]
    if language is Language.ZH:
        era = f"{decade}年代的" if decade is not None else ""
        return f"{era}{''.join(names)}电影"
    era = f" from the {decade}s" if decade is not None else ""
    article = "an" if names[0][:1] in "aeiou" else "a"
    return f"{article} {' '.join(names)} film{era}"


def genre_request(profile: TargetProfile) -> str | None:
    """ "a <genre> film" for the commonest category of the targets (ties: alphabetical):
    the vaguer request, for comparison with `profile_request`."""
    counts = Counter(c for cats in profile.categories for c in cats if c not in IGNORED_CATEGORIES)
    if not counts:
        return None
    genre = min(counts, key=lambda c: (-counts[c], c))
    return f"a {genre} film"


def _normal(text: str) -> str:
    text = re.sub(r"\(\d{4}\)", " ", text.lower())
    text = re.sub(r"^(.*), (the|a|an)$", r"\2 \1", text.strip())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def leaks_title(text: str, titles: Sequence[str], ratio: float = LEAK_RATIO) -> bool:
    """Whether `text` names one of `titles`: the normalised title inside it, or a run of
    as many words as the title at `ratio` similarity or more (typos, missing articles)."""
    said = _normal(text)
    words = said.split()
    names = {_normal(t) for t in titles}
    names |= {re.sub(r"^(the|a|an) ", "", n) for n in names}  # "Shawshank Redemption"
    for name in sorted(n for n in names if n):
        if f" {name} " in f" {said} ":
            return True
        width = len(name.split())
        for start in range(max(len(words) - width + 1, 0)):
            window = " ".join(words[start : start + width])
            if SequenceMatcher(None, window, name).ratio() >= ratio:
                return True
    return False


def users_from_interactions(
    interactions: Interactions, n_targets: int = DEFAULT_TARGETS, min_prefix: int = MIN_PREFIX
) -> list[SimulatedUser]:
    """Each user's history in time order, cut before its last `n_targets` events.

    The targets are the items of those events that the prefix lacks; users with fewer than
    `min_prefix` prefix events or no such target are left out. Users in order of first
    appearance.
    """
    if not interactions.has_users:
        raise DataError("a user simulation needs user ids on every event")
    frame = sort_sequences(interactions, USER_ID).frame
    held = position_from_end(frame, USER_ID) < n_targets
    users = []
    for user, rows in frame.groupby(USER_ID, sort=False):
        items = [str(i) for i in rows[ITEM_ID]]
        mask = held[rows.index.to_numpy()]
        prefix = [i for i, h in zip(items, mask, strict=True) if not h]
        seen = set(prefix)
        targets = list(dict.fromkeys(i for i, h in zip(items, mask, strict=True) if h))
        targets = [t for t in targets if t not in seen]
        if len(prefix) >= min_prefix and targets:
            users.append(SimulatedUser(str(user), tuple(prefix), tuple(targets)))
    return users


def prefix_interactions(
    interactions: Interactions, n_targets: int = DEFAULT_TARGETS
) -> Interactions:
    """Every user's events but the last `n_targets`: what a model for the simulation may
    train on, so no target of any user (simulated or not) is seen in training."""
    if not interactions.has_users:
        raise DataError("a user simulation needs user ids on every event")
    ordered = sort_sequences(interactions, USER_ID)
    keep = position_from_end(ordered.frame, USER_ID) >= n_targets
    return ordered.replace(ordered.frame[keep])


@dataclass
class _ModeTally:
    outcomes: list[SessionOutcome] = field(default_factory=list)
    diversity: list[float] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)


def best_jaccard(features: frozenset[str], profile: TargetProfile) -> float:
    """The item's highest Jaccard similarity of attributes to any one target."""
    return max(
        (len(features & t) / len(features | t) for t in profile.features if features | t),
        default=0.0,
    )


def simulate_session(
    engine: Recommending,
    user: SimulatedUser,
    facts: ItemFacts,
    mode: Mode,
    policy: UserPolicy,
    rng: np.random.Generator,
    request: RequestBuilder = profile_request,
    slates: list[tuple[str, ...]] | None = None,
) -> SessionOutcome:
    """One conversation of `user` with `engine` in `mode`; `slates` collects what was shown."""
    profile = facts.profile(user)
    wanted = profile.union
    targets = set(user.targets)
    prefix = tuple(SessionEvent(i, EventType.VIEW) for i in user.prefix[-MAX_PREFIX:])
    text: str | None = None
    leaks = 0
    if mode is Mode.QUERY:
        text = request(profile)
        titles = [facts.titles[t] for t in user.targets if t in facts.titles]
        if text is not None and leaks_title(text, titles):
            text, leaks = None, 1
    feedback: list[SessionEvent] = []
    shown: dict[str, int] = {}
    clicks = 0
    idle = 0
    for turn in range(1, policy.turns + 1):
        sends_feedback = mode is not Mode.STATIC
        query = Query(
            events=prefix + tuple(feedback) if sends_feedback else prefix,
            text=text,
            k=policy.k,
            filters=Filters(exclude_items=tuple(shown)) if shown else None,
            explain=False,
            impressions=dict(shown) if sends_feedback else {},
            explore=policy.explore if mode is Mode.EXPLORE else 0.0,
        )
        slate = engine.recommend(query, None, rng)
        ids = [item.item_id for item in slate.items]
        if slates is not None:
            slates.append(tuple(ids))
        hits = [rank for rank, item in enumerate(ids, start=1) if item in targets]
        if hits:
            return SessionOutcome(turn, hits[0], turn, clicks, False, leaks)
        u_click, u_like, u_dislike, u_pick = rng.random(4)
        for item in ids:
            shown[item] = shown.get(item, 0) + 1
        closeness = {i: best_jaccard(facts.features(i), profile) for i in ids}
        related = [i for i in ids if facts.of(i) & wanted and closeness[i] >= policy.min_jaccard]
        unrelated = [i for i in ids if not facts.of(i) & wanted]
        clicked = False
        if related and u_click < policy.p_click:
            # max keeps the first of equals: the best-placed among the closest.
            best = max(related, key=closeness.__getitem__)
            kind = EventType.LIKE if u_like < policy.p_like else EventType.CLICK
            feedback.append(SessionEvent(best, kind))
            clicks += 1
            clicked = True
        if unrelated and u_dislike < policy.p_dislike:
            pick = unrelated[int(u_pick * len(unrelated))]
            feedback.append(SessionEvent(pick, EventType.DISLIKE))
        idle = 0 if clicked else idle + 1
        if idle >= policy.patience and turn < policy.turns:
            return SessionOutcome(None, None, turn, clicks, True, leaks)
    return SessionOutcome(None, None, policy.turns, clicks, False, leaks)


def simulate(
    engine: Recommending,
    users: Sequence[SimulatedUser],
    facts: ItemFacts,
    policy: UserPolicy = UserPolicy(),
    seed: int = 0,
    modes: Sequence[Mode] = ALL_MODES,
    interests_engine: Recommending | None = None,
    request: RequestBuilder = profile_request,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Every user through every mode; the JSON of the issue: users, turns, k and per mode
    SR@1..SR@T, AT, hDCG, clicks, diversity, coverage, abandoned, leaks_dropped.

    `engine` should give unsplit slates (`Engine(max_interests=1)`); feedback+interests
    runs on `interests_engine` (an engine that splits sessions into interests). Coverage
    is the share of the catalogue's items shown at least once in the mode. `progress`
    gets (mode, users) per mode and returns what to call after each user.
    """
    if Mode.INTERESTS in modes and interests_engine is None:
        raise ConfigError("mode feedback+interests needs an interests_engine")
    rng = np.random.default_rng(seed)
    user_seeds = rng.integers(0, 2**63 - 1, size=len(users))
    result: dict[str, Any] = {
        "users": len(users),
        "turns": policy.turns,
        "k": policy.k,
        "seed": seed,
        "policy": asdict(policy),
        "modes": {},
    }
    n_items = max(len(facts.categories), 1)
    for mode in modes:
        system = interests_engine if mode is Mode.INTERESTS else engine
        assert system is not None  # checked above
        tally = _ModeTally()
        advance = progress(mode.value, len(users)) if progress is not None else None
        started = time.perf_counter()
        for user, user_seed in zip(users, user_seeds, strict=True):
            slates: list[tuple[str, ...]] = []
            outcome = simulate_session(
                system,
                user,
                facts,
                mode,
                policy,
                np.random.default_rng(int(user_seed)),
                request,
                slates,
            )
            tally.outcomes.append(outcome)
            if advance is not None:
                advance(1)
            for ids in slates:
                tally.diversity.append(slate_diversity([facts.of(i) for i in ids]))
                tally.shown.update(ids)
        diversity = float(np.mean(tally.diversity)) if tally.diversity else 0.0
        coverage = len(tally.shown) / n_items
        summary = summarise(tally.outcomes, policy.turns, diversity, coverage)
        result["modes"][mode.value] = summary
        at = min(10, policy.turns)
        logger.info(
            "simulated %d users in mode %s in %.1f s: SR@%d %.3f, AT %.2f",
            len(users),
            mode.value,
            time.perf_counter() - started,
            at,
            summary[f"SR@{at}"],
            summary["AT"],
        )
    return result


def sample_users(users: Sequence[SimulatedUser], n: int, seed: int = 0) -> list[SimulatedUser]:
    """`n` users drawn without replacement (all where fewer), in their original order."""
    if n >= len(users):
        return list(users)
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(users), size=n, replace=False))
    return [users[int(i)] for i in picked]


def validation_users(
    users: Sequence[SimulatedUser], n: int, n_test: int, seed: int = 0
) -> list[SimulatedUser]:
    """Up to `n` users that `sample_users(users, n_test, seed)` leaves out, in order: the
    users the engine's constants are chosen on, never the ones they are reported on."""
    test = {u.user_id for u in sample_users(users, n_test, seed)}
    return [u for u in users if u.user_id not in test][:n]


def simulate_artifact(
    artifact: str | Path,
    data: str | Path,
    users: int = 500,
    turns: int = 15,
    k: int = 10,
    seed: int = 0,
    n_targets: int = DEFAULT_TARGETS,
    modes: Sequence[Mode] = ALL_MODES,
    language: Language = Language.EN,
    progress: ProgressFactory | None = None,
    validation_of: int | None = None,
) -> dict[str, Any]:
    """What `sessionrec simulate` runs: users from `data` (a MovieLens-style log with a
    catalogue) against the engine over `artifact`, which must have been trained on
    `prefix_interactions(data, n_targets)` only (no target seen). With `validation_of`,
    `users` users from outside a test sample of that size (`validation_users`)."""
    from sessionrec.data.loaders import load_dataset
    from sessionrec.engine.engine import Engine
    from sessionrec.engine.interests import MAX_INTERESTS

    dataset = load_dataset(data)
    if dataset.catalogue is None:
        raise DataError("a user simulation needs a catalogue with item categories", path=data)
    facts = ItemFacts.from_catalogue(dataset.catalogue)
    population = users_from_interactions(dataset.interactions, n_targets)
    if not population:
        raise DataError(
            f"no user to simulate: a user needs at least {MIN_PREFIX} events before its last "
            f"{n_targets} (the hidden targets), and a target it has not seen before",
            path=data,
        )
    if validation_of is None:
        chosen = sample_users(population, users, seed)
    else:
        chosen = validation_users(population, users, validation_of, seed)
    engine = Engine.from_artifact(artifact, max_interests=1)
    interests = (
        Engine.from_artifact(artifact, max_interests=MAX_INTERESTS)
        if Mode.INTERESTS in modes
        else None
    )
    policy = UserPolicy(k=k, turns=turns)
    result = simulate(
        engine,
        chosen,
        facts,
        policy,
        seed,
        modes,
        interests,
        partial(profile_request, language=language),
        progress,
    )
    result["targets_per_user"] = n_targets
    result["language"] = language.value
    result["split"] = "test" if validation_of is None else "validation"
    return result
