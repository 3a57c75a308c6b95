"""Item text for the language model, built from catalogue fields by a format string.

A template such as ``"{title} ({year}). {categories}. {text}"`` names catalogue columns
(``title``, ``text``, ``categories``, ``item_id``) and keys of each item's ``attributes``
(``year``, ``genres``, ``description``, ...). Catalogues are patchy, so a field that is
empty for an item is dropped together with its brackets and the separator before it:
"Heat (1995). Action." and not "Heat (). Action. ." A value that repeats one already
written is skipped, and one that begins with everything written so far (loaders often
pre-build ``text`` from title, year and genres) replaces it, so nothing is said twice.

The default template is written for films; `ItemTextTemplate.for_catalogue` fits it to
the fields a catalogue has (a shop's items have no year), while a template a person wrote
is kept whole and its fields that no item has are warned about (a misspelling, likely).
Either report is made once per template, however many catalogues it builds.
"""

from __future__ import annotations

import logging
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.data.schema import ATTRIBUTES, Catalogue
from sessionrec.errors import ConfigError, DataError

__all__ = ["DEFAULT_TEMPLATE", "ItemTextTemplate"]

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "{title} ({year}). {categories}. {text}"
"""Title, year, genres and description: what a person would read to judge an item."""

_OPENING = "([{\"'"
_CLOSING = ")]}\"'"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class _Part:
    """One field with the brackets that hug it and the separator that precedes it."""

    field: str
    spec: str
    before: str  # separator written between this part and the previous written one
    opening: str  # e.g. "(" written only when the field is
    closing: str  # e.g. ")" written only when the field is


