"""`sessionrec simulate` as a user runs it: train on the users' prefixes, simulate, and
refuse a model that may have seen the hidden targets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sessionrec.cli import app

GENRES = {"Animation": "cartoon", "Horror": "ghost", "Comedy": "laugh"}


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny MovieLens-style folder (RecBole atomic files): 30 users who each stay with
    one of three genres of ten films, nine ratings each."""
    folder = tmp_path_factory.mktemp("tiny-ml") / "tiny"
    folder.mkdir()
    items = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    for g, (genre, word) in enumerate(GENRES.items()):
        items += [f"{g * 10 + i}\tThe {word} film {i}\t199{i}\t{genre}" for i in range(10)]
    (folder / "tiny.item").write_text("\n".join(items) + "\n")
    rng = np.random.default_rng(0)
    rows = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    for user in range(30):
        genre = user % 3
        for t, i in enumerate(rng.permutation(10)[:9]):
            rows.append(f"{user}\t{genre * 10 + int(i)}\t4\t{1000 * user + t}")
    (folder / "tiny.inter").write_text("\n".join(rows) + "\n")
    return folder


def test_simulate_trains_on_prefixes_and_writes_every_mode(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "simulation.json"
    artifact = tmp_path / "model"
    args = ["simulate", "--data", str(log), "--artifact", str(artifact), "--users", "12",
            "--turns", "3", "--k", "5", "--json", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--train"])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert (report["users"], report["turns"], report["k"]) == (12, 3, 5)
    assert set(report["modes"]) == {
        "static", "feedback", "feedback+query", "feedback+interests", "feedback+explore",
    }  # fmt: skip
    for figures in report["modes"].values():
        assert 0.0 <= figures["SR@1"] <= figures["SR@2"] <= figures["SR@3"] <= 1.0
        assert figures["leaks_dropped"] == 0
    assert "SR@3" in result.stdout
    again = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "again.json")])
    assert again.exit_code == 0, again.stdout + again.stderr
    assert json.loads((tmp_path / "again.json").read_text()) == report  # same seed, same run


def test_a_model_trained_on_everything_is_refused(log: Path, tmp_path: Path) -> None:
    """A model that saw each user's whole history has seen the targets the users hide."""
    artifact = tmp_path / "full"
    trained = CliRunner().invoke(
        app, ["train", "--data", str(log), "--model", "transformer", "--set", "epochs=1",
              "--out", str(artifact)],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.stdout + trained.stderr
    result = CliRunner().invoke(
        app, ["simulate", "--data", str(log), "--artifact", str(artifact), "--users", "5"]
    )
    assert result.exit_code == 2
    assert "may have seen the simulated users' targets" in result.stderr
    assert "--train" in result.stderr


def test_too_short_histories_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "short"
    folder.mkdir()
    (folder / "short.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        + "".join(f"{i}\tFilm {i}\t1990\tDrama\n" for i in range(6))
    )
    (folder / "short.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        + "".join(f"{u}\t{i}\t4\t{10 * u + i}\n" for u in range(3) for i in range(4))
    )
    result = CliRunner().invoke(
        app, ["simulate", "--data", str(folder), "--artifact", str(tmp_path / "m"), "--train"]
    )
    assert result.exit_code == 2
    assert "no user to simulate" in result.stderr


def test_an_artifact_trained_for_other_targets_is_refused(log: Path, tmp_path: Path) -> None:
    """An artifact trained without each user's last event has seen the second-to-last,
    which a simulation with three targets hides."""
    artifact = tmp_path / "one"
    args = ["simulate", "--data", str(log), "--artifact", str(artifact), "--users", "6",
            "--turns", "2", "--k", "5"]  # fmt: skip
    trained = CliRunner().invoke(app, [*args, "--train", "--targets", "1", "--language", "zh"])
    assert trained.exit_code == 0, trained.stdout + trained.stderr
    result = CliRunner().invoke(app, [*args, "--targets", "3"])
    assert result.exit_code == 2
    assert "without each user's last 3 events" in result.stderr


def test_an_unknown_language_is_refused(log: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--data", str(log), "--artifact", str(tmp_path), "--language", "fr"]
    )
    assert result.exit_code == 2
    assert "language" in result.stderr and "zh" in result.stderr


@pytest.mark.parametrize("flag", ["--users", "--turns", "--k", "--targets"])
def test_counts_below_one_are_refused(log: Path, tmp_path: Path, flag: str) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--data", str(log), "--artifact", str(tmp_path), flag, "0"]
    )
    assert result.exit_code == 2
    assert "must be at least 1" in result.stderr
