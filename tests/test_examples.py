"""The shop example (examples/shop): a transformer trained with its own catalogue."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionrec.artifact import load_artifact_catalogue, read_manifest
from sessionrec.cli import app

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"


@dataclass(frozen=True)
class Trained:
    folder: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def shop_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """The README's `sessionrec train` of the shop, once for this module (2 epochs)."""
    work = tmp_path_factory.mktemp("shop")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SESSIONREC_CACHE", str(work / "cache"))
        out = work / "shop-model"
        result = CliRunner().invoke(
            app,
            ["train", "--data", str(SHOP / "events.csv"), "--catalogue", str(SHOP / "items.csv"),
             "--model", "transformer", "--set", "epochs=2", "--set", "progress=false",
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.stdout + result.stderr
        yield Trained(out, result.stdout, result.stderr)


def test_the_shop_example_trains_a_transformer_that_keeps_the_catalogue(
    shop_model: Trained,
) -> None:
    out = shop_model.folder
    result = shop_model
    # Two products are new: in the catalogue, not yet in any event.
    assert (
        "32 items; all 30 items of the events have an entry; 2 catalogue items have no events"
        in (result.stderr)
    )
    assert "warning" not in result.stderr
    assert "trained transformer on 32 items" in result.stdout
    catalogue = load_artifact_catalogue(out)
    assert catalogue is not None and len(catalogue) == 32
    titles = catalogue.titles()
    assert titles["P01"] == "Burr coffee grinder"
    assert all(titles.values())
    kettle = catalogue.item("P02")
    assert kettle["categories"] == ["Kitchen", "Coffee", "Tea"]
    assert kettle["attributes"] == {"brand": "Brewline", "price": "69.00"}
    assert read_manifest(out)["catalogue"] == str(SHOP / "items.csv")


def test_training_a_text_model_without_a_catalogue_warns(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(SHOP / "events.csv"), "--model", "transformer",
         "--set", "epochs=1", "--set", "progress=false", "--out", str(tmp_path / "m")],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if " warning: " in line]
    assert len(warnings) == 1
    assert "no item catalogue, so transformer learns from item ids alone" in warnings[0]
    assert "--catalogue FILE" in warnings[0]


def test_the_shop_files_are_what_the_readme_says() -> None:
    events = (SHOP / "events.csv").read_text().splitlines()
    assert events[0] == "session_id,product_id,timestamp,event_type"
    assert 300 <= len(events) - 1 <= 600
    items = (SHOP / "items.csv").read_text().splitlines()
    assert items[0] == "product_id,name,description,category,brand,price"
    assert len(items) - 1 == 32


def test_the_readme_library_example_runs_on_the_shop_model(
    shop_model: Trained, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's engine example, as written, against the model its commands train."""
    readme = (SHOP.parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    example = next(b for b in blocks if "Engine.from_artifact" in b)
    assert '"artifacts/shop"' in example
    code = example.replace('"artifacts/shop"', repr(str(shop_model.folder)))
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    titles = {line.split(" ", 1)[0] for line in lines[:-1]}
    assert len(lines) == 6  # five slate items, then the interests
    assert "Gooseneck" not in titles  # the disliked kettle never comes back
    assert lines[-1].startswith("[(")


def test_the_requests_protocol_runs_on_the_shop_from_the_command_line(
    shop_model: Trained, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.jsonl"
    built = CliRunner().invoke(
        app,
        ["cases", "--data", str(SHOP / "events.csv"), "--catalogue", str(SHOP / "items.csv"),
         "--out", str(cases)],
    )  # fmt: skip
    assert built.exit_code == 0, built.stdout + built.stderr
    assert "wrote 110 cases" in built.stdout
    out = tmp_path / "requests.json"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--protocol", "requests", "--artifact", str(shop_model.folder),
         "--cases", str(cases), "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["protocol"] == "requests"
    assert set(report["results"]) == {"engine+request", "engine"}
    assert report["dataset"]["test_cases"] == 110


def test_the_requests_protocol_names_what_is_missing_or_broken(
    shop_model: Trained, tmp_path: Path
) -> None:
    missing = CliRunner().invoke(
        app, ["evaluate", "--protocol", "requests", "--artifact", str(shop_model.folder)]
    )
    assert missing.exit_code == 2
    assert "--cases FILE" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"events": [{"item_id": "P01", "type": "view"}], "targets": ["P02"]}\nnot json\n'
    )
    broken = CliRunner().invoke(
        app,
        ["evaluate", "--protocol", "requests", "--artifact", str(shop_model.folder),
         "--cases", str(bad)],
    )  # fmt: skip
    assert broken.exit_code == 2
    assert "line 2" in broken.stderr and "not valid JSON" in broken.stderr
    assert "Traceback" not in broken.stderr
    stray = CliRunner().invoke(
        app, ["evaluate", "--data", str(SHOP / "events.csv"), "--cases", str(bad)]
    )
    assert stray.exit_code == 2
    assert "--protocol requests" in stray.stderr
