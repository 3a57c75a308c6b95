"""Asking the model to re-order the top of the slate, listwise as RankGPT and LlamaRec do
(numbered candidates, the answer their numbers best first), and reading its answer as a
permutation of the candidates (`parse_order`), so it cannot bring in an item of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sessionrec.engine.generative.chat import LLMItem, describe, loads

RERANK_PICKS = 10
"""Candidates the model is asked to name, best first; the rest keep the ranking's order.
Naming ten of twenty costs a third of the tokens of ordering all twenty."""


def rerank_prompt(
    request_text: str | None, session_titles: Sequence[str], candidates: Sequence[LLMItem]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The listwise prompt: recent titles, the request, the numbered candidates."""
    lines = []
    if session_titles:
        lines.append(f"Recently viewed: {'; '.join(session_titles)}")
    if request_text:
        lines.append(f"Request: {json.dumps(request_text, ensure_ascii=False)}")
    lines.append("Candidates:")
    lines.extend(f"{n}. {describe(item)}" for n, item in enumerate(candidates, 1))
    count = len(candidates)
    picks = min(count, RERANK_PICKS)
    lines.append(
        f"Pick the {picks} candidates this user would like most, best first. "
        'Answer {"order": [numbers]}.'
    )
    schema = {
        "type": "object",
        "properties": {
            "order": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, count + 1))},
                "minItems": 1,
                "maxItems": picks,
            }
        },
        "required": ["order"],
        "additionalProperties": False,
    }
    messages = [
        {"role": "system", "content": "You are a recommender that ranks items for a user."},
        {"role": "user", "content": "\n".join(lines)},
    ]
    return messages, schema


def parse_order(answer: str, count: int) -> list[int] | None:
    """A permutation of range(count) from the model's numbers (1-based), best first.

    Numbers out of range and repeats are ignored; candidates the model left out follow in
    their own order. None when the answer names no candidate at all.
    """
    data = loads(answer)
    if isinstance(data, dict):
        data = data.get("order")
    if isinstance(data, list):
        numbers = [int(n) for n in data if isinstance(n, int) and not isinstance(n, bool)]
    else:
        numbers = [int(n) for n in re.findall(r"\d+", answer)]
    order: list[int] = []
    for number in numbers:
        position = number - 1
        if 0 <= position < count and position not in order:
            order.append(position)
    if not order:
        return None
    chosen = set(order)
    return order + [p for p in range(count) if p not in chosen]
