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
from sessionrec.engine.feedback import ResolvedSession
from sessionrec.engine.interpret import UnderstoodRequest
from sessionrec.engine.query import Interest, Reason

WEAK_ANCHOR = 0.5
"""Below this cosine the closest session item is named only when nothing else explains the
item (a request match, exploration): a far-fetched likeness is no reason."""

SECOND_ANCHOR_MIN = 0.6
"""A second session item is named only when it is this close (cosine) too: one clear
reason reads better than two vague ones."""

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
    request_reference: float
    """Mean cosine of the request over the catalogue: above it, an item matches."""
    understood: UnderstoodRequest | None = None
    """The request as interpreted: its facets name the match ("Horror, as you asked")."""


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


def anchor_reasons(
    context: SlateContext, rows: np.ndarray, explained: Sequence[bool]
) -> list[list[Reason]]:
    """Per slate row: the one or two session items closest to it (`explained`: the row
    already has another reason, so a weak likeness is left out)."""
    session = context.session
    out: list[list[Reason]] = [[] for _ in rows]
    if not len(session.seen) or not len(rows):
        return out
    similarity = context.similarity
    cosines = similarity.take(rows, axis=0) @ similarity.take(session.seen, axis=0).T  # (k, m)
    order = np.argsort(-cosines, axis=1, kind="stable")[:, :2].tolist()
    # Python lists from here on: ten rows of two anchors each, where numpy scalars would
    # cost more than the work. An anchor named by several rows is worded once.
    seen = session.seen.tolist()
    worded: dict[int, tuple[str, str, tuple[str, ...]]] = {}
    for r, (row_cosines, columns) in enumerate(zip(cosines.tolist(), order, strict=True)):
        for rank, col in enumerate(columns):
            cosine = row_cosines[col]
            if rank == 1 and cosine < SECOND_ANCHOR_MIN:
                break
            if rank == 0 and explained[r] and cosine < WEAK_ANCHOR:
                break
            anchor = seen[col]
            wording = worded.get(anchor)
            if wording is None:
                wording = _anchor_wording(context, anchor)
                worded[anchor] = wording
            kind, text, item_ids = wording
            out[r].append(Reason(kind, text, item_ids, round(cosine, 4)))
    return out


def _facet_reason(context: SlateContext, row: int) -> Reason | None:
    """ "Horror, as you asked; not Comedy; year 1970-1979": the parts of the understood
    request this item satisfies (every slate item satisfies the hard ones; of several
    asked categories relaxed to any of them, only those it has are named)."""
    understood = context.understood
    if understood is None:
        return None
    info = context.table.infos[row]
    has = {c.casefold() for c in info.categories}
    parts = []
    asked = [c for c in understood.include if c.casefold() in has]
    if asked:
        parts.append(f"{', '.join(asked)}, as you asked")
    if understood.exclude:
        parts.append("not " + " or ".join(understood.exclude))
    for attribute in understood.ranges:
        value = info.attributes.get(attribute)
        if value is not None:
            parts.append(f"{attribute} {_plain(value)}, as you asked")
    for attribute in understood.values:
        value = info.attributes.get(attribute)
        if value is not None:
            parts.append(f"{attribute} {value}, as you asked")
    if not parts:
        return None
    return Reason("request", "; ".join(parts), (), 1.0)


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
    """All reasons per slate row, most specific first."""
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
            if cosine > context.request_reference:
                text = f"matches your request {_quote(context.request)}"
                reasons.append(Reason("request", text, (), round(cosine, 4)))
        leading.append(reasons)
    anchors = anchor_reasons(context, rows, [bool(r) for r in leading])
    out: list[tuple[Reason, ...]] = []
    for r in range(len(rows)):
        reasons = leading[r] + anchors[r]
        interest = interest_of[r]
        if interest is not None and len(context.interests) > 1:
            chosen = context.interests[interest]
            text = f"for your interest in {chosen.label}"
            reasons.append(
                Reason("interest", text, chosen.item_ids[:MAX_NAMED], round(chosen.weight, 4))
            )
        if not reasons:
            reasons.append(Reason("popular", "popular in the catalogue", (), 0.0))
        out.append(tuple(reasons))
    return out


def interest_label(table: ItemTable, members: np.ndarray, taken: set[str]) -> str:
    """A short name for an interest: the category that best tells its members apart from
    the catalogue (shared by at least half of them, weighted by rarity, as tf-idf does), or
    else the title of its most recent member. Labels in `taken` are not reused."""
    infos = table.infos
    counts = Counter(chain.from_iterable(infos[row].categories for row in members.tolist()))
    best, best_score = None, 0.0
    for category, count in counts.items():
        if count * 2 < len(members) or category in taken:
            continue
        score = count * table.category_rarity(category)
        if best is None or score > best_score:
            best, best_score = category, score
    if best is not None:
        return best
    return f"things like {_quote(table.display_name(int(members[-1])))}"
