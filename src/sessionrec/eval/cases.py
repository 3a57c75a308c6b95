"""Request cases: a session, an optional typed request and the items that should follow.

The requests protocol (`sessionrec evaluate --protocol requests`) scores such cases through
the interactive engine. This module owns their file format and builds them from a dataset,
so steering can be measured offline on any catalogue with categories.

One case per line of a JSONL file::

    {"events": [{"item_id": "12", "type": "view"}], "query": "a comedy film",
     "targets": ["31"], "kind": "category"}

"query" is optional (a case without one measures the engine without a request), "type"
defaults to "view", ids may be written as JSON strings or integers, "kind" is a free label
the builder writes. Any other key is an error, so a misspelt "query" is not silently
measured as no request.

`build_cases` follows the leave-one-out split (RecBole 'LS'): per user, the last
`history` events before the held-out test item are the events, the test item is the
target, and the request is built by templates from the target's own categories and
attributes only, never from its id or title.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sessionrec.data.schema import (
    ATTRIBUTES,
    CATEGORIES,
    ITEM_ID,
    MAX_QUERY_CHARS,
    Catalogue,
    EventType,
    Interactions,
)
from sessionrec.data.vocab import UNKNOWN_INDEX
from sessionrec.errors import ConfigError, DataError, unknown_choice
from sessionrec.eval.protocols import LOO_MAX_HISTORY, prepare_leave_one_out

CASE_KEYS = frozenset({"events", "query", "targets", "kind", "id"})
"""The keys a case line may have."""


class CaseKind(StrEnum):
    """What kind of request `build_cases` writes."""

    CATEGORY = "category"
    """A category the target has: "a comedy film"."""
    EXCLUSION = "exclusion"
    """A category the history has and the target lacks, excluded: "anything but drama"."""
    ERA = "era"
    """The target's decade: "a film from the 1990s"."""
    NONE = "none"
    """No request: the engine on the session alone."""


class Language(StrEnum):
    """The language of the request templates."""

    EN = "en"
    ZH = "zh"


GENRES_ZH: dict[str, str] = {
    "Action": "动作",
    "Adventure": "冒险",
    "Animation": "动画",
    "Children's": "儿童",
    "Comedy": "喜剧",
    "Crime": "犯罪",
    "Documentary": "纪录",
    "Drama": "剧情",
    "Fantasy": "奇幻",
    "Film-Noir": "黑色",
    "Horror": "恐怖",
    "Musical": "歌舞",
    "Mystery": "悬疑",
    "Romance": "爱情",
    "Sci-Fi": "科幻",
    "Thriller": "惊悚",
    "War": "战争",
    "Western": "西部",
}
"""MovieLens' 18 genres in Chinese; any other category keeps its own name."""

IGNORED_CATEGORIES = frozenset({"unknown", "(no genres listed)"})
"""Placeholders for a missing genre, never a request."""

TEMPLATES: dict[CaseKind, dict[Language, tuple[str, ...]]] = {
    CaseKind.CATEGORY: {
        Language.EN: ("{a} {category} film", "something {category}", "{category} films, please"),
        Language.ZH: ("{category}的电影", "来一部{category}片", "想看{category}电影"),
    },
    CaseKind.EXCLUSION: {
        Language.EN: ("anything but {category}", "no {category} films, please"),
        Language.ZH: ("不要{category}", "除了{category}片都行"),
    },
    CaseKind.ERA: {
        Language.EN: ("a film from the {decade}s", "something from the {decade}s"),
        Language.ZH: ("{decade}年代的电影", "来一部{decade}年代的片子"),
    },
}
"""Request templates per kind and language; one is drawn per case with the seed."""

_E = TypeVar("_E", bound=StrEnum)
_DECADE = re.compile(r"^\s*(\d{3,4})")


@dataclass(frozen=True)
class CaseEvent:
    """One event of a case's session: an item id and an event type's name."""

    item_id: str
    type: str = EventType.VIEW.value


@dataclass(frozen=True)
class RequestCase:
    """One case: the session, the request (None: none) and the items that count as hits."""

    events: tuple[CaseEvent, ...]
    targets: tuple[str, ...]
    query: str | None = None
    kind: str | None = None
    line: int | None = None
    """Line of the file the case was read from, for error reports."""

    def to_json(self) -> dict[str, Any]:
        """The case as one JSONL line's object."""
        out: dict[str, Any] = {
            "events": [{"item_id": e.item_id, "type": e.type} for e in self.events]
        }
        if self.query is not None:
            out["query"] = self.query
        out["targets"] = list(self.targets)
        if self.kind is not None:
            out["kind"] = self.kind
        return out

    def item_ids(self) -> list[str]:
        """Every item id the case names: events first, then targets."""
        return [e.item_id for e in self.events] + list(self.targets)


