"""The answer: a typed request as facts about the catalogue, plus what is left to steer by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UnderstoodRequest:
    """A typed request read as facts about the catalogue, plus what is left to steer by."""

    include: tuple[str, ...] = ()
    """Categories asked for, as the catalogue spells them."""
    exclude: tuple[str, ...] = ()
    """Categories refused."""
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """Numeric attribute -> [lo, hi], inclusive; None is open."""
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """String attribute -> values asked for (any of them)."""
    soft: str | None = None
    """What is left to steer softly by text; None when nothing is."""
    conflicts: tuple[str, ...] = ()
    """Human-readable notes: contradictions, and what could not be honoured."""
    exclude_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """String attribute -> values refused ("nothing by Brewline")."""
    loose: tuple[str, ...] = ()
    """Categories only the encoder's similarity found (no name or synonym): guesses, shown
    but never applied as constraints; where one was asked for, `soft` is the whole text."""
    avoid: str | None = None
    """Refused words that no facet grounds ("without a slasher" -> "a slasher"): steer away
    from them, never toward (they are kept out of `soft`)."""
    mentions: tuple[str, ...] = ()
    """Catalogue item ids of titles the request names with liking or plainly ("I loved
    Alien", "something like Toy Story (1995)", "像《玩具总动员》那样的"): liked items to
    steer toward. Their words are kept out of `soft`."""
    avoid_mentions: tuple[str, ...] = ()
    """Item ids of titles named in a refusal ("I hated Alien", "not like Up", "不喜欢《X》"):
    dislikes, steered away from."""
    reference: str | None = None
    """"last" where the request points at the session's last liked item ("more like that",
    "the previous one", "上一个", and comparatives: "something lighter", "更轻松一点"); the
    engine resolves it. None otherwise."""

    def as_json(self) -> dict[str, object]:
        """Plain JSON types: lists for tuples, [lo, hi] with null for an open end; mentions
        as item ids (titles are the catalogue's to show, and ids survive a retitling)."""
        return {
            "include": list(self.include),
            "exclude": list(self.exclude),
            "ranges": {
                k: [_json_number(lo), _json_number(hi)] for k, (lo, hi) in self.ranges.items()
            },
            "values": {k: list(v) for k, v in self.values.items()},
            "exclude_values": {k: list(v) for k, v in self.exclude_values.items()},
            "loose": list(self.loose),
            "soft": self.soft,
            "avoid": self.avoid,
            "conflicts": list(self.conflicts),
            "mentions": list(self.mentions),
            "avoid_mentions": list(self.avoid_mentions),
            "reference": self.reference,
        }

    @property
    def is_empty(self) -> bool:
        """Whether nothing at all was understood (conflict notes do not count)."""
        return not (
            self.include
            or self.exclude
            or self.ranges
            or self.values
            or self.exclude_values
            or self.soft
            or self.avoid
            or self.mentions
            or self.avoid_mentions
            or self.reference
        )


def _json_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == int(value) else value
