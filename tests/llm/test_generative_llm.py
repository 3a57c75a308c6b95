"""The generative layer (`engine.generative`) and the engine with it: the model's answers are
checked against the catalogue, every failure falls back to the embedded path within the
budget, and the engine's slate keeps its hard constraints.

Real servers only: llama-cpp-python's on SmolLM2-135M (skipped where not installed) and a
scripted `http.server` that answers exactly what a test needs (garbage, slowness, a fixed
order).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.engine import Engine, Filters, Query, SessionEvent
from sessionrec.engine.generative import (
    GenerativeLayer,
    LLMItem,
    LLMOptions,
    Outcome,
    layer_from_spec,
    parse_explanations,
    parse_order,
    parse_understood,
)
from sessionrec.engine.interpret import Facets, UnderstoodRequest
from sessionrec.errors import ConfigError
from sessionrec.llm import OpenAIChatClient
from sessionrec.service.settings import ServiceSettings
from sessionrec.testing import BagOfWordsEncoder, genre_transformer_artifact
from sessionrec.testing.llm_server import (
    LlamaServer,
    LLMServerNotInstalledError,
    Script,
    ScriptedChatServer,
    start_llm_server,
)
from sessionrec.testing.redis_server import free_port

FACETS = Facets(
    categories=("Comedy", "Horror", "Animation", "Thriller"),
    numeric={"year": (1920.0, 1998.0)},
    values={"language": ("English", "French")},
    integers=frozenset({"year"}),
)
FALLBACK = UnderstoodRequest(include=("Comedy",), soft="embedded")
CANDIDATES = [
    LLMItem("Toy Story", ("Animation", "Comedy")),
    LLMItem("Scream", ("Horror",)),
    LLMItem("Heat", ("Thriller",)),
    LLMItem("Airplane!", ("Comedy",)),
]
SLOW_BUDGET = LLMOptions(budget_s=60.0)
"""The 135M model on two CPU threads: a generous budget, so the tests see its answers."""


def views(*items: str) -> list[SessionEvent]:
    return [SessionEvent(i, "view", float(t)) for t, i in enumerate(items)]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    try:
        server = start_llm_server(tmp_path_factory.mktemp("llama"))
    except LLMServerNotInstalledError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return genre_transformer_artifact(tmp_path_factory.mktemp("llm") / "transformer")


def layer_on(base_url: str, options: LLMOptions = SLOW_BUDGET) -> GenerativeLayer:
    return GenerativeLayer(OpenAIChatClient("smollm2-135m", base_url, env={}), options)


def last(layer: GenerativeLayer, stage: str) -> Outcome:
    """How the stage went in this thread's latest call."""
    outcome = layer.last(stage)
    assert outcome is not None
    return outcome


# -- options --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [{"rerank_top": -1}, {"rerank_top": 101}, {"budget_s": 0.0}])
def test_options_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        LLMOptions(**bad)


# -- reading the model's answers ------------------------------------------------------------


def test_a_reading_is_checked_against_the_facets() -> None:
    answer = json.dumps(
        {
            "include": ["horror", "Western", "Horror"],
            "exclude": ["COMEDY"],
            "ranges": [
                {"attribute": "year", "min": 1980, "max": 1989},
                {"attribute": "price", "min": 1, "max": 2},
            ],
            "values": [
                {"attribute": "language", "value": "french"},
                {"attribute": "x", "value": "y"},
            ],
            "soft": "  something   gory ",
        }
    )
    understood = parse_understood(answer, FACETS)
    assert understood == UnderstoodRequest(
        include=("Horror",),
        exclude=("Comedy",),
        ranges={"year": (1980.0, 1989.0)},
        values={"language": ("French",)},
        soft="something gory",
    )


@pytest.mark.parametrize(
    "bad_range",
    [
        {"attribute": "year", "min": 1990, "max": 1980},  # backwards
        {"attribute": "year", "min": 2050, "max": None},  # beyond the catalogue
        {"attribute": "year", "min": "1980", "max": "x"},  # not numbers
        {"attribute": "year", "min": None, "max": None},  # says nothing
        {"attribute": "year", "min": True, "max": None},
    ],
)
def test_bad_ranges_are_dropped(bad_range: dict[str, object]) -> None:
    understood = parse_understood(json.dumps({"ranges": [bad_range]}), FACETS)
    assert understood is not None and not understood.ranges