# -- the file format --------------------------------------------------------------------------


def write_cases(cases: Iterable[RequestCase], path: str | Path) -> int:
    """Write cases as JSONL (UTF-8, Chinese kept readable); the number written."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", encoding="utf-8") as handle:
        for case in cases:
            handle.write(json.dumps(case.to_json(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_cases(path: str | Path) -> list[RequestCase]:
    """Every case of a JSONL file, in order; a `DataError` naming the line of the first bad
    one. Blank lines are skipped; a file without a case is an error."""
    source = Path(path)
    if not source.exists():
        raise DataError("no such file or directory", path=source)
    if source.is_dir():
        raise DataError("is a directory, expected a JSONL file of cases", path=source)
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", path=source) from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", path=source) from None
    cases = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            cases.append(parse_case(raw, source, number))
    if not cases:
        raise DataError("holds no cases (one JSON object per line expected)", path=source)
    return cases


def parse_case(raw: str, path: str | Path | None = None, line: int | None = None) -> RequestCase:
    """One line of a cases file; a `DataError` at `path`, `line` when it is not a case."""

    def error(message: str) -> DataError:
        return DataError(message, path=path, line=line)

    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise error(f"a case must be a JSON object, got {type(value).__name__}")
    extra = sorted(set(value) - CASE_KEYS)
    if extra:
        raise error(f"unknown key(s) {extra}; a case has {sorted(CASE_KEYS)}")
    for key in ("events", "targets"):
        if key not in value:
            raise error(f'missing "{key}"')
    events_raw = value["events"]
    if not isinstance(events_raw, list):
        raise error('"events" must be a list of {"item_id", "type"} objects')
    events = []
    for position, event in enumerate(events_raw):
        if not isinstance(event, dict) or "item_id" not in event:
            raise error(f'event {position}: must be an object with "item_id" (and "type")')
        unknown = sorted(set(event) - {"item_id", "type"})
        if unknown:
            raise error(f"event {position}: unknown key(s) {unknown}")
        item_id = _item_id(event["item_id"], f"event {position}: item_id", error)
        kind = event.get("type", EventType.VIEW.value)
        if not isinstance(kind, str):
            raise error(f"event {position}: type must be a string, got {kind!r}")
        try:
            parsed = EventType.parse(kind)
        except ValueError as exc:
            raise error(f"event {position}: {exc}") from None
        events.append(CaseEvent(item_id, parsed.value))
    targets_raw = value["targets"]
    if not isinstance(targets_raw, list) or not targets_raw:
        raise error('"targets" must be a non-empty list of item ids')
    targets = tuple(
        dict.fromkeys(_item_id(t, f"target {i}", error) for i, t in enumerate(targets_raw))
    )
    query = value.get("query")
    if query is not None:
        if not isinstance(query, str) or not query.strip():
            raise error('"query" must be a non-empty string (leave it out for no request)')
        if len(query) > MAX_QUERY_CHARS:
            raise error(f'"query" has {len(query)} characters; the limit is {MAX_QUERY_CHARS}')
    kind_label = value.get("kind")
    if kind_label is not None and not isinstance(kind_label, str):
        raise error(f'"kind" must be a string, got {kind_label!r}')
    return RequestCase(tuple(events), targets, query, kind_label, line)


def _item_id(value: object, what: str, error: Any) -> str:
    """An id written as a non-empty string or an integer (12 reads as "12")."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise error(f"{what} must be a string or an integer, got {value!r}")
    item_id = str(value)
    if not item_id.strip():
        raise error(f"{what} must not be empty")
    return item_id


# -- building cases from a dataset ------------------------------------------------------------


def category_name(category: str, language: Language) -> str:
    """A category as a request writes it: lower case in English, Chinese where known."""
    if language is Language.ZH:
        return GENRES_ZH.get(category, category)
    return category.lower()


def decade_of(attributes: Mapping[str, Any]) -> int | None:
    """The decade (1990) from a "year" (1995) or "decade" ("1990s") attribute, if any."""
    for key in ("year", "decade"):
        raw = attributes.get(key)
        if raw is None or isinstance(raw, bool):
            continue
        if isinstance(raw, int | float) and np.isfinite(raw):
            return int(raw) // 10 * 10
        match = _DECADE.match(str(raw))
        if match:
            return int(match.group(1)) // 10 * 10
    return None


def request_text(
    kind: CaseKind,
    language: Language,
    rng: np.random.Generator,
    category: str | None = None,
    decade: int | None = None,
) -> str:
    """One request from a template drawn with `rng`, filled with a category or a decade."""
    templates = TEMPLATES[kind][language]
    template = templates[int(rng.integers(len(templates)))]
    if kind is CaseKind.ERA:
        if decade is None:
            raise ConfigError("an era request needs a decade")
        return template.format(decade=decade)
    if category is None:
        raise ConfigError(f"a {kind.value} request needs a category")
    name = category_name(category, language)
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return template.format(category=name, a=article)


