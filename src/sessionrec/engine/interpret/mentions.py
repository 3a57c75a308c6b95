"""Titles named in a request, linked to catalogue items ("I loved Alien", "Toy Story (1995)",
"像《玩具总动员》那样的").

Titles are matched whole-word and case- and punctuation-insensitively, without a leading
article or MovieLens' trailing one ("Godfather, The (1972)" is "godfather", year 1972).
A year right after the title ("Psycho (1960)", "psycho 1998") picks among titles that
share a name. Lookup is a dict from the normalised token sequence, with the lengths of
the keys that start with each first token, so a reading costs a few dict probes per word
whatever the catalogue's size (no loop over titles).

A catalogue of 100,000 titles holds most short phrases of English ("It", "Up", "Last
Night", "Road Trip"), so a match must look like a title to count: quoted ("", “”, 《》,
「」), followed by its year, or title-cased (not a sentence's first word alone), or else
at least two content words (three, or two after a cue like "loved"/"like"). A phrase the
lexicon knows ("Western", "Horror") never links unless quoted or dated, and unquoted
Chinese titles need four characters. The longest match wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from sessionrec.data.schema import ATTRIBUTES, ITEM_ID, TITLE
from sessionrec.engine.interpret.lexicon import (
    ARTICLES,
    CHITCHAT,
    MENTION_CUES_EN,
    STOP,
)
from sessionrec.engine.interpret.numbers import as_number
from sessionrec.engine.interpret.tokens import Token

MAX_TITLE_TOKENS = 24
"""Longest title (in tokens) that can be linked; longer ones are skipped when indexing."""

_YEAR_AT_END = re.compile(r"\s*[(\[]\s*(1[89]\d\d|20\d\d)(?:\s*[-–]\s*(?:\d{2,4})?)?\s*[)\]]\s*$")
_PARENS_AT_END = re.compile(r"\s*\(([^()]*)\)\s*$")
_TRAILING_ARTICLE = re.compile(
    r"^(?P<rest>.+?),\s*(?:the|a|an|la|le|les|l'|il|lo|gli|der|die|das|el|los|las|un|une|una|"
    r"det|den|de|het)$",
    re.IGNORECASE,
)
_SERIES = re.compile(r":|\s[-–]\s")
_YEAR_AFTER = re.compile(r"[》」』”\"']?\s*[(\[（]?\s*(1[89]\d\d|20\d\d)\s*[)\]）]?(?!\w)")
_QUOTED = re.compile(
    r"《([^》]{1,120})》|「([^」]{1,120})」|『([^』]{1,120})』|“([^”]{1,120})”|\"([^\"]{1,120})\""
)
_SINGLE_QUOTED = re.compile(r"(?<!\w)'([^']{1,120})'(?!\w)")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TITLE_WORD = re.compile(rf"[{_HAN}]|\d+(?:[.,]\d+)*|[^\W\d_{_HAN}]+(?:['’][^\W\d_{_HAN}]+)*")
_SENTENCE_END = frozenset(".!?。！？")
_GAP_BREAKS = frozenset("。！？;；")
"""Punctuation no title spans ("!" and "?" may: "Faster Pussycat! Kill! Kill!")."""
_MINOR = frozenset(ARTICLES | {"of", "and", "in", "on", "at", "to", "for", "or", "with", "from"})
"""Words a title-cased title may leave lower-case ("Lord of the Rings")."""


def normalise_word(text: str) -> str:
    """A token (or a whole title) as titles are compared: case-folded, without accents or
    apostrophes."""
    if text.isascii():  # the common case, ten times faster
        return text.lower().replace("'", "")
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c) and c not in "'’")


def title_key(text: str) -> tuple[str, ...]:
    """The normalised word sequence of a title, without a leading article; split as
    `tokens.tokenise` splits a request (one token per Chinese character), but by one regex,
    so indexing 100,000 titles takes a second, not ten."""
    words = _TITLE_WORD.findall(normalise_word(text))
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return tuple(words)


def title_keys(title: str) -> tuple[tuple[str, ...], int | None, list[tuple[str, ...]]]:
    """(key, year, alias keys) of a catalogue title: "Seven (a.k.a. Se7en) (1995)" is
    ("seven",), 1995, [("se7en",)]; "Star Wars: Episode IV - A New Hope" has the alias
    ("star", "wars"), linked only where no title is called that."""
    text = title.strip() if title.isascii() else unicodedata.normalize("NFKC", title).strip()
    year: int | None = None
    found = _YEAR_AT_END.search(text) if text.endswith((")", "]")) else None
    if found:
        year = int(found.group(1))
        text = text[: found.start()]
    aliases: list[str] = []
    while text.endswith(")") and (alt := _PARENS_AT_END.search(text)) and alt.start() > 0:
        aliases.append(re.sub(r"^\s*a\.?k\.?a\.?\s*", "", alt.group(1), flags=re.IGNORECASE))
        text = text[: alt.start()]
    if "," in text and (m := _TRAILING_ARTICLE.match(text)):
        text = m.group("rest")
    key = title_key(text)
    if not aliases and ":" not in text and " -" not in text:
        return key, year, []  # the common case, kept short: 100,000 titles index in a second
    names = [
        m.group("rest") if "," in n and (m := _TRAILING_ARTICLE.match(n)) else n for n in aliases
    ]
    alias_keys = [title_key(n) for n in names]
    head = _SERIES.split(text, maxsplit=1)[0]
    if head != text:
        alias_keys.append(title_key(head))
    # an alias needs a word: "Paper filters (100)" holds a count, not another title
    alias_keys = [k for k in alias_keys if k != key and any(w.isalpha() for w in k)]
    return key, year, alias_keys


YEAR_FIELDS = ("year", "release_year")
"""Catalogue attributes that give an item's year when its title does not."""


