"""Tokens of a request: words, numbers, single Chinese characters, punctuation.

Offsets index the lower-cased request (same length as the original), so any span a later
step claims can be cut from the original text. `mark_words` flags stop words, chit-chat
and clause boundaries once, for every later step.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sessionrec.engine.interpret.lexicon import (
    BOUNDARY_EN,
    BOUNDARY_ZH,
    CHITCHAT,
    CJK_CHITCHAT,
    CJK_STOP,
    FILLER_EN,
    STOP,
    by_first_char,
    by_first_word,
)

_PUNCT = frozenset(",.;!?:。，；！？、：…()[]{}")
"""Clause boundaries. Quotes and title marks (《》) are not: "不喜欢《X》" refuses X."""
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<punct>[,.;!?:。，；！？、：…()\[\]{}\"“”「」『』《》]+)"
    r"|(?P<sym>\S)"
)


@dataclass
class Token:
    """One token of the lower-cased request, and what the reading steps found it to be."""

    start: int
    end: int
    text: str
    """Lower-cased surface form."""
    kind: str
    """"word", "num", "cjk" (one character), "punct" or "sym"."""
    lemma: str
    consumed: str = ""
    """What claimed it: "mention", "reference", "range", "cue", "facet"; empty while free."""
    negated: bool = False
    stop: bool = False
    chitchat: bool = False
    boundary: bool = False

    @property
    def content(self) -> bool:
        """Whether the token carries meaning: a word, number or character, not a stop
        word or chit-chat."""
        return self.kind in ("word", "num", "cjk") and not (self.stop or self.chitchat)


_LEMMA_EXCEPTIONS = {
    "movies": "movie",
    "series": "series",
    "species": "species",
    "zombies": "zombie",
    "cookies": "cookie",
    "news": "news",
    "children": "children",
    "clothes": "clothe",
}


def singular(word: str) -> str:
    """A crude English singular: comedies -> comedy, thrillers -> thriller, kids' -> kid."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    elif word.endswith("s'"):
        word = word[:-1]
    if word in _LEMMA_EXCEPTIONS:
        return _LEMMA_EXCEPTIONS[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def lower_same_length(text: str) -> str:
    """Lower-case without changing the length (offsets stay valid)."""
    if len(text.lower()) == len(text):
        return text.lower()
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def tokenise(text: str) -> list[Token]:
    """Tokens of the lower-cased `text`: one per Chinese character, Latin runs as words."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "sym"
        surface = match.group()
        if kind == "word" and CJK.search(surface):
            # a run of letters with Chinese in it: one token per Chinese character, and
            # the Latin parts as words (a run may mix them: "80后", "iphone手机").
            offset = match.start()
            for part in re.finditer(
                r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+",
                surface,
            ):
                piece = part.group()
                start = offset + part.start()
                if CJK.match(piece):
                    tokens.append(Token(start, start + 1, piece, "cjk", piece))
                else:
                    tokens.append(Token(start, start + len(piece), piece, "word", singular(piece)))
            continue
        lemma = singular(surface) if kind == "word" else surface
        tokens.append(Token(match.start(), match.end(), surface, kind, lemma))
    return tokens


def phrase_key(text: str) -> tuple[str, ...]:
    """The lemma sequence a name or synonym is matched by ("Sci-Fi" -> ("sci", "fi"))."""
    return tuple(
        t.lemma
        for t in tokenise(lower_same_length(unicodedata.normalize("NFKC", text)))
        if t.kind in ("word", "num", "cjk")
    )


_BOUNDARY_ZH = by_first_char(BOUNDARY_ZH)
_CJK_STOP = by_first_char(CJK_STOP)


def mark_words(tokens: list[Token]) -> None:
    """Stop words, chit-chat and clause boundaries; Chinese multi-character ones by longest
    match over each run of Chinese characters."""
    for token in tokens:
        if token.kind == "word":
            token.chitchat = token.text in CHITCHAT
            token.stop = token.text in STOP or token.lemma in STOP
            token.boundary = token.text in BOUNDARY_EN
        elif token.kind == "punct":
            token.boundary = any(c in _PUNCT for c in token.text)
    _mark_filler(tokens)
    for i, j in cjk_runs(tokens):
        run = "".join(t.text for t in tokens[i:j])
        k = 0
        while k < len(run):
            for word in _BOUNDARY_ZH.get(run[k], ()):
                if run.startswith(word, k):
                    for t in tokens[i + k : i + k + len(word)]:
                        t.boundary = True
                    k += len(word)
                    break
            else:
                for word in _CJK_STOP.get(run[k], ()):
                    if run.startswith(word, k):
                        for t in tokens[i + k : i + k + len(word)]:
                            t.stop = True
                            t.chitchat = word in CJK_CHITCHAT
                        k += len(word)
                        break
                else:
                    k += 1


def cjk_runs(tokens: list[Token]) -> list[tuple[int, int]]:
    """(start, end) of each run of Chinese characters: Chinese has no spaces, so words are
    found by matching within runs."""
    runs = []
    i = 0
    while i < len(tokens):
        if tokens[i].kind != "cjk":
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j].kind == "cjk":
            j += 1
        runs.append((i, j))
        i = j
    return runs


_FILLER = by_first_word(FILLER_EN)


def _mark_filler(tokens: list[Token]) -> None:
    """Multi-word chit-chat ("got anything", "last night") as chit-chat, longest first."""
    i = 0
    while i < len(tokens):
        if tokens[i].kind != "word":
            i += 1
            continue
        texts = tuple(t.text if t.kind == "word" else "\0" for t in tokens[i : i + 4])
        for phrase in _FILLER.get(texts[0], ()):
            if texts[: len(phrase)] == phrase:
                for t in tokens[i : i + len(phrase)]:
                    t.chitchat = True
                i += len(phrase)
                break
        else:
            i += 1
