"""Reasons a person can read for each slate item: which of their items it is like, which
of their interests it serves, how it matches what they typed.

Computed only for the k items of the slate (one small matrix product), so explaining costs
next to nothing next to ranking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from sessionrec.data.schema import EventType
from sessionrec.engine.catalogue import ItemTable
from sessionrec.engine.closeness import Closeness
from sessionrec.engine.feedback import ResolvedSession
from sessionrec.engine.interpret import UnderstoodRequest, as_number
from sessionrec.engine.query import Interest, Reason

CLOSE_SHARE = 0.05
"""'Close to X' is said of an item only when it is among X's closest 5 % of the catalogue
(text cosine, measured over the catalogue's fixed sample: `closeness`).
A measure relative to X's own neighbourhood holds for any encoder and any catalogue, where
a fixed cosine cut-off meant 'any two films' with one encoder and 'nothing' with another."""

CLOSE_AT_LEAST = 5
"""...and always its 5 closest items: in a shop of 30 products, 5 % is one item."""

REQUEST_SHARE = 0.05
"""'Matches your request' (for what the request left to words, not facets) only for items
among the catalogue's 5 % closest to the request's text, by the same measure."""

MAX_NAMED = 3
"""Interest members named in an interest reason."""

_VERBS = {
    EventType.PURCHASE: "bought",
    EventType.LIKE: "liked",
    EventType.CART: "put in your cart",
    EventType.CLICK: "opened",
    EventType.RATING: "rated",
    EventType.VIEW: "looked at",
}


@dataclass(frozen=True)
class SlateContext:
    """What the reasons of one slate are drawn from."""

    table: ItemTable
    similarity: np.ndarray
    session: ResolvedSession
    interests: Sequence[Interest]
    request: str | None
    request_cosines: np.ndarray | None
    """Cosine of the request to each slate item (None without a request)."""
    request_threshold: float
    """The cosine above which an item is among the catalogue's REQUEST_SHARE closest to
    the request's text (inf without a request)."""
    closeness: Closeness
    """Which items are among a session item's closest (the snapshot's measure)."""
    understood: UnderstoodRequest | None = None
    """The request as interpreted: its facets name the match ("Horror, as you asked")."""


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


def anchor_reasons(context: SlateContext, rows: np.ndarray) -> list[list[Reason]]:
    """Per slate row: the one or two session items it is close to, each only when the row
    is among that item's CLOSE_SHARE (at least CLOSE_AT_LEAST) closest items in the
    catalogue, closest first."""
    session = context.session
    out: list[list[Reason]] = [[] for _ in rows]
    if not len(session.seen) or not len(rows):
        return out
    similarity = context.similarity
    cosines = similarity.take(rows, axis=0) @ similarity.take(session.seen, axis=0).T  # (k, m)
    order = np.argsort(-cosines, axis=1, kind="stable")[:, :2]
    # Thresholds only for the session items some row could name: a few, not all of them.
    named = np.unique(order)
    thresholds = dict(
        zip(
            named.tolist(),
            context.closeness.thresholds(session.seen[named], CLOSE_SHARE, CLOSE_AT_LEAST).tolist(),
            strict=True,
        )
    )
    # Python lists from here on: ten rows of two anchors each, where numpy scalars would
    # cost more than the work. An anchor named by several rows is worded once.
    seen = session.seen.tolist()
    worded: dict[int, tuple[str, str, tuple[str, ...]]] = {}
    for r, (row_cosines, columns) in enumerate(zip(cosines.tolist(), order.tolist(), strict=True)):
        for col in columns:
            cosine = row_cosines[col]
            if cosine <= thresholds[col]:
                continue
            anchor = seen[col]
            wording = worded.get(anchor)
            if wording is None:
                wording = _anchor_wording(context, anchor)
                worded[anchor] = wording
            kind, text, item_ids = wording
            out[r].append(Reason(kind, text, item_ids, round(cosine, 4)))
    return out


def _facet_reason(context: SlateContext, row: int) -> Reason | None:
    """ "Horror, not Comedy, year 1975, as you asked": the parts of the understood request
    this item satisfies, each checked against the item itself (hard constraints relaxed
    or unmet leave items on the slate that do not satisfy them all)."""
    understood = context.understood
    if understood is None:
        return None
    info = context.table.infos[row]
    has = {c.casefold() for c in info.categories}
    parts = []
    asked = [c for c in understood.include if c.casefold() in has]
    if asked:
        parts.append(" and ".join(asked))
    refused = [c for c in understood.exclude if c.casefold() not in has]
    if refused and len(refused) == len(understood.exclude):
        parts.append("not " + " or ".join(refused))
    for attribute, (low, high) in understood.ranges.items():
        value = as_number(info.attributes.get(attribute))
        if value is not None and (low is None or value >= low) and (high is None or value <= high):
            parts.append(f"{attribute} {_plain(value)}")
    for attribute, wanted in understood.values.items():
        value = info.attributes.get(attribute)
        if value is not None and _same_value(value, wanted):
            parts.append(f"{attribute} {value}")
    if not parts:
        return None
    return Reason("request", ", ".join(parts) + ", as you asked", (), 1.0)


def _same_value(value: str, wanted: Sequence[str]) -> bool:
    return value.casefold() in {w.casefold() for w in wanted}


def _plain(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _anchor_wording(context: SlateContext, anchor: int) -> tuple[str, str, tuple[str, ...]]:
    """The kind, sentence and item ids of a reason naming session item `anchor`."""
    kind_of = context.session.liked_types.get(anchor, EventType.VIEW)
    verb = _VERBS.get(kind_of, "looked at")
    kind = "liked" if kind_of in (EventType.LIKE, EventType.PURCHASE) else "similar_to"
    name = context.table.display_name(anchor)
    text = f"close to {_quote(name)}, which you {verb}"
    return kind, text, (context.table.infos[anchor].item_id,)


def slate_reasons(
    context: SlateContext,
    rows: np.ndarray,
    interest_of: Sequence[int | None],
    explored: Sequence[bool],
    stats: Sequence[tuple[int, int] | None],
) -> list[tuple[Reason, ...]]:
    """All reasons per slate row, most specific first; each claims only what holds.

    `interest_of`: the interest each row belongs to by the session mixture's own model
    (`interests.interest_memberships`), not the slot it filled.
    """
    leading: list[list[Reason]] = []
    for r in range(len(rows)):
        reasons: list[Reason] = []
        if explored[r]:
            pos, neg = stats[r] or (0, 0)
            seen = f"{pos} of {pos + neg} people liked it so far" if pos + neg else "new to most"
            reasons.append(Reason("explore", f"something to try ({seen})", (), 0.0))
        facet_reason = _facet_reason(context, int(rows[r]))
        if facet_reason is not None:
            reasons.append(facet_reason)
        elif context.request_cosines is not None and context.request is not None:
            cosine = float(context.request_cosines[r])
            if cosine > context.request_threshold:
                text = f"matches your request {_quote(context.request)}"
                reasons.append(Reason("request", text, (), round(cosine, 4)))
        leading.append(reasons)
    anchors = anchor_reasons(context, rows)
    out: list[tuple[Reason, ...]] = []
    for r in range(len(rows)):
        reasons = leading[r] + anchors[r]
        interest = interest_of[r]
        if interest is not None and len(context.interests) > 1:
            chosen = context.interests[interest]
            if fits_label(context.table, int(rows[r]), chosen.label):
                text = f"for your interest in {chosen.label}"
                reasons.append(
                    Reason("interest", text, chosen.item_ids[:MAX_NAMED], round(chosen.weight, 4))
                )
        if not reasons and len(context.session.seen):
            reasons.append(Reason("session", "picked by the model from your session", (), 0.0))
        elif not reasons:
            reasons.append(Reason("popular", "popular in the catalogue", (), 0.0))
        out.append(tuple(reasons))
    return out


def interest_tags(
    table: ItemTable,
    rows: np.ndarray,
    interests: Sequence[Interest],
    belongs: Sequence[int | None],
) -> list[str | None]:
    """Per slate row, the interest label the item may be tagged with
    (`SlateItem.interest_label`): the interest it belongs to by the session mixture's own
    model (`belongs`; in a session of one interest, that one), where the item has the
    category the label names. The interest reasons follow the same rule."""
    tags: list[str | None] = []
    for row, member in zip(rows.tolist(), belongs, strict=True):
        if member is None and len(interests) == 1:
            member = 0
        label = None if member is None else interests[member].label
        tags.append(label if label is not None and fits_label(table, row, label) else None)
    return tags


def fits_label(table: ItemTable, row: int, label: str) -> bool:
    """Whether the item itself has the category an interest is labelled by (a label that
    names a title, "things like …", fits every member): the rule for naming an interest
    on an item, in a reason or in a slate item's `interest_label`."""
    categories = table.infos[row].categories
    return label.startswith("things like ") or label in categories


def interest_label(table: ItemTable, members: np.ndarray, taken: set[str]) -> str:
    """A short name for an interest: the category every one of its members has that best
    tells them apart from the catalogue (weighted by rarity, as tf-idf does), or else the
    title of its most recent member. A label names only what all members share; labels in
    `taken` are not reused."""
    infos = table.infos
    counts = Counter(chain.from_iterable(infos[row].categories for row in members.tolist()))
    best, best_score = None, 0.0
    for category, count in counts.items():
        if count < len(members) or category in taken:
            continue
        score = table.category_rarity(category)
        if best is None or score > best_score:
            best, best_score = category, score
    if best is not None:
        return best
    return f"things like {_quote(table.display_name(int(members[-1])))}"