def test_asked_for_and_refused_goes_to_neither_side() -> None:
    understood = parse_understood(
        '{"include": ["Comedy", "Horror"], "exclude": ["Comedy"]}', FACETS
    )
    assert understood is not None
    assert (understood.include, understood.exclude) == (("Horror",), ())
    assert understood.conflicts


def test_json_in_prose_is_read_and_no_json_is_no_reading() -> None:
    wrapped = 'Sure! ```json\n{"include": ["Animation"], "soft": null}\n``` Enjoy.'
    understood = parse_understood(wrapped, FACETS)
    assert understood is not None and understood.include == ("Animation",)
    assert understood.soft is None
    assert parse_understood("I cannot help with that.", FACETS) is None
    assert parse_understood("[1, 2]", FACETS) is None


def test_an_order_is_a_permutation_with_the_missing_in_model_order() -> None:
    assert parse_order('{"order": [3, 1]}', 5) == [2, 0, 1, 3, 4]
    assert parse_order('{"order": [2, 2, 9, 0, -1, 1]}', 3) == [1, 0, 2]
    assert parse_order("Ranking: 3 > 1 > 2", 3) == [2, 0, 1]
    assert parse_order('{"order": []}', 3) is None
    assert parse_order("no idea", 3) is None


@given(st.lists(st.integers(-5, 30)), st.integers(1, 25))
def test_any_order_is_a_permutation_or_none(numbers: list[int], count: int) -> None:
    order = parse_order(json.dumps({"order": numbers}), count)
    assert order is None or sorted(order) == list(range(count))


@given(st.text(max_size=200), st.integers(1, 25))
def test_any_text_gives_a_permutation_or_none(text: str, count: int) -> None:
    order = parse_order(text, count)
    assert order is None or sorted(order) == list(range(count))


def test_explanations_per_item_or_none() -> None:
    assert parse_explanations('{"1": " Funny. ", "3": "Dark.", "x": "?"}', 3) == [
        "Funny.",
        None,
        "Dark.",
    ]
    assert parse_explanations("1. Funny\n2) Scary", 2) == ["Funny", "Scary"]
    assert parse_explanations('{"1": ""}', 2) is None
    assert parse_explanations('{"1": 5}', 1) is None


# -- the real model -------------------------------------------------------------------------


def test_the_model_reads_a_request_into_a_checked_structure(llama: LlamaServer) -> None:
    layer = layer_on(llama.base_url)
    understood = layer.interpret("a scary movie from the 80s, no comedy", FACETS, FALLBACK)
    if last(layer, "interpret").source == "fallback":  # the small model may say nothing usable
        assert understood is FALLBACK
    else:
        assert set(understood.include) | set(understood.exclude) <= set(FACETS.categories)
        assert set(understood.ranges) <= {"year"}
        for lo, hi in understood.ranges.values():
            assert lo is None or hi is None or lo <= hi


def test_the_model_reranks_into_a_permutation_and_the_cache_answers_again(
    llama: LlamaServer,
) -> None:
    layer = layer_on(llama.base_url)
    deadline = layer.deadline()
    order = layer.rerank("something funny", ["Home Alone", "Mrs. Doubtfire"], CANDIDATES, deadline)
    assert sorted(order) == list(range(len(CANDIDATES)))
    started = time.monotonic()
    again = layer.rerank("something funny", ["Home Alone", "Mrs. Doubtfire"], CANDIDATES, deadline)
    assert again == order
    if layer.outcomes()["rerank"].get("llm"):
        assert last(layer, "rerank").source == "cache"
        assert time.monotonic() - started < 0.05
        assert layer.cache.hits == 1


def test_the_model_explains_each_item_in_short_text(llama: LlamaServer) -> None:
    layer = layer_on(llama.base_url)
    items = [replace(CANDIDATES[0], text="Toys come alive when nobody looks."), CANDIDATES[3]]
    texts = layer.explain(["Aladdin", "The Lion King"], items, layer.deadline())
    assert len(texts) == 2
    assert all(t is None or (isinstance(t, str) and 0 < len(t) <= 160) for t in texts)


