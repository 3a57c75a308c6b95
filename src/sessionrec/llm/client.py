"""Chat completions from an OpenAI-compatible HTTP endpoint (``POST {base}/v1/chat/completions``).

vLLM, Ollama, the llama.cpp server and llama-cpp-python's server all speak this protocol,
so one small client covers every self-hosted model. Like `text.openai_http` it uses the
standard library's urllib only. Unlike it, it does not retry: every caller here has a
time budget and an embedded fallback, and a retry would spend the time the fallback
needs. Every failure (connection, time-out, HTTP status, a body that is not a chat
answer) becomes one `LLMError` that names the URL and, where there was one, the status.

Structured output: servers disagree on how a JSON schema is asked for. OpenAI, vLLM,
Ollama and llama.cpp's own server take ``{"type": "json_schema", "json_schema": {...}}``;
llama-cpp-python's server (0.3.x) accepts only ``{"type": "json_object", "schema": {...}}``
and answers the other with a 500 naming `response_format`. The client sends the first
and, on a refusal (400, 422, or an error naming the field), retries once with the second
and keeps to whichever the server took.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from sessionrec.errors import ConfigError, SessionrecError
from sessionrec.openai_protocol import api_key_from_env, endpoint_url, http_error_detail

__all__ = [
    "API_KEY_ENV_VARS",
    "SPEC_FORM",
    "ChatClient",
    "LLMError",
    "OpenAIChatClient",
    "chat_url",
    "check_reachable",
    "parse_llm_spec",
]

logger = logging.getLogger(__name__)

API_KEY_ENV_VARS: tuple[str, ...] = ("SESSIONREC_LLM_API_KEY", "OPENAI_API_KEY")
"""Where the key is looked for, in order, when none is passed: sessionrec's own name first."""

SPEC_FORM = "openai:MODEL@URL (e.g. openai:qwen2.5-7b-instruct@http://127.0.0.1:8080/v1)"
"""How a chat model is named on the command line."""


SchemaStyle = Literal["json_schema", "json_object"]


class LLMError(SessionrecError):
    """The chat endpoint failed or answered something that is not a chat completion.

    Carries the URL and, when there was an HTTP answer, its status.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        self.url = url
        self.status = status
        where = url + (f" answered HTTP {status}" if status is not None else "")
        super().__init__(f"chat endpoint {where}: {message}")


class ChatClient(Protocol):
    """Anything that answers a list of chat messages with the assistant's text."""

    name: str
    """What logs and cache keys call the model ("openai:MODEL@URL")."""

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 256,
        timeout_s: float = 5.0,
    ) -> str:
        """The assistant's answer; with `schema`, constrained to JSON of that schema where
        the server supports it. Raises `LLMError` on any failure."""
        ...


def chat_url(base_url: str) -> str:
    """The chat endpoint under a base URL, with or without its trailing ``/v1``."""
    return endpoint_url(base_url, "chat/completions", "LLM")


def response_format(schema: Mapping[str, Any], style: SchemaStyle) -> dict[str, Any]:
    """The `response_format` field that asks for JSON of `schema`, in one server dialect."""
    if style == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": dict(schema), "strict": True},
        }
    return {"type": "json_object", "schema": dict(schema)}


