"""Asking the model for one sentence per slate item, and keeping only plain text of bounded
length from its answer (`parse_explanations`, `_sentence`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sessionrec.engine.generative.chat import LLMItem, clip, describe, loads

MAX_EXPLANATION_CHARS = 160
"""Longest explanation kept; the schema asks for at most `_EXPLANATION_SCHEMA_CHARS`."""

_EXPLANATION_SCHEMA_CHARS = 120
_KEY_TITLE_CHARS = 40
_ITEM_TEXT_CHARS = 160
"""Characters of an item's description shown to the model when explaining it."""


def explain_prompt(
    session_titles: Sequence[str], items: Sequence[LLMItem]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The prompt for one sentence per numbered item; the answer maps "1 Title".. to them."""
    lines = []
    if session_titles:
        lines.append(f"The user recently viewed: {'; '.join(session_titles)}")
    lines.append("Items:")
    for n, item in enumerate(items, 1):
        text = f": {clip(' '.join(item.text.split()), _ITEM_TEXT_CHARS)}" if item.text else ""
        lines.append(f"{n}. {describe(item)}{text}")
    lines.append("For each item write one short sentence on why this user may like it.")
    # Keys that carry the title: the model reads the item's name right before writing
    # about it (with bare numbers SmolLM2 drifts, writing item 2's sentence about item 1).
    keys = [f"{n} {clip(item.title, _KEY_TITLE_CHARS)}" for n, item in enumerate(items, 1)]
    sentence = {"type": "string", "maxLength": _EXPLANATION_SCHEMA_CHARS}
    schema = {
        "type": "object",
        "properties": {key: sentence for key in keys},
        "required": keys,
        "additionalProperties": False,
    }
    messages = [
        {"role": "system", "content": "You explain recommendations in plain, short sentences."},
        {"role": "user", "content": "\n".join(lines)},
    ]
    return messages, schema


def parse_explanations(answer: str, count: int) -> list[str | None] | None:
    """Sentences for items 1..count, by the number that starts each key ("2 Heat"); None
    where missing or empty, and None when the answer holds none at all."""
    data = loads(answer)
    raw: dict[int, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            number = re.match(r"\s*(\d+)", str(key))
            if number is not None:
                raw.setdefault(int(number[1]), value)
    elif isinstance(data, list):
        raw = dict(enumerate(data, 1))
    else:
        for match in re.finditer(r"^\s*(\d+)[.):]\s*(.+)$", answer, re.MULTILINE):
            raw[int(match[1])] = match[2]
    texts = [
        _sentence(raw[n]) if isinstance(raw.get(n), str) else None for n in range(1, count + 1)
    ]
    return texts if any(texts) else None


def _sentence(raw: str) -> str | None:
    """One tidy sentence: whitespace collapsed, at most `MAX_EXPLANATION_CHARS`, and a text
    cut off mid-sentence (by the schema's length limit) ended at its last full stop, or
    marked as cut."""
    text = " ".join(raw.split())
    cut = len(text) >= _EXPLANATION_SCHEMA_CHARS
    text = text[:MAX_EXPLANATION_CHARS]
    if cut and text[-1] not in ".!?…\"')":
        end = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        text = text[: end + 1] if end >= 20 else text + "…"
    return text or None
