"""How well a catalogue file matches the events it is given with.

A catalogue from another system often uses other ids than the event log ("SKU-17" against
"17"), or is older or newer than it. Nothing fails then: items without an entry simply
have no text. So the match is counted and said, and a catalogue that shares no id at all
with the events, which is always a mistake, is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from sessionrec.data.schema import ITEM_ID, Catalogue, Interactions
from sessionrec.errors import DataError

logger = logging.getLogger(__name__)

_EXAMPLES = 3


@dataclass(frozen=True)
class CatalogueCoverage:
    """Counts of ids the catalogue and the events share, and of those only one side has."""

    source: str
    catalogue_items: int
    event_items: int
    missing_items: int
    """Items of the events with no catalogue entry (they get no text)."""
    missing_events: int
    """Events on those items."""
    catalogue_only: int
    """Catalogue items no event mentions (models that read text can still recommend them)."""
    missing_examples: tuple[str, ...] = ()

    @property
    def shared_items(self) -> int:
        return self.event_items - self.missing_items

    def describe(self) -> str:
        """One line for people: what matched and what did not."""
        line = f"catalogue {self.source}: {_count(self.catalogue_items, 'item')}"
        if self.missing_items == 0:
            line += f"; all {self.event_items:,} items of the events have an entry"
        else:
            examples = ", ".join(repr(i) for i in self.missing_examples)
            one = self.missing_items == 1
            line += (
                f"; {self.missing_items:,} of the {self.event_items:,} items of the events "
                f"({_count(self.missing_events, 'event')}) {'has' if one else 'have'} no "
                f"entry, e.g. {examples}, and {'gets' if one else 'get'} no text"
            )
        if self.catalogue_only:
            one = self.catalogue_only == 1
            line += (
                f"; {_count(self.catalogue_only, 'catalogue item')} "
                f"{'has' if one else 'have'} no events"
            )
        return line


def _count(n: int, noun: str) -> str:
    """'1 item', '3 items'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def catalogue_coverage(interactions: Interactions, catalogue: Catalogue) -> CatalogueCoverage:
    """Count the match; a `DataError` when the two share no item id at all.

    The result is logged too: at INFO when every event item has an entry, else a warning.
    """
    source = catalogue.source or "the catalogue"
    listed = pd.Index(catalogue.frame[ITEM_ID].astype(str))
    events = interactions.frame[ITEM_ID].astype(str)
    event_items = pd.Index(pd.unique(events))
    known = event_items.isin(listed)
    missing = event_items[~known]
    if len(event_items) and not known.any():
        raise DataError(
            f"none of the {len(event_items):,} items of the events is in the catalogue "
            f"({len(listed):,} items): catalogue ids look like "
            f"{', '.join(repr(i) for i in listed[:_EXAMPLES])}, event ids like "
            f"{', '.join(repr(i) for i in event_items[:_EXAMPLES])}; name the catalogue's "
            "id column (--catalogue-columns item_id=COLUMN) or check that both files come "
            "from the same system",
            path=catalogue.source or None,
        )
    coverage = CatalogueCoverage(
        source=source,
        catalogue_items=len(listed),
        event_items=len(event_items),
        missing_items=len(missing),
        missing_events=int(events.isin(missing).sum()),
        catalogue_only=int((~listed.isin(event_items)).sum()),
        missing_examples=tuple(str(i) for i in missing[:_EXAMPLES]),
    )
    if coverage.missing_items:
        logger.warning("%s", coverage.describe())
    else:
        logger.info("%s", coverage.describe())
    return coverage