class OpenAIChatClient:
    """Chat completions from an OpenAI-compatible endpoint, at temperature 0.

    `api_key` falls back to ``$SESSIONREC_LLM_API_KEY``, then ``$OPENAI_API_KEY``; with
    none, no Authorization header is sent (local servers usually need none). Safe to share
    between threads.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not model.strip():
            raise ConfigError(f"the LLM model name must not be empty; expected {SPEC_FORM}")
        self.model = model.strip()
        self.url = chat_url(base_url)
        self.name = f"openai:{self.model}@{base_url.strip().rstrip('/')}"
        self._api_key = api_key or api_key_from_env(
            os.environ if env is None else env, API_KEY_ENV_VARS
        )
        self._style: SchemaStyle = "json_schema"
        self._style_lock = threading.Lock()

    @property
    def schema_style(self) -> SchemaStyle:
        """How this server is asked for JSON of a schema (learnt from its first refusal)."""
        return self._style

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 256,
        timeout_s: float = 5.0,
    ) -> str:
        """The assistant's answer (see `ChatClient.chat`); one try, at most `timeout_s` per
        socket operation (plus one quick retry in the other schema dialect)."""
        if timeout_s <= 0:
            raise LLMError("no time left for the request", url=self.url)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": False,
        }
        if schema is None:
            return _content(self._post(body, timeout_s), self.url)
        style = self._style
        started = time.monotonic()
        try:
            return _content(
                self._post({**body, "response_format": response_format(schema, style)}, timeout_s),
                self.url,
            )
        except LLMError as exc:
            if not _refused_format(exc):
                raise
            other: SchemaStyle = "json_object" if style == "json_schema" else "json_schema"
            left = timeout_s - (time.monotonic() - started)
            answer = _content(
                self._post({**body, "response_format": response_format(schema, other)}, left),
                self.url,
            )
            with self._style_lock:
                self._style = other
            logger.info("%s takes JSON schemas as response_format type %r", self.url, other)
            return answer

    def _post(self, body: Mapping[str, Any], timeout_s: float) -> Any:
        """POST the JSON body; the decoded JSON of a 2xx answer."""
        if timeout_s <= 0:
            raise LLMError("no time left for the request", url=self.url)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "sessionrec",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        payload = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url, data=payload, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                raw: bytes = response.read()
        except urllib.error.HTTPError as exc:
            status, detail = exc.code, http_error_detail(exc)
            exc.close()
            raise LLMError(_explain(status, detail), url=self.url, status=status) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LLMError(f"could not be reached: {reason}", url=self.url) from exc
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LLMError(
                f"answered something that is not JSON ({exc})", url=self.url, status=200
            ) from None


def _refused_format(exc: LLMError) -> bool:
    """Whether a failure is the server refusing the `response_format` dialect: a 400 or
    422, or (llama-cpp-python wraps its validation errors in a 500) any error that names
    the field."""
    return exc.status in (400, 422) or (exc.status is not None and "response_format" in str(exc))


def _content(answer: Any, url: str) -> str:
    """The assistant's text of a chat-completion answer."""
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        raise LLMError(
            'malformed chat answer; expected {"choices": [{"message": {"content": "..."}}]}',
            url=url,
            status=200,
        )
    return content


def _explain(status: int, detail: str) -> str:
    """A message for a failed request that says what to check."""
    said = f" ({detail})" if detail else ""
    if status in (401, 403):
        variables = " or $".join(API_KEY_ENV_VARS)
        return f"the request was refused{said}; check the API key (${variables})"
    if status == 404:
        return f"not found{said}; check the base URL and the model name"
    return f"the request failed{said}"


def parse_llm_spec(spec: str, *, env: Mapping[str, str] | None = None) -> OpenAIChatClient:
    """The client a command-line spec names: ``openai:MODEL@URL``.

    The model name may itself hold "@" (the last "@" starts the URL) and ":" (only the
    first ":" ends the scheme).
    """
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    if not sep or kind.lower() != "openai":
        raise ConfigError(f"unknown LLM spec {spec!r}; expected {SPEC_FORM}")
    model, at, url = rest.rpartition("@")
    if not at or not model.strip() or not url.strip():
        raise ConfigError(f"LLM spec {spec!r} lacks a model or a URL; expected {SPEC_FORM}")
    return OpenAIChatClient(model, url, env=env)


def check_reachable(client: ChatClient, timeout_s: float = 5.0) -> str | None:
    """None when the endpoint answers a one-token chat within `timeout_s`, else the reason.

    A real chat rather than a GET of ``/v1/models``: that route is optional, and the chat
    also proves the model name and the key are right.
    """
    try:
        client.chat([{"role": "user", "content": "Say OK."}], max_tokens=1, timeout_s=timeout_s)
    except LLMError as exc:
        return str(exc)
    return None
