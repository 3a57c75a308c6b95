"""The requests protocol: cases scored through the engine, hand-worked metrics, bad input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from sessionrec.engine import Engine, Query
from sessionrec.errors import ConfigError, DataError
from sessionrec.eval.cases import CaseEvent, RequestCase, read_cases
from sessionrec.interactive.requests import (
    WITH_REQUEST,
    WITHOUT_REQUEST,
    best_targets,
    case_query,
    check_cases,
    evaluate_requests,
)
from sessionrec.testing import (
    PER_GENRE,
    BagOfWordsEncoder,
    genre_transformer_artifact,
)

# -- metrics by hand, on an engine whose scores are written out -------------------------------

IDS = ["i0", "i1", "i2", "i3", "i4"]
NEG = -np.inf


class ScriptedEngine:
    """Stands in for `Engine`: the scores of each case (named by its first event) are given,
    with the request; without it, the case's first target scores 1 and every other item 0."""

    def __init__(self, with_request: dict[str, list[float]], targets: dict[str, str]) -> None:
        self._with = with_request
        self._targets = targets
        self.n_items = len(IDS)
        self.vocabulary_ids = IDS

    def has_item(self, item_id: str) -> bool:
        return item_id in IDS

    def scores(self, query: Query) -> np.ndarray:
        key = query.events[0].item_id
        if query.text is not None:
            return np.array(self._with[key], dtype=np.float64)
        out = np.zeros(len(IDS))
        out[IDS.index(self._targets[key])] = 1.0
        return out


def _case(
    event: str, *targets: str, query: str | None = "q", line: int | None = None
) -> RequestCase:
    return RequestCase((CaseEvent(event),), tuple(targets), query, line=line)


def test_metrics_by_hand_with_several_targets_an_excluded_one_and_ties() -> None:
    cases = [
        _case("i0", "i1", "i3"),  # ranks 2 and 4: the best, 2, counts
        _case("i1", "i4"),  # the only target excluded (-inf): a miss
        _case("i2", "i0", "i2"),  # three items tie at the top: pessimistic rank 3
    ]
    engine = ScriptedEngine(
        {
            "i0": [4, 3, 2, 1, 0],
            "i1": [0, 1, 2, 3, NEG],
            "i2": [1, 1, 1, 0, 0],
        },
        {"i0": "i1", "i1": "i4", "i2": "i0"},
    )
    report = evaluate_requests(cast(Engine, engine), cases, ks=(2, 3))
    steered = report.results[WITH_REQUEST].metrics
    assert steered["HR@2"] == pytest.approx(1 / 3)
    assert steered["HR@3"] == pytest.approx(2 / 3)
    assert steered["MRR@2"] == pytest.approx(0.5 / 3)
    assert steered["MRR@3"] == pytest.approx((0.5 + 1 / 3) / 3)
    assert steered["NDCG@2"] == pytest.approx(1 / math.log2(3) / 3)
    assert steered["NDCG@3"] == pytest.approx((1 / math.log2(3) + 0.5) / 3)
    # Top 2 per case: {i0, i1}, {i3, i2}, {i0, i1} (ties to the lower row): 4 of 5 items.
    assert steered["COV@2"] == pytest.approx(0.8)
    plain = report.results[WITHOUT_REQUEST].metrics
    assert plain["HR@2"] == plain["MRR@2"] == plain["NDCG@2"] == pytest.approx(1.0)
    # Top 2: {i1, i0}, {i4, i0}, {i0, i1}: 3 of 5 items.
    assert plain["COV@2"] == pytest.approx(0.6)


def test_best_target_is_the_highest_scored_finite_one() -> None:
    scores = np.array([[0.0, 2.0, 1.0], [NEG, NEG, 5.0]])
    rows = [np.array([2, 1]), np.array([0, 1])]
    assert best_targets(scores, rows).tolist() == [1, -1]


def test_cases_without_a_request_give_only_the_engine_row() -> None:
    engine = ScriptedEngine({}, {"i0": "i2"})
    report = evaluate_requests(cast(Engine, engine), [_case("i0", "i2", query=None)], ks=(2,))
    assert list(report.results) == [WITHOUT_REQUEST]
    assert report.dataset["with_request"] == 0


def test_the_report_shows_and_writes_like_the_other_protocols(tmp_path: Path) -> None:
    engine = ScriptedEngine({"i0": [4, 3, 2, 1, 0]}, {"i0": "i1"})
    report = evaluate_requests(cast(Engine, engine), [_case("i0", "i1")], ks=(2, 3))
    data = report.to_dict()
    assert data["protocol"] == "requests"
    assert data["exclude_seen"] is True
    assert set(data["results"]) == {WITH_REQUEST, WITHOUT_REQUEST}
    assert data["dataset"]["test_cases"] == 1
    assert "engine+request" in report.plain()
    report.write_json(tmp_path / "r.json")
    assert (tmp_path / "r.json").is_file()


