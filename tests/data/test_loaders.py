"""Loaders: each source format into the canonical schema, in file order.

Fixtures are tiny files written here; the shared data sets are read only by the tests
marked `shared_data`, which check the counts their READMEs give.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionrec.data.loaders import (
    FORMATS,
    CatalogueMapping,
    ColumnMapping,
    DataOptions,
    catalogue_coverage,
    detect_format,
    load_catalogue,
    load_dataset,
    load_interactions,
)
from sessionrec.data.loaders.movielens import split_title
from sessionrec.data.loaders.tabular import describe_item, split_categories
from sessionrec.data.schema import EVENT_COLUMNS, EventType
from sessionrec.errors import ConfigError, DataError

GENRES_100K = 19


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a fixture file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def u_item_line(item_id: int, title: str, date: str, genres: set[int]) -> str:
    """One `u.item` line with the given genre flags set."""
    flags = "|".join("1" if g in genres else "0" for g in range(GENRES_100K))
    return f"{item_id}|{title}|{date}||http://example.invalid/{item_id}|{flags}\n"


# --- GRU4Rec / session-rec TSV ---------------------------------------------------------


def test_gru4rec_tsv_keeps_file_order_and_ids_as_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "clicks.txt",
        "SessionId\tItemId\tTime\n2\t0042\t20.5\n1\t7\t10.0\n1\t0042\t1396437466.94\n",
    )
    assert detect_format(path) == "gru4rec"
    dataset = load_dataset(path)
    events = dataset.interactions.frame
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["session_id"].tolist() == ["2", "1", "1"]
    assert events["item_id"].tolist() == ["0042", "7", "0042"]
    assert events["timestamp"].tolist() == [20.5, 10.0, 1396437466.94]
    assert events["event_type"].tolist() == ["click"] * 3
    assert events["user_id"].isna().all() and events["value"].isna().all()
    assert dataset.catalogue is None
    assert dataset.interactions.source == str(path)
    assert dataset.interactions.has_sessions


def test_gru4rec_optional_user_and_type_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "log.tsv",
        "SessionId\tUserId\tItemId\tTime\tType\n1\tu1\t5\t1\tclick\n1\tu1\t6\t2\tbuy\n",
    )
    events = load_interactions(path).frame
    assert events["user_id"].tolist() == ["u1", "u1"]
    assert events["event_type"].tolist() == ["click", "purchase"]


def test_gru4rec_rejects_a_column_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "log.tsv", "SessionId\tItemId\tTime\n1\t5\t1\n")
    with pytest.raises(ConfigError, match="no column mapping"):
        load_dataset(path, "gru4rec", ColumnMapping(item_id="ItemId"))


# --- RecBole atomic files ---------------------------------------------------------------


def recbole_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "toy"
    write(
        folder / "toy.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "1\t10\t4\t100\n1\t11\t5\t90\n2\t10\t3\t95\n",
    )
    write(
        folder / "toy.item",
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\t"
        "score:float\n"
        '10\tLa Jetée\t1962\tSci-Fi Drama\t4.5\n11\t"Alien"\t1979\tHorror\t\n',
    )
    return folder


def test_recbole_folder_loads_events_and_catalogue(tmp_path: Path) -> None:
    folder = recbole_folder(tmp_path)
    assert detect_format(folder) == "recbole"
    dataset = load_dataset(folder)
    events = dataset.interactions.frame
    # File order, not time order: protocols sort stably later.
    assert events["user_id"].tolist() == ["1", "1", "2"]
    assert events["item_id"].tolist() == ["10", "11", "10"]
    assert events["timestamp"].tolist() == [100.0, 90.0, 95.0]
    assert events["value"].tolist() == [4.0, 5.0, 3.0]
    assert events["event_type"].tolist() == ["rating"] * 3
    assert events["session_id"].isna().all()
    assert dataset.name == "toy"
    assert dataset.catalogue is not None
    jetee = dataset.catalogue.item("10")
    assert jetee["title"] == "La Jetée"
    assert jetee["categories"] == ["Sci-Fi", "Drama"]
    assert jetee["attributes"] == {"year": 1962, "score": 4.5}
    assert jetee["text"] == "La Jetée (1962). Sci-Fi, Drama."
    # No quoting in atomic files: quote characters are part of the title.
    assert dataset.catalogue.item("11")["title"] == '"Alien"'
    assert dataset.catalogue.item("11")["attributes"] == {"year": 1979}


def test_recbole_inter_file_reads_the_item_file_beside_it(tmp_path: Path) -> None:
    folder = recbole_folder(tmp_path)
    dataset = load_dataset(folder / "toy.inter")
    assert dataset.catalogue is not None and len(dataset.catalogue) == 2
    assert detect_format(folder / "toy.inter") == "recbole"


def test_recbole_without_rating_is_views_and_may_have_sessions(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.inter",
        "session_id:token\titem_id:token\ttimestamp:float\na\t1\t5\na\t2\t6\n",
    )
    dataset = load_dataset(path)
    assert dataset.catalogue is None
    events = dataset.interactions.frame
    assert events["session_id"].tolist() == ["a", "a"]
    assert events["event_type"].tolist() == ["view", "view"]


def test_recbole_folder_with_several_inter_files(tmp_path: Path) -> None:
    header = "user_id:token\titem_id:token\n"
    write(tmp_path / "d" / "d.train.inter", header + "1\t1\n")
    write(tmp_path / "d" / "d.test.inter", header + "1\t2\n")
    with pytest.raises(DataError, match=r"several '\.inter' files") as info:
        load_dataset(tmp_path / "d")
    assert "d.test.inter" in str(info.value)
    write(tmp_path / "d" / "d.inter", header + "1\t3\n")
    assert load_interactions(tmp_path / "d").frame["item_id"].tolist() == ["3"]


def test_recbole_header_needs_types(tmp_path: Path) -> None:
    path = write(tmp_path / "x.inter", "user_id\titem_id:token\n1\t2\n")
    with pytest.raises(DataError, match="not 'name:type'") as info:
        load_dataset(path)
    assert info.value.line == 1


def test_recbole_item_file_is_not_an_event_file(tmp_path: Path) -> None:
    folder = recbole_folder(tmp_path)
    with pytest.raises(DataError, match=r"pass the '\.inter' file"):
        load_dataset(folder / "toy.item")
    assert len(load_catalogue(folder / "toy.item")) == 2


# --- MovieLens ------------------------------------------------------------------------


def test_movielens_100k_folder(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    write(
        tmp_path / "u.item",
        u_item_line(242, "Kolya (1996)", "24-Jan-1997", {3, 5})
        + u_item_line(302, "Café Lumière (2003)", "01-Jan-2003", set())
        + u_item_line(267, "unknown", "", {0})
        + u_item_line(5, "No Year Here", "01-Jan-1970", {8}),
        encoding="latin-1",
    )
    assert detect_format(tmp_path) == "movielens"
    dataset = load_dataset(tmp_path)
    events = dataset.interactions.frame
    assert events["user_id"].tolist() == ["196", "186"]
    assert events["item_id"].tolist() == ["242", "302"]
    assert events["value"].tolist() == [3.0, 3.0]
    assert events["event_type"].tolist() == ["rating", "rating"]
    catalogue = dataset.catalogue
    assert catalogue is not None and len(catalogue) == 4
    kolya = catalogue.item("242")
    assert kolya["title"] == "Kolya"
    assert kolya["categories"] == ["Animation", "Comedy"]
    assert kolya["attributes"]["year"] == 1996
    assert kolya["attributes"]["release_date"] == "24-Jan-1997"
    assert kolya["text"] == "Kolya (1996). Animation, Comedy."
    assert catalogue.item("302")["title"] == "Café Lumière"  # Latin-1 decoded
    assert catalogue.item("267")["categories"] == ["unknown"]
    assert "year" not in catalogue.item("267")["attributes"]
    # Without a year in the title, the release date gives it.
    assert catalogue.item("5")["attributes"]["year"] == 1970


def test_movielens_100k_splits_and_rating_file_alone(tmp_path: Path) -> None:
    path = write(tmp_path / "u1.base", "1\t2\t5\t100\n")
    assert detect_format(path) == "movielens"
    dataset = load_dataset(path)
    assert dataset.catalogue is None
    assert dataset.interactions.frame["timestamp"].tolist() == [100.0]


def test_movielens_100k_wrong_field_count(tmp_path: Path) -> None:
    path = write(tmp_path / "u.data", "1\t2\t5\n")
    with pytest.raises(DataError, match="expected 4 fields per line"):
        load_dataset(path)


def test_movielens_1m_files(tmp_path: Path) -> None:
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    write(
        tmp_path / "movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::Star Wars: Episode IV - A New Hope (1977)::Action|Sci-Fi\n",
        encoding="latin-1",
    )
    assert detect_format(tmp_path) == "movielens"
    assert detect_format(tmp_path / "ratings.dat") == "movielens"
    dataset = load_dataset(tmp_path / "ratings.dat")
    events = dataset.interactions.frame
    assert events["timestamp"].tolist() == [978300760.0, 978302109.0]
    assert events["item_id"].tolist() == ["1193", "661"]
    assert dataset.catalogue is not None
    star_wars = dataset.catalogue.item("661")
    assert star_wars["title"] == "Star Wars: Episode IV - A New Hope"
    assert star_wars["categories"] == ["Action", "Sci-Fi"]
    assert star_wars["attributes"] == {"year": 1977}


def test_movielens_1m_bad_movie_line(tmp_path: Path) -> None:
    write(tmp_path / "ratings.dat", "1::1::5::978300760\n")
    write(tmp_path / "movies.dat", "1::Toy Story (1995)::Animation\n2::Broken\n")
    with pytest.raises(DataError, match="expected 3") as info:
        load_dataset(tmp_path)
    assert info.value.line == 2


def test_movielens_latest_csv(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n")
    write(
        tmp_path / "movies.csv",
        "movieId,title,genres\n"
        '1,"American President, The (1995)",Comedy|Drama|Romance\n'
        "2,Babylon 5,(no genres listed)\n",
    )
    assert detect_format(tmp_path / "ratings.csv") == "movielens"
    dataset = load_dataset(tmp_path)
    assert dataset.catalogue is not None
    president = dataset.catalogue.item("1")
    assert president["title"] == "American President, The"
    assert president["categories"] == ["Comedy", "Drama", "Romance"]
    babylon = dataset.catalogue.item("2")
    assert (babylon["title"], babylon["categories"], babylon["attributes"]) == (
        "Babylon 5",
        [],
        {},
    )
    assert dataset.interactions.frame["value"].tolist() == [4.0]


def test_movielens_takes_no_column_mapping(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "1\t2\t5\t100\n")
    with pytest.raises(ConfigError):
        load_dataset(tmp_path, mapping=ColumnMapping(user_id="u"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Toy Story (1995)", ("Toy Story", 1995)),
        ("Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)", ("Shanghai Triad (Yao a "
         "yao yao dao waipo qiao)", 1995)),
        ("Babylon 5", ("Babylon 5", None)),
        ("  Heat (1995)  ", ("Heat", 1995)),
        ("Stranger Things (2016–)", ("Stranger Things (2016–)", None)),
    ],
)  # fmt: skip
def test_split_title(raw: str, expected: tuple[str, int | None]) -> None:
    assert split_title(raw) == expected


# --- generic formats -------------------------------------------------------------------


def test_generic_csv_with_synonyms_dates_and_event_types(tmp_path: Path) -> None:
    path = write(
        tmp_path / "log.csv",
        "visitorId,productId,ts,action\n"
        "v1,p1,2024-01-01T00:00:00Z,view\n"
        "v1,p2,2024-01-01T00:00:10Z,add-to-cart\n"
        "v1,p3,1704067220.5,Purchase\n",
    )
    assert detect_format(path) == "csv"
    events = load_interactions(path).frame
    assert events["user_id"].tolist() == ["v1", "v1", "v1"]
    assert events["item_id"].tolist() == ["p1", "p2", "p3"]
    assert events["timestamp"].tolist() == [1704067200.0, 1704067210.0, 1704067220.5]
    assert events["event_type"].tolist() == ["view", "cart", "purchase"]
    assert events["session_id"].isna().all()


def test_generic_value_column_means_ratings(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating,time\na,1,4.5,10\nb,2,,11\n")
    events = load_interactions(path).frame
    assert events["event_type"].tolist() == ["rating", "rating"]
    np.testing.assert_array_equal(events["value"].to_numpy(), [4.5, np.nan])


def test_generic_without_timestamp_uses_file_order(tmp_path: Path) -> None:
    events = load_interactions(write(tmp_path / "s.csv", "session,item\ns,1\ns,2\n")).frame
    assert events["timestamp"].tolist() == [0.0, 1.0]
    assert events["event_type"].tolist() == ["view", "view"]


def test_explicit_column_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "log.tsv", "visit\tthing\twhen\ttype\nA\tx\t1\tz\nA\ty\t2\tz\n")
    # "type" would be read as the event type; "" switches that off.
    mapping = ColumnMapping(session_id="visit", item_id="thing", timestamp="when", event_type="")
    events = load_interactions(path, "tsv", mapping).frame
    assert events["session_id"].tolist() == ["A", "A"]
    assert events["item_id"].tolist() == ["x", "y"]
    assert events["timestamp"].tolist() == [1.0, 2.0]
    assert events["event_type"].tolist() == ["view", "view"]


def test_column_mapping_parse() -> None:
    mapping = ColumnMapping.parse("item_id=sku, timestamp=when,event_type=")
    assert mapping == ColumnMapping(item_id="sku", timestamp="when", event_type="")
    with pytest.raises(ConfigError, match="FIELD=COLUMN"):
        ColumnMapping.parse("product=sku")


def test_session_and_user_columns_may_each_be_blank_but_not_both(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "session_id,user_id,item_id\ns1,,1\n,u1,2\n")
    events = load_interactions(path).frame
    assert events["session_id"].iloc[0] == "s1" and pd.isna(events["session_id"].iloc[1])
    assert pd.isna(events["user_id"].iloc[0]) and events["user_id"].iloc[1] == "u1"
    bad = write(tmp_path / "b.csv", "session_id,user_id,item_id\ns1,,1\n,,2\n")
    with pytest.raises(DataError, match="neither a session id nor a user id") as info:
        load_interactions(bad)
    assert info.value.line == 3


def test_parquet_and_jsonl_give_the_same_events_as_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2"],
            "item_id": ["1", "2", "1"],
            "timestamp": [1, 2, 3],
            "event_type": ["view", "cart", "view"],
        }
    )
    frame.to_csv(tmp_path / "log.csv", index=False)
    frame.to_parquet(tmp_path / "log.parquet")
    frame.to_json(tmp_path / "log.jsonl", orient="records", lines=True)
    expected = load_interactions(tmp_path / "log.csv").frame
    for name in ("log.parquet", "log.jsonl"):
        assert detect_format(tmp_path / name) == name.split(".")[1]
        pd.testing.assert_frame_equal(load_interactions(tmp_path / name).frame, expected)


def test_typed_ids_become_plain_strings(tmp_path: Path) -> None:
    # A missing user makes pandas store the others as floats; ids must not gain ".0".
    frame = pd.DataFrame({"user_id": [7.0, np.nan], "session_id": ["a", "b"], "item_id": [1, 2]})
    frame.to_parquet(tmp_path / "t.parquet")
    events = load_interactions(tmp_path / "t.parquet").frame
    assert events["user_id"].iloc[0] == "7" and pd.isna(events["user_id"].iloc[1])
    assert events["item_id"].tolist() == ["1", "2"]


def test_parquet_datetime_timestamps(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "session": ["a"],
            "item": ["x"],
            "time": pd.to_datetime(["2014-04-01 00:00:01"]).tz_localize("UTC"),
        }
    )
    frame.to_parquet(tmp_path / "d.parquet")
    assert load_interactions(tmp_path / "d.parquet").frame["timestamp"].tolist() == [1396310401.0]


def test_catalogue_file_beside_generic_events(tmp_path: Path) -> None:
    events = write(tmp_path / "log.csv", "session_id,item_id\ns,1\ns,2\n")
    items = write(
        tmp_path / "items.csv",
        "item_id,name,description,genres,price,attributes\n"
        '1,Red shoe,"Light, red",Shoes|Sale,20,"{""size"": 42}"\n'
        '2,Blue hat,,"[""Hats"", ""Sale""]",,\n',
    )
    dataset = load_dataset(events, catalogue_path=items)
    assert dataset.catalogue is not None
    assert dataset.meta["catalogue"] == str(items)
    shoe = dataset.catalogue.item("1")
    assert (shoe["title"], shoe["text"]) == ("Red shoe", "Light, red")
    assert shoe["categories"] == ["Shoes", "Sale"]
    assert shoe["attributes"] == {"price": "20", "size": 42}
    hat = dataset.catalogue.item("2")
    assert (hat["text"], hat["categories"], hat["attributes"]) == ("", ["Hats", "Sale"], {})


def test_jsonl_catalogue_with_lists_and_mapping(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    records = [
        {"sku": "a", "label": "Lamp", "tags": ["home", "light"], "attributes": {"w": 40}},
        {"sku": "b", "label": "Desk", "tags": "home, office"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    catalogue = load_catalogue(path, mapping=CatalogueMapping(item_id="sku", title="label"))
    assert catalogue.titles() == {"a": "Lamp", "b": "Desk"}
    assert catalogue.item("a")["categories"] == ["home", "light"]
    assert catalogue.item("a")["attributes"] == {"w": 40}
    assert catalogue.item("b")["categories"] == ["home", "office"]


def test_catalogue_duplicate_ids_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "item_id,title\n1,A\n2,B\n1,C\n")
    with pytest.raises(DataError, match="appears more than once") as info:
        load_catalogue(path)
    assert info.value.line == 4


def test_catalogue_path_may_be_a_movielens_or_recbole_file(tmp_path: Path) -> None:
    write(tmp_path / "log.csv", "user,item\nu,1\n")
    u_item = write(tmp_path / "ml" / "u.item", u_item_line(1, "Heat (1995)", "", {1}))
    dataset = load_dataset(tmp_path / "log.csv", catalogue_path=u_item)
    assert dataset.catalogue is not None
    assert dataset.catalogue.item("1")["categories"] == ["Action"]
    folder = recbole_folder(tmp_path)
    assert len(load_catalogue(folder / "toy.item")) == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Action|Comedy", ["Action", "Comedy"]),
        ("Action, Comedy", ["Action", "Comedy"]),
        ('["a", "b"]', ["a", "b"]),
        (["a", " b "], ["a", "b"]),
        ("", []),
        (None, []),
        (float("nan"), []),
    ],
)
def test_split_categories(raw: object, expected: list[str]) -> None:
    assert split_categories(raw) == expected


def test_describe_item() -> None:
    assert describe_item("Heat", 1995, ["Action", "Crime"]) == "Heat (1995). Action, Crime."
    assert describe_item("Heat") == "Heat."
    assert describe_item("") == ""


# --- detection and dispatch ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.inter", "user_id:token\titem_id:token\n1\t2\n", "recbole"),
        ("u.data", "1\t2\t3\t4\n", "movielens"),
        ("ratings.dat", "1::2::3::4\n", "movielens"),
        ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n", "movielens"),
        ("ratings.csv", "user_id,item_id\n1,2\n", "csv"),
        ("clicks.txt", "SessionId\tItemId\tTime\n1\t2\t3\n", "gru4rec"),
        ("clicks.csv", "SessionId\tItemId\tTime\n1\t2\t3\n", "gru4rec"),
        ("clicks.csv", "SessionId,ItemId,Time\n1,2,3\n", "csv"),
        ("log.tsv", "session\titem\n1\t2\n", "tsv"),
        ("log.txt", "session\titem\n1\t2\n", "tsv"),
        ("log.ndjson", '{"session": 1, "item": 2}\n', "jsonl"),
    ],
)
def test_detect_format(tmp_path: Path, name: str, content: str, expected: str) -> None:
    assert detect_format(write(tmp_path / name, content)) == expected


def test_detect_format_of_folders(tmp_path: Path) -> None:
    write(tmp_path / "rb" / "x.inter", "user_id:token\titem_id:token\n1\t2\n")
    write(tmp_path / "ml" / "ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n")
    assert detect_format(tmp_path / "rb") == "recbole"
    assert detect_format(tmp_path / "ml") == "movielens"


def test_unknown_extension_names_the_formats(tmp_path: Path) -> None:
    path = write(tmp_path / "log.xlsx", "a,b\n")
    with pytest.raises(DataError, match="--format") as info:
        detect_format(path)
    assert all(f in str(info.value) for f in FORMATS if f != "auto")
    # An explicit format overrides the name.
    write(tmp_path / "log.dump", "session,item\n1,2\n")
    assert len(load_interactions(tmp_path / "log.dump", "csv")) == 1


def test_generic_format_on_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a directory"):
        load_dataset(tmp_path, "csv")


@settings(
    max_examples=60,
    deadline=None,  # correctness, not speed: a loaded machine must not fail it
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1).filter(str.strip),
            st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1).filter(str.strip),
            st.floats(0, 4e9, allow_nan=False),
            st.sampled_from([t.value for t in EventType]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_csv_round_trip(tmp_path: Path, rows: list[tuple[str, str, float, str]]) -> None:
    """Whatever pandas writes as CSV (quotes, commas, unicode in ids) reads back unchanged."""
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp", "event_type"])
    path = tmp_path / "round.csv"
    frame.to_csv(path, index=False)
    events = load_interactions(path).frame
    assert events["session_id"].tolist() == frame["session_id"].tolist()
    assert events["item_id"].tolist() == frame["item_id"].tolist()
    assert events["timestamp"].tolist() == frame["timestamp"].tolist()
    assert events["event_type"].tolist() == frame["event_type"].tolist()


# --- the shared data sets ---------------------------------------------------------------


@pytest.mark.shared_data
def test_shared_ml100k(shared_data: Path) -> None:
    dataset = load_dataset(shared_data / "ml-100k")
    events = dataset.interactions
    assert len(events) == 100_000
    assert events.n_users == 943
    assert events.n_items == 1_682
    # File order is kept: the first rows are the file's first rows.
    head = events.frame.head(2)
    assert head["user_id"].tolist() == ["196", "186"]
    assert head["item_id"].tolist() == ["242", "302"]
    assert events.frame["value"].value_counts().to_dict() == {
        4.0: 34_174,
        3.0: 27_145,
        5.0: 21_201,
        2.0: 11_370,
        1.0: 6_110,
    }
    assert dataset.catalogue is not None and len(dataset.catalogue) == 1_682
    toy_story = dataset.catalogue.item("1")
    assert toy_story["title"] == "Toy Story"
    assert toy_story["attributes"]["year"] == 1995
    assert toy_story["categories"] == ["Animation", "Children's", "Comedy"]


@pytest.mark.shared_data
def test_shared_rsc15(shared_data: Path) -> None:
    folder = shared_data / "rsc15-100k"
    train = load_interactions(folder / "yoochoose-clicks-100k_train_full.txt")
    assert (len(train), train.n_sessions, train.n_items) == (70_278, 17_794, 2_933)
    test = load_interactions(folder / "yoochoose-clicks-100k_test.txt")
    assert (len(test), test.n_sessions, test.n_items) == (13_568, 3_416, 1_771)
    assert not set(test.item_ids()) - set(train.item_ids())


def shop_events(tmp_path: Path) -> Path:
    return write(
        tmp_path / "events.csv",
        "session_id,product_id,timestamp\n"
        "s1,P1,2026-03-02T10:00:00\ns1,P2,2026-03-02T10:01:00\n"
        "s2,P2,2026-03-02T11:00:00\ns2,P9,2026-03-02T11:02:00\ns2,P9,2026-03-02T11:03:00\n",
    )


def test_a_shop_catalogue_is_read_by_its_usual_column_names(tmp_path: Path) -> None:
    items = write(
        tmp_path / "items.csv",
        "id,name,description,category,brand\n"
        "P1,Mug,A stoneware mug.,Kitchen|Tableware,Clayworks\n"
        'P2,Kettle,A gooseneck kettle.,"Kitchen, Tea",Brewline\n',
    )
    catalogue = load_catalogue(items)
    assert catalogue.titles() == {"P1": "Mug", "P2": "Kettle"}
    assert catalogue.item("P1")["text"] == "A stoneware mug."
    assert catalogue.item("P2")["categories"] == ["Kitchen", "Tea"]
    assert catalogue.item("P1")["attributes"] == {"brand": "Clayworks"}


def test_catalogue_column_mapping_parses_like_the_event_one(tmp_path: Path) -> None:
    assert CatalogueMapping.parse("item_id=sku, title=label") == CatalogueMapping(
        item_id="sku", title="label"
    )
    with pytest.raises(ConfigError, match="expected FIELD=COLUMN with FIELD one of"):
        CatalogueMapping.parse("price=cost")
    items = write(tmp_path / "items.tsv", "sku\tlabel\tname\nP1\tMug\tignored\n")
    catalogue = load_dataset(
        write(tmp_path / "log.csv", "session_id,item_id\ns,P1\n"),
        catalogue_path=items,
        catalogue_mapping=CatalogueMapping.parse("item_id=sku,title=label"),
    ).catalogue
    assert catalogue is not None
    assert catalogue.item("P1")["title"] == "Mug"
    assert catalogue.item("P1")["attributes"] == {"name": "ignored"}


def test_catalogue_ids_missing_from_either_side_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    items = write(tmp_path / "items.csv", "id,name\nP1,Mug\nP2,Kettle\nP3,Teapot\n")
    with caplog.at_level(logging.INFO, logger="sessionrec"):
        dataset = load_dataset(shop_events(tmp_path), catalogue_path=items)
    assert dataset.catalogue is not None
    coverage = catalogue_coverage(dataset.interactions, dataset.catalogue)
    assert (coverage.event_items, coverage.missing_items, coverage.missing_events) == (3, 1, 2)
    assert coverage.catalogue_only == 1
    assert caplog.records[0].levelno == logging.WARNING
    assert caplog.records[0].getMessage() == (
        f"catalogue {items}: 3 items; 1 of the 3 items of the events (2 events) has no "
        "entry, e.g. 'P9', and gets no text; 1 catalogue item has no events"
    )


def test_a_catalogue_sharing_no_id_with_the_events_is_refused(tmp_path: Path) -> None:
    items = write(tmp_path / "items.csv", "sku,name\nSKU-1,Mug\nSKU-2,Kettle\n")
    with pytest.raises(
        DataError, match="none of the 3 items of the events is in the catalogue"
    ) as info:
        load_dataset(shop_events(tmp_path), catalogue_path=items)
    assert "'SKU-1'" in str(info.value) and "'P1'" in str(info.value)
    assert "--catalogue-columns item_id=COLUMN" in str(info.value)


def test_data_options_live_in_the_data_layer() -> None:
    # Training and evaluation both take them; neither layer owns them.
    assert DataOptions.__module__ == "sessionrec.data.loaders.options"
    assert DataOptions().catalogue is None
