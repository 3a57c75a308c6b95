"""Reading a typed request as a structured one, grounded in the catalogue's own facets.

"a scary movie from the 80s, but no comedy" becomes include Horror, exclude Comedy,
year 1980–1989: facts the engine can filter on exactly, while whatever is left over
("something lighter") still steers softly by text (`steering`). Nothing here knows a
catalogue in advance: `Facets` reads the categories, numeric attributes (year, price) and
small string attributes (brand) from the catalogue frame, and `RequestInterpreter` grounds
the words of a request in them.

How a request is read, in order:

1. ranges: numbers and eras with the words around them ("before 1990", "80s", "九十年代",
   "under 50 euros", "50元以下"), given to the numeric attribute the words point at (a year,
   a price, or one named: "rating above 4"), else to the one attribute whose span holds
   the number;
2. negation cues ("not", "no", "without", "anything but", "不要", "除了", ...) open a scope
   that ends at a clause boundary ("," "." "but" "但" "，"), at a positive cue after some
   content ("i want", "要"), or at a conjunction not followed by more of the list;
3. lexical matches, longest first, of category names (case-insensitive, simple English
   inflections), of the synonym table `CONCEPTS` (common English and Chinese words for
   generic concepts, each tied at construction to what this catalogue calls it) and of
   string attribute values;
4. with an encoder: the request's leftover content spans (1–3 words, 2–3 Chinese
   characters; at most `MAX_SPANS`, embedded in one call, cached) against the category
   names; a span counts when its best cosine clears `min_cosine` and beats its mean
   cosine to neutral phrases by `min_margin`. Chinese spans are embedded only when the
   encoder is seen to read Chinese (it matches a few Chinese–English probe pairs), so a
   multilingual encoder improves Chinese matching and MiniLM cannot add noise;
5. what is left (minus chit-chat, negated phrases and matched words) is `soft`.

Before all of these, with `Titles`: titles the request names ("I loved Alien", "Toy Story
(1995)", "《玩具总动员》") are linked to item ids (`mentions`, or `avoid_mentions` inside a
negation scope), and references to the session ("more like that", "上一个") are claimed
(`reference`); their words leave `soft`. Comparatives ("something lighter", "更轻松一点")
stay in `soft` and also set `reference`: the words steer, the last item anchors.

Modules, one job each: `request` (the answer), `facets` (what a catalogue offers),
`numbers` (ranges, eras, `as_number`), `lexicon` (the bilingual word lists), `tokens`,
`negation` (cues and scopes), `phrases` (lexical matching), `matching` (the encoder),
`mentions` (titles), `references` (the session), `soft` (what is left) and `interpreter`
(the pipeline).

Policy for contradictions: a category both asked for and refused by matches of the same
strength (both lexical, or both by the encoder: "a comedy but not a comedy") goes to
neither side, with a note in `conflicts`; a filter either way would contradict half of
the request, and the note lets a caller ask. Where one side is lexical and the other only
an encoder match ("a scary movie but not a slasher", if "slasher" lands near Horror), the
lexical side wins, also noted.
"""

from __future__ import annotations

from sessionrec.engine.interpret.facets import MAX_VALUES, NUMERIC_SHARE, Facets
from sessionrec.engine.interpret.interpreter import CACHE_SIZE, MAX_TEXT_CHARS, RequestInterpreter
from sessionrec.engine.interpret.lexicon import CONCEPTS, Concept
from sessionrec.engine.interpret.matching import MAX_SPANS
from sessionrec.engine.interpret.mentions import Titles
from sessionrec.engine.interpret.numbers import as_number
from sessionrec.engine.interpret.references import LAST
from sessionrec.engine.interpret.request import UnderstoodRequest

__all__ = [
    "CACHE_SIZE",
    "CONCEPTS",
    "LAST",
    "MAX_SPANS",
    "MAX_TEXT_CHARS",
    "MAX_VALUES",
    "NUMERIC_SHARE",
    "Concept",
    "Facets",
    "RequestInterpreter",
    "Titles",
    "UnderstoodRequest",
    "as_number",
]
