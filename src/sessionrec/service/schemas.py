"""Request and response bodies of the HTTP API (they also make the OpenAPI page at /docs).

Events in a batch are deliberately loose here (`dict` per event): each one is checked on its
own by the events route, so one bad event is reported by index while the rest are stored,
instead of the whole batch failing validation.

Every constraint the service checks is in the schema, so that a request the schema allows
is one the service accepts. Most are enforced here (a 422 `validation_error` naming the
field); the few the routes check themselves to answer with a code of their own (`empty_query`,
`query_too_long`, `batch_too_large`) are only declared: with `json_schema_extra` here, and by
`openapi.py` where the bound is a limit the service was started with.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from sessionrec.data.vocab import MAX_ITEM_ID_CHARS
from sessionrec.engine.catalogue import MAX_ITEM_TEXT_CHARS
from sessionrec.engine.query import MAX_EXPLORE, MAX_K, MAX_QUERY_CHARS

FeedbackKind = Literal["like", "dislike", "skip", "click", "purchase"]

SPACES = r"\x09-\x0d\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What `str.strip()` removes, as a regex class body. Spelt out rather than `\\s`, whose
meaning differs between Python, pydantic's Rust engine and JSON Schema's ECMA-262 (which
leaves out \\x1c-\\x1f and \\x85 and adds \\ufeff), so all three agree on a pattern."""

NON_BLANK = f"[^{SPACES}]"
"""Somewhere a character `str.strip()` keeps: the service strips names and ids and refuses
what is left empty."""

MAX_FILTER_CATEGORIES = 50
MAX_FILTER_EXCLUDED = 1000

NonBlank = Annotated[str, StringConstraints(min_length=1, pattern=NON_BLANK)]
"""A name the service strips and needs non-empty: a category, an item title."""

ItemIdIn = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ITEM_ID_CHARS, pattern=NON_BLANK)
]
"""What `check_item_id` accepts."""

AttributeName = Annotated[str, StringConstraints(min_length=1)]


def _integral(value: Any) -> Any:
    """85.0 as 85: JSON Schema's `integer` includes it (and clients written in JavaScript
    send it), while strict validation would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral)]
"""An integer as JSON Schema has it: 85 and 85.0, not "85", true or 85.5."""

QueryText = Annotated[
    str,
    Field(
        description=f"Typed request, 1..{MAX_QUERY_CHARS} characters, not only spaces; "
        "leave it out (or null) for none.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": NON_BLANK},
    ),
]
"""Checked by the route (422 `empty_query`, `query_too_long`), only declared here."""


class Strict(BaseModel):
    """Unknown fields are an error: a misspelt option should not be silently ignored. Types
    are strict too, as the schema says them: `"k": "10"` or `"explore": false` is refused
    rather than read as 10 and 0.0."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SessionCreated(BaseModel):
    session_id: str
    token: str = Field(description="Send as 'Authorization: Bearer TOKEN'; shown only once.")


class EventOut(BaseModel):
    item_id: str
    type: str
    timestamp: float


class SessionOut(BaseModel):
    session_id: str
    events: list[EventOut]
    n_events: int


class EventsIn(Strict):
    events: list[Any] = Field(
        description='Each {"item_id": str, "type": str, "timestamp"?: unix seconds}; each is '
        "checked on its own and a bad one is listed in `rejected` while the rest are stored.",
    )  # at most `Limits.max_events_per_batch` (413 `batch_too_large`): openapi.py says so


class Rejected(BaseModel):
    index: int
    error: str


class EventsResult(BaseModel):
    accepted: int
    rejected: list[Rejected]


class FiltersIn(Strict):
    categories: list[NonBlank] = Field(default_factory=list, max_length=MAX_FILTER_CATEGORIES)
    attributes: dict[AttributeName, str] = Field(default_factory=dict)
    exclude_items: list[ItemIdIn] = Field(default_factory=list, max_length=MAX_FILTER_EXCLUDED)


class RecommendIn(Strict):
    k: JsonInt = Field(10, ge=1, le=MAX_K)
    query: QueryText | None = None
    filters: FiltersIn | None = None
    exclude_seen: bool = True
    explain: bool = True
    explore: float = Field(0.0, ge=0.0, le=MAX_EXPLORE)


class ReasonOut(BaseModel):
    kind: str
    text: str
    item_ids: list[str]


class SlateItemOut(BaseModel):
    item_id: str
    score: float
    title: str | None
    reasons: list[ReasonOut]
    interest: int | None = Field(
        None,
        description="The session interest (an index into `interests`) whose share of "
        "the slate this item fills.",
    )
    interest_label: str | None = Field(
        None,
        description="The label of the interest the item belongs to by the session's mixture, "
        "where the item itself has the category the label names: what a 'for Horror' tag may "
        "say. Null otherwise; not always the label of `interest`.",
    )
    categories: list[str] = Field(
        default_factory=list, description="The item's categories in the catalogue."
    )
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description="The catalogue's own attributes of the item (a film's year, a product's "
        "brand or price), as text.",
    )
    explanation: str | None = Field(
        None, description="One sentence on why the item is here (null when not explained)."
    )


class InterestOut(BaseModel):
    weight: float
    item_ids: list[str]
    label: str


class SlateOut(BaseModel):
    items: list[SlateItemOut]
    interests: list[InterestOut]
    unknown_items: list[str] = Field(default_factory=list)
    understood: dict[str, Any] | None = Field(
        None,
        description="How the typed request was read: include, exclude, ranges, values, "
        "exclude_values, soft, avoid, conflicts (null without a request).",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="What to know about the request: contradictions, constraints nothing "
        "in the catalogue meets (the slate may then be short or empty).",
    )


class FeedbackIn(Strict):
    item_id: ItemIdIn
    kind: FeedbackKind


class FeedbackOut(BaseModel):
    item_id: str
    kind: str
    recorded: bool


class ItemIn(Strict):
    title: Annotated[NonBlank, StringConstraints(max_length=MAX_QUERY_CHARS)]
    text: str | None = Field(None, max_length=MAX_ITEM_TEXT_CHARS)
    categories: list[NonBlank] = Field(default_factory=list, max_length=MAX_FILTER_CATEGORIES)
    attributes: dict[AttributeName, str] = Field(default_factory=dict)


class ItemOut(BaseModel):
    item_id: str
    title: str | None
    categories: list[str]
    attributes: dict[str, str]
    text: str | None = None


class ItemsOut(BaseModel):
    items: list[ItemOut]


class ReloadOut(BaseModel):
    n_items: int
    artifact: str
    seconds: float


class HealthOut(BaseModel):
    status: Literal["ok"]


class EngineOut(BaseModel):
    n_items: int
    artifact: str


class ReadyOut(BaseModel):
    ready: bool
    engine: EngineOut
    store: bool


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, machine-readable: clients branch on it.")
    message: str = Field(description="For people; may change between versions.")
    details: Any = Field(
        None,
        description="More about the problem, or null: for `validation_error` a list of "
        "{loc, msg, type}, one per bad field.",
    )


class ErrorOut(BaseModel):
    """The body of every error response (`errors.error_body`)."""

    error: ErrorInfo
