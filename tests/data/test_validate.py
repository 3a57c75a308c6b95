"""Every user-fixable problem in input files gives a `DataError` naming file, line and why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.data import validate
from sessionrec.data.loaders import (
    FORMATS,
    ColumnMapping,
    detect_format,
    load_catalogue,
    load_dataset,
)
from sessionrec.data.validate import Table
from sessionrec.errors import ConfigError, DataError

CLICKS_HEADER = "SessionId\tItemId\tTime\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, format: str = "auto") -> DataError:
    """The DataError that loading `path` raises; one line, naming the file."""
    with pytest.raises(DataError) as info:
        load_dataset(path, format)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return info.value


# --- the cases every loader must report -------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nope.tsv")
    assert "no such file" in str(error)
    assert error.path == str(tmp_path / "nope.tsv")
    with pytest.raises(DataError, match="no such file"):
        detect_format(tmp_path / "nope.tsv")


def test_missing_file_with_an_explicit_format(tmp_path: Path) -> None:
    for fmt in FORMATS:
        assert "no such file" in str(load_error(tmp_path / "nope", fmt))


def test_folder_with_nothing_loadable(tmp_path: Path) -> None:
    write(tmp_path / "notes.md", "hello\n")
    error = load_error(tmp_path)
    assert "nothing loadable" in str(error)
    assert "notes.md" in str(error) and "ratings.dat" in str(error)


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "clicks.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert "binary" in str(load_error(path))


def test_bad_encoding_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("session,item\ns,1\ns,caf\u00e9\n".encode("latin-1"))
    error = load_error(path)
    assert "not valid utf-8" in str(error)
    assert error.line == 3


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = write(tmp_path / "log.parquet", "this is not parquet\n")
    assert "not a readable Parquet file" in str(load_error(path))


@pytest.mark.parametrize("name", ["empty.tsv", "empty.csv", "empty.jsonl", "empty.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    assert "empty" in str(load_error(write(tmp_path / name, ""))).lower()


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    assert "empty" in str(load_error(write(tmp_path / "e.tsv", "\n\n  \n")))


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("clicks.txt", CLICKS_HEADER),
        ("log.csv", "session_id,item_id,timestamp\n"),
        ("x.inter", "user_id:token\titem_id:token\n"),
        ("ratings.csv", "userId,movieId,rating,timestamp\n"),
        ("blank_lines.csv", "session_id,item_id\n\n\n"),
    ],
)
def test_header_only(tmp_path: Path, name: str, header: str) -> None:
    assert "no data rows" in str(load_error(write(tmp_path / name, header)))


def test_misnamed_gru4rec_column_names_expected_and_found(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.tsv", "SessionId\tProduct\tTime\n1\t2\t3.0\n")
    error = load_error(path, "gru4rec")
    assert "missing column 'ItemId'" in str(error)
    assert "columns found: SessionId, Product, Time" in str(error)
    assert error.field == "ItemId"


def test_missing_generic_item_column_lists_synonyms_and_found(tmp_path: Path) -> None:
    error = load_error(write(tmp_path / "log.csv", "session,thing\n1,2\n"))
    message = str(error)
    assert "missing column 'item_id'" in message
    assert "columns found: session, thing" in message
    assert "sku" in message  # the recognised synonyms are named too


def test_missing_session_and_user_columns(tmp_path: Path) -> None:
    error = load_error(write(tmp_path / "log.csv", "item,time\n1,2\n"))
    assert "'session_id' or 'user_id'" in str(error)
    assert "columns found: item, time" in str(error)


def test_mapped_column_that_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "session,item\n1,2\n")
    with pytest.raises(DataError, match="missing column 'sku'; columns found: session, item"):
        load_dataset(path, mapping=ColumnMapping(item_id="sku"))


def test_missing_recbole_item_field(tmp_path: Path) -> None:
    path = write(tmp_path / "x.inter", "user_id:token\tmovie:token\n1\t2\n")
    error = load_error(path)
    assert "missing column 'item_id'" in str(error)
    assert "user_id:token, movie:token" not in str(error)  # plain names are listed
    assert "user_id, movie" in str(error)


def test_missing_movielens_csv_column(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.csv", "userId,movieId,rating\n1,2,3\n")
    assert "missing column 'timestamp'" in str(load_error(path, "movielens"))


def test_non_numeric_timestamp_gives_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.tsv", CLICKS_HEADER + "1\t2\t3.0\n1\t3\tyesterday\n")
    error = load_error(path)
    assert "line 3" in str(error) and "'yesterday'" in str(error)
    assert (error.line, error.field) == (3, "Time")


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.tsv", CLICKS_HEADER + "1\t2\t3.0\n\n\n1\t3\tx\n")
    assert load_error(path).line == 5


def test_empty_timestamp(tmp_path: Path) -> None:
    error = load_error(write(tmp_path / "bad.tsv", CLICKS_HEADER + "1\t2\t\n"))
    assert "empty timestamp" in str(error) and error.line == 2


def test_dates_are_refused_in_research_formats(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.tsv", CLICKS_HEADER + "1\t2\t2014-04-01\n")
    assert "expected Unix seconds" in str(load_error(path))


def test_bad_date_in_generic_format(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "session,item,time\ns,1,2024-01-01\ns,2,2024-13-45\n")
    error = load_error(path)
    assert error.line == 3 and "ISO-8601" in str(error)


def test_non_finite_timestamp(tmp_path: Path) -> None:
    assert load_error(write(tmp_path / "bad.tsv", CLICKS_HEADER + "1\t2\tinf\n")).line == 2


def test_non_numeric_recbole_rating(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t4\n1\t3\tfive\n"
    )
    error = load_error(path)
    assert (error.line, error.field) == (3, "rating") and "'five'" in str(error)


def test_empty_id(tmp_path: Path) -> None:
    error = load_error(write(tmp_path / "c.tsv", CLICKS_HEADER + "1\t2\t3\n1\t \t4\n"))
    assert "empty id" in str(error)
    assert (error.line, error.field) == (3, "ItemId")


def test_unknown_event_type_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "session,item,event\ns,1,view\ns,2,buy\ns,3,teleport\n")
    error = load_error(path)
    assert "unknown event type 'teleport'" in str(error)
    assert "valid: view, click" in str(error)
    assert (error.line, error.field) == (4, "event")


def test_empty_event_type(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "session,item,event\ns,1,view\ns,2,\n")
    error = load_error(path)
    assert "empty event type" in str(error) and error.line == 3


def test_unknown_format_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_dataset(tmp_path / "whatever", "xlsx")
    assert str(info.value).startswith("unknown format 'xlsx'; valid: auto, csv, gru4rec")
    with pytest.raises(ConfigError, match="unknown format"):
        load_catalogue(tmp_path / "whatever", "xlsx")


def test_ragged_row(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "session,item\ns,1\ns,2,extra\n")
    error = load_error(path)
    assert "expected 2 fields, found 3" in str(error) and error.line == 3


def test_invalid_json_line(tmp_path: Path) -> None:
    path = write(tmp_path / "log.jsonl", '{"session": "s", "item": 1}\n\n{"session": "s", item}\n')
    error = load_error(path)
    assert "not valid JSON" in str(error) and error.line == 3


def test_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    assert load_error(write(tmp_path / "log.jsonl", "[1, 2]\n")).line == 1


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pd.DataFrame({"session": ["s", "s"], "item": ["1", "2"], "time": ["1", "x"]}).to_parquet(path)
    error = load_error(path)
    assert "row 2" in str(error) and error.line is None


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pd.DataFrame(
        {"session": pd.Series([], dtype=str), "item": pd.Series([], dtype=str)}
    ).to_parquet(path)
    assert "no data rows" in str(load_error(path))


def test_directory_where_a_file_is_needed(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a directory"):
        load_catalogue(tmp_path)


# --- the checks themselves ---------------------------------------------------------------


def table(**columns: list[object]) -> Table:
    frame = pd.DataFrame(columns)
    return Table(frame, Path("t.csv"), np.arange(2, 2 + len(frame)))


def test_timestamps_accept_numbers_and_iso_dates() -> None:
    t = table(ts=["1.5", "1970-01-01T00:01:00Z", "1970-01-01T01:00:00+01:00", "1970-01-02"])
    assert validate.timestamps(t, "ts", allow_dates=True).tolist() == [1.5, 60.0, 0.0, 86400.0]
    with pytest.raises(DataError) as info:
        validate.timestamps(t, "ts")
    assert info.value.line == 3


def test_numbers_keep_blanks_as_nan() -> None:
    values = validate.numbers(table(v=["1", "", " 2.5 "]), "v")
    np.testing.assert_array_equal(values, [1.0, np.nan, 2.5])


def test_ids_may_allow_blanks() -> None:
    t = table(u=["a", "", None])
    assert validate.ids(t, "u", allow_blank=True).tolist() == ["a", None, None]
    with pytest.raises(DataError, match="empty id") as info:
        validate.ids(t, "u")
    assert info.value.line == 3


def test_ids_from_floats_lose_the_decimal_point() -> None:
    assert validate.ids(table(i=[1.0, 20.0]), "i").tolist() == ["1", "20"]
    assert validate.ids(table(i=[1.5, 2.0]), "i").tolist() == ["1.5", "2.0"]


def test_event_types_accept_synonyms() -> None:
    t = table(e=["View", "add-to-cart", "BUY", "like"])
    assert validate.event_types(t, "e").tolist() == ["view", "cart", "purchase", "like"]


def test_require_columns_lists_what_was_found() -> None:
    with pytest.raises(DataError, match="missing column 'b'; columns found: a, c") as info:
        validate.require_columns(["a", "c"], ["a", "b"], Path("x.csv"))
    assert info.value.field == "b"


@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1, max_size=30))
def test_timestamps_round_trip_through_text(values: list[float]) -> None:
    """The shortest repr of any float reads back as the same float."""
    t = table(ts=[repr(v) for v in values])
    assert validate.timestamps(t, "ts").tolist() == values


@given(st.lists(st.sampled_from(["1", "2.5", "x", "", "nan", "-3"]), min_size=1, max_size=20))
def test_numbers_report_the_first_bad_line(cells: list[str]) -> None:
    t = table(v=cells)
    bad = [i for i, c in enumerate(cells) if c in ("x", "nan")]
    if bad:
        with pytest.raises(DataError) as info:
            validate.numbers(t, "v")
        assert info.value.line == bad[0] + 2
    else:
        assert len(validate.numbers(t, "v")) == len(cells)