def test_unknown_items_skip_their_case_with_its_line_and_the_rest_is_evaluated() -> None:
    engine = ScriptedEngine({"i0": [4, 3, 2, 1, 0]}, {"i0": "i1"})
    cases = [_case("i0", "i1", line=1), _case("zz", "i1", line=2), _case("i0", "yy", line=3)]
    usable, skipped = check_cases(cast(Engine, engine), cases)
    assert usable == [cases[0]]
    assert [(s.line, s.unknown_items) for s in skipped] == [(2, ("zz",)), (3, ("yy",))]
    assert "line 2: unknown item(s) 'zz'" in skipped[0].describe()
    report = evaluate_requests(cast(Engine, engine), cases, ks=(2,))
    assert report.dataset["skipped"] == 2 and report.dataset["test_cases"] == 1
    assert [s["line"] for s in report.settings["skipped_cases"]] == [2, 3]


def test_no_usable_case_is_an_error_naming_the_first_line() -> None:
    engine = ScriptedEngine({}, {})
    with pytest.raises(DataError, match=r"no usable case.*line 4: unknown item\(s\) 'zz'"):
        evaluate_requests(
            cast(Engine, engine), [_case("zz", "i1", line=4)], ks=(2,), source="c.jsonl"
        )


@pytest.mark.parametrize("ks", [(10,), (0,), ()])
def test_a_k_the_catalogue_cannot_fill_is_a_config_error(ks: tuple[int, ...]) -> None:
    engine = ScriptedEngine({"i0": [4, 3, 2, 1, 0]}, {"i0": "i1"})
    with pytest.raises(ConfigError, match=r"larger than the catalogue|positive|at least one"):
        evaluate_requests(cast(Engine, engine), [_case("i0", "i1")], ks=ks)


def test_case_query_drops_only_the_request() -> None:
    case = RequestCase((CaseEvent("a1", "like"),), ("a2",), "a cartoon")
    with_text, without = case_query(case), case_query(case, with_request=False)
    assert with_text.text == "a cartoon" and without.text is None
    assert with_text.events == without.events and str(without.events[0].type) == "like"


# -- through a real engine --------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = genre_transformer_artifact(tmp_path_factory.mktemp("requests") / "transformer")
    return Engine.from_artifact(folder, encoder=BagOfWordsEncoder())


def _thriller_sessions_wanting_animation(query: str | None) -> list[RequestCase]:
    return [
        RequestCase(
            tuple(CaseEvent(f"t{(s + j) % PER_GENRE}") for j in range(3)), (f"a{s}",), query
        )
        for s in range(PER_GENRE)
    ]


def test_a_request_steers_thriller_sessions_to_their_animation_targets(engine: Engine) -> None:
    cases = _thriller_sessions_wanting_animation("cartoon animation kids family")
    report = evaluate_requests(engine, cases, ks=(10, 20))
    steered = report.results[WITH_REQUEST].metrics
    plain = report.results[WITHOUT_REQUEST].metrics
    assert steered["HR@10"] >= 0.6
    assert plain["HR@10"] <= 0.2
    assert steered["NDCG@10"] > plain["NDCG@10"]


def test_the_engine_row_is_the_engine_on_the_session_alone(engine: Engine) -> None:
    with_text = evaluate_requests(engine, _thriller_sessions_wanting_animation("cartoon"))
    without = evaluate_requests(engine, _thriller_sessions_wanting_animation(None))
    assert with_text.results[WITHOUT_REQUEST].metrics == without.results[WITHOUT_REQUEST].metrics


def test_a_target_in_the_history_is_excluded_and_missed(engine: Engine) -> None:
    case = RequestCase((CaseEvent("a0"), CaseEvent("a1")), ("a0",), "cartoon animation")
    report = evaluate_requests(engine, [case], ks=(10,))
    assert report.results[WITH_REQUEST].metrics["HR@10"] == 0.0


def test_a_cases_file_through_the_engine(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        '{"events": [{"item_id": "t0", "type": "view"}], "query": "cartoon", "targets": ["a0"]}\n'
        '{"events": [{"item_id": "t0", "type": "view"}], "targets": ["nope"]}\n',
        encoding="utf-8",
    )
    report = evaluate_requests(engine, read_cases(path), source=str(path))
    assert report.dataset == {
        "cases": 2,
        "test_cases": 1,
        "with_request": 1,
        "skipped": 1,
        "items": 3 * PER_GENRE,
    }
    assert report.settings["skipped_cases"][0]["line"] == 2
    with pytest.raises(ConfigError, match="larger than the catalogue"):
        evaluate_requests(engine, read_cases(path), ks=(10, 37))


def test_a_case_without_events_is_scored_from_its_request(engine: Engine) -> None:
    cases = [RequestCase((), (f"a{s}",), "cartoon animation kids family") for s in range(3)]
    report = evaluate_requests(engine, cases, ks=(12,))
    assert report.results[WITH_REQUEST].metrics["HR@12"] == 1.0  # 12 animations lead