def _year_field(attributes: object) -> int | None:
    if not isinstance(attributes, Mapping):
        return None
    for name in YEAR_FIELDS:
        value = as_number(attributes.get(name))
        if value is not None and value.is_integer() and 1800 <= value <= 2200:
            return int(value)
    return None


class TitleEntry(NamedTuple):
    """One catalogue item a title key names (a tuple: 100,000 are made per catalogue)."""

    item_id: str
    year: int | None
    title: str


class Titles:
    """The catalogue's titles indexed by normalised word sequence, for linking mentions."""

    def __init__(
        self,
        ids: Iterable[object],
        titles: Iterable[object],
        years: Iterable[int | None] | None = None,
    ) -> None:
        """`years`, where given, are the items' years from the catalogue's own fields, for
        titles that do not carry one ("Toy Story" with a year attribute of 1995)."""
        self._exact: dict[tuple[str, ...], list[TitleEntry]] = {}
        self._alias: dict[tuple[str, ...], list[TitleEntry]] = {}
        lengths: dict[str, set[int]] = {}
        titles = list(titles)
        field_years = [None] * len(titles) if years is None else list(years)
        for item_id, title, field_year in zip(ids, titles, field_years, strict=True):
            if not isinstance(title, str) or not title.strip():
                continue  # a missing title (None, NaN) names nothing
            key, year, aliases = title_keys(title)
            entry = TitleEntry(str(item_id), year if year is not None else field_year, title)
            if key and len(key) <= MAX_TITLE_TOKENS:
                self._exact.setdefault(key, []).append(entry)
                lengths.setdefault(key[0], set()).add(len(key))
            for alias in aliases:
                if len(alias) <= MAX_TITLE_TOKENS:
                    self._alias.setdefault(alias, []).append(entry)
                    lengths.setdefault(alias[0], set()).add(len(alias))
        self._lengths: Mapping[str, tuple[int, ...]] = {
            first: tuple(sorted(ns, reverse=True)) for first, ns in lengths.items()
        }
        self.size = sum(len(v) for v in self._exact.values())

    @classmethod
    def from_catalogue(cls, frame: pd.DataFrame) -> Titles:
        """The titles of a catalogue frame (columns `item_id` and `title` of `data.schema`);
        empty when the frame has no titles."""
        if ITEM_ID not in frame or TITLE not in frame:
            return cls([], [])
        years = None
        if ATTRIBUTES in frame:
            years = [_year_field(a) for a in frame[ATTRIBUTES].tolist()]
        return cls(frame[ITEM_ID].tolist(), frame[TITLE].tolist(), years)

    def __len__(self) -> int:
        return self.size

    def lengths(self, first: str) -> tuple[int, ...]:
        """Lengths of the keys that start with `first`, longest first."""
        return self._lengths.get(first, ())

    def lookup(self, key: tuple[str, ...]) -> tuple[list[TitleEntry], bool]:
        """The entries a key names, and whether by a title itself (not an alias)."""
        exact = self._exact.get(key)
        if exact:
            return exact, True
        return self._alias.get(key, []), False


