"""The GRU4Rec / session-rec TSV: a header `SessionId<TAB>ItemId<TAB>Time`, one click a line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sessionrec.data.loaders.common import read_delimited
from sessionrec.data.schema import (
    EVENT_TYPE,
    ITEM_ID,
    SESSION_ID,
    TIMESTAMP,
    USER_ID,
    Dataset,
    EventType,
    Interactions,
    normalise_events,
)
from sessionrec.data.validate import (
    event_type_column,
    id_column,
    numeric_column,
    require_columns,
    require_rows,
)

REQUIRED = ("SessionId", "ItemId", "Time")


def load_gru4rec(path: Path) -> Dataset:
    """Clicks in file order; optional `UserId` and `Type` columns are read when present."""
    frame = read_delimited(path, "\t")
    require_columns(frame.columns, REQUIRED, path, hint="the GRU4Rec/session-rec format")
    require_rows(frame, path)
    events = pd.DataFrame(
        {
            SESSION_ID: id_column(frame, "SessionId", path, header_lines=1),
            ITEM_ID: id_column(frame, "ItemId", path, header_lines=1),
            TIMESTAMP: numeric_column(frame, "Time", path, header_lines=1),
        }
    )
    if "UserId" in frame:
        events[USER_ID] = id_column(frame, "UserId", path, header_lines=1)
    events[EVENT_TYPE] = (
        event_type_column(frame, "Type", path, header_lines=1)
        if "Type" in frame
        else EventType.CLICK.value
    )
    return Dataset(Interactions(normalise_events(events), str(path)), None, path.stem)
