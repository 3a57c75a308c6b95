"""Asking the model to read a typed request, and checking what it says: the prompt and JSON
schema (`interpret_prompt`), the answer grounded in the catalogue's facets
(`parse_understood`: unknown categories, attributes and values dropped) and refused when
it turns around what the request names outright (`consistent`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from sessionrec.engine.generative.chat import RejectedAnswerError, loads
from sessionrec.engine.interpret import Facets, UnderstoodRequest

MAX_SOFT_CHARS = 300
"""Longest soft text taken from the model (the request itself is at most 500)."""


def interpret_prompt(text: str, facets: Facets) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The messages and JSON schema that ask the model to read `text` against `facets`."""
    categories = list(facets.categories)
    lines = [f"Categories: {', '.join(categories)}"]
    numeric = sorted(facets.numeric)
    if numeric:
        spans = "; ".join(f"{a} {_num(lo)}-{_num(hi)}" for a, (lo, hi) in facets.numeric.items())
        lines.append(f"Numbers: {spans}")
    strings = sorted(facets.values)
    for attribute in strings:
        shown = facets.values[attribute][:12]
        more = ", ..." if len(facets.values[attribute]) > len(shown) else ""
        lines.append(f"{attribute}: {', '.join(shown)}{more}")
    lines.append(
        "Answer in JSON: include = categories asked for, exclude = categories refused, "
        "ranges = numbers asked for, values = attribute values asked for, "
        "soft = any other wish (or null)."
    )
    lines.append(f"Request: {json.dumps(text, ensure_ascii=False)}")
    properties: dict[str, Any] = {
        "include": _string_list(categories, 4),
        "exclude": _string_list(categories, 4),
    }
    if numeric:
        bound = {"type": ["number", "null"]}
        properties["ranges"] = {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"attribute": {"enum": numeric}, "min": bound, "max": bound},
                "required": ["attribute", "min", "max"],
                "additionalProperties": False,
            },
        }
    if strings:
        properties["values"] = {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"attribute": {"enum": strings}, "value": {"type": "string"}},
                "required": ["attribute", "value"],
                "additionalProperties": False,
            },
        }
    # anyOf, not a type list: llama.cpp's grammar drops maxLength from a list of types,
    # and an unbounded string lets a small model ramble past max_tokens
    properties["soft"] = {"anyOf": [{"type": "string", "maxLength": 80}, {"type": "null"}]}
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    messages = [
        {
            "role": "system",
            "content": "You turn a request for items into JSON filters. "
            "Use only the listed categories and attributes.",
        },
        {"role": "user", "content": "\n".join(lines)},
    ]
    return messages, schema


def consistent(
    understood: UnderstoodRequest | None, embedded: UnderstoodRequest
) -> UnderstoodRequest | None:
    """The model's reading, unless it turns around what the embedded interpreter matched by
    a category's own name or synonym (high precision): refusing a category the request
    names as wanted, or asking for one it refuses. SmolLM2-135M does this often ("a
    romantic drama" read as exclude Romance); such a reading is worse than none."""
    if understood is None:
        return None
    flipped = [c for c in understood.exclude if c in embedded.include]
    flipped += [c for c in understood.include if c in embedded.exclude]
    if flipped:
        raise RejectedAnswerError(f"it contradicts the request's own words on {', '.join(flipped)}")
    return understood


def _string_list(choices: Sequence[str], limit: int) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string"}
    if choices:
        items = {"type": "string", "enum": list(choices)}
    return {"type": "array", "items": items, "maxItems": limit}


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def parse_understood(answer: str, facets: Facets) -> UnderstoodRequest | None:
    """The model's reading checked against the catalogue's facets; None when the answer is
    not a JSON object. Unknown categories, attributes and values are dropped; so is a
    range that is not numbers, runs backwards or misses the attribute's span entirely."""
    data = loads(answer)
    if not isinstance(data, dict):
        return None
    by_name = {c.casefold(): c for c in facets.categories}

    def categories(key: str) -> list[str]:
        raw = data.get(key)
        found: list[str] = []
        for name in raw if isinstance(raw, list) else []:
            category = by_name.get(str(name).strip().casefold())
            if category is not None and category not in found:
                found.append(category)
        return found

    include, exclude = categories("include"), categories("exclude")
    conflicts: list[str] = []
    both = [c for c in include if c in exclude]
    if both:
        # The interpreter's policy: a category both asked for and refused goes to neither.
        conflicts.append(f"asked for and refused at once: {', '.join(both)}")
        include = [c for c in include if c not in both]
        exclude = [c for c in exclude if c not in both]
    return UnderstoodRequest(
        include=tuple(include),
        exclude=tuple(exclude),
        ranges=_ranges(data.get("ranges"), facets),
        values=_values(data.get("values"), facets),
        soft=_soft(data.get("soft")),
        conflicts=tuple(conflicts),
    )


def _ranges(raw: Any, facets: Facets) -> dict[str, tuple[float | None, float | None]]:
    by_name = {a.casefold(): a for a in facets.numeric}
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        attribute = by_name.get(str(entry.get("attribute", "")).strip().casefold())
        lo, hi = _number(entry.get("min")), _number(entry.get("max"))
        if attribute is None or attribute in ranges or (lo is None and hi is None):
            continue
        if lo is not None and hi is not None and lo > hi:
            continue
        span_lo, span_hi = facets.numeric[attribute]
        if (lo is not None and lo > span_hi) or (hi is not None and hi < span_lo):
            continue  # nothing in the catalogue could match: a misreading, not a wish
        ranges[attribute] = (lo, hi)
    return ranges


def _values(raw: Any, facets: Facets) -> dict[str, tuple[str, ...]]:
    by_name = {a.casefold(): a for a in facets.values}
    values: dict[str, list[str]] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        attribute = by_name.get(str(entry.get("attribute", "")).strip().casefold())
        if attribute is None:
            continue
        known = {v.casefold(): v for v in facets.values[attribute]}
        value = known.get(str(entry.get("value", "")).strip().casefold())
        if value is not None and value not in values.get(attribute, []):
            values.setdefault(attribute, []).append(value)
    return {a: tuple(v) for a, v in values.items()}


def _soft(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.split())[:MAX_SOFT_CHARS]
    return text if text and text.casefold() not in ("null", "none") else None
