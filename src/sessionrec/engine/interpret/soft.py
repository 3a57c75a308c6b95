"""What is left of a request once facets, mentions and references took their words.

`soft_text` steers toward (free, unnegated tokens of clauses that carry content, without
chit-chat); `avoid_text` steers away (refused words no facet grounded).
"""

from __future__ import annotations

import itertools
import re

from sessionrec.engine.interpret.lexicon import ARTICLES, CONJUNCTIONS
from sessionrec.engine.interpret.tokens import Token

_EMPTY_QUOTES = re.compile(r"[\"“「『《]\s*[\"”」』》]")


def split_clauses(tokens: list[Token]) -> list[list[Token]]:
    """The tokens between clause boundaries, boundaries left out."""
    clauses: list[list[Token]] = [[]]
    for token in tokens:
        if token.boundary:
            clauses.append([])
        else:
            clauses[-1].append(token)
    return [c for c in clauses if c]


def soft_text(text: str, tokens: list[Token]) -> str | None:
    """What is left of the request: free, unnegated tokens of clauses that hold content."""
    kept_all: list[Token] = []
    for clause in split_clauses(tokens):
        kept = [
            t
            for t in clause
            if not t.consumed and not t.negated and not t.chitchat and t.kind != "punct"
        ]
        if any(t.content for t in kept):
            kept_all.extend(trim_ends(kept))
    if not kept_all:
        return None
    # an article whose noun was a facet word goes with it ("a comedy with dogs" -> "with dogs")
    kept_ids = {id(t) for t in kept_all}
    following = {id(a): b for a, b in itertools.pairwise(tokens)}
    kept_all = [
        t
        for t in kept_all
        if t.text not in ARTICLES
        or (following.get(id(t)) is not None and id(following[id(t)]) in kept_ids)
    ]
    if not any(t.content for t in kept_all):
        return None
    soft = join_kept(text, tokens, kept_all)
    return soft or None


def avoid_text(text: str, tokens: list[Token]) -> str | None:
    """Refused words no facet grounded, kept apart from `soft` so nothing steers toward them."""
    kept = [
        t for t in tokens if t.negated and not t.consumed and t.kind != "punct" and not t.chitchat
    ]
    if not any(t.content for t in kept):
        return None
    return join_kept(text, tokens, trim_ends(kept)) or None


VACUOUS = frozenset(
    {"a", "an", "the", "some", "any", "something", "anything", "stuff", "thing", "things"}
    | {"one", "ones", "的", "之", "类"}
)
"""Words that name nothing at the ends of what is left: "something tense" steers by
"tense" (MiniLM matched "something" itself to titles such as "Something to Talk About").
Comparatives and negations ("less", "更", "不") are never among them: "less violent" is not
"violent"."""


TRAILING = frozenset(
    {"from", "of", "for", "with", "without", "in", "on", "at", "by", "to", "about"}
    | {"before", "after", "since", "until", "under", "over", "around", "between"}
)
"""Prepositions whose object a facet or range took ("gloomy from the 70s" leaves "gloomy
from"): at the end of what is left they name nothing. At the start they stay ("with
talking animals")."""


def trim_ends(kept: list[Token]) -> list[Token]:
    """Without dangling conjunctions, symbols and vacuous words at either end, and
    prepositions left without their object at the end."""

    def dangling(token: Token) -> bool:
        return token.text in CONJUNCTIONS or token.kind == "sym" or token.text in VACUOUS

    start, end = 0, len(kept)
    while start < end and dangling(kept[start]):
        start += 1
    while end > start and (dangling(kept[end - 1]) or kept[end - 1].text in TRAILING):
        end -= 1
    return kept[start:end]


def join_kept(text: str, tokens: list[Token], kept: list[Token]) -> str:
    """Kept tokens in order: neighbours in the request keep what was between them."""
    position = {id(t): i for i, t in enumerate(tokens)}
    pieces: list[str] = []
    group_start = group_end = -1
    previous = -2
    for token in kept:
        index = position[id(token)]
        if index == previous + 1 and group_start >= 0:
            group_end = token.end
        else:
            if group_start >= 0:
                pieces.append(text[group_start:group_end])
            group_start, group_end = token.start, token.end
        previous = index
    if group_start >= 0:
        pieces.append(text[group_start:group_end])
    return " ".join(p.strip() for p in pieces if p.strip())


def whole_text(text: str, tokens: list[Token]) -> str | None:
    """The request as typed, less linked titles and references to the session: what steers
    when an encoder's guess was asked for (the guess never filters, so all words steer)."""
    cut = [t for t in tokens if t.consumed in ("mention", "reference")]
    if not cut:
        return " ".join(text.split())
    pieces, start = [], 0
    for token in cut:
        pieces.append(text[start : token.start])
        start = token.end
    pieces.append(text[start:])
    left = _EMPTY_QUOTES.sub("", "".join(pieces))  # the quotes around a title go with it
    return " ".join(left.split()) or None
