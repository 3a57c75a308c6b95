"""Evaluation results as a printed table and as the JSON that benchmarks read."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from sessionrec import __version__
from sessionrec.eval.runner import ModelResult

TABLE_COLUMNS = ("HR@10", "MRR@10", "NDCG@10", "HR@20", "MRR@20", "NDCG@20", "COV@20")
_GAP = "  "


@dataclass
class EvaluationReport:
    """What `sessionrec evaluate` prints and writes.

    The JSON shape is a contract other tools rely on:
    {"protocol", "dataset": {users, sessions, items, events, test_cases}, "results": {model: {...}}}
    """

    protocol: str
    dataset: dict[str, int]
    results: dict[str, ModelResult] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    exclude_seen: bool = False
    """Whether every item before a target was removed from the rankings: figures with and
    without are different comparisons, so the JSON and the table both say which."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "exclude_seen": self.exclude_seen,
            "dataset": self.dataset,
            "results": {name: result.to_dict() for name, result in self.results.items()},
        }
        # Subsets (results_cold, results_warm) share the keys of "results".
        subsets = sorted({s for result in self.results.values() for s in result.subsets})
        for subset in subsets:
            out[f"results_{subset}"] = {
                name: {
                    **result.subsets[subset],
                    "train_seconds": result.train_seconds,
                    "eval_seconds": result.eval_seconds,
                }
                for name, result in self.results.items()
                if subset in result.subsets
            }
        out["settings"] = self.settings
        out["sessionrec_version"] = __version__
        return out

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def title(self) -> str:
        """'next-item — users 12, sessions 40, ...': the protocol and the data's size."""
        stats = ", ".join(f"{k} {v:,}" for k, v in self.dataset.items())
        excluded = ", history items excluded" if self.exclude_seen else ""
        return f"{self.protocol}{excluded} — {stats}"

    def rows(self) -> tuple[list[str], list[list[str]]]:
        """The header and one row of cells per model: name, headline metrics, timings."""
        header = ["model", *TABLE_COLUMNS, "train s", "eval s"]
        rows = [
            [
                name,
                *(f"{result.metrics.get(c, float('nan')):.4f}" for c in TABLE_COLUMNS),
                f"{result.train_seconds:.2f}",
                f"{result.eval_seconds:.2f}",
            ]
            for name, result in self.results.items()
        ]
        return header, rows

    def table(self) -> Table:
        """A rich table: one row per model, headline metrics and timings."""
        table = Table(title=self.title(), title_justify="left")
        header, rows = self.rows()
        table.add_column(header[0])
        for column in header[1:]:
            table.add_column(column, justify="right")
        for row in rows:
            table.add_row(*row)
        return table

    def plain(self, width: int = 80) -> str:
        """The table as plain aligned text no line of which is wider than `width`.

        Columns that do not fit go into a further block below, which repeats the model
        names, so every figure is written in full (a pipe, a log, a narrow terminal).
        """
        header, rows = self.rows()
        widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]

        def fits(columns: list[int]) -> bool:
            return widths[0] + sum(len(_GAP) + widths[i] for i in columns) <= width

        # Columns move in their groups (@10, @20, timings) where a group fits a line.
        n_at_10 = sum(1 for c in TABLE_COLUMNS if c.endswith("@10"))
        groups = [
            list(range(1, 1 + n_at_10)),
            list(range(1 + n_at_10, 1 + len(TABLE_COLUMNS))),
            list(range(1 + len(TABLE_COLUMNS), len(header))),
        ]
        blocks: list[list[int]] = []
        for group in groups:
            # A group too wide for any line on its own goes column by column.
            pieces = [group] if fits(group) else [[column] for column in group]
            for piece in pieces:
                if blocks and fits(blocks[-1] + piece):
                    blocks[-1].extend(piece)
                else:
                    blocks.append(piece)
        lines = textwrap.wrap(self.title(), width) or [""]
        for block in blocks:
            lines.append("")
            for cells in [header, *rows]:
                parts = [cells[0].ljust(widths[0])]
                parts += [cells[i].rjust(widths[i]) for i in block]
                lines.append(_GAP.join(parts).rstrip())
        return "\n".join(lines)
