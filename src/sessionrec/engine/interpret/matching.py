"""Encoder matching: leftover content spans against the catalogue's category names.

A span counts when its best cosine clears `min_cosine` and beats its mean cosine to
neutral phrases by `min_margin`. Chinese spans are embedded only when the encoder is seen
to read Chinese (it matches a few Chinese–English probe pairs), so a multilingual encoder
improves Chinese matching and MiniLM cannot add noise.

Latency: an encoder call is the only costly step of a reading, so spans are taken from
free content tokens only (stop words, chit-chat, claimed words never reach it), at most
`MAX_SPANS` per request, embedded in one call, and each span's vector is remembered
(`CACHE_SIZE`, least recently used first out): people repeat their words. Texts the caller
expects to need next (what the request will likely steer by) ride along in that call
(`match`'s `also`): a second call would cost as much again, one more text in the first
a fraction of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from sessionrec.engine.interpret.lexicon import NOT_EMBEDDED, Concept
from sessionrec.engine.interpret.phrases import ENCODER, Match, Target
from sessionrec.engine.interpret.tokens import Token

Encode = Callable[[Sequence[str]], np.ndarray]
"""Texts -> unit row vectors (e.g. `TextEncoder.encode`)."""

MAX_SPANS = 4
"""Spans embedded per request, at most (single words first, then pairs, then triples): on
MiniLM one call over a single short span costs about half of one over eleven, so the cap
keeps a cold reading near the cost of one small call; a request rarely holds more than
four unknown words worth a guess, and guesses never filter."""

CACHE_SIZE = 2048
"""Span vectors remembered; people repeat and refine requests."""

_BACKGROUND = (
    "something",
    "hello",
    "thing",
    "last night",
    "a good one",
    "please",
    "yesterday",
    "the best",
    "what",
    "maybe",
)
"""Neutral phrases: a span must beat its mean cosine to these to name a category."""

_PROBES = (
    ("恐怖", "horror"),
    ("喜剧", "comedy"),
    ("厨房", "kitchen"),
    ("音乐", "music"),
    ("户外", "outdoors"),
)
"""Chinese–English pairs; an encoder that matches them reads Chinese spans."""


class SpanEncoder:
    """The encoder's view of one catalogue: category vectors, the neutral background, whether
    Chinese spans are trusted, and the concepts it grounds by label; safe across threads."""

    def __init__(
        self,
        encode: Encode,
        categories: Sequence[str],
        unmatched: Sequence[Concept],
        *,
        min_cosine: float,
        min_margin: float,
    ) -> None:
        self._encode = encode
        self.categories = tuple(categories)
        self.min_cosine = min_cosine
        self.min_margin = min_margin
        self._lock = threading.Lock()
        self._spans: OrderedDict[str, np.ndarray] = OrderedDict()
        # One encoder call: category names, labels of unmatched concepts, neutral phrases
        # and the Chinese probe pairs.
        texts = [
            *self.categories,
            *(c.label for c in unmatched),
            *_BACKGROUND,
            *(z for z, _ in _PROBES),
            *(e for _, e in _PROBES),
        ]
        vectors = np.asarray(encode(texts), dtype=np.float32)
        n_cat, n_con, n_bg = len(self.categories), len(unmatched), len(_BACKGROUND)
        cats = vectors[:n_cat]
        labels = vectors[n_cat : n_cat + n_con]
        background = vectors[n_cat + n_con : n_cat + n_con + n_bg]
        probes = vectors[n_cat + n_con + n_bg :]
        self._category_vectors = cats
        self._background = background
        self.concepts: dict[str, str] = {}
        """Concept key -> the category whose name lies close to the concept's label."""
        for concept, label in zip(unmatched, labels, strict=True):
            cosines = cats @ label
            best = int(np.argmax(cosines))
            lead = float(cosines[best]) - float(np.mean(background @ label))
            if cosines[best] >= min_cosine and lead >= min_margin:
                self.concepts[concept.key] = self.categories[best]
        zh, en = probes[: len(_PROBES)], probes[len(_PROBES) :]
        sims = zh @ en.T
        diagonal = np.diag(sims)
        off = (sims.sum() - diagonal.sum()) / max(sims.size - len(diagonal), 1)
        hits = int(np.sum(np.argmax(sims, axis=1) == np.arange(len(_PROBES))))
        self.reads_chinese = bool(hits >= len(_PROBES) - 1 and float(diagonal.mean() - off) >= 0.1)

    def match(self, tokens: list[Token], also: Sequence[str] = ()) -> list[Match]:
        """Leftover content spans against the category names, by encoder cosine; claims
        the matched tokens as "facet", best cosine first.

        `also`: texts encoded in the same call where spans need one (their vectors go
        to the encode function's own cache, e.g. the engine's request vectors, not to the
        spans'); never a call of their own."""
        spans = self._spans_of(tokens)
        if not spans:
            return []
        texts = list(dict.fromkeys(text for text, _ in spans))
        vectors = self._span_vectors(texts, also)
        cosines = vectors @ self._category_vectors.T  # (spans, categories)
        background = (vectors @ self._background.T).mean(axis=1)
        row = {text: i for i, text in enumerate(texts)}
        scored = []
        for text, run in spans:
            i = row[text]
            best = int(np.argmax(cosines[i]))
            score = float(cosines[i, best])
            if score >= self.min_cosine and score - float(background[i]) >= self.min_margin:
                scored.append((score, best, run))
        found: list[Match] = []
        for _, best, run in sorted(scored, key=lambda s: -s[0]):
            if any(t.consumed for t in run):
                continue
            for token in run:
                token.consumed = "facet"
            found.append((Target("category", self.categories[best]), run, ENCODER))
        return found

    def _spans_of(self, tokens: list[Token]) -> list[tuple[str, list[Token]]]:
        """Runs of free content tokens as 1–3 word (2–3 character) spans, capped."""
        runs: list[list[Token]] = []
        current: list[Token] = []
        for token in tokens:
            usable = (
                not token.consumed
                and token.content
                and (token.kind != "cjk" or self.reads_chinese)
                and token.text not in NOT_EMBEDDED
            )
            if usable and current and (current[-1].kind == "cjk") != (token.kind == "cjk"):
                runs.append(current)
                current = []
            if usable:
                current.append(token)
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        spans: list[tuple[str, list[Token]]] = []
        for size in (1, 2, 3):
            for run in runs:
                cjk = run[0].kind == "cjk"
                width = size + 1 if cjk else size  # Chinese: 2-3 characters
                if cjk and width > 3:
                    continue
                for i in range(len(run) - width + 1):
                    part = run[i : i + width]
                    joined = ("" if cjk else " ").join(t.text for t in part)
                    if not cjk and (
                        any(t.kind == "num" for t in part)
                        or any(len(t.text) < (3 if width == 1 else 2) for t in part)
                    ):
                        continue  # "90 s" (the 90s, in a catalogue without years)
                    spans.append((joined, part))
                    if len(spans) >= MAX_SPANS:
                        return spans
        return spans

    def _span_vectors(self, texts: list[str], also: Sequence[str] = ()) -> np.ndarray:
        with self._lock:  # encoders are not safe to share across threads
            missing = [t for t in texts if t not in self._spans]
            for text in texts:
                if text in self._spans:
                    self._spans.move_to_end(text)
            if missing:
                riders = [t for t in dict.fromkeys(also) if t and t not in missing]
                fresh = np.asarray(self._encode([*missing, *riders]), dtype=np.float32)
                for text, vector in zip(missing, fresh[: len(missing)], strict=True):
                    self._spans[text] = vector
                    if len(self._spans) > CACHE_SIZE:
                        self._spans.popitem(last=False)
            return np.stack([self._spans[t] for t in texts])
