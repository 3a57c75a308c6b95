"""The reading pipeline: a typed request in, an `UnderstoodRequest` out (see the package
doc for the steps and the policy for contradictions)."""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import replace

from sessionrec.engine.interpret.facets import Facets
from sessionrec.engine.interpret.lexicon import JUNK_CATEGORIES
from sessionrec.engine.interpret.matching import Encode, SpanEncoder
from sessionrec.engine.interpret.mentions import Mention, Titles, link_titles
from sessionrec.engine.interpret.negation import mark_cues, mark_scopes
from sessionrec.engine.interpret.numbers import (
    MONEY_WORDS,
    YEAR_WORDS,
    RangeMatch,
    attribute_kind,
    find_ranges,
    show_number,
)
from sessionrec.engine.interpret.phrases import ENCODER, Match, PhraseTable, ground_by_name
from sessionrec.engine.interpret.references import (
    LAST,
    Reference,
    claim_references,
    find_comparatives,
)
from sessionrec.engine.interpret.request import UnderstoodRequest
from sessionrec.engine.interpret.soft import avoid_text, soft_text, whole_text
from sessionrec.engine.interpret.tokens import (
    Token,
    lower_same_length,
    mark_words,
    phrase_key,
    tokenise,
)

MAX_TEXT_CHARS = 2_000
"""Characters of a request that are read (four times the engine's own limit); the rest is
ignored with a note, so a pasted essay costs a few milliseconds, not seconds."""

_TITLE_MARKS = ("《", "「", "『", "“", '"')

CACHE_SIZE = 2048
"""Requests remembered; people repeat and refine requests."""


