"""Artifacts: `sessionrec train` writes one; loading checks every file before trusting it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sessionrec.artifact import MANIFEST_FILE, load_artifact, read_manifest, save_artifact
from sessionrec.cli import app
from sessionrec.errors import DataError
from sessionrec.models.base import SessionBatch
from sessionrec.models.transformer import SessionTransformer
from sessionrec.testing import QUICK_TRANSFORMER_SMALL, ring_sessions


def clicks(tmp_path: Path) -> Path:
    lines = ["SessionId\tItemId\tTime"]
    t = 0.0
    for s in range(30):
        for k in range(3):
            t += 1.0
            lines.append(f"{s}\t{(s + k) % 7}\t{t}")
    path = tmp_path / "clicks.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_command_writes_a_loadable_artifact(tmp_path: Path) -> None:
    out = tmp_path / "artifact"
    result = CliRunner().invoke(
        app, ["train", "--data", str(clicks(tmp_path)), "--model", "sr", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    manifest = read_manifest(out)
    assert manifest["model"] == "sr"
    assert len(manifest["data_hash"]) == 64
    assert {"sessionrec", "python", "numpy"} <= set(manifest["versions"])
    model = load_artifact(out)
    scores = model.score(SessionBatch([model.vocab.lookup(["1"])]))[0]
    assert model.vocab.ids[int(np.argmax(scores))] == "2"


def test_train_command_rejects_an_unknown_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--data", str(clicks(tmp_path)), "--model", "bert", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "unknown model 'bert'" in result.stderr


@pytest.fixture
def transformer_artifact(tmp_path: Path) -> tuple[Path, SessionTransformer]:
    train = ring_sessions(40, ring=5, length=3)
    model = SessionTransformer(QUICK_TRANSFORMER_SMALL).fit(train)
    return save_artifact(model, tmp_path / "tf", train), model


def test_transformer_artifact_round_trip(
    transformer_artifact: tuple[Path, SessionTransformer],
) -> None:
    folder, model = transformer_artifact
    assert (folder / "weights.safetensors").is_file()
    loaded = load_artifact(folder)
    batch = SessionBatch.of([0, 1], [3])
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))


def test_corrupted_weights_are_refused(
    transformer_artifact: tuple[Path, SessionTransformer],
) -> None:
    folder, _ = transformer_artifact
    weights = folder / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"corrupted: weights\.safetensors"):
        load_artifact(folder)


def test_missing_file_and_other_format_versions_are_refused(
    transformer_artifact: tuple[Path, SessionTransformer],
) -> None:
    folder, _ = transformer_artifact
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    (folder / MANIFEST_FILE).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(DataError, match="artifact format 99"):
        load_artifact(folder)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    (folder / "items.json").unlink()
    with pytest.raises(DataError, match=r"incomplete: items\.json"):
        load_artifact(folder)


def test_a_folder_without_manifest_is_not_an_artifact(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no manifest\.json"):
        load_artifact(tmp_path)


def test_a_missing_artifact_folder_is_named_as_missing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-artifact"
    with pytest.raises(DataError, match="no such artifact folder") as info:
        read_manifest(missing)
    assert str(missing) in str(info.value)
    assert "manifest" not in str(info.value)
    a_file = tmp_path / "clicks.tsv"
    a_file.write_text("x\n")
    with pytest.raises(DataError, match="is a file, not an artifact folder"):
        read_manifest(a_file)


def test_train_refuses_an_out_path_that_is_a_file_before_reading_any_data(
    tmp_path: Path,
) -> None:
    taken = tmp_path / "artifact"
    taken.write_text("not a folder\n")
    missing_data = tmp_path / "not-there.csv"  # reading it would be the first error otherwise
    result = CliRunner().invoke(
        app, ["train", "--data", str(missing_data), "--model", "sr", "--out", str(taken)]
    )
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"error: --out {taken} is a file; give a folder for the artifact"
    )
    for out, message in [
        (taken / "inside", f"{taken} is a file"),
        (tmp_path, "a folder with other files in it"),
    ]:
        result = CliRunner().invoke(
            app, ["train", "--data", str(missing_data), "--model", "sr", "--out", str(out)]
        )
        assert result.exit_code == 2 and message in result.stderr
