"""Request and response bodies of the HTTP API (they also make the OpenAPI page at /docs).

Events in a batch are deliberately loose here (`dict` per event): each one is checked on its
own by the events route, so one bad event is reported by index while the rest are stored,
instead of the whole batch failing validation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sessionrec.engine.query import MAX_EXPLORE, MAX_K, MAX_QUERY_CHARS

FeedbackKind = Literal["like", "dislike", "skip", "click", "purchase"]


class Strict(BaseModel):
    """Unknown fields are an error: a misspelt option should not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


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
        description='Each {"item_id": str, "type": str, "timestamp"?: unix seconds}.'
    )


class Rejected(BaseModel):
    index: int
    error: str


class EventsResult(BaseModel):
    accepted: int
    rejected: list[Rejected]


class FiltersIn(Strict):
    categories: list[str] = Field(default_factory=list, max_length=50)
    attributes: dict[str, str] = Field(default_factory=dict)
    exclude_items: list[str] = Field(default_factory=list, max_length=1000)


class RecommendIn(Strict):
    k: int = Field(10, ge=1, le=MAX_K)
    query: str | None = Field(None, description=f"Typed request, 1..{MAX_QUERY_CHARS} chars.")
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
    interest: int | None = None
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
    item_id: str = Field(min_length=1, max_length=256)
    kind: FeedbackKind


class FeedbackOut(BaseModel):
    item_id: str
    kind: str
    recorded: bool


class ItemIn(Strict):
    title: str = Field(min_length=1, max_length=500)
    text: str | None = Field(None, max_length=10_000)
    categories: list[str] = Field(default_factory=list, max_length=50)
    attributes: dict[str, str] = Field(default_factory=dict)


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
