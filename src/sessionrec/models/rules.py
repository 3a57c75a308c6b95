"""Sequential rules (SR, Ludewig & Jannach 2018): "after A, soon B", weighted by distance.

For every pair of clicks (A earlier, B later) at most `steps` apart in a training session,
the rule A→B gains weight w(distance). Only the `pruning` strongest rules per A are kept;
a session is scored by the rules of its last item.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError
from sessionrec.models.base import ModelConfig, Recommender, SessionBatch, encode_sessions

# Distance weightings as exact fractions: rule weights are summed as integers (scaled by
# the common denominator), so rules of equal weight tie exactly and pruning's tie-break
# (first rule created wins, as in the reference implementation) is reproducible.
RULE_WEIGHTINGS: dict[str, Callable[[int], Fraction]] = {
    "div": lambda i: Fraction(1, i),
    "same": lambda i: Fraction(1),
    "linear": lambda i: max(Fraction(0), 1 - Fraction(i, 10)),
    "quadratic": lambda i: Fraction(1, i * i),
}


@dataclass(frozen=True)
class SRConfig(ModelConfig):
    """Options of sequential rules; defaults are session-rec's rsc15 settings."""

    steps: int = 8
    """How far back (in clicks) an earlier item still forms a rule with a later one."""
    weighting: str = "div"
    """Weight of a rule by click distance i: div 1/i, same 1, linear 1-0.1i, quadratic 1/i²."""
    pruning: int = 20
    """Rules kept per antecedent item (the strongest; 0 keeps all)."""

    def __post_init__(self) -> None:
        if self.weighting not in RULE_WEIGHTINGS:
            raise ConfigError(
                f"unknown SR weighting {self.weighting!r}; valid: {', '.join(RULE_WEIGHTINGS)}"
            )
        if self.steps < 1 or self.pruning < 0:
            raise ConfigError("SR needs steps >= 1 and pruning >= 0")


class SequentialRules(Recommender):
    """Sequential rules over the last item of the session."""

    name = "sr"
    config_class = SRConfig
    config: SRConfig

    def __init__(self, config: SRConfig | None = None) -> None:
        super().__init__(config)
        self.rules = sp.csr_matrix((0, 0), dtype=np.float64)

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.vocab = Vocabulary(train.item_ids())
        items, offsets = encode_sessions(train, self.vocab)
        n = len(self.vocab)
        steps = self.config.steps
        fractions = [RULE_WEIGHTINGS[self.config.weighting](i) for i in range(1, steps + 1)]
        scale = math.lcm(*(f.denominator for f in fractions))
        int_weights = [int(f * scale) for f in fractions]

        position = np.arange(len(items)) - np.repeat(offsets[:-1], np.diff(offsets))
        prev_parts, next_parts, weight_parts, order_parts = [], [], [], []
        for lag in range(1, steps + 1):
            later = np.flatnonzero(position >= lag)
            prev_parts.append(items[later - lag])
            next_parts.append(items[later])
            weight_parts.append(np.full(len(later), int_weights[lag - 1], dtype=np.int64))
            # The reference builds rules row by row, nearest antecedent first.
            order_parts.append(later * (steps + 1) + lag)
        pairs = pd.DataFrame(
            {
                "prev": np.concatenate(prev_parts),
                "next": np.concatenate(next_parts),
                "weight": np.concatenate(weight_parts),
                "order": np.concatenate(order_parts),
            }
        )
        rules = pairs.groupby(["prev", "next"], sort=False).agg(
            weight=("weight", "sum"), order=("order", "min")
        )
        rules = rules.reset_index().sort_values(
            ["prev", "weight", "order"], ascending=[True, False, True], kind="stable"
        )
        if self.config.pruning > 0:
            rules = rules[rules.groupby("prev").cumcount() < self.config.pruning]
        self.rules = sp.csr_matrix(
            (rules["weight"].to_numpy(np.float64) / scale, (rules["prev"], rules["next"])),
            shape=(n, n),
        )
        return self

    def score(self, sessions: SessionBatch) -> np.ndarray:
        last = np.array(
            [s[-1] if len(s) else UNKNOWN_INDEX for s in map(sessions.known, range(len(sessions)))],
            dtype=np.int64,
        )
        scores = np.zeros((len(sessions), self.n_items))
        has_last = last != UNKNOWN_INDEX
        if has_last.any():
            scores[has_last] = self.rules[last[has_last]].toarray()
        return scores

    def _to_arrays(self) -> dict[str, np.ndarray]:
        coo = self.rules.tocoo()
        return {"row": coo.row, "col": coo.col, "weight": coo.data}

    def _from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.vocab)
        self.rules = sp.csr_matrix((arrays["weight"], (arrays["row"], arrays["col"])), shape=(n, n))
