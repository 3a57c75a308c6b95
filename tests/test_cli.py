"""The `sessionrec evaluate` contract: table, JSON shape, and one clear line for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionrec.cli import app

REQUIRED_KEYS = {
    "HR@10",
    "MRR@10",
    "NDCG@10",
    "HR@20",
    "MRR@20",
    "NDCG@20",
    "COV@20",
    "train_seconds",
    "eval_seconds",
}


def write_sessions(path: Path, sessions: dict[int, list[int]], start: float = 1.0e9) -> Path:
    lines = ["SessionId\tItemId\tTime"]
    t = start
    for session, items in sessions.items():
        for item in items:
            t += 10.0
            lines.append(f"{session}\t{item}\t{t:.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = write_sessions(
        tmp_path / "train.tsv",
        {s: [(s + k) % 9 + 100 for k in range(2 + s % 4)] for s in range(1, 40)},
    )
    test = write_sessions(
        tmp_path / "test.tsv", {1000: [101, 102, 103], 1001: [104, 105], 1002: [999, 106]}, 2.0e9
    )
    return train, test


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_next_item_prints_a_table_and_writes_the_json_contract(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = files
    out = tmp_path / "out" / "results.json"
    code, stdout, _ = invoke(
        "evaluate", "--train", str(train), "--test", str(test),
        "--protocol", "next-item", "--models", "pop,sr,vsknn,sknn", "--json", str(out),
    )  # fmt: skip
    assert code == 0, stdout
    assert "vsknn" in stdout and "HR@20" in stdout
    report = json.loads(out.read_text())
    assert report["protocol"] == "next-item"
    # Session 1002 loses its unknown item 999 and, left with one click, is dropped.
    assert report["dataset"]["test_cases"] == 3
    assert set(report["dataset"]) == {"users", "sessions", "items", "events", "test_cases"}
    assert set(report["results"]) == {"pop", "sr", "vsknn", "sknn"}
    for metrics in report["results"].values():
        assert set(metrics) >= REQUIRED_KEYS
        assert all(0.0 <= metrics[k] <= 1.0 for k in REQUIRED_KEYS if "@" in k)
    # SR has seen 101→102, 102→103 and 104→105 in training: every target is its first pick.
    assert report["results"]["sr"]["HR@10"] == 1.0


def test_exclude_seen_is_recorded_and_named_in_the_table(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = files
    reports = {}
    for flag in ([], ["--exclude-seen"]):
        out = tmp_path / f"results{len(flag)}.json"
        code, stdout, stderr = invoke(
            "evaluate", "--train", str(train), "--test", str(test),
            "--protocol", "next-item", "--models", "pop", "--json", str(out), *flag,
        )  # fmt: skip
        assert code == 0, stdout + stderr
        assert ("history items excluded" in stdout) == bool(flag)
        reports[bool(flag)] = json.loads(out.read_text())
    assert reports[False]["exclude_seen"] is False
    assert reports[True]["exclude_seen"] is True
    # Popularity ranks the session's own items among the first: excluding them helps it.
    assert reports[True]["results"]["pop"]["HR@10"] >= reports[False]["results"]["pop"]["HR@10"]


def test_evaluate_leave_one_out_on_one_file(tmp_path: Path) -> None:
    data = tmp_path / "log.csv"
    rows = ["user_id,item_id,timestamp"]
    rows += [f"u{u},i{(u + k) % 7},{1000 + k}" for u in range(12) for k in range(5)]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "loo.json"
    code, stdout, _ = invoke(
        "evaluate", "--data", str(data), "--protocol", "leave-one-out",
        "--models", "pop", "--json", str(out),
    )  # fmt: skip
    assert code == 0, stdout
    report = json.loads(out.read_text())
    assert report["protocol"] == "leave-one-out"
    assert report["dataset"]["test_cases"] == 12
    assert report["dataset"]["users"] == 12


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--protocol", "random-split"], "valid: leave-one-out, next-item"),
        (["--models", "pop,bert4rec"], "unknown model 'bert4rec'"),
        (["--format", "xlsx"], "unknown format 'xlsx'"),
        (["--ties", "random"], "unknown tie policy"),
    ],
)
def test_unknown_names_list_the_valid_ones(
    files: tuple[Path, Path], extra: list[str], expected: str
) -> None:
    train, test = files
    code, stdout, stderr = invoke("evaluate", "--train", str(train), "--test", str(test), *extra)
    assert code == 2
    assert expected in stderr
    assert "Traceback" not in stderr + stdout


def test_missing_file_is_named(tmp_path: Path, files: tuple[Path, Path]) -> None:
    _, test = files
    missing = tmp_path / "nope.tsv"
    code, _, stderr = invoke("evaluate", "--train", str(missing), "--test", str(test))
    assert code == 2
    assert str(missing) in stderr


def test_misnamed_column_is_named_with_the_columns_found(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    _, test = files
    bad = tmp_path / "bad.tsv"
    bad.write_text("SessionId\tProduct\tTime\n1\t2\t3.0\n1\t3\t4.0\n")
    code, _, stderr = invoke(
        "evaluate", "--train", str(bad), "--test", str(test), "--format", "gru4rec"
    )
    assert code == 2
    assert "ItemId" in stderr and "Product" in stderr


def test_non_numeric_timestamp_gives_file_and_line(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    _, test = files
    bad = tmp_path / "bad.tsv"
    bad.write_text("SessionId\tItemId\tTime\n1\t2\t3.0\n1\t3\tyesterday\n")
    code, _, stderr = invoke("evaluate", "--train", str(bad), "--test", str(test))
    assert code == 2
    assert str(bad) in stderr and "line 3" in stderr


def test_empty_file_is_reported(tmp_path: Path, files: tuple[Path, Path]) -> None:
    _, test = files
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    code, _, stderr = invoke("evaluate", "--train", str(empty), "--test", str(test))
    assert code == 2
    assert str(empty) in stderr and "empty" in stderr.lower()


def test_test_file_sharing_no_items_with_train(tmp_path: Path, files: tuple[Path, Path]) -> None:
    train, _ = files
    alien = write_sessions(tmp_path / "alien.tsv", {1: [7001, 7002], 2: [7003, 7004]})
    code, _, stderr = invoke("evaluate", "--train", str(train), "--test", str(alien))
    assert code == 2
    assert "shares no items" in stderr


def test_inconsistent_data_options(files: tuple[Path, Path]) -> None:
    train, test = files
    code, _, stderr = invoke("evaluate", "--train", str(train))
    assert code == 2 and "--train and --test go together" in stderr
    code, _, stderr = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--protocol", "leave-one-out"
    )
    assert code == 2 and "use --data" in stderr
    code, _, stderr = invoke("evaluate")
    assert code == 2 and "no data given" in stderr


def test_the_installed_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "sessionrec", "evaluate", "--train", str(missing),
         "--test", str(missing)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(missing) in proc.stderr


def test_column_mapping_and_sessionisation_of_a_user_log(tmp_path: Path) -> None:
    # Two users; each visit is 4 clicks a minute apart, visits are 2 hours apart; the last
    # day holds the final visits, which become the test sessions.
    rows = ["shopper,sku,when"]
    day = 86_400
    for user in ("a", "b"):
        for visit in range(3):
            start = visit * (day + 7200)
            for click in range(4):
                rows.append(f"{user},p{(visit + click) % 5},{start + 60 * click}")
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out.json"
    code, stdout, stderr = invoke(
        "evaluate", "--data", str(log), "--protocol", "next-item", "--models", "pop",
        "--columns", "user_id=shopper,item_id=sku,timestamp=when", "--session-gap", "30",
        "--json", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    report = json.loads(out.read_text())
    assert report["dataset"]["sessions"] == 6  # 3 visits per user, cut at the 30-minute gap
    assert report["dataset"]["test_cases"] == 6  # the two last-day sessions, 3 predictions each


def test_bad_column_mapping_and_gap(files: tuple[Path, Path]) -> None:
    train, test = files
    code, _, stderr = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--columns", "itemid"
    )
    assert code == 2 and "expected FIELD=COLUMN" in stderr
    code, _, stderr = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--session-gap", "0"
    )
    assert code == 2 and "must be positive" in stderr


def test_cold_items_report_cold_and_warm_targets_apart(tmp_path: Path) -> None:
    data = tmp_path / "log.csv"
    rows = ["user_id,item_id,timestamp"]
    rows += [f"u{u},i{(u + k) % 20},{1000 + k}" for u in range(40) for k in range(6)]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "cold.json"
    code, stdout, stderr = invoke(
        "evaluate", "--data", str(data), "--protocol", "leave-one-out", "--models", "pop,sr",
        "--cold-items", "0.25", "--seed", "1", "--json", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    report = json.loads(out.read_text())
    assert set(report["results_cold"]) == set(report["results_warm"]) == {"pop", "sr"}
    assert set(report["results_cold"]["pop"]) >= REQUIRED_KEYS
    n_cold = report["settings"]["cold_test_cases"]
    assert 0 < n_cold < 40
    # Models that know items only by id cannot recommend an item they never saw.
    assert report["results_cold"]["pop"]["HR@20"] == 0.0
    whole = report["results"]["pop"]["HR@20"]
    warm = report["results_warm"]["pop"]["HR@20"]
    assert whole == pytest.approx(warm * (40 - n_cold) / 40)


def test_set_passes_model_options_and_names_mistakes(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = files
    out = tmp_path / "results.json"
    code, stdout, _ = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--models", "gru4rec",
        "--set", "epochs=2", "--set", "gru4rec.embedding_size=16", "--set", "progress=false",
        "--json", str(out),
    )  # fmt: skip
    assert code == 0, stdout
    report = json.loads(out.read_text())
    assert report["settings"]["model_settings"] == [
        "epochs=2", "gru4rec.embedding_size=16", "progress=false"
    ]  # fmt: skip
    code, _, stderr = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--models", "pop",
        "--set", "epochs=2",
    )  # fmt: skip
    assert code == 2 and "no chosen model (pop) has an option 'epochs'" in stderr
    code, _, stderr = invoke(
        "train", "--data", str(train), "--model", "pop", "--out", str(tmp_path / "a"),
        "--set", "pop.size=3",
    )  # fmt: skip
    assert code == 2 and "pop has no option 'size'" in stderr


def test_evaluate_without_any_test_case_exits_2_and_says_which_rule_dropped_what(
    tmp_path: Path,
) -> None:
    train = write_sessions(tmp_path / "train.tsv", {1: [1, 2], 2: [2, 3]})
    # Session 5 loses its unseen item 99 and is left with one event; session 6 has one.
    test = write_sessions(tmp_path / "test.tsv", {5: [1, 99], 6: [2]}, 2.0e9)
    code, stdout, stderr = invoke("evaluate", "--train", str(train), "--test", str(test))
    assert code == 2
    assert stdout == ""  # no table of zeros
    assert stderr.strip() == (
        "error: no test case left to evaluate on: of the 2 test sessions (3 events), 1 has "
        "fewer than 2 events, and dropping the 1 event on items unseen in training leaves 1 "
        "more with fewer than 2; a session makes test cases only with 2 or more events on "
        "items seen in training"
    )


def test_leave_one_out_and_a_too_long_test_period_say_why_nothing_is_left(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.csv"
    log.write_text("user_id,item_id,timestamp\na,1,1\nb,2,2\n")
    code, _, stderr = invoke("evaluate", "--data", str(log), "--protocol", "leave-one-out")
    assert code == 2
    assert "each of the 2 users has a single event" in stderr
    code, _, stderr = invoke("evaluate", "--data", str(log), "--protocol", "next-item")
    assert code == 2
    assert "none is left for training (the log spans 1 second): lower --test-days" in stderr


def result_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("pop ", "sr ", "vsknn"))]


def test_every_figure_is_written_in_full_in_a_pipe_of_80_columns(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = files
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--train", str(train), "--test", str(test), "--models", "pop,sr,vsknn",
         "--json", str(out)],
        env={"COLUMNS": "80"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "…" not in result.stdout
    *table, written = result.stdout.splitlines()
    assert max(len(line) for line in table) <= 80
    assert written == f"results written to {out}"  # a path is never cut in two
    report = json.loads(out.read_text())
    rows = result_lines(result.stdout)
    assert len(rows) == 3
    for row in rows:
        name, *cells = row.split()
        figures = report["results"][name]
        assert cells[:7] == [f"{figures[k]:.4f}" for k in ("HR@10", "MRR@10", "NDCG@10",
                             "HR@20", "MRR@20", "NDCG@20", "COV@20")]  # fmt: skip


def test_a_narrow_terminal_gets_plain_columns_and_a_wide_one_the_table(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    import sessionrec.cli as cli

    train, test = files
    for width, boxed in ((80, False), (140, True)):
        screen = io.StringIO()
        console = Console(file=screen, force_terminal=True, width=width, color_system=None)
        monkeypatch.setattr(cli, "stdout", console)
        code, _, _ = invoke("evaluate", "--train", str(train), "--test", str(test),
                            "--models", "pop,sr,vsknn")  # fmt: skip
        shown = screen.getvalue()
        assert code == 0
        assert "…" not in shown
        assert ("┃" in shown) is boxed
        assert max(len(line) for line in shown.splitlines()) <= width


def test_training_progress_reaches_the_log_off_a_terminal(files: tuple[Path, Path]) -> None:
    train, test = files
    code, stdout, stderr = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--models", "gru4rec",
        "--set", "epochs=2",
    )  # fmt: skip
    assert code == 0, stdout + stderr
    lines = stderr.splitlines()
    assert any(re.search(r"^\d\d:\d\d:\d\d gru4rec epoch 1/2: loss [\d.]+", x) for x in lines)
    assert any("gru4rec stopped after epoch 2: reached the epoch limit (epochs=2)" in x
               for x in lines)  # fmt: skip
    code, _, stderr = invoke(
        "--quiet", "evaluate", "--train", str(train), "--test", str(test), "--models",
        "gru4rec", "--set", "epochs=1",
    )  # fmt: skip
    assert code == 0 and "epoch" not in stderr


def test_evaluate_reads_a_catalogue_beside_train_and_test_files(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    from sessionrec.data.loaders import DataOptions
    from sessionrec.eval.experiment import prepare
    from sessionrec.eval.protocols import ProtocolName

    train, test = files
    items = tmp_path / "items.csv"
    items.write_text("product_id,name,category\n" + "".join(
        f"{i},Product {i},Group {i % 3}\n" for i in range(100, 109)
    ))  # fmt: skip
    options = DataOptions(train=train, test=test, catalogue=items)
    prepared = prepare(ProtocolName.NEXT_ITEM, options)
    assert prepared.catalogue is not None
    assert prepared.catalogue.item("104")["title"] == "Product 104"
    code, stdout, stderr = invoke(
        "evaluate", "--train", str(train), "--test", str(test), "--models", "pop",
        "--catalogue", str(items),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    assert stderr.splitlines()[0].endswith(
        f"warning: catalogue {items}: 9 items; 1 of the 10 items of the events (1 event) has "
        "no entry, e.g. '999', and gets no text"
    )


def test_serve_help_states_the_sqlite_url_rule() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "sqlite:///relative/path.db" in result.stdout
    assert "sqlite:////absolute/path.db" in result.stdout
