"""The GRU4Rec / session-rec TSV: a header `SessionId<TAB>ItemId<TAB>Time`, one click a line.

This is the format of the session-based benchmarks (session-rec, GRU4Rec's preprocessing
scripts); optional `UserId` and `Type` columns are read when present. Rows keep file order,
which breaks ties in time the way session-rec's evaluator does.
"""

from __future__ import annotations

from pathlib import Path

from sessionrec.data import validate
from sessionrec.data.loaders.tabular import events_from_table, read_delimited
from sessionrec.data.schema import (
    EVENT_TYPE,
    ITEM_ID,
    SESSION_ID,
    TIMESTAMP,
    USER_ID,
    Dataset,
    EventType,
    Interactions,
)

SESSION_COLUMN = "SessionId"
ITEM_COLUMN = "ItemId"
TIME_COLUMN = "Time"
REQUIRED: tuple[str, ...] = (SESSION_COLUMN, ITEM_COLUMN, TIME_COLUMN)
OPTIONAL: dict[str, str] = {"UserId": USER_ID, "Type": EVENT_TYPE}


def load_gru4rec_interactions(path: Path) -> Interactions:
    """Clicks in file order; every event is a "click" unless a `Type` column says otherwise."""
    table = read_delimited(path, sep="\t", quoted=False)
    validate.require_columns(table.columns, REQUIRED, path)
    columns = {SESSION_ID: SESSION_COLUMN, ITEM_ID: ITEM_COLUMN, TIMESTAMP: TIME_COLUMN}
    columns.update({field: name for name, field in OPTIONAL.items() if name in table.columns})
    return events_from_table(table, columns, default_event=EventType.CLICK, allow_dates=False)


def load_gru4rec(path: Path) -> Dataset:
    """One GRU4Rec TSV file as a `Dataset` (this format has no catalogue)."""
    return Dataset(load_gru4rec_interactions(path), None, path.stem, {"format": "gru4rec"})
