"""Audit the installed environment for known vulnerabilities with pip-audit (`make audit`).

Exit 1 when an installed package has a known vulnerability that is not on the ignore list
below; exit 0 when none has. Where no vulnerability service answers (machines without
access to PyPI's per-release JSON API or to OSV), it prints a line starting
``SKIPPED: vulnerability service unreachable`` and exits 0, instead of what pip-audit
itself does there: skip every package as "not found on PyPI" and report "No known
vulnerabilities found", a pass that checked nothing.

Run: `.venv/bin/python tools/audit_deps.py [--osv-url URL] [--timeout S]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

PYPI_RELEASE_URL = "https://pypi.org/pypi/{name}/{version}/json"
OSV_QUERY_URL = "https://api.osv.dev/v1/query"
PROBE_PACKAGE = "pip-audit"
"""Asked about first: installed wherever this runs, and a release every service knows."""

IGNORED_VULNS: dict[str, str] = {}
"""Vulnerability id -> why it is accepted. Only for a vulnerability with no fixed release
yet, with the reason it does not reach the service; remove the entry once a fix exists."""

SKIPPED = "SKIPPED: vulnerability service unreachable"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Service:
    """One vulnerability service pip-audit can ask, with how to ask it."""

    name: str
    flags: tuple[str, ...]


def fetch_json(
    request: urllib.request.Request | str, url: str, timeout: float
) -> tuple[Any, str | None]:
    """(the JSON a request answers, None), or (None, why it did not answer)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response), None
    except urllib.error.HTTPError as exc:
        return None, f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return None, f"{url}: {exc}"


def probe_pypi(timeout: float) -> str | None:
    """None when PyPI answers per-release JSON (what pip-audit reads), else why not."""
    url = PYPI_RELEASE_URL.format(name=PROBE_PACKAGE, version=version(PROBE_PACKAGE))
    body, failure = fetch_json(url, url, timeout)
    if failure is not None:
        return failure
    if not isinstance(body, dict) or "vulnerabilities" not in body:
        return f"{url} answered without a 'vulnerabilities' field"
    return None


def probe_osv(url: str, timeout: float) -> str | None:
    """None when the OSV query API at `url` answers, else why not."""
    package = {"name": PROBE_PACKAGE, "ecosystem": "PyPI"}
    query = {"package": package, "version": version(PROBE_PACKAGE)}
    request = urllib.request.Request(
        url, data=json.dumps(query).encode(), headers={"Content-Type": "application/json"}
    )
    body, failure = fetch_json(request, url, timeout)
    if failure is not None:
        return failure
    if not isinstance(body, dict):
        return f"{url} answered something other than a JSON object"
    return None


def reachable_service(osv_url: str | None, timeout: float) -> tuple[Service | None, list[str]]:
    """The first service that answers (PyPI, then OSV; only OSV at `osv_url` when given),
    and why each one before it did not."""
    reasons: list[str] = []
    if osv_url is None:
        why = probe_pypi(timeout)
        if why is None:
            return Service("PyPI", ("--vulnerability-service", "pypi")), reasons
        reasons.append(f"PyPI: {why}")
    url = osv_url or OSV_QUERY_URL
    why = probe_osv(url, timeout)
    if why is None:
        return Service("OSV", ("--vulnerability-service", "osv", "--osv-url", url)), reasons
    reasons.append(f"OSV: {why}")
    return None, reasons


def run_pip_audit(service: Service, timeout: int, out: Path) -> subprocess.CompletedProcess[str]:
    ignores = [flag for vuln in IGNORED_VULNS for flag in ("--ignore-vuln", vuln)]
    command = [
        sys.executable, "-m", "pip_audit", *service.flags, "--skip-editable",
        "--progress-spinner", "off", "--timeout", str(timeout), "--desc", "on",
        "--format", "json", "--output", str(out), *ignores,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=False)


NETWORK_SIGNS = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries", "timed out")


def report(service: Service, result: dict[str, Any]) -> int:
    """Print what the audit found; the exit status (1 when a vulnerability is known)."""
    dependencies: list[dict[str, Any]] = result.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    if not audited:
        say(f"{SKIPPED} ({service.name} knows none of the {len(skipped)} installed packages)")
        return 0
    if skipped:
        why = [
            r if d["name"] in r else f"{d['name']}: {r}"
            for d in skipped
            for r in [d["skip_reason"]]
        ]
        say("audit: not audited (" + "; ".join(why) + ")")
    found = [(d, v) for d in audited for v in d.get("vulns", [])]
    for dependency, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
        aliases = ", ".join(vuln.get("aliases") or [])
        say(
            f"audit: {dependency['name']} {dependency['version']}: {vuln['id']}"
            f"{f' ({aliases})' if aliases else ''}; fixed in: {fixes}; "
            f"{(vuln.get('description') or '').strip()[:200]}"
        )
    if found:
        say(f"audit: FAILED: {len(found)} known vulnerabilities in installed packages")
        return 1
    ignored = f", {len(IGNORED_VULNS)} ignored (see tools/audit_deps.py)" if IGNORED_VULNS else ""
    say(
        f"audit: {len(audited)} installed packages checked against {service.name}: "
        f"no known vulnerabilities{ignored}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--osv-url", help="Ask only this OSV query API (a mirror; tests).")
    parser.add_argument("--timeout", type=int, default=10, help="Seconds per request.")
    args = parser.parse_args(argv)
    service, reasons = reachable_service(args.osv_url, args.timeout)
    if service is None:
        say(f"{SKIPPED} ({'; '.join(reasons)})")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "audit.json"
        finished = run_pip_audit(service, args.timeout, out)
        if not out.is_file():
            tail = finished.stderr.strip().splitlines()[-1:] or ["(no output)"]
            if any(sign in finished.stderr for sign in NETWORK_SIGNS):
                say(f"{SKIPPED} ({service.name} stopped answering: {tail[0]})")
                return 0
            say(f"audit: pip-audit failed (exit {finished.returncode}): {tail[0]}")
            return 2
        return report(service, json.loads(out.read_text()))


if __name__ == "__main__":
    sys.exit(main())
