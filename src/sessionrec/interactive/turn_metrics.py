"""Per-session outcomes of a simulated conversation and the turn metrics over them.

Turns are numbered from 1: turn 1 is the first slate, shown before any feedback, so
`SR@1` is the success "at turn 0" of the issue (before feedback) and
`SR@T - SR@1` what feedback added. With `T` the most turns a session may take:

- SR@t: share of sessions whose target was shown in one of the first t slates;
- AT: mean turn of success, a failure (abandoned or out of turns) counting as T;
- hDCG (EAR, Lei et al. WSDM 2020; UNICORN, Deng et al. SIGIR 2021): a session that
  succeeds at turn t with its first shown target at rank r (1-based within the slate)
  scores ``1/log2(t+2) + (1/log2(t+1) - 1/log2(t+2)) / log2(r+1)``, a failure 0; so
  turn 1 rank 1 scores 1, and the rank only interpolates between one turn's value and the
  next's. The reported hDCG is the mean over sessions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SessionOutcome:
    """How one simulated session ended."""

    success_turn: int | None
    """Turn (1-based) whose slate held a target; None when the session failed."""
    rank: int | None
    """1-based rank of the best-placed target in that slate."""
    turns: int
    """Slates shown."""
    clicks: int
    """Clicks and likes the user gave."""
    abandoned: bool
    """The user gave up (patience ran out) before the last turn."""
    leaks_dropped: int = 0
    """Requests the leak check dropped."""


def hdcg(turn: int, rank: int) -> float:
    """hDCG of a success at `turn` (>= 1) with the target at `rank` (>= 1)."""
    if turn < 1 or rank < 1:
        raise ValueError(f"turn and rank start at 1, got turn {turn}, rank {rank}")
    here = 1.0 / math.log2(turn + 2)
    before = 1.0 / math.log2(turn + 1)
    return here + (before - here) / math.log2(rank + 1)


def success_rates(outcomes: Sequence[SessionOutcome], max_turns: int) -> list[float]:
    """SR@1 .. SR@max_turns."""
    n = max(len(outcomes), 1)
    return [
        sum(1 for o in outcomes if o.success_turn is not None and o.success_turn <= t) / n
        for t in range(1, max_turns + 1)
    ]


def average_turns(outcomes: Sequence[SessionOutcome], max_turns: int) -> float:
    """AT: mean success turn, a failure counting as `max_turns`."""
    if not outcomes:
        return 0.0
    turns = [o.success_turn if o.success_turn is not None else max_turns for o in outcomes]
    return sum(turns) / len(outcomes)


def mean_hdcg(outcomes: Sequence[SessionOutcome]) -> float:
    """Mean hDCG over sessions (a failure scores 0)."""
    if not outcomes:
        return 0.0
    total = sum(
        hdcg(o.success_turn, o.rank)
        for o in outcomes
        if o.success_turn is not None and o.rank is not None
    )
    return total / len(outcomes)


def slate_diversity(categories: Sequence[frozenset[str]]) -> float:
    """Mean pairwise Jaccard distance of the slate's category sets (0: all alike).

    Two items without categories count as alike."""
    n = len(categories)
    if n < 2:
        return 0.0
    total = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            a, b = categories[i], categories[j]
            union = len(a | b)
            total += 1.0 - (len(a & b) / union if union else 1.0)
    return total / (n * (n - 1) / 2)


def summarise(
    outcomes: Sequence[SessionOutcome],
    max_turns: int,
    diversity: float,
    coverage: float,
) -> dict[str, float]:
    """One mode's figures: SR@1..SR@T, AT, hDCG, clicks, diversity, coverage, abandonment,
    leaks dropped (a count) and the success before and after feedback."""
    n = max(len(outcomes), 1)
    rates = success_rates(outcomes, max_turns)
    out: dict[str, float] = {f"SR@{t}": round(r, 6) for t, r in enumerate(rates, start=1)}
    out["AT"] = round(average_turns(outcomes, max_turns), 6)
    out["hDCG"] = round(mean_hdcg(outcomes), 6)
    out["clicks"] = round(sum(o.clicks for o in outcomes) / n, 6)
    out["diversity"] = round(diversity, 6)
    out["coverage"] = round(coverage, 6)
    out["abandoned"] = round(sum(1 for o in outcomes if o.abandoned) / n, 6)
    out["leaks_dropped"] = sum(o.leaks_dropped for o in outcomes)
    first = rates[0] if rates else 0.0
    out["success_before_feedback"] = round(first, 6)
    out["success_after_feedback"] = round((rates[-1] if rates else 0.0) - first, 6)
    return out
