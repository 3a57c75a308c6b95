"""What a prompt and its parser share: an item as the model sees it (`LLMItem`, `describe`),
text cut to a bound (`clip`), the JSON in a chatty answer (`loads`), and how a parser
refuses a well-formed answer (`RejectedAnswerError`, which the layer logs as its reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LLMItem:
    """One item as the model sees it."""

    title: str
    categories: tuple[str, ...] = ()
    text: str | None = None


class RejectedAnswerError(ValueError):
    """A well-formed answer that is still not taken (the message says why)."""


def clip(text: str, limit: int = 120) -> str:
    """`text`, or its first `limit` characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


def loads(answer: str) -> Any:
    """The JSON in an answer, also when the model wrapped it in prose or a code fence."""
    try:
        return json.loads(answer)
    except json.JSONDecodeError:
        pass
    start = min((i for i in (answer.find("{"), answer.find("[")) if i >= 0), default=-1)
    end = max(answer.rfind("}"), answer.rfind("]"))
    if start >= 0 and end > start:
        try:
            return json.loads(answer[start : end + 1])
        except json.JSONDecodeError:
            return None
    return None


def describe(item: LLMItem) -> str:
    """The item's title with its categories in parentheses, as a prompt lists it."""
    categories = f" ({', '.join(item.categories)})" if item.categories else ""
    return f"{item.title}{categories}"
