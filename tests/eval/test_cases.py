"""Request cases: the JSONL format (line-numbered errors) and the builder's templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sessionrec.data.schema import make_catalogue
from sessionrec.errors import ConfigError, DataError
from sessionrec.eval.cases import (
    GENRES_ZH,
    CaseEvent,
    CaseKind,
    RequestCase,
    build_cases,
    decade_of,
    read_cases,
    write_cases,
)
from sessionrec.testing import PER_GENRE, genre_catalogue, genre_events, interactions


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the file format --------------------------------------------------------------------------


def test_cases_round_trip_through_jsonl(tmp_path: Path) -> None:
    cases = [
        RequestCase(
            (CaseEvent("a1", "view"), CaseEvent("a2", "like")), ("a3",), "动画片", "category"
        ),
        RequestCase((), ("t1", "t2")),
    ]
    path = tmp_path / "out" / "cases.jsonl"
    assert write_cases(cases, path) == 2
    assert "动画片" in path.read_text(encoding="utf-8")  # written readable, not \u escapes
    back = read_cases(path)
    assert [(c.events, c.targets, c.query, c.kind) for c in back] == [
        (c.events, c.targets, c.query, c.kind) for c in cases
    ]
    assert [c.line for c in back] == [1, 2]


def test_reading_accepts_integer_ids_default_types_and_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '{"events": [{"item_id": 12}, {"item_id": "7", "type": "add_to_cart"}], "targets": [3, 3]}',
        "",
        '{"events": [], "query": "x", "targets": ["a"]}',
    )
    first, second = read_cases(path)
    assert first.events == (CaseEvent("12", "view"), CaseEvent("7", "cart"))
    assert first.targets == ("3",)  # duplicates collapse
    assert first.query is None
    assert (second.line, second.query) == (3, "x")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"events": []}', 'missing "targets"'),
        ('{"targets": ["a"]}', 'missing "events"'),
        ('{"events": [], "targets": []}', "non-empty list"),
        ('{"events": [], "targets": ["a"], "querry": "x"}', "unknown key"),
        ('{"events": [{"id": "a"}], "targets": ["a"]}', "event 0"),
        ('{"events": [{"item_id": "a", "type": "stare"}], "targets": ["a"]}', "unknown event type"),
        ('{"events": [], "targets": [true]}', "target 0"),
        ('{"events": [], "targets": ["a"], "query": "  "}', '"query" must be a non-empty'),
        ('{"events": [], "targets": ["a"], "query": "' + "x" * 501 + '"}', "the limit is 500"),
    ],
)
def test_a_bad_line_is_named_by_its_number(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, '{"events": [], "targets": ["a"]}', line)
    with pytest.raises(DataError, match=message) as caught:
        read_cases(path)
    assert caught.value.line == 2
    assert caught.value.path == str(path)
    assert "line 2" in str(caught.value)


def test_a_file_without_cases_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="holds no cases"):
        read_cases(_write(tmp_path, "", "   "))
    with pytest.raises(DataError, match="no such file"):
        read_cases(tmp_path / "missing.jsonl")


# -- building cases ---------------------------------------------------------------------------


def _forbidden(target: str, query: str) -> bool:
    """Whether the request names the target: its id as a word or its title."""
    title = genre_catalogue().titles()[target]
    return target in query.replace(",", " ").split() or title.lower() in query.lower()


def test_category_cases_follow_leave_one_out_and_name_only_the_targets_category() -> None:
    data = genre_events(n_sessions=30)
    cases = build_cases(data, genre_catalogue(), kind="category", history=3, seed=1)
    assert len(cases) == 30  # one per session, each target has a category
    categories = {"a": "animation", "t": "thriller", "c": "comedy"}
    frame = data.frame
    for case, (_, rows) in zip(cases, frame.groupby("session_id", sort=False), strict=True):
        items = list(rows["item_id"])
        assert case.targets == (items[-1],)  # the held-out test item
        assert [e.item_id for e in case.events] == items[-4:-1]  # the last 3 before it
        assert case.kind == "category"
        assert case.query is not None
        assert categories[case.targets[0][0]] in case.query
        assert not _forbidden(case.targets[0], case.query)


def test_building_is_seeded() -> None:
    data, catalogue = genre_events(n_sessions=60), genre_catalogue()
    one = build_cases(data, catalogue, max_cases=20, seed=3)
    assert one == build_cases(data, catalogue, max_cases=20, seed=3)
    assert len(one) == 20
    other = build_cases(data, catalogue, max_cases=20, seed=4)
    assert [c.targets for c in one] != [c.targets for c in other]


def test_chinese_category_requests_use_the_chinese_genre_name() -> None:
    cases = build_cases(genre_events(n_sessions=9), genre_catalogue(), language="zh")
    names = {"a": GENRES_ZH["Animation"], "t": GENRES_ZH["Thriller"], "c": GENRES_ZH["Comedy"]}
    for case in cases:
        assert case.query is not None and names[case.targets[0][0]] in case.query


def test_unknown_genres_fall_back_to_their_english_name_in_chinese() -> None:
    catalogue = make_catalogue(["x", "y"], ["X", "Y"], categories=[["Anime"], ["Anime"]])
    data = interactions([("s", "x", 1.0), ("s", "y", 2.0)])
    (case,) = build_cases(data, catalogue, language="zh")
    assert case.query is not None and "Anime" in case.query


def _mixed_log() -> tuple[list[tuple[str, str, float]], list[str]]:
    """Sessions of thrillers and comedies whose test item is an animation."""
    rows, targets = [], []
    for s in range(PER_GENRE):
        history = [f"t{s}", f"t{(s + 1) % PER_GENRE}", f"c{s}"]
        target = f"a{s}"
        rows += [(f"s{s}", item, float(i)) for i, item in enumerate([*history, target])]
        targets.append(target)
    return rows, targets


def test_exclusion_names_the_historys_commonest_category_the_target_lacks() -> None:
    rows, targets = _mixed_log()
    cases = build_cases(interactions(rows), genre_catalogue(), kind="exclusion", seed=0)
    assert [c.targets[0] for c in cases] == targets
    for case in cases:
        assert case.query is not None and "thriller" in case.query
        assert "animation" not in case.query
    zh = build_cases(interactions(rows), genre_catalogue(), kind="exclusion", language="zh")
    assert all(c.query is not None and GENRES_ZH["Thriller"] in c.query for c in zh)


def test_exclusion_leaves_out_users_whose_history_shares_all_its_categories() -> None:
    # Genre sessions stay in one genre: nothing to exclude.
    assert build_cases(genre_events(n_sessions=6), genre_catalogue(), kind="exclusion") == []


def test_era_requests_name_the_targets_decade() -> None:
    cases = build_cases(genre_events(n_sessions=12), genre_catalogue(), kind=CaseKind.ERA)
    assert len(cases) == 12
    for case in cases:
        decade = "1990" if int(case.targets[0][1:]) % 2 else "2000"
        assert case.query is not None and f"{decade}s" in case.query
        assert not _forbidden(case.targets[0], case.query)
    zh = build_cases(genre_events(n_sessions=3), genre_catalogue(), kind="era", language="zh")
    assert all(c.query is not None and "年代" in c.query for c in zh)


def test_decades_come_from_a_year_or_a_decade() -> None:
    assert decade_of({"year": 1995}) == 1990
    assert decade_of({"year": "1987"}) == 1980
    assert decade_of({"decade": "2000s"}) == 2000
    assert decade_of({"colour": "red"}) is None


def test_no_request_cases_keep_the_session_and_target() -> None:
    cases = build_cases(genre_events(n_sessions=6), genre_catalogue(), kind="none")
    assert len(cases) == 6 and all(c.query is None and c.kind == "none" for c in cases)


def test_items_without_categories_give_no_category_case() -> None:
    catalogue = make_catalogue(["x", "y"], ["X", "Y"], categories=[["Drama"], ["unknown"]])
    data = interactions([("s", "x", 1.0), ("s", "y", 2.0)])
    assert build_cases(data, catalogue) == []


def test_bad_choices_are_config_errors() -> None:
    data, catalogue = genre_events(n_sessions=3), genre_catalogue()
    with pytest.raises(ConfigError, match="unknown case kind 'mood'"):
        build_cases(data, catalogue, kind="mood")
    with pytest.raises(ConfigError, match="unknown language 'fr'"):
        build_cases(data, catalogue, language="fr")
    with pytest.raises(ConfigError, match="history"):
        build_cases(data, catalogue, history=0)


def test_written_cases_read_back_as_json_lines(tmp_path: Path) -> None:
    cases = build_cases(genre_events(n_sessions=6), genre_catalogue(), history=2)
    path = tmp_path / "c.jsonl"
    write_cases(cases, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert set(lines[0]) == {"events", "query", "targets", "kind"}
    assert [c.targets for c in read_cases(path)] == [c.targets for c in cases]
