"""The result table in plain text: every figure in full within the width it is given."""

from __future__ import annotations

from sessionrec.eval.report import TABLE_COLUMNS, EvaluationReport
from sessionrec.eval.runner import ModelResult


def report(names: list[str]) -> EvaluationReport:
    out = EvaluationReport(
        "next-item", {"users": 1_234, "sessions": 56_789, "items": 4_321, "test_cases": 9_876}
    )
    for n, name in enumerate(names):
        metrics = {c: (n + 1) / 10 + i / 1000 for i, c in enumerate(TABLE_COLUMNS)}
        out.results[name] = ModelResult(metrics, 123.456 + n, 7.891)
    return out


def test_columns_that_do_not_fit_go_into_a_block_below_that_repeats_the_names() -> None:
    text = report(["pop", "transformer", "hybrid"]).plain(80)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    headers = [line for line in lines if line.startswith("model")]
    assert len(headers) == 2  # 11-letter model names push the timings to a block below
    assert headers[0].split() == ["model", *TABLE_COLUMNS]
    assert headers[1].split() == ["model", "train", "s", "eval", "s"]
    rows = [line.split() for line in lines if line.startswith("transformer")]
    assert rows[0][1:] == ["0.2000", "0.2010", "0.2020", "0.2030", "0.2040", "0.2050", "0.2060"]
    assert rows[1][1:] == ["124.46", "7.89"]


def test_a_narrow_width_splits_at_the_groups_first() -> None:
    headers = [
        line.split()[1:]
        for line in report(["transformer"]).plain(60).splitlines()
        if line.startswith("model")
    ]
    assert headers == [
        ["HR@10", "MRR@10", "NDCG@10"],
        ["HR@20", "MRR@20", "NDCG@20", "COV@20"],
        ["train", "s", "eval", "s"],
    ]


def test_one_block_when_wide_enough_and_aligned_columns() -> None:
    lines = report(["pop", "sr"]).plain(200).splitlines()
    assert lines[0] == ("next-item — users 1,234, sessions 56,789, items 4,321, test_cases 9,876")
    header, first, second = lines[2:]
    # Figures are right-aligned under their headers.
    assert header.index("HR@10") + len("HR@10") == first.index("0.1000") + len("0.1000")
    assert first.index("0.1000") == second.index("0.2000")


def test_even_a_very_narrow_width_keeps_each_figure_whole() -> None:
    text = report(["transformer"]).plain(20)
    assert "0.1060" in text and "123.46" in text and "…" not in text