class RequestInterpreter:
    """Reads typed requests against one catalogue's facets; safe to share across threads.

    `encode` (texts -> unit row vectors, e.g. `TextEncoder.encode`) is optional: without it
    only names and the synonym table match. `min_cosine` and `min_margin` are the encoder's
    bars (a span's best cosine to a category name, and its lead over the span's mean cosine
    to neutral phrases); the defaults suit all-MiniLM-L6-v2, and an encoder whose cosines
    sit higher (e5 models) needs higher ones. `titles` (`Titles.from_catalogue(frame)`)
    links titles the request names to item ids; without it nothing is linked and a title's
    words are read like any others.

        frame = catalogue frame with item_id, title, categories, attributes
        reader = RequestInterpreter(
            Facets.from_catalogue(frame), encode, titles=Titles.from_catalogue(frame)
        )
    """

    def __init__(
        self,
        facets: Facets,
        encode: Encode | None = None,
        *,
        min_cosine: float = 0.55,
        min_margin: float = 0.3,
        titles: Titles | None = None,
    ) -> None:
        self.facets = facets
        self.titles = titles if titles is not None else Titles([], [])
        """The catalogue's titles, for linking mentions; none unless given."""
        self.min_cosine = min_cosine
        self.min_margin = min_margin
        self._lock = threading.Lock()
        self._requests: OrderedDict[str, UnderstoodRequest] = OrderedDict()
        self.categories = tuple(
            c
            for c in facets.categories
            if phrase_key(c)
            and " ".join(phrase_key(c)) not in JUNK_CATEGORIES
            and not c.strip().startswith("(")
        )
        self._year = next((a for a in facets.numeric if attribute_kind(a) == "year"), None)
        self._money = next((a for a in facets.numeric if attribute_kind(a) == "money"), None)
        grounded, unmatched = ground_by_name(self.categories)
        self._encoder: SpanEncoder | None = None
        if encode is not None and self.categories:
            self._encoder = SpanEncoder(
                encode, self.categories, unmatched, min_cosine=min_cosine, min_margin=min_margin
            )
            grounded.update(self._encoder.concepts)
        self.reads_chinese = self._encoder is not None and self._encoder.reads_chinese
        """Whether the encoder is trusted with Chinese spans."""
        self.concept_map: dict[str, str] = grounded
        """Concept key -> the category it stands for in this catalogue."""
        self._phrases = PhraseTable(self.categories, self.concept_map, facets.values)

    # reading --------------------------------------------------------------------------

    def interpret(self, text: str) -> UnderstoodRequest:
        """The structured reading of `text`; never raises on odd input (empty, long, symbols)."""
        if not isinstance(text, str):
            return UnderstoodRequest()
        key = " ".join(text.split())
        with self._lock:
            hit = self._requests.get(key)
            if hit is not None:
                self._requests.move_to_end(key)
                return hit
        result = self._read(key)
        with self._lock:
            self._requests[key] = result
            if len(self._requests) > CACHE_SIZE:
                self._requests.popitem(last=False)
        return result

    def _read(self, text: str) -> UnderstoodRequest:
        notes: list[str] = []
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS]
            notes.append(f"only the first {MAX_TEXT_CHARS:,} characters were read")
        text = unicodedata.normalize("NFKC", text)
        if not any(ch.isalnum() for ch in text):
            return UnderstoodRequest(conflicts=tuple(notes))
        low = lower_same_length(text)
        tokens = tokenise(low)
        mark_words(tokens)
        # Titles first: their words ("2001: A Space Odyssey", "Horror Express") are no
        # range, category or cue; then references, which name no facet either.
        mentions = link_titles(self.titles, text, tokens, self._phrases)
        # "那样的" after 《a title》 points at that title, linked or not, not at the session
        titled = bool(mentions) or any(mark in text for mark in _TITLE_MARKS)
        references = claim_references(tokens, mentioned=titled)
        ranges = self._claim_ranges(low, tokens)
        mark_cues(tokens)
        matches = self._phrases.match(tokens)
        mark_scopes(tokens)
        if self._encoder is not None:
            matches += self._encoder.match(tokens, also=_likely_steering(text, tokens))
        references += find_comparatives(tokens)
        request = self._assemble(text, tokens, ranges, matches, notes)
        return self._pointers(request, text, mentions, references)

    def _pointers(
        self,
        request: UnderstoodRequest,
        text: str,
        mentions: list[Mention],
        references: list[Reference],
    ) -> UnderstoodRequest:
        """The request with its linked titles (liked or refused, by negation scope) and its
        reference to the session."""
        liked: list[str] = []
        refused: list[str] = []
        notes = list(request.conflicts)
        for mention in mentions:
            side = refused if any(t.negated for t in mention.tokens) else liked
            if mention.entry.item_id not in side:
                side.append(mention.entry.item_id)
            if mention.note is not None:
                notes.append(mention.note)
        for item in [i for i in liked if i in refused]:
            liked.remove(item)
            refused.remove(item)
            notes.append(f"item {item} is both liked and refused; left out of both")
        reference = None
        for ref in references:
            if mentions and not ref.explicit:
                continue  # "like Toy Story but darker": darker than Toy Story
            if any(t.negated for t in ref.tokens) and ref.explicit:
                words = text[ref.tokens[0].start : ref.tokens[-1].end]
                notes.append(f"a refused reference to the session ({words!r}) is not supported")
            else:
                reference = LAST
        if not (liked or refused or reference or len(notes) != len(request.conflicts)):
            return request
        return replace(
            request,
            mentions=tuple(liked),
            avoid_mentions=tuple(refused),
            reference=reference,
            conflicts=tuple(notes),
        )

    def _claim_ranges(
        self, low: str, tokens: list[Token]
    ) -> list[tuple[RangeMatch, str, list[Token]]]:
        year_span = self.facets.numeric.get(self._year) if self._year else None
        claimed: list[tuple[RangeMatch, str, list[Token]]] = []
        for match in find_ranges(low, year_span):
            attribute = self._range_attribute(low, match)
            if attribute is None:
                continue
            named = self._named_at(low, match.start, attribute)
            inside = [
                t
                for t in tokens
                if (t.start < match.end and t.end > match.start)
                or (named is not None and t.start < named[1] and t.end > named[0])
            ]
            if any(t.consumed in ("mention", "reference") for t in inside):
                continue  # a year inside a title, or after one ("Toy Story (1995)")
            for token in inside:
                token.consumed = "range"
            claimed.append((match, attribute, inside))
        return claimed

    def _named_at(self, low: str, start: int, attribute: str) -> tuple[int, int] | None:
        """Where the attribute's own name stands right before a range ("price under 50")."""
        name = attribute.casefold().replace("_", " ")
        found = None
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", low[max(0, start - 24) : start]):
            found = m
        if found is None:
            return None
        offset = max(0, start - 24)
        return offset + found.start(), offset + found.end()

    def _range_attribute(self, low: str, match: RangeMatch) -> str | None:
        window = low[max(0, match.start - 24) : match.start]
        for attribute in self.facets.numeric:  # named: "rating above 4", "价格50以下"
            name = attribute.casefold().replace("_", " ")
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", window) or (
                not name.isascii() and name in window
            ):
                return attribute
        hint = match.hint
        if not hint:
            if any(
                re.search(rf"(?<!\w){w}(?!\w)", window) if w.isascii() else w in window
                for w in MONEY_WORDS
            ):
                hint = "money"
            elif any(
                re.search(rf"(?<!\w){w}(?!\w)", window) if w.isascii() else w in window
                for w in YEAR_WORDS
            ):
                hint = "year"
        if hint == "year":
            return self._year
        if hint == "money":
            return self._money
        # no cue: the one attribute whose span (widened a little) holds every number
        holders = []
        for attribute, (lo, hi) in self.facets.numeric.items():
            pad = 0.1 * (hi - lo)
            if all(lo - pad <= n <= hi + pad for n in match.numbers):
                holders.append(attribute)
        if len(holders) == 1:
            return holders[0]
        yearish = all(1800 <= n <= 2100 and n == int(n) for n in match.numbers)
        if yearish and self._year is not None and (not holders or self._year in holders):
            return self._year
        return None

    def _assemble(
        self,
        text: str,
        tokens: list[Token],
        ranges: list[tuple[RangeMatch, str, list[Token]]],
        matches: list[Match],
        notes: list[str],
    ) -> UnderstoodRequest:
        asked: dict[str, tuple[int, str]] = {}
        refused: dict[str, tuple[int, str]] = {}
        values: dict[str, list[str]] = {}
        refused_values: dict[str, list[str]] = {}
        for target, run, strength in matches:
            negated = any(t.negated for t in run)
            words = text[run[0].start : run[-1].end]
            if target.kind == "value":
                bucket = refused_values if negated else values
                bucket.setdefault(target.attribute, [])
                if target.name not in bucket[target.attribute]:
                    bucket[target.attribute].append(target.name)
                continue
            side = refused if negated else asked
            if target.name not in side or side[target.name][0] < strength:
                side[target.name] = (strength, words)
        include, exclude = [], []
        for name in dict.fromkeys([*asked, *refused]):
            if name in asked and name in refused:
                (s_in, w_in), (s_out, w_out) = asked[name], refused[name]
                if s_in == s_out:
                    notes.append(
                        f"{name} is both asked for ({w_in!r}) and refused ({w_out!r}); "
                        "left out of both"
                    )
                elif s_in > s_out:
                    include.append(name)
                    notes.append(
                        f"{name} is asked for ({w_in!r}) and, by a looser match, refused "
                        f"({w_out!r}); kept as asked"
                    )
                else:
                    exclude.append(name)
                    notes.append(
                        f"{name} is refused ({w_out!r}) and, by a looser match, asked for "
                        f"({w_in!r}); kept as refused"
                    )
            elif name in asked:
                include.append(name)
            else:
                exclude.append(name)
        for attribute in list(values):
            for value in refused_values.get(attribute, []):
                if value in values[attribute]:
                    values[attribute].remove(value)
                    refused_values[attribute].remove(value)
                    notes.append(
                        f"{attribute} {value} is both asked for and refused; left out of both"
                    )
        # A category found only by the encoder's similarity is a guess ("light roast" lies
        # near Lighting): it steers by the request's words but never filters.
        loose = tuple(n for n in [*include, *exclude] if (asked.get(n) or refused[n])[0] == ENCODER)
        include = [n for n in include if n not in loose]
        exclude = [n for n in exclude if n not in loose]
        soft = soft_text(text, tokens)
        if any(n in asked for n in loose):
            soft = whole_text(text, tokens)
        bounds = self._bounds(ranges, tokens, notes)
        return UnderstoodRequest(
            include=tuple(include),
            exclude=tuple(exclude),
            ranges=bounds,
            values={k: tuple(v) for k, v in values.items() if v},
            loose=loose,
            soft=soft,
            conflicts=tuple(notes),
            exclude_values={k: tuple(v) for k, v in refused_values.items() if v},
            avoid=avoid_text(text, tokens),
        )

    def _bounds(
        self,
        ranges: list[tuple[RangeMatch, str, list[Token]]],
        tokens: list[Token],
        notes: list[str],
    ) -> dict[str, tuple[float | None, float | None]]:
        bounds: dict[str, tuple[float | None, float | None]] = {}
        for match, attribute, run in ranges:
            step = 1.0 if attribute in self.facets.integers else 0.0
            lo = None if match.lo is None else match.lo + (step if match.lo_strict else 0.0)
            hi = None if match.hi is None else match.hi - (step if match.hi_strict else 0.0)
            if step and lo is not None and lo != int(lo):
                lo = float(math.ceil(lo))
            if step and hi is not None and hi != int(hi):
                hi = float(math.floor(hi))
            if any(t.negated for t in run):  # "not before 1990": the other side
                if lo is None and hi is not None:
                    lo, hi = hi + step, None
                elif hi is None and lo is not None:
                    upper = lo - step
                    lo, hi = None, upper
                else:
                    notes.append(
                        f"a refused range is not supported: {match.text.strip()!r} ignored"
                    )
                    continue
            if attribute in bounds:
                old_lo, old_hi = bounds[attribute]
                lo = old_lo if lo is None else lo if old_lo is None else max(lo, old_lo)
                hi = old_hi if hi is None else hi if old_hi is None else min(hi, old_hi)
            if lo is not None and hi is not None and lo > hi:
                notes.append(
                    f"the {attribute} ranges asked for do not overlap; {attribute} left open"
                )
                bounds.pop(attribute, None)
                continue
            bounds[attribute] = (lo, hi)
        for attribute, (lo, hi) in bounds.items():
            low, high = self.facets.numeric[attribute]
            if (lo is not None and lo > high) or (hi is not None and hi < low):
                notes.append(
                    f"no item has {attribute} in [{show_number(lo)}, {show_number(hi)}]: the "
                    f"catalogue spans {show_number(low)}–{show_number(high)}"
                )
        return bounds


def _likely_steering(text: str, tokens: list[Token]) -> tuple[str, ...]:
    """What the request will steer by unless the encoder claims some of its words: its
    free words, as `_assemble` will read them if no span names a category. Encoded with
    the spans, they spare the engine a second encoder call for "something cozy for a
    rainy evening", whose spans name nothing. (The whole text, what steers when a span's
    category is only a guess, is left out: that is rarer than the rows it would add.)"""
    soft = soft_text(text, tokens)
    return () if soft is None else (soft,)