@dataclass(frozen=True)
class Mention:
    """A linked title: the tokens it spans (claimed as "mention") and the item chosen."""

    entry: TitleEntry
    tokens: tuple[Token, ...]
    note: str | None


@dataclass(frozen=True)
class _Candidate:
    first: int
    """Index in the word list of the first word (an article included)."""
    end: int
    """One past the last word of the title."""
    length: int
    entries: tuple[TitleEntry, ...]
    exact: bool


def link_titles(
    titles: Titles,
    text: str,
    tokens: list[Token],
    known: Container[tuple[str, ...]],
) -> list[Mention]:
    """Titles named in `text` (the NFKC'd request; `tokens` are of its lower-cased form),
    longest first, without overlaps; claims their tokens (and a year after them).

    `known` holds the lemma sequences the lexicon matches ("western"): a title that is one
    of them links only when quoted or dated."""
    if not len(titles):
        return []
    words = [i for i, t in enumerate(tokens) if t.kind in ("word", "num", "cjk")]
    if not words:
        return []
    norms = [normalise_word(tokens[i].text) for i in words]
    candidates: list[_Candidate] = []
    for p in range(len(words)):
        starts = [p]
        if norms[p] in ARTICLES and p + 1 < len(words):
            starts.append(p + 1)
        for start in starts:
            for length in titles.lengths(norms[start]):
                end = start + length
                if end > len(words):
                    continue
                entries, exact = titles.lookup(tuple(norms[start:end]))
                if entries and _joined(tokens, words, start, end):
                    candidates.append(_Candidate(p, end, length, tuple(entries), exact))
                    break
    if not candidates:
        return []
    quotes = _quoted_spans(text)
    position = {id(t): i for i, t in enumerate(tokens)}
    shouting = any(c.isalpha() and c.isascii() for c in text) and not any(c.islower() for c in text)
    taken: set[int] = set()
    found: list[Mention] = []
    for cand in sorted(candidates, key=lambda c: (-c.length, not c.exact, c.first)):
        span = range(cand.first, cand.end)
        if any(k in taken for k in span):
            continue
        run = [tokens[words[k]] for k in span]
        year, year_tokens, bracketed = _year_after(text, tokens, position[id(run[-1])])
        # a bare year after one lower-case word is a range ("between 1940"), not a date
        dated = (
            year is not None
            and any(e.year == year for e in cand.entries)
            and (bracketed or len(run) > 1 or text[run[0].start].isupper())
        )
        quoted = _is_quoted(run, quotes, tokens, words)
        if not (quoted or dated) and not _looks_like_title(
            cand, run, text, tokens, words, norms, known, shouting, position
        ):
            continue
        choices = [e for e in cand.entries if dated and e.year == year] or list(cand.entries)
        entry = choices[0]
        note = None
        if len({e.item_id for e in choices}) > 1:
            note = (
                f"{text[run[0].start : run[-1].end]!r} names {len(choices)} items; took "
                f"{entry.title!r} (give the year to choose)"
            )
        claimed = tuple(run + (year_tokens if dated else []))
        for token in claimed:
            token.consumed = "mention"
        taken.update(span)
        found.append(Mention(entry, claimed, note))
    found.sort(key=lambda m: m.tokens[0].start)
    return found