# -- failures fall back within the budget ---------------------------------------------------


def test_garbage_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    with ScriptedChatServer(Script(raw_body=b"<html>oops")) as server:
        layer = layer_on(server.base_url)
        with caplog.at_level(logging.INFO, logger="sessionrec.engine.generative"):
            assert layer.interpret("anything", FACETS, FALLBACK) is FALLBACK
            assert layer.rerank(None, [], CANDIDATES, layer.deadline()) == [0, 1, 2, 3]
            assert layer.explain([], CANDIDATES[:2], layer.deadline()) == [None, None]
    assert layer.outcomes() == {
        "interpret": {"fallback": 1},
        "rerank": {"fallback": 1},
        "explain": {"fallback": 1},
    }
    assert sum("embedded path used" in r.getMessage() for r in caplog.records) == 3


def test_a_chat_answer_that_is_no_json_falls_back() -> None:
    with ScriptedChatServer(Script(content="I think you would enjoy comedies!")) as server:
        layer = layer_on(server.base_url)
        assert layer.interpret("anything", FACETS, FALLBACK) is FALLBACK
        assert "unusable answer" in last(layer, "interpret").reason


def test_a_reading_that_turns_the_request_around_is_refused() -> None:
    flipped = '{"include": ["Horror"], "exclude": ["Comedy"], "soft": null}'
    with ScriptedChatServer(Script(content=flipped)) as server:
        layer = layer_on(server.base_url)
        assert layer.interpret("a comedy", FACETS, FALLBACK) is FALLBACK
        assert "contradicts the request's own words on Comedy" in last(layer, "interpret").reason
        agreeing = UnderstoodRequest(include=("Horror",))
        assert layer.interpret("a comedy", FACETS, agreeing).exclude == ("Comedy",)


def test_a_slow_server_falls_back_within_the_budget() -> None:
    with ScriptedChatServer(Script(delay_s=3.0)) as server:
        layer = layer_on(server.base_url, LLMOptions(budget_s=0.4))
        started = time.monotonic()
        assert layer.interpret("anything", FACETS, FALLBACK) is FALLBACK
        assert time.monotonic() - started < 0.8
        # the request's time is spent: the next step does not even call
        deadline = time.monotonic() + 0.01
        seen = len(server.script.requests)
        assert layer.rerank(None, [], CANDIDATES, deadline) == [0, 1, 2, 3]
        assert len(server.script.requests) == seen
        assert "no time left" in last(layer, "rerank").reason


def test_an_http_error_falls_back() -> None:
    with ScriptedChatServer(Script(status=503)) as server:
        layer = layer_on(server.base_url)
        assert layer.interpret("anything", FACETS, FALLBACK) is FALLBACK
        assert "503" in last(layer, "interpret").reason


def test_an_unreachable_endpoint_at_start_up_warns_and_gives_no_layer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = f"openai:m@http://127.0.0.1:{free_port()}/v1"
    with caplog.at_level(logging.WARNING):
        assert layer_from_spec(spec, check_timeout_s=1.0) is None
        assert ServiceSettings(llm=spec).llm_layer() is None
    assert "serving without it" in caplog.text


def test_a_malformed_spec_is_refused_by_the_settings() -> None:
    with pytest.raises(ConfigError, match="openai:MODEL@URL"):
        ServiceSettings(llm="ollama:llama3")
    with pytest.raises(ConfigError):
        ServiceSettings(llm_budget_ms=0)


def test_the_llm_settings_travel_to_workers() -> None:
    settings = ServiceSettings(llm="openai:m@http://127.0.0.1:9/v1", llm_budget_ms=750)
    again = ServiceSettings.from_env(settings.to_env())
    assert (again.llm, again.llm_budget_ms) == (settings.llm, 750)


# -- the engine with a generative layer -----------------------------------------------------