@dataclass(frozen=True)
class ItemTextTemplate:
    """Builds one text per catalogue item from a format string over its fields.

    `allow_id_fallback`: when no template field has a value for any item, log a warning
    and give every item empty text (the model then uses item ids alone) instead of raising
    `DataError`.
    """

    template: str = DEFAULT_TEMPLATE
    """Format string; fields are catalogue columns or attribute keys, e.g. "{title}"."""
    allow_id_fallback: bool = False
    """Whether a catalogue without any usable text is a warning (ids only) or an error."""
    _parts: tuple[_Part, ...] = field(init=False, repr=False, compare=False)
    _prefix: str = field(init=False, repr=False, compare=False)
    _suffix: str = field(init=False, repr=False, compare=False)
    _reported: set[tuple[str, ...]] = field(init=False, repr=False, compare=False)
    """Field sets already reported missing: one report per template, not one per build
    (the engine builds a one-item catalogue for every item it adds)."""

    def __post_init__(self) -> None:
        prefix, parts, suffix = _parse(self.template)
        object.__setattr__(self, "_parts", parts)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_suffix", suffix)
        object.__setattr__(self, "_reported", set())

    @classmethod
    def for_catalogue(
        cls,
        catalogue: Catalogue,
        template: str = DEFAULT_TEMPLATE,
        allow_id_fallback: bool = False,
    ) -> ItemTextTemplate:
        """The template to build `catalogue`'s texts with.

        The default template loses the fields no item has ("{title}. {categories}.
        {text}" for a shop without years): the texts are the same, since an empty field
        is dropped anyway, but nothing is reported missing that nobody asked for. Any other
        template is kept whole.
        """
        whole = cls(template, allow_id_fallback)
        if template != DEFAULT_TEMPLATE:
            return whole
        present = _present_fields(catalogue, whole.fields)
        kept = tuple(p for p in whole._parts if p.field in present)
        if not kept or len(kept) == len(whole._parts):
            return whole  # nothing to drop, or nothing left: `build` explains the latter
        return cls(_unparse(whole._prefix, kept, whole._suffix), allow_id_fallback)

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names the template uses, in order."""
        return tuple(p.field for p in self._parts)

    def texts(self, catalogue: Catalogue) -> list[str]:
        """One text per catalogue row, in row order, without any check or report."""
        columns = set(catalogue.frame.columns) - {ATTRIBUTES}
        return [
            self.render(_item_fields(record, columns))
            for record in catalogue.frame.to_dict("records")
        ]

    def build(self, catalogue: Catalogue) -> list[str]:
        """One text per catalogue row, in row order; "" for an item with no field values.

        Raises `DataError` naming the template fields when no item has any of them, unless
        `allow_id_fallback`, which returns all-empty texts with a warning.
        """
        frame = catalogue.frame
        texts = self.texts(catalogue)
        used = _present_fields(catalogue, self.fields)
        unused = tuple(f for f in self.fields if f not in used)
        if unused and used:
            self._report_unused(unused, catalogue)
        if not any(texts) and len(texts) > 0:
            message = (
                f"no item has text for the template {self.template!r}: none of its fields "
                f"{list(self.fields)} has a value (catalogue columns: "
                f"{sorted(str(c) for c in frame.columns)}; attribute keys count as fields too)"
            )
            if not self.allow_id_fallback:
                raise DataError(
                    message + "; pass a template naming fields the catalogue has, or allow "
                    "the fallback to item ids",
                    path=catalogue.source or None,
                )
            if self._first_report(()):
                logger.warning("%s; falling back to item ids alone", message)
        return texts

    def _first_report(self, key: tuple[str, ...]) -> bool:
        """True the first time `key` is to be reported by this template."""
        if key in self._reported:
            return False
        self._reported.add(key)
        return True

    def _report_unused(self, unused: tuple[str, ...], catalogue: Catalogue) -> None:
        """Say once which template fields no item has."""
        if not self._first_report(unused):
            return
        source = catalogue.source or "the catalogue"
        if self.template == DEFAULT_TEMPLATE:
            # The film-shaped default meeting another kind of catalogue: nothing is wrong.
            kept = [f for f in self.fields if f not in unused]
            logger.info(
                "%s has no %s for any item; item texts are built from %s",
                source,
                ", ".join(unused),
                ", ".join(kept),
            )
        else:
            # Likely a misspelt field or one this catalogue lacks; the others still serve.
            logger.warning(
                "item text template fields %s have no value for any item of %s",
                list(unused),
                source,
            )

    def render(self, values: Mapping[str, Any]) -> str:
        """The text for one item from its field values; missing or empty fields are dropped."""
        written: list[str] = []
        seen: set[str] = set()
        for part in self._parts:
            value = _format_value(values.get(part.field), part.spec)
            said = value.casefold()
            if not value or said in seen:
                continue  # empty, or the same words as a field already written
            so_far = "".join(written).casefold().rstrip(" .,;:")
            if so_far and said.startswith(so_far):
                # This value begins with everything written so far (a loader's pre-built
                # description), so it alone is the text.
                written.clear()
            if written:
                written.append(part.before)
            written.append(f"{part.opening}{value}{part.closing}")
            seen.add(said)
        if not written:
            return ""
        return _SPACES.sub(" ", self._prefix + "".join(written) + self._suffix).strip()


def _parse(template: str) -> tuple[str, tuple[_Part, ...], str]:
    """Split a template into a prefix, its field parts and a suffix.

    The literal text between two fields is read as: closing brackets of the field before,
    then the separator, then opening brackets of the field after ("). (" → ")", ". ", "(").
    """
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(
            f"item text template {template!r} is not a format string: {exc}"
        ) from None
    literals: list[str] = []
    names: list[tuple[str, str]] = []
    for literal, name, spec, conversion in pieces:
        literals.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or conversion:
            raise ConfigError(
                f"item text template field {{{name}}} must be a plain name such as "
                "{title}, {year}, {categories}; conversions and indexing are not supported"
            )
        names.append((name, spec or ""))
    if not names:
        raise ConfigError(
            f"item text template {template!r} names no field; use e.g. {DEFAULT_TEMPLATE!r}"
        )
    # One literal before each field and one after the last (possibly empty).
    literals += [""] * (len(names) + 1 - len(literals))
    prefix_text, first_opening = _split_opening(literals[0])
    closings: list[str] = []
    befores: list[str] = [""]
    openings: list[str] = [first_opening]
    for literal in literals[1 : len(names)]:
        closing, rest = _split_closing(literal)
        before, opening = _split_opening(rest)
        closings.append(closing)
        befores.append(before)
        openings.append(opening)
    last_closing, suffix = _split_closing(literals[len(names)])
    closings.append(last_closing)
    parts = tuple(
        _Part(field=n, spec=s, before=b, opening=o, closing=c)
        for (n, s), b, o, c in zip(names, befores, openings, closings, strict=True)
    )
    return prefix_text, parts, suffix


def _unparse(prefix: str, parts: tuple[_Part, ...], suffix: str) -> str:
    """The format string `_parse` reads back as `prefix`, `parts` and `suffix`."""

    def literal(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    pieces = [literal(prefix)]
    for index, part in enumerate(parts):
        if index:
            pieces.append(literal(part.before))
        spec = f":{part.spec}" if part.spec else ""
        pieces.append(f"{literal(part.opening)}{{{part.field}{spec}}}{literal(part.closing)}")
    pieces.append(literal(suffix))
    return "".join(pieces)


def _present_fields(catalogue: Catalogue, wanted: tuple[str, ...]) -> set[str]:
    """Which of the `wanted` fields at least one item of the catalogue has a value for."""
    columns = set(catalogue.frame.columns) - {ATTRIBUTES}
    present: set[str] = set()
    for record in catalogue.frame.to_dict("records"):
        values = _item_fields(record, columns)
        present.update(f for f in wanted if not _is_empty(values.get(f)))
        if len(present) == len(set(wanted)):
            break
    return present


def _split_closing(literal: str) -> tuple[str, str]:
    """Leading closing brackets (they end the field before) and the rest."""
    stripped = literal.lstrip(_CLOSING)
    return literal[: len(literal) - len(stripped)], stripped


def _split_opening(literal: str) -> tuple[str, str]:
    """The rest and the trailing opening brackets (they start the field after)."""
    stripped = literal.rstrip(_OPENING)
    return stripped, literal[len(stripped) :]


def _item_fields(record: Mapping[Any, Any], columns: set[Any]) -> dict[str, Any]:
    """An item's fields: its attributes, overridden by the catalogue columns of the same name."""
    values: dict[str, Any] = {}
    attributes = record.get(ATTRIBUTES)
    if isinstance(attributes, Mapping):
        values.update({str(k): v for k, v in attributes.items()})
    for column in columns:
        value = record.get(column)
        if not _is_empty(value):
            values[str(column)] = value
    return values


def _is_empty(value: Any) -> bool:
    """None, NaN/NA, blank strings and empty collections count as no value."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | dict | np.ndarray):
        return len(value) == 0
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _format_value(value: Any, spec: str) -> str:
    """A field value as text: lists joined by ", ", whole floats without ".0"."""
    if _is_empty(value):
        return ""
    if isinstance(value, list | tuple | set | np.ndarray):
        items = [_format_value(v, "") for v in value]
        text = ", ".join(i for i in items if i)
    elif isinstance(value, Mapping):
        pairs = [(str(k), _format_value(v, "")) for k, v in value.items()]
        text = "; ".join(f"{k}: {v}" for k, v in pairs if v)
    elif spec:
        try:
            text = format(value, spec)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"format spec {spec!r} does not fit value {value!r}: {exc}") from None
    elif isinstance(value, float | np.floating) and math.isfinite(value) and value.is_integer():
        text = str(int(value))  # a year stored as 1995.0 reads "1995"
    else:
        text = str(value)
    return _SPACES.sub(" ", text).strip()
