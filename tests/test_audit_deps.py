"""`make audit` (tools/audit_deps.py): fails on a known vulnerability, passes when there is
none, and says SKIPPED instead of passing when no vulnerability service answers.

A small OSV-compatible server on 127.0.0.1 stands in for the real service, which these
machines cannot reach; pip-audit audits the real installed environment against it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "audit_deps.py"
VULNERABLE = "pip-audit"
"""The package the stand-in reports as vulnerable: installed wherever the audit runs."""


def advisory(name: str) -> dict[str, Any]:
    """An OSV record in the shape api.osv.dev returns."""
    return {
        "id": "TEST-2026-0001",
        "aliases": ["CVE-2026-00001"],
        "summary": "a vulnerability the test made up",
        "affected": [
            {
                "package": {"name": name, "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99"}]}],
            }
        ],
    }


@contextmanager
def osv_server(vulnerable: set[str]) -> Iterator[str]:
    """An OSV query API on a free local port that knows advisories for `vulnerable`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = query["package"]["name"]
            body = json.dumps({"vulns": [advisory(name)]} if name in vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the audit's output, not the server's."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def audit(osv_url: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--osv-url", osv_url, "--timeout", "5"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_a_known_vulnerability_fails_the_audit_and_is_named() -> None:
    with osv_server({VULNERABLE}) as url:
        result = audit(url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TEST-2026-0001" in result.stdout and VULNERABLE in result.stdout
    assert "fixed in: 99" in result.stdout and "FAILED: 1 known" in result.stdout


def test_no_known_vulnerability_passes_and_says_what_was_checked() -> None:
    with osv_server(set()) as url:
        result = audit(url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked against OSV: no known vulnerabilities" in result.stdout
    assert "SKIPPED" not in result.stdout


def test_an_unreachable_service_is_skipped_visibly_not_passed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the audit asks it
    result = audit(f"http://127.0.0.1:{port}/v1/query")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("SKIPPED: vulnerability service unreachable")
    assert "no known vulnerabilities" not in result.stdout
