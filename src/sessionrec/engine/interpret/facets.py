"""What a catalogue offers to ground a request in: categories, numeric and small string
attributes, read once per catalogue version."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.data.schema import ATTRIBUTES, CATEGORIES
from sessionrec.engine.interpret.numbers import as_number

MAX_VALUES = 200
"""String attributes with more distinct values than this (titles, ids) are not matched."""

NUMERIC_SHARE = 0.9
"""Share of an attribute's non-empty values that must read as numbers for it to be numeric."""


@dataclass(frozen=True)
class Facets:
    """What a request can be grounded in, built once per catalogue version."""

    categories: tuple[str, ...]
    """Distinct category names, as the catalogue spells them (most frequent first)."""
    numeric: Mapping[str, tuple[float, float]]
    """Numeric attribute -> (min, max) over the catalogue, e.g. year, price."""
    values: Mapping[str, tuple[str, ...]]
    """String attribute -> distinct values (e.g. brand), for attributes with few only."""
    integers: frozenset[str] = frozenset()
    """Numeric attributes whose values are all whole numbers: "before 1990" is <= 1989."""

    @classmethod
    def from_catalogue(cls, frame: pd.DataFrame) -> Facets:
        """Read the facets of a catalogue frame (columns of `data.schema`)."""
        counts: dict[str, int] = {}
        if CATEGORIES in frame:
            for cats in frame[CATEGORIES]:
                if isinstance(cats, list | tuple | np.ndarray):
                    for cat in cats:
                        name = str(cat).strip()
                        if name:
                            counts[name] = counts.get(name, 0) + 1
        seen: dict[str, list[Any]] = {}
        if ATTRIBUTES in frame:
            for attrs in frame[ATTRIBUTES]:
                if isinstance(attrs, Mapping):
                    for key, value in attrs.items():
                        if value is None or (isinstance(value, float) and math.isnan(value)):
                            continue
                        seen.setdefault(str(key), []).append(value)
        numeric: dict[str, tuple[float, float]] = {}
        integers: set[str] = set()
        values: dict[str, tuple[str, ...]] = {}
        for key, raw in seen.items():
            numbers = [n for n in (as_number(v) for v in raw) if n is not None]
            if numbers and len(numbers) >= NUMERIC_SHARE * len(raw):
                numeric[key] = (min(numbers), max(numbers))
                if all(n == int(n) for n in numbers):
                    integers.add(key)
                continue
            distinct = sorted({str(v).strip() for v in raw if str(v).strip()})
            if 0 < len(distinct) <= MAX_VALUES:
                values[key] = tuple(distinct)
        ordered = tuple(sorted(counts, key=lambda c: (-counts[c], c)))
        return cls(ordered, numeric, values, frozenset(integers))
