"""Evaluation results as a printed table and as the JSON that benchmarks read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from sessionrec import __version__
from sessionrec.eval.runner import ModelResult

TABLE_COLUMNS = ("HR@10", "MRR@10", "NDCG@10", "HR@20", "MRR@20", "NDCG@20", "COV@20")


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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol": self.protocol,
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

    def table(self) -> Table:
        """A rich table: one row per model (and per subset), headline metrics and timings."""
        stats = ", ".join(f"{k} {v:,}" for k, v in self.dataset.items())
        table = Table(title=f"{self.protocol} — {stats}", title_justify="left")
        table.add_column("model")
        for column in TABLE_COLUMNS:
            table.add_column(column, justify="right")
        table.add_column("train s", justify="right")
        table.add_column("eval s", justify="right")
        for name, result in self.results.items():
            cells = [f"{result.metrics.get(c, float('nan')):.4f}" for c in TABLE_COLUMNS]
            table.add_row(name, *cells, f"{result.train_seconds:.2f}", f"{result.eval_seconds:.2f}")
        return table
