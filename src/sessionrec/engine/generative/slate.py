"""The engine's side of the layer: the session's recent titles, the slate's picks re-ordered
by the model (only among rows `select` already picked, so nothing the mask excluded can
enter) and the slate with the model's sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from sessionrec.engine.catalogue import ItemTable
from sessionrec.engine.generative.chat import LLMItem
from sessionrec.engine.generative.layer import GenerativeLayer
from sessionrec.engine.interests import SessionInterests
from sessionrec.engine.query import Slate
from sessionrec.engine.ranking import Picks, Ranking, select

_SESSION_TITLES = 5
"""Recent session titles shown to the model."""


def recent_titles(
    table: ItemTable, sequence: np.ndarray, limit: int = _SESSION_TITLES
) -> list[str]:
    """The titles of the session's last `limit` distinct context items, oldest first."""
    rows: list[int] = []
    for row in reversed(sequence.tolist()):
        if row not in rows:
            rows.append(int(row))
        if len(rows) == limit:
            break
    return [table.display_name(r) for r in reversed(rows)]


def _llm_item(table: ItemTable, row: int, with_text: bool = False) -> LLMItem:
    info = table.infos[row]
    return LLMItem(
        table.display_name(row), tuple(info.categories), info.text if with_text else None
    )


def rerank_picks(
    layer: GenerativeLayer,
    ranking: Ranking,
    interests: SessionInterests,
    k: int,
    table: ItemTable,
    request_text: str | None,
    session_titles: Sequence[str],
    deadline: float,
) -> Picks:
    """The slate's best `k` rows after the model re-orders the first max(k, rerank_top).

    Only rows `select` already picked are re-ordered, so nothing the mask excluded can
    enter; when the model does not answer, the picks are `select`'s own.
    """
    top = max(k, layer.options.rerank_top)
    if k <= 0 or layer.options.rerank_top <= 0:
        return select(ranking, interests, k)
    wide = select(ranking, interests, top)
    candidates = [_llm_item(table, row) for row in wide.rows]
    order = layer.rerank(request_text, session_titles, candidates, deadline)
    if order == list(range(len(wide.rows))):
        return select(ranking, interests, k)
    chosen = order[:k]
    return Picks(
        [wide.rows[i] for i in chosen],
        [wide.interests[i] for i in chosen],
        [wide.scores[i] for i in chosen],
        [wide.explored[i] for i in chosen],
    )


def explain_slate(
    layer: GenerativeLayer,
    slate: Slate,
    table: ItemTable,
    session_titles: Sequence[str],
    deadline: float,
) -> Slate:
    """The slate with each item's `explanation` written by the model (None where none)."""
    rows = [table.index[item.item_id] for item in slate.items]
    items = [_llm_item(table, row, with_text=True) for row in rows]
    texts = layer.explain(session_titles, items, deadline)
    explained = tuple(
        replace(item, explanation=text) for item, text in zip(slate.items, texts, strict=True)
    )
    return replace(slate, items=explained)