def _joined(tokens: list[Token], words: list[int], start: int, end: int) -> bool:
    """Whether the words start..end stand together: nothing but light punctuation between,
    and no word already claimed."""
    for k in range(start, end):
        if tokens[words[k]].consumed:
            return False
        if k > start:
            gap = tokens[words[k - 1] + 1 : words[k]]
            if any(c in _GAP_BREAKS for t in gap for c in t.text):
                return False
    return True


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for pattern in (_QUOTED, _SINGLE_QUOTED):
        for m in pattern.finditer(text):
            group = next(g for g in range(1, (m.lastindex or 0) + 1) if m.group(g) is not None)
            spans.append((m.start(group), m.end(group)))
    return spans


def _is_quoted(
    run: list[Token], quotes: list[tuple[int, int]], tokens: list[Token], words: list[int]
) -> bool:
    """Whether the run is all the words of one quoted span (an article may stay outside)."""
    for start, end in quotes:
        inside = [tokens[i] for i in words if tokens[i].start >= start and tokens[i].end <= end]
        if not inside:
            continue
        if inside == run or (inside == run[1:] and run[0].text in ARTICLES):
            return True
    return False


def _year_after(text: str, tokens: list[Token], last: int) -> tuple[int | None, list[Token], bool]:
    """A year written right after the title ending at token `last` ("(1995)", "1995"), the
    tokens it spans, and whether it stands in brackets."""
    found = _YEAR_AFTER.match(text, tokens[last].end)
    if found is None:
        return None, [], False
    end = found.end()
    spanned = [t for t in tokens[last + 1 : last + 5] if t.end <= end]
    return int(found.group(1)), spanned, any(c in found.group() for c in "([（")


def _looks_like_title(
    cand: _Candidate,
    run: list[Token],
    text: str,
    tokens: list[Token],
    words: list[int],
    norms: list[str],
    known: Container[tuple[str, ...]],
    shouting: bool,
    position: Mapping[int, int],
) -> bool:
    """Whether an unquoted, undated match reads as a title rather than ordinary words."""
    body = [t for t in run if not (t is run[0] and t.text in ARTICLES and len(run) > 1)]
    if tuple(t.lemma for t in body) in known:
        return False
    if body[0].kind == "cjk":
        return len(body) >= 4
    content = [t for t in body if t.text not in STOP and t.text not in CHITCHAT and len(t.text) > 1]
    if norms[cand.first : cand.end] == ["i"] or not any(t.kind == "word" for t in body):
        return False  # "I" is no title, nor is a bare number
    before = _word_before(tokens, words, cand.first)
    cue = before is not None and before.text in MENTION_CUES_EN
    capitalised = not shouting and all(
        text[t.start].isupper() or (t.text in _MINOR and t is not body[0]) or t.kind == "num"
        for t in body
    )
    if capitalised:
        initial = _sentence_initial(tokens, position[id(run[0])])
        return len(body) > 1 or not initial or cue
    if any((t.lemma,) in known for t in body):
        return False  # "trail running shoes": the lexicon's words, read as facets
    return len(content) >= 2 and (len(body) >= 3 or cue)


def _word_before(tokens: list[Token], words: list[int], first: int) -> Token | None:
    if first == 0:
        return None
    previous = tokens[words[first - 1]]
    between = tokens[words[first - 1] + 1 : words[first]]
    if any(t.boundary for t in between):
        return None
    return previous


def _sentence_initial(tokens: list[Token], index: int) -> bool:
    """Whether the token at `index` opens the request or a sentence (after . ! ? and the
    like)."""
    for k in range(index - 1, -1, -1):
        if tokens[k].kind in ("word", "num", "cjk"):
            return False
        if any(c in _SENTENCE_END for c in tokens[k].text):
            return True
    return True