def build_cases(
    data: Interactions,
    catalogue: Catalogue,
    kind: CaseKind | str = CaseKind.CATEGORY,
    language: Language | str = Language.EN,
    history: int = LOO_MAX_HISTORY,
    max_cases: int | None = None,
    seed: int = 0,
) -> list[RequestCase]:
    """Leave-one-out cases with requests built from the targets' categories and attributes.

    Per user (sequence), the last `history` events before the test item are the events
    and the test item is the single target. A user whose target gives the kind nothing to
    build from (no category; no category of the history it lacks; no year) is left out.
    `max_cases` keeps a seeded random sample of that many users, in their original order.
    Everything random (sample, category, template) comes from `seed`.
    """
    kind = _choice(CaseKind, kind, "case kind")
    language = _choice(Language, language, "language")
    if isinstance(history, bool) or not isinstance(history, int) or history < 1:
        raise ConfigError(f"history must be a positive number of events, got {history!r}")
    if max_cases is not None and (isinstance(max_cases, bool) or max_cases < 1):
        raise ConfigError(f"max_cases must be a positive number, got {max_cases!r}")
    rng = np.random.default_rng(seed)
    prepared = prepare_leave_one_out(data, max_history=history)
    cases = prepared.test_cases
    vocab = cases.vocab
    categories, attributes = _item_fields(catalogue)
    if kind is not CaseKind.NONE and not categories and not attributes:
        raise DataError("the catalogue has no items", path=catalogue.source or None)
    types = list(EventType)
    order = np.arange(len(cases))
    if max_cases is not None and max_cases < len(order):
        order = np.sort(rng.choice(order, size=max_cases, replace=False))
    out = []
    for i in order:
        target_index = int(cases.targets[i])
        if target_index == UNKNOWN_INDEX:
            continue
        target = vocab.ids[target_index]
        prefix = vocab.decode(cases.prefixes[i])
        events = tuple(
            CaseEvent(item, types[int(code)].value)
            for item, code in zip(prefix, cases.event_types[i], strict=True)
        )
        query = _request_for(kind, language, rng, target, prefix, categories, attributes)
        if query is None and kind is not CaseKind.NONE:
            continue
        out.append(RequestCase(events, (target,), query, kind.value))
    return out


def _request_for(
    kind: CaseKind,
    language: Language,
    rng: np.random.Generator,
    target: str,
    history: Sequence[str],
    categories: Mapping[str, tuple[str, ...]],
    attributes: Mapping[str, Mapping[str, Any]],
) -> str | None:
    """The request for one case, from the target's fields only; None where there is none."""
    if kind is CaseKind.NONE:
        return None
    own = categories.get(target, ())
    if kind is CaseKind.CATEGORY:
        if not own:
            return None
        return request_text(kind, language, rng, category=own[int(rng.integers(len(own)))])
    if kind is CaseKind.EXCLUSION:
        seen = Counter(c for item in history for c in categories.get(item, ()) if c not in own)
        if not seen:
            return None
        # The category the history holds most (ties by name): what a person tired of it
        # would exclude.
        category = min(seen, key=lambda c: (-seen[c], c))
        return request_text(kind, language, rng, category=category)
    decade = decade_of(attributes.get(target, {}))
    if decade is None:
        return None
    return request_text(kind, language, rng, decade=decade)


def _item_fields(
    catalogue: Catalogue,
) -> tuple[dict[str, tuple[str, ...]], dict[str, Mapping[str, Any]]]:
    """Item id → its usable categories, and → its attributes."""
    frame = catalogue.frame
    categories: dict[str, tuple[str, ...]] = {}
    attributes: dict[str, Mapping[str, Any]] = {}
    for item, cats, attrs in zip(frame[ITEM_ID], frame[CATEGORIES], frame[ATTRIBUTES], strict=True):
        usable = tuple(
            str(c) for c in (cats if isinstance(cats, list | tuple | np.ndarray) else ()) if c
        )
        categories[str(item)] = tuple(c for c in usable if c not in IGNORED_CATEGORIES)
        attributes[str(item)] = attrs if isinstance(attrs, Mapping) else {}
    return categories, attributes


def _choice(enum: type[_E], value: _E | str, what: str) -> _E:
    """A member of `enum` from itself or its value; ConfigError listing the valid ones."""
    try:
        return enum(value)
    except ValueError:
        raise unknown_choice(what, str(value), [m.value for m in enum]) from None
