"""What every client of an OpenAI-compatible HTTP service shares: the endpoint under a
base URL, the API key from the environment, the server's own error message.

The embeddings encoder (`text/openai_http.py`) and the chat client (`llm/client.py`) speak
the same protocol to the same kinds of servers (OpenAI, vLLM, llama.cpp, Ollama), so they
read URLs, keys and errors one way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
from collections.abc import Mapping, Sequence

from sessionrec.errors import ConfigError

MAX_DETAIL_CHARS = 300
"""Longest server message quoted in an error."""


def endpoint_url(base_url: str, endpoint: str, what: str) -> str:
    """`endpoint` ("embeddings", "chat/completions") under a base URL, with or without its
    trailing ``/v1``; `what` names the URL in the error for a malformed one."""
    parsed = urllib.parse.urlparse(base_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{what} base URL must be http(s)://host[:port][/path], got {base_url!r}")
    root = base_url.strip().rstrip("/")
    return f"{root}/{endpoint}" if root.endswith("/v1") else f"{root}/v1/{endpoint}"


def api_key_from_env(env: Mapping[str, str], variables: Sequence[str]) -> str | None:
    """The first non-blank of `variables` in `env`."""
    for variable in variables:
        if value := env.get(variable, "").strip():
            return value
    return None


def http_error_detail(exc: urllib.error.HTTPError) -> str:
    """The server's own error message, short, from an OpenAI-style or plain-text body:
    what a client quotes when a service refuses it."""
    try:
        raw = exc.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()[:MAX_DETAIL_CHARS]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:MAX_DETAIL_CHARS]
    if isinstance(error, str):
        return error[:MAX_DETAIL_CHARS]
    return raw.strip()[:MAX_DETAIL_CHARS]
