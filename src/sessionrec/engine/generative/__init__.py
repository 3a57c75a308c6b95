"""An optional generative model in the loop: it reads the request, re-orders the top of the
slate and writes one sentence per item, each within the request's time budget.

The embedded path (`interpret.RequestInterpreter`, the ranking's own order, the template
reasons of `explain`) is always computed or ready first, and is what the request gets
whenever the model does not answer usefully in time: a time-out, a refused connection, an
HTTP error, or an answer that does not parse. The caller never sees an exception from
here, only a fallback, logged with its reason and counted in `GenerativeLayer.outcomes`.

What the model says is never trusted beyond the catalogue: a category it names must be one
of the catalogue's (`Facets`), a range must be numbers that overlap the attribute's span,
a re-ranking is a permutation of the candidates it was shown (so it cannot bring in an
item the hard constraints left out), and an explanation is plain text of bounded length.
A reading that turns around a category the request names outright (refusing what the
embedded interpreter matched as asked for, or the reverse) is refused (`consistent`).

Calls run on a small thread pool so that a server that trickles its answer still cannot
hold a request past its deadline; answers are cached by their exact prompt (`ChatCache`),
so a repeated request costs no model time.

Prompts follow the listwise re-rankers (RankGPT, LlamaRec): numbered candidates with
title and categories, the session's recent titles, the request; the answer is the
numbers, best first. They are short, because the model may be small and on a CPU.

Modules, one job each: `layer` (`LLMOptions`, `GenerativeLayer`: deadlines, the thread
pool, the cache, fallbacks and their counts), `interpret`, `rerank` and `explain` (each
step's prompt and the parser that checks its answer), `chat` (what prompts and parsers
share) and `slate` (the engine's side: recent titles, re-ranked picks, explained slates).
"""

from __future__ import annotations

from sessionrec.engine.generative.chat import LLMItem, RejectedAnswerError
from sessionrec.engine.generative.explain import (
    MAX_EXPLANATION_CHARS,
    explain_prompt,
    parse_explanations,
)
from sessionrec.engine.generative.interpret import (
    MAX_SOFT_CHARS,
    consistent,
    interpret_prompt,
    parse_understood,
)
from sessionrec.engine.generative.layer import (
    MIN_CALL_S,
    GenerativeLayer,
    LLMOptions,
    Outcome,
    layer_from_spec,
)
from sessionrec.engine.generative.rerank import RERANK_PICKS, parse_order, rerank_prompt
from sessionrec.engine.generative.slate import explain_slate, recent_titles, rerank_picks

__all__ = [
    "MAX_EXPLANATION_CHARS",
    "MAX_SOFT_CHARS",
    "MIN_CALL_S",
    "RERANK_PICKS",
    "GenerativeLayer",
    "LLMItem",
    "LLMOptions",
    "Outcome",
    "RejectedAnswerError",
    "consistent",
    "explain_prompt",
    "explain_slate",
    "interpret_prompt",
    "layer_from_spec",
    "parse_explanations",
    "parse_order",
    "parse_understood",
    "recent_titles",
    "rerank_picks",
    "rerank_prompt",
]
