"""Lexical matching: category names, the synonym table and string attribute values, by
lemma sequence, longest first.

A match here is `LEXICAL`, stronger than an encoder's guess (`ENCODER`): the policy for
contradictions (see the package doc) compares the two.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sessionrec.engine.interpret.lexicon import CJK_SUFFIXES, CONCEPTS, STOP, Concept
from sessionrec.engine.interpret.tokens import Token, phrase_key

LEXICAL, ENCODER = 2, 1
"""Strength of a match: a name or synonym beats an encoder cosine (see the package doc)."""

MAX_PHRASE = 8
"""Longest phrase (in tokens) tried at a position."""


@dataclass(frozen=True)
class Target:
    """What a matched phrase stands for."""

    kind: str
    """"category" or "value"."""
    name: str
    """The category, or the attribute value as the catalogue spells it."""
    attribute: str = ""


Match = tuple[Target, list[Token], int]
"""A target, the tokens that named it, and the strength of the match."""


def ground_by_name(categories: Sequence[str]) -> tuple[dict[str, str], list[Concept]]:
    """Concept key -> the category named like it (exactly, else inside a longer name:
    "Kids & Family" holds "kid"); and the concepts no category names."""
    keys = {c: phrase_key(c) for c in categories}
    grounded: dict[str, str] = {}
    unmatched: list[Concept] = []
    for concept in CONCEPTS:
        names = [phrase_key(n) for n in concept.names]
        aliases = [phrase_key(a) for a in (*concept.english, *concept.chinese)]
        exact = [c for c, k in keys.items() if k in names or k in aliases or ("".join(k),) in names]
        inside = [c for c, k in keys.items() if any(_contains(k, n) for n in names)]
        chosen = exact or inside
        if chosen:
            grounded[concept.key] = chosen[0]
        else:
            unmatched.append(concept)
    return grounded, unmatched


class PhraseTable:
    """Lemma sequence -> targets, for the categories, grounded concepts and values."""

    def __init__(
        self,
        categories: Sequence[str],
        concept_map: Mapping[str, str],
        values: Mapping[str, Sequence[str]],
    ) -> None:
        self._phrases: dict[tuple[str, ...], list[Target]] = {}
        self.max_length = 1
        for category in categories:
            key = phrase_key(category)
            self._add(key, Target("category", category))
            if len(key) > 1 and all(k.isascii() for k in key):
                self._add(("".join(key),), Target("category", category))  # "scifi"
        for concept in CONCEPTS:
            grounded = concept_map.get(concept.key)
            if grounded is None:
                continue
            for alias in (*concept.english, *concept.names, *concept.chinese):
                self._add(phrase_key(alias), Target("category", grounded))
        for attribute, names in values.items():
            for value in names:
                key = phrase_key(value)
                if not key or (len(key) == 1 and (len(key[0]) < 2 or key[0] in STOP)):
                    continue
                if all(k.isdigit() for k in key):
                    continue
                self._add(key, Target("value", value, attribute))
        self.max_length = min(self.max_length, MAX_PHRASE)

    def _add(self, key: tuple[str, ...], target: Target) -> None:
        if not key:
            return
        targets = self._phrases.setdefault(key, [])
        if target not in targets:
            targets.append(target)
        self.max_length = max(self.max_length, len(key))

    def __contains__(self, key: object) -> bool:
        return key in self._phrases

    def match(self, tokens: list[Token]) -> list[Match]:
        """Longest-first matches over unclaimed tokens; claims them as "facet"."""
        found: list[Match] = []
        words = [i for i, t in enumerate(tokens) if t.kind in ("word", "num", "cjk")]
        position = 0
        while position < len(words):
            matched = False
            for length in range(min(self.max_length, len(words) - position), 0, -1):
                run = [tokens[i] for i in words[position : position + length]]
                if any(t.consumed for t in run):
                    continue
                if length > 1 and not _adjacent(tokens, words[position : position + length]):
                    continue
                targets = self._phrases.get(tuple(t.lemma for t in run))
                if not targets:
                    continue
                if run[-1].kind == "cjk":  # 恐怖片, 动作电影: the suffix belongs to the match
                    run += _cjk_suffix(tokens, words[position + length - 1])
                for token in run:
                    token.consumed = "facet"
                for target in targets:
                    found.append((target, run, LEXICAL))
                position += length
                matched = True
                break
            if not matched:
                position += 1
        return found


def _contains(key: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return 0 < n <= len(key) and any(key[i : i + n] == part for i in range(len(key) - n + 1))


def _adjacent(tokens: list[Token], indices: list[int]) -> bool:
    """Whether word tokens follow one another with only spaces or hyphens between."""
    for a, b in itertools.pairwise(indices):
        if b != a + 1 and not all(tokens[k].text in "-–/&" for k in range(a + 1, b)):
            return False
    return True


def _cjk_suffix(tokens: list[Token], last: int) -> list[Token]:
    following = "".join(t.text for t in tokens[last + 1 : last + 3] if t.kind == "cjk")
    for suffix in CJK_SUFFIXES:
        if following.startswith(suffix):
            run = tokens[last + 1 : last + 1 + len(suffix)]
            if all(t.kind == "cjk" and not t.consumed for t in run):
                return run
    return []
