"""`benchmarks/load.py` in its short form: concurrent sessions over a real `sessionrec serve`
(two workers, one SQLite file), every answer 2xx and every session's events its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.service

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


def test_concurrent_sessions_see_only_their_own_events(tiny_artifact: Path, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    command = [
        sys.executable, str(SCRIPT), "--artifact", str(tiny_artifact), "--sessions", "16",
        "--events", "6", "--workers", "2", "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["errors"] == 0 and result["leaks"] == 0
    assert result["requests"] == 16 * (1 + 6 * 2 + 1)  # create, event + slate each, read
    assert "recommend_p99_ms" in result and "errors 0   leaks 0" in done.stdout


def test_bad_arguments_are_refused() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sessions", "0"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--sessions and --events must be at least 1" in done.stderr
