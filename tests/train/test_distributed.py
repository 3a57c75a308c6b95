"""DDP training: two processes under torchrun train the model one process trains.

The processes are real: torchrun (`python -m torch.distributed.run`) starts them and they
talk over gloo on 127.0.0.1, as `sessionrec train --nproc 2` runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sessionrec.artifact import load_artifact, read_manifest
from sessionrec.cli import without_option
from sessionrec.train.distributed import Workers, torchrun_command

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"

# A model without random draws (no dropout, ids only) on windows that all hold one target,
# in batches of 16 that split 8 / 8: the mean of two halves' mean losses is the batch's
# mean loss, so DDP's averaged gradient is the single process's gradient.
TRAINING_SCRIPT = """
import json, sys
from dataclasses import replace
from torch.nn.modules.module import register_module_forward_pre_hook
from sessionrec.models.transformer import SessionTransformer
from sessionrec.models.transformer.net import CausalTransformer
from sessionrec.testing import QUICK_TRANSFORMER_PAIRS, pairs_log
from sessionrec.train import distributed

rows = [0]  # training rows this process's network was given


def count_rows(module, args):
    if isinstance(module, CausalTransformer) and len(args) == 3 and args[2] is not None:
        rows[0] += args[0].shape[0]


register_module_forward_pre_hook(count_rows)
workers = distributed.start()
config = replace(
    QUICK_TRANSFORMER_PAIRS, epochs=6, patience=6, use_text=False, id_dropout=0.0,
    batch_size=16, threads=1,
)
model = SessionTransformer(config).fit(pairs_log(64), None, pairs_log(16))
state = {name: value.tolist() for name, value in model.net.state_dict().items()}
history = [[e.epoch, e.score, e.steps] for e in model.training_result.history]
with open(f"{sys.argv[1]}/rank{workers.rank}-of-{workers.world}.json", "w") as out:
    json.dump({"state": state, "history": history, "rows": rows[0]}, out)
distributed.stop()
"""


def torchrun(nproc: int, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = torchrun_command(nproc, *arguments)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def read_run(path: Path) -> tuple[dict[str, np.ndarray], list[list[float]], int]:
    saved = json.loads(path.read_text())
    state = {name: np.asarray(value) for name, value in saved["state"].items()}
    return state, saved["history"], saved["rows"]


def test_two_processes_train_the_weights_one_process_trains(tmp_path: Path) -> None:
    script = tmp_path / "fit.py"
    script.write_text(TRAINING_SCRIPT)
    alone = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert alone.returncode == 0, alone.stderr
    pair = torchrun(2, str(script), str(tmp_path))
    assert pair.returncode == 0, pair.stderr
    single, single_history, single_rows = read_run(tmp_path / "rank0-of-1.json")
    first, first_history, first_rows = read_run(tmp_path / "rank0-of-2.json")
    second, second_history, second_rows = read_run(tmp_path / "rank1-of-2.json")
    # Each process stepped 4 times an epoch over half of each batch, as one process over
    # the whole batch; process 0's validation scores reached process 1.
    assert [h[2] for h in single_history] == [h[2] for h in first_history] == [4] * 6
    assert single_rows == 6 * 64 and first_rows == second_rows == 6 * 32
    assert first_history == second_history
    assert [h[1] for h in first_history] == pytest.approx([h[1] for h in single_history])
    assert single.keys() == first.keys() == second.keys()
    for name in single:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
        np.testing.assert_allclose(first[name], single[name], rtol=1e-4, atol=1e-5, err_msg=name)
    # The weights did move: the test would not pass on an untrained model.
    moved = [n for n in single if n.endswith("weight") and np.abs(single[n]).max() > 0.1]
    assert moved


def test_train_nproc_2_writes_one_artifact_that_serves(tmp_path: Path) -> None:
    out = tmp_path / "artifact"
    proc = subprocess.run(
        [sys.executable, "-m", "sessionrec", "train",
         "--data", str(SHOP / "events.csv"), "--catalogue", str(SHOP / "items.csv"),
         "--model", "transformer", "--set", "epochs=2", "--out", str(out), "--nproc", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "training process 1 of 2 joined (gloo)" in proc.stderr
    assert "training process 2 of 2 joined (gloo)" in proc.stderr
    assert f"artifact written to {out}" in proc.stdout
    assert proc.stdout.count("artifact written") == 1  # process 0 alone says it
    # One epoch line per epoch: process 1 trains beside process 0 without logging.
    assert proc.stderr.count("transformer epoch 1/2") == 1
    assert read_manifest(out)["model"] == "transformer"
    model = load_artifact(out)
    assert model.n_items == 32


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model", "gru4rec", "--nproc", "2"], "gru4rec trains in one process"),
        (["--nproc", "0"], "--nproc must be a whole number >= 1"),
    ],
)
def test_train_refuses_what_cannot_run_in_parallel_in_one_line(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sessionrec", "train", "--data", str(SHOP / "events.csv"),
         "--out", str(tmp_path / "out"), *arguments],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_batch_is_split_evenly_and_a_too_small_one_skipped_by_every_process() -> None:
    rows = np.arange(7)
    assert Workers().shard(rows) is rows
    parts = [Workers(rank, 2).shard(rows) for rank in range(2)]
    assert [p.tolist() for p in parts if p is not None] == [[0, 1, 2, 3], [4, 5, 6]]
    assert Workers(0, 8).shard(rows) is None and Workers(7, 8).shard(rows) is None


def test_the_process_count_is_not_passed_on_to_torchrun() -> None:
    arguments = ["train", "--nproc", "2", "--data", "x", "--nproc=3", "--out", "o"]
    assert without_option(arguments, "--nproc") == ["train", "--data", "x", "--out", "o"]
