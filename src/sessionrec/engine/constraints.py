"""The hard part of an understood request: which items may appear, and what to say when
none can.

An understood request (`interpret.UnderstoodRequest`) names facts about the catalogue:
categories asked for and refused, numeric ranges (year, price), attribute values (brand).
These are constraints, not preferences: a refused category never appears, and an item
outside an asked range is not shown because it scores well. Meaning of each part:

- include: items in *every* asked category ("an animated film for children" is Animation
  and Children's). Where no allowed item has them all, items in any of them, with a note
  saying so: a request for two categories that never meet still means something;
- exclude: items in *none* of the refused categories;
- ranges: the attribute's number within [lo, hi] (an item without the attribute fails);
- values / exclude_values: the attribute's value among those asked / refused.

When nothing satisfies the constraints the mask is empty and the note says which part
left nothing: the slate is empty rather than the request quietly ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sessionrec.engine.catalogue import ItemTable
from sessionrec.engine.interpret import UnderstoodRequest


@dataclass(frozen=True)
class Constraints:
    """The items an understood request allows, and notes on how it was applied."""

    mask: np.ndarray | None
    """(n,) bool of items that satisfy every hard constraint (None: there is none)."""
    notes: tuple[str, ...]
    """What a person should know: a relaxed include, or that nothing matches."""


def has_constraints(understood: UnderstoodRequest) -> bool:
    """Whether the request constrains which items may appear (not only how they rank)."""
    return bool(
        understood.include
        or understood.exclude
        or understood.ranges
        or understood.values
        or understood.exclude_values
    )


def apply_constraints(
    table: ItemTable, understood: UnderstoodRequest, allowed: np.ndarray
) -> Constraints:
    """The constraint mask of `understood` over `table`, given the items the query already
    allows (`allowed`: filters, dislikes and seen items applied), which decides whether an
    include of several categories must be relaxed to any of them."""
    if not has_constraints(understood):
        return Constraints(None, ())
    n = len(table)
    notes: list[str] = []
    mask = np.ones(n, dtype=bool)
    for category in understood.exclude:
        mask[table.category_rows(category)] = False
    for attribute, (lo, hi) in understood.ranges.items():
        mask &= _in_range(table.numeric_values(attribute), lo, hi)
    for attribute, values in understood.values.items():
        mask &= _any_value(table, attribute, values)
    for attribute, values in understood.exclude_values.items():
        mask &= ~_any_value(table, attribute, values)
    if understood.include:
        every = _categories(table, understood.include, every=True)
        if len(understood.include) > 1 and not (every & mask & allowed).any():
            notes.append(f"nothing is {_joined(understood.include, 'and')}: showing any of them")
            every = _categories(table, understood.include, every=False)
        mask &= every
    if not (mask & allowed).any():
        notes.append(f"nothing here is {_describe(understood)}")
    return Constraints(mask, tuple(notes))


def _categories(table: ItemTable, categories: Sequence[str], every: bool) -> np.ndarray:
    n = len(table)
    out = np.ones(n, dtype=bool) if every else np.zeros(n, dtype=bool)
    for category in categories:
        member = np.zeros(n, dtype=bool)
        member[table.category_rows(category)] = True
        out = out & member if every else out | member
    return out


def _in_range(values: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    inside = np.isfinite(values)  # an item without the attribute is outside every range
    with np.errstate(invalid="ignore"):
        if lo is not None:
            inside &= values >= lo
        if hi is not None:
            inside &= values <= hi
    return inside


def _any_value(table: ItemTable, attribute: str, values: Sequence[str]) -> np.ndarray:
    out = np.zeros(len(table), dtype=bool)
    for value in values:
        out[table.attribute_rows(attribute, value)] = True
    return out


def _joined(names: Sequence[str], word: str) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


def _describe(understood: UnderstoodRequest) -> str:
    """The constraints in words: "Horror, not Comedy, year 1970-1979"."""
    parts: list[str] = []
    if understood.include:
        parts.append(_joined(understood.include, "and"))
    if understood.exclude:
        parts.append("not " + _joined(understood.exclude, "or"))
    parts.extend(_range_words(understood.ranges))
    for attribute, values in understood.values.items():
        parts.append(f"{attribute} {_joined(values, 'or')}")
    for attribute, values in understood.exclude_values.items():
        parts.append(f"{attribute} not {_joined(values, 'or')}")
    return ", ".join(parts)


def _range_words(ranges: Mapping[str, tuple[float | None, float | None]]) -> list[str]:
    words = []
    for attribute, (lo, hi) in ranges.items():
        if lo is not None and hi is not None:
            words.append(f"{attribute} {_number(lo)}-{_number(hi)}")
        elif lo is not None:
            words.append(f"{attribute} {_number(lo)} or more")
        elif hi is not None:
            words.append(f"{attribute} up to {_number(hi)}")
    return words


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
