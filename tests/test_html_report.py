"""`write_report`: evaluate and simulate JSON into one self-contained HTML page; the page in
headless Chromium (images decode, tables have rows). Leaves screenshots/report.png."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sessionrec.errors import ConfigError, DataError
from sessionrec.workflows.report import write_report

CHROMIUM = os.environ.get("SESSIONREC_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "screenshots" / "report.png"
IMAGE = '<img src="data:image/png;base64,'


def metrics(hr10: float, cov: float, pop: float) -> dict[str, float]:
    return {
        "HR@10": hr10,
        "MRR@10": hr10 / 3,
        "NDCG@10": hr10 / 2,
        "HR@20": hr10 * 1.5,
        "MRR@20": hr10 / 2.8,
        "NDCG@20": hr10 / 1.8,
        "COV@10": cov / 2,
        "POP@10": pop,
        "COV@20": cov,
        "POP@20": pop * 0.9,
        "train_seconds": 0.5,
        "eval_seconds": 0.25,
    }


def evaluate_json(exclude_seen: bool, *, cold_warm: bool) -> dict[str, Any]:
    lift = 1.3 if exclude_seen else 1.0
    data: dict[str, Any] = {
        "protocol": "leave-one-out",
        "exclude_seen": exclude_seen,
        "dataset": {"users": 30, "sessions": 40, "items": 50, "events": 600, "test_cases": 30},
        "results": {
            "pop": metrics(0.05 * lift, 0.02, 0.8),
            "<sr & co>": metrics(0.12 * lift, 0.6, 0.35),
        },
        "settings": {"ties": "pessimistic"},
        "sessionrec_version": "0.1.0",
    }
    if cold_warm:
        data["results_cold"] = {
            "pop": metrics(0.0, 0.01, 0.9),
            "<sr & co>": metrics(0.03, 0.2, 0.5),
        }
        data["results_warm"] = {
            "pop": metrics(0.06, 0.02, 0.8),
            "<sr & co>": metrics(0.14, 0.6, 0.33),
        }
    return data


def simulate_json(turns: int = 6) -> dict[str, Any]:
    modes: dict[str, dict[str, float]] = {}
    for i, mode in enumerate(("static", "feedback", "feedback+query")):
        figures = {f"SR@{t}": round(min(1.0, 0.2 + 0.1 * t + 0.03 * i), 4) for t in (1, turns)}
        figures.update({f"SR@{t}": 0.2 + 0.1 * t + 0.03 * i for t in range(2, turns)})
        figures.update(
            {
                "AT": 4.5 - 0.2 * i,
                "hDCG": 0.4 + 0.02 * i,
                "clicks": 3.1,
                "diversity": 0.7,
                "coverage": 0.5,
                "abandoned": 0.03,
                "leaks_dropped": 0,
            }
        )
        modes[mode] = figures
    return {"users": 60, "turns": turns, "k": 10, "seed": 0, "modes": modes}


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    files = {
        "ranked.json": evaluate_json(False, cold_warm=True),
        "excluded.json": evaluate_json(True, cold_warm=False),
        "simulate.json": simulate_json(),
    }
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


def test_the_report_holds_tables_and_embedded_images(inputs: list[Path], tmp_path: Path) -> None:
    out = write_report(inputs, tmp_path / "out" / "report.html")
    assert out == tmp_path / "out" / "report.html"
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "leave-one-out — history ranked" in page
    assert "leave-one-out — history excluded" in page
    assert "history ranked against history excluded" in page
    assert "Cold and warm targets" in page
    assert "Turn metrics per mode" in page
    # Tables: per evaluation, cold/warm, the exclude-seen comparison, the simulation.
    assert page.count("<table>") == 5
    for column in ("HR@10", "NDCG@20", "COV@20", "POP@20", "AT", "hDCG", "leaks_dropped"):
        assert f"<th>{column}</th>" in page
    for mode in ("static", "feedback", "feedback+query"):
        assert f"<th scope='row'>{mode}</th>" in page
    assert "<th>SR@1</th>" in page and "<th>SR@6</th>" in page
    # Charts: HR/NDCG, coverage/popularity and cold/warm for the first evaluation, two for
    # the second, the comparison, the SR@T curves.
    assert page.count(IMAGE) == 7
    assert "src=" not in page.replace(IMAGE, "")
    assert not re.search(r"https?://", page)
    # Names from the JSON are escaped.
    assert "<sr & co>" not in page
    assert "&lt;sr &amp; co&gt;" in page


def test_a_lone_simulation_and_a_lone_evaluation(tmp_path: Path, inputs: list[Path]) -> None:
    page = write_report([inputs[2]], tmp_path / "sim.html").read_text()
    assert page.count(IMAGE) == 1 and page.count("<table>") == 1
    page = write_report([inputs[1]], tmp_path / "eval.html").read_text()
    assert page.count(IMAGE) == 2 and page.count("<table>") == 1
    assert "Cold and warm" not in page and "against" not in page


def test_odd_names_and_figures_are_drawn(tmp_path: Path) -> None:
    """A name matplotlib would read as a formula, NaN, infinity, null, a missing figure."""
    data = evaluate_json(False, cold_warm=False)
    data["results"] = {
        r"a$\frac$b": {**metrics(0.1, 0.5, 0.4), "COV@20": float("nan")},
        "odd": {"HR@10": float("inf"), "NDCG@10": None, "POP@20": 0.2},
    }
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data))
    page = write_report([path], tmp_path / "odd.html").read_text()
    assert page.count(IMAGE) == 2
    assert r"<th scope='row'>a$\frac$b</th>" in page
    assert "<td>—</td>" in page


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "neither an evaluate JSON"),
        ('{"protocol": "next-item"}', "neither an evaluate JSON"),
        ('{"results": {}}', "no models"),
        ('{"results": {"pop": 3}}', "model 'pop' is not an object"),
        ('{"results": {"pop": {"HR@10": "high"}}}', "'HR@10' is not a number"),
        ('{"modes": {"static": {"SR@1": true}}}', "'SR@1' is not a number"),
        ('{"results": {"pop": {}}, "results_cold": []}', "'results_cold' is not an object"),
    ],
)
def test_a_bad_input_is_a_data_error_naming_the_file(
    tmp_path: Path, inputs: list[Path], content: str, why: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(DataError, match=re.escape(why)) as caught:
        write_report([inputs[0], bad], tmp_path / "report.html")
    assert str(bad) in str(caught.value)
    assert not (tmp_path / "report.html").exists()


def test_a_missing_or_unreadable_input_is_a_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(DataError, match="no such file") as caught:
        write_report([missing], tmp_path / "report.html")
    assert str(missing) in str(caught.value)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="cannot be read") as caught:
        write_report([binary], tmp_path / "report.html")
    assert str(binary) in str(caught.value)
    with pytest.raises(DataError, match="cannot be read"):
        write_report([tmp_path], tmp_path / "report.html")


def test_no_input_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one"):
        write_report([], tmp_path / "report.html")


def test_importing_the_report_module_loads_no_plotting_library() -> None:
    probe = "import sys, sessionrec.workflows.report\nprint('matplotlib' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "False"


@pytest.mark.browser
def test_the_report_renders_in_chromium(inputs: list[Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; `make system-deps` installs it")
    out = write_report(inputs, tmp_path / "report.html")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all(
                "img", "nodes => nodes.map(n => n.complete ? n.naturalWidth : 0)"
            )
            assert len(widths) == 7
            assert all(width > 0 for width in widths), widths
            rows = page.eval_on_selector_all(
                "table", "nodes => nodes.map(n => n.querySelectorAll('tbody tr').length)"
            )
            assert rows == [2, 4, 2, 3, 2], rows  # the comparison comes last
            # Nothing but the file itself and its data URIs was fetched.
            assert all(url.startswith(("file:", "data:")) for url in requests), requests
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()


def test_the_report_command_writes_the_page_and_names_a_bad_input(
    inputs: list[Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from sessionrec.cli import app

    out = tmp_path / "out" / "report.html"
    done = CliRunner().invoke(app, ["report", *map(str, inputs), "--out", str(out)])
    assert done.exit_code == 0, done.stdout + done.stderr
    assert f"report written to {out}" in done.stdout
    assert out.read_text().count("<table") >= 3
    missing = tmp_path / "missing.json"
    failed = CliRunner().invoke(app, ["report", str(missing), "--out", str(out)])
    assert failed.exit_code == 2
    assert str(missing) in failed.stderr and "Traceback" not in failed.stderr
