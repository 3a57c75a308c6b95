"""`sessionrec serve`: a set-up problem is one line and exit 2; a good set-up serves."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sessionrec.cli import app

pytestmark = pytest.mark.service


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(proc: subprocess.Popen[str] | subprocess.Popen[bytes], base: str) -> httpx.Response:
    """Poll /readyz until the server answers (fails if the process dies or 60 s pass)."""
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            return httpx.get(f"{base}/readyz", timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["serve", *args])
    return result.exit_code, result.stderr


def test_a_missing_artifact_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, err = serve("--artifact", str(tmp_path / "nothing"), "--store", "sqlite:///:memory:")
    assert code == 2
    assert "no such artifact folder" in err and len(err.strip().splitlines()) <= 2


def test_an_unknown_index_is_one_line_and_exit_2(
    tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SESSIONREC_INDEX", raising=False)
    code, err = serve("--artifact", str(tiny_artifact), "--index", "annoy")
    assert code == 2 and "unknown index 'annoy'" in err and "hnsw" in err
    assert len(err.strip().splitlines()) <= 2
    assert "SESSIONREC_INDEX" not in os.environ  # nothing handed on


def test_a_corrupted_artifact_is_refused(tiny_artifact: Path, tmp_path: Path) -> None:
    folder = tmp_path / "artifact"
    shutil.copytree(tiny_artifact, folder)
    victim = next(p for p in sorted(folder.iterdir()) if p.name != "manifest.json")
    victim.write_bytes(b"garbage")
    code, err = serve("--artifact", str(folder), "--store", "sqlite:///:memory:")
    assert code == 2 and "corrupted" in err


def test_an_unreachable_store_is_refused(tiny_artifact: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, err = serve("--artifact", str(tiny_artifact), "--store", url)
    assert code == 2 and "127.0.0.1" in err
    code, err = serve("--artifact", str(tiny_artifact), "--store", "postgres://x/y")
    assert code == 2 and "sqlite" in err


def test_a_busy_port_is_refused(tiny_artifact: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = serve(
            "--artifact", str(tiny_artifact), "--store", "sqlite:///:memory:", "--port", str(port)
        )
    assert code == 2 and f"127.0.0.1:{port}" in err


@pytest.mark.slow
def test_serve_starts_answers_and_stops_on_sigint(tiny_artifact: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable, "-m", "sessionrec", "serve", "--artifact", str(tiny_artifact),
        "--store", f"sqlite:///{tmp_path / 's.db'}", "--port", str(port),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = wait_ready(proc, f"http://127.0.0.1:{port}")
        assert ready.status_code == 200
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'data-testid="slate"' in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/app.js").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{port}" in out


@pytest.mark.slow
def test_two_workers_share_items_and_metrics(tiny_artifact: Path, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "sessionrec", "serve", "--artifact", str(tiny_artifact),
        "--store", f"sqlite:///{tmp_path / 's.db'}", "--port", str(port), "--workers", "2",
    ]  # fmt: skip
    env = {**os.environ, "SESSIONREC_API_KEY": "two-worker-admin-key"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        wait_ready(proc, base)
        item = {"title": "Shared Film", "text": "A documentary about glaciers."}
        admin = {"X-API-Key": "two-worker-admin-key"}
        put = httpx.put(f"{base}/v1/items/shared", json=item, headers=admin, timeout=60)
        assert put.status_code == 201, put.text
        # The other worker picks the item up at its next sync (every 2 s), encoding its text
        # (the first encode also loads the language model): poll until 12 fresh connections
        # in a row, which land on either worker, all find it.
        deadline = time.monotonic() + 90
        found_in_a_row = 0
        while found_in_a_row < 12:
            assert time.monotonic() < deadline, "the item never reached every worker"
            with httpx.Client(base_url=base) as client:
                found = client.get("/v1/items/shared").status_code == 200
            found_in_a_row = found_in_a_row + 1 if found else 0
            time.sleep(0 if found else 0.5)
        for _ in range(4):
            httpx.post(f"{base}/v1/sessions")
        metrics = httpx.get(f"{base}/metrics").text
        assert "sessionrec_sessions_created_total 4.0" in metrics
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