def test_the_engine_follows_the_models_order_inside_the_mask(artifact: Path) -> None:
    encoder = BagOfWordsEncoder()
    plain = Engine.from_artifact(artifact, encoder=encoder)
    excluded = Filters(exclude_items=("t4", "t5"))
    query = Query(events=views("t1", "t2"), text="no comedy", k=5, filters=excluded)
    wide = [i.item_id for i in plain.recommend(replace(query, k=8, explain=False)).items]
    # the model puts the embedded ranking's 8th first and names a candidate that is not one
    script = Script(content='{"order": [8, 99, 2, 8]}')
    with ScriptedChatServer(script) as server:
        options = LLMOptions(interpret=False, rerank_top=8, explain=False, budget_s=5.0)
        engine = Engine.from_artifact(
            artifact, encoder=encoder, llm=layer_on(server.base_url, options)
        )
        slate = [i.item_id for i in engine.recommend(query).items]
    assert slate == [wide[7], wide[1], wide[0], wide[2], wide[3]]
    allowed = plain.recommend(replace(query, k=36, explain=False)).items
    assert set(slate) <= {i.item_id for i in allowed}
    assert not {"t4", "t5"} & set(slate)
    prompt = script.requests[0]["body"]["messages"][1]["content"]
    assert "Thriller film 1" in prompt and '"no comedy"' in prompt  # the session and request


def test_a_failing_model_leaves_the_embedded_slate_exactly(artifact: Path) -> None:
    encoder = BagOfWordsEncoder()
    plain = Engine.from_artifact(artifact, encoder=encoder)
    query = Query(events=views("a1", "a2"), text="something funny but no thriller", k=6)
    with ScriptedChatServer(Script(raw_body=b"garbage")) as server:
        engine = Engine.from_artifact(artifact, encoder=encoder, llm=layer_on(server.base_url))
        slate = engine.recommend(query)
    expected = plain.recommend(query)
    assert slate.items == expected.items  # explanations None, as without a model
    assert slate.understood == expected.understood
    assert (engine.scores(query) == plain.scores(query)).all()


def test_scores_never_call_the_model(artifact: Path) -> None:
    with ScriptedChatServer(Script()) as server:
        engine = Engine.from_artifact(
            artifact, llm=layer_on(server.base_url), encoder=BagOfWordsEncoder()
        )
        engine.scores(Query(events=views("a1"), text="a cartoon"))
        assert server.script.requests == []


@pytest.mark.slow  # about 20 s on two CPU threads: three model calls, one with a slate
def test_the_engine_with_the_real_model_gives_an_explained_slate(
    artifact: Path, llama: LlamaServer
) -> None:
    encoder = BagOfWordsEncoder()
    layer = layer_on(llama.base_url, LLMOptions(rerank_top=4, budget_s=120.0))
    engine = Engine.from_artifact(artifact, encoder=encoder, llm=layer)
    events = [*views("a1", "a2"), SessionEvent("a5", "dislike", 3.0)]
    filters = Filters(exclude_items=("a3", "a4"))
    query = Query(events=events, text="a cartoon but not a comedy", k=3, filters=filters)
    slate = engine.recommend(query)
    assert len(slate.items) == 3
    shown = {i.item_id for i in slate.items}
    assert not shown & {"a1", "a2", "a3", "a4", "a5"}  # seen, filtered, disliked
    if last(layer, "interpret").source == "fallback":
        allowed = Engine.from_artifact(artifact, encoder=encoder).recommend(replace(query, k=36))
        assert shown <= {i.item_id for i in allowed.items}
    assert all(i.explanation is None or isinstance(i.explanation, str) for i in slate.items)
    assert set(layer.outcomes()) == {"interpret", "rerank", "explain"}


def test_the_service_starts_with_the_model_or_without_it(
    artifact: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sessionrec.service.app import create_app

    def served_layer(spec: str) -> GenerativeLayer | None:
        store = f"sqlite:///{tmp_path / 'sessions.db'}"
        app = create_app(ServiceSettings(artifact=artifact, store_url=store, llm=spec))
        engine: Engine = app.state.service.holder.engine
        reloaded = app.state.service.holder.reload()
        assert reloaded.llm is engine.llm  # a reload keeps the layer and its cache
        app.state.service.store.close()
        return engine.llm

    with caplog.at_level(logging.WARNING):
        assert served_layer(f"openai:m@http://127.0.0.1:{free_port()}/v1") is None
    assert "serving without it" in caplog.text
    with ScriptedChatServer(Script(content="OK")) as server:
        layer = served_layer(f"openai:m@{server.base_url}")
    assert isinstance(layer, GenerativeLayer) and layer.options.budget_s == 2.0
