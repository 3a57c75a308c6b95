"""References to the session: "more like that", "the previous one", "上一个", "刚才那个".

An explicit reference names no item, so the engine resolves it to the session's last liked
item; its words are claimed ("reference") and leave `soft`. A comparative ("something
lighter", "less violent", "更轻松一点") compares with that same item: its words still
steer, and the reference anchors them. A demonstrative ("more like that", "那样的") points
at a title named in the same request where there is one, and then is no reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from sessionrec.engine.interpret.lexicon import (
    COMPARATIVE_TAILS_ZH,
    COMPARATIVES_EN,
    COMPARATIVES_ZH,
    REFERENCE_DEMONSTRATIVE_EN,
    REFERENCE_DEMONSTRATIVE_ZH,
    REFERENCE_EN,
    REFERENCE_LEAD_EN,
    REFERENCE_LEAD_ZH,
    REFERENCE_TAIL_ZH,
    REFERENCE_ZH,
    by_first_char,
    by_first_word,
)
from sessionrec.engine.interpret.tokens import Token, cjk_runs

_SESSION_WORDS = frozenset({"last", "previous", "latest", "prior", "before", "again"})

_REFERENCES = by_first_word(REFERENCE_EN)
_ZH = by_first_char(REFERENCE_ZH)
_ZH_DEMONSTRATIVE = by_first_char(REFERENCE_DEMONSTRATIVE_ZH)

LAST = "last"
"""The one reference there is: the session's last liked item."""


@dataclass(frozen=True)
class Reference:
    """Tokens that point at the session (claimed as "reference" when explicit)."""

    tokens: tuple[Token, ...]
    explicit: bool
    """False for a comparative, whose words stay in `soft`."""


def claim_references(tokens: list[Token], *, mentioned: bool) -> list[Reference]:
    """Explicit references, claimed as "reference" (before ranges and facets read the rest).

    With `mentioned` (a title was linked), demonstratives refer to it and are claimed as
    "mention" words instead, so they neither steer nor anchor on the session."""
    return _explicit_en(tokens, mentioned) + _explicit_zh(tokens, mentioned)


def _explicit_en(tokens: list[Token], mentioned: bool) -> list[Reference]:
    found: list[Reference] = []
    i = 0
    while i < len(tokens):
        if tokens[i].kind != "word" or tokens[i].consumed:
            i += 1
            continue
        texts = tuple(t.text if t.kind == "word" else "\0" for t in tokens[i : i + 5])
        for phrase in _REFERENCES.get(texts[0], ()):
            n = len(phrase)
            if texts[:n] != phrase or any(t.consumed for t in tokens[i : i + n]):
                continue
            if n == 2 and phrase[1] in ("last", "previous") and _word_at(tokens, i + n):
                continue  # "the last night" is no reference; "the last one" is
            start = i
            while start > 0 and _lead_en(tokens[start - 1]):
                start -= 1
            run = tokens[start : i + n]
            demonstrative = not _SESSION_WORDS & set(phrase) and (
                bool(REFERENCE_DEMONSTRATIVE_EN & set(phrase)) or "similar" in phrase
            )
            _claim(run, "mention" if mentioned and demonstrative else "reference")
            if not (mentioned and demonstrative):
                found.append(Reference(tuple(run), explicit=True))
            i += n
            break
        else:
            i += 1
    return found


def _lead_en(token: Token) -> bool:
    return token.kind == "word" and not token.consumed and token.text in REFERENCE_LEAD_EN


def _word_at(tokens: list[Token], i: int) -> bool:
    return i < len(tokens) and tokens[i].kind in ("word", "num")


def _explicit_zh(tokens: list[Token], mentioned: bool) -> list[Reference]:
    found: list[Reference] = []
    for start, end in cjk_runs(tokens):
        run_text = "".join(t.text for t in tokens[start:end])
        k = 0
        while k < len(run_text):
            first = run_text[k]
            hit = next((w for w in _ZH.get(first, ()) if run_text.startswith(w, k)), None)
            demonstrative = False
            if hit is None:
                hit = next(
                    (w for w in _ZH_DEMONSTRATIVE.get(first, ()) if run_text.startswith(w, k)),
                    None,
                )
                demonstrative = hit is not None
            if hit is None or any(t.consumed for t in tokens[start + k : start + k + len(hit)]):
                k += 1
                continue
            lo, hi = k, k + len(hit)
            lead = next((w for w in REFERENCE_LEAD_ZH if run_text[:lo].endswith(w)), None)
            if lead is not None:
                lo -= len(lead)
            tail = next((w for w in REFERENCE_TAIL_ZH if run_text.startswith(w, hi)), None)
            if tail is not None and not demonstrative:
                hi += len(tail)
            run = [t for t in tokens[start + lo : start + hi] if not t.consumed]
            as_mention = mentioned and demonstrative
            _claim(run, "mention" if as_mention else "reference")
            if not as_mention:
                found.append(Reference(tuple(run), explicit=True))
            k = hi
    return found


def find_comparatives(tokens: list[Token]) -> list[Reference]:
    """Comparatives among the words nothing claimed (after ranges: "older than 1990" is a
    range, "something older" a comparative); not claimed, so they still steer."""
    found: list[Reference] = []
    for i, token in enumerate(tokens):
        if token.consumed or token.kind != "word" or token.text not in COMPARATIVES_EN:
            continue
        if token.text == "less" and not (
            i + 1 < len(tokens)
            and tokens[i + 1].kind == "word"
            and tokens[i + 1].content
            and tokens[i + 1].text != "than"
        ):
            continue  # "less" compares only before a word: "less violent"
        found.append(Reference((token,), explicit=False))
    for start, end in cjk_runs(tokens):
        run_text = "".join(t.text for t in tokens[start:end])
        for k in range(len(run_text)):
            before = next((w for w in COMPARATIVES_ZH if run_text.startswith(w, k)), None)
            after = next((w for w in COMPARATIVE_TAILS_ZH if run_text.startswith(w, k)), None)
            if before is not None and k + len(before) < len(run_text):
                following = tokens[start + k + len(before)]
                if following.content and not following.consumed:
                    found.append(Reference(tuple(tokens[start + k : start + k + 1]), False))
                    break
            if after is not None and k > 0:
                previous = tokens[start + k - 1]
                if previous.content and not previous.consumed:
                    found.append(Reference(tuple(tokens[start + k : start + k + 1]), False))
                    break
    return found


def _claim(run: list[Token], what: str) -> None:
    for token in run:
        token.consumed = what
