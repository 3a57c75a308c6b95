"""Negation in both languages: cues ("not", "anything but", "不要", "除了") and their scopes.

A cue opens a scope that ends at a clause boundary, at a positive cue after some content
("不要恐怖片要喜剧"), or at a conjunction that does not continue the list; whatever a
scope covers is refused (a category, a value, a mentioned title) rather than asked for.
"""

from __future__ import annotations

from sessionrec.engine.interpret.lexicon import (
    CONJUNCTIONS,
    NEG_EN,
    NEG_ZH,
    NOT_NEG_EN,
    POSITIVE_EN,
    POSITIVE_ZH,
    ZH_NOT_AFTER,
    ZH_NOT_BEFORE,
)
from sessionrec.engine.interpret.tokens import Token


def mark_cues(tokens: list[Token]) -> None:
    """Negation cues, as `consumed = "cue"` on their tokens (skipping range tokens)."""
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i]
        if token.consumed:
            i += 1
            continue
        if token.kind == "word":
            texts = [t.text for t in tokens[i : i + 3]]
            if any(tuple(texts[: len(p)]) == p for p in NOT_NEG_EN):
                for t in tokens[i : i + 2]:
                    t.stop = True
                i += 2
                continue
            for cue in NEG_EN:
                if tuple(texts[: len(cue)]) == cue and all(
                    not t.consumed and t.kind == "word" for t in tokens[i : i + len(cue)]
                ):
                    for t in tokens[i : i + len(cue)]:
                        t.consumed = "cue"
                        t.boundary = False  # "anything but" is no clause boundary
                    i += len(cue)
                    break
            else:
                i += 1
            continue
        if token.kind == "cjk":
            ahead = "".join(t.text if t.kind == "cjk" else "\0" for t in tokens[i : i + 4])
            before = tokens[i - 1].text if i > 0 and tokens[i - 1].kind == "cjk" else ""
            for zh_cue in NEG_ZH:
                if not ahead.startswith(zh_cue):
                    continue
                after = ahead[len(zh_cue) : len(zh_cue) + 1]
                if before and before in ZH_NOT_BEFORE.get(zh_cue, ""):
                    continue
                if after and after in ZH_NOT_AFTER.get(zh_cue, ""):
                    continue
                run = tokens[i : i + len(zh_cue)]
                if any(t.consumed for t in run):
                    continue
                for t in run:
                    t.consumed = "cue"
                    t.stop = t.chitchat = False
                i += len(zh_cue)
                break
            else:
                i += 1
            continue
        i += 1


def mark_scopes(tokens: list[Token]) -> None:
    """Tokens after a negation cue are negated up to a clause boundary, a positive cue
    after some content ("不要恐怖片要喜剧"), or a conjunction that does not continue the list."""
    negating = False
    seen_content = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.consumed == "cue":
            negating, seen_content = True, False
            token.negated = True
            i += 1
            continue
        if not negating:
            i += 1
            continue
        if token.boundary:
            negating = False
            i += 1
            continue
        if seen_content and _positive_at(tokens, i):
            negating = False
            i += 1
            continue
        if token.text in CONJUNCTIONS and seen_content:
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is None or not (
                following.content or following.consumed in ("facet", "cue", "mention")
            ):
                negating = False
                i += 1
                continue
        token.negated = True
        if token.content or token.consumed in ("facet", "mention") or _is_facet_candidate(token):
            seen_content = True
        i += 1


def _is_facet_candidate(token: Token) -> bool:
    return token.kind == "cjk" and not token.stop


def _positive_at(tokens: list[Token], i: int) -> bool:
    token = tokens[i]
    if token.kind == "word":
        texts = tuple(t.text for t in tokens[i : i + 3])
        return any(texts[: len(p)] == p for p in POSITIVE_EN)
    if token.kind == "cjk" and not token.consumed:
        if i > 0 and tokens[i - 1].text in ("不", "想") and tokens[i - 1].kind == "cjk":
            return False
        ahead = "".join(t.text for t in tokens[i : i + 3] if t.kind == "cjk")
        return any(ahead.startswith(p) for p in POSITIVE_ZH)
    return False
