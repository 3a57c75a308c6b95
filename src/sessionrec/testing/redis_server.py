"""A real redis-server on 127.0.0.1, started and stopped by tests.

Each server runs with `--save ""` (no RDB snapshots) and `--appendonly yes --appendfsync
always`, the configuration the Redis store documents for durability, in its own folder on
a free port, so tests never touch a Redis the machine may already run.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT_S = 10.0


class RedisNotInstalledError(RuntimeError):
    """redis-server is not installed (tests skip on it; `make system-deps` installs it)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server child process and where it keeps its append-only file."""

    port: int
    folder: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The store URL of database 0 (add `?prefix=...` to isolate a test)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client that decodes replies to str."""
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, only what is on disk survives."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within 10 s."""
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `grace_s`: a test's
    server must never outlive it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace_s)


def redis_options(port: int, folder: Path) -> list[str]:
    """Loopback only, no RDB snapshots, every write fsync'd to the append-only file."""
    options = {
        "bind": "127.0.0.1",
        "port": str(port),
        "save": "",
        "appendonly": "yes",
        "appendfsync": "always",
        "dir": str(folder),
        "logfile": str(folder / "redis.log"),
        "daemonize": "no",
    }
    return [arg for name, value in options.items() for arg in (f"--{name}", value)]


def start_redis(folder: Path, port: int | None = None) -> RedisServer:
    """Start redis-server in `folder` and wait until it answers PING.

    Raises RedisNotInstalledError where redis-server is not installed, RuntimeError (with the
    end of its log) where it does not start.
    """
    if not Path(REDIS_SERVER).exists():
        raise RedisNotInstalledError(
            f"redis-server not installed ({REDIS_SERVER}); `make system-deps` installs it"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for _attempt in range(5):
        chosen = port or free_port()
        proc = subprocess.Popen(
            [REDIS_SERVER, *redis_options(chosen, folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = RedisServer(chosen, folder, proc)
        client = redis.Redis(host="127.0.0.1", port=chosen, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if client.ping():
                        return server
                except redis.RedisError:
                    time.sleep(0.02)
        finally:
            client.close()
        server.kill()
        if port is not None:
            break  # a fixed port (a restart) that fails is an error, not a port clash
    log = folder / "redis.log"
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"redis-server did not start in {folder}:\n{detail}")
