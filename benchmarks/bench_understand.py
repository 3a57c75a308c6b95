"""Issue 12: does the engine understand typed requests? Both encoders side by side.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_understand.py \\
        --artifact-minilm /tmp/u12-minilm --artifact-e5 /tmp/u12-e5 \\
        --data /work/shared/data/ml-100k

The artifacts are `sessionrec train --data ../shared/data/ml-100k --out DIR` (the default
model, the hybrid), once with the default encoder (MiniLM) and once with `--encoder
multilingual` (e5). Everything goes
through `Engine.from_artifact(...).recommend(Query(...))`, as a caller would. Sessions are
each sampled user's first 10 rated films, as views (`--users`, seeded). Rows:

1. category requests (several templates and genres, English and Chinese, plus phrases
   like "an animated film for children" / "适合孩子的动画片"): share of the top 10 in the
   categories the request asks for (any of them; the ones the interpreter should read).
   Target >= 0.8.
2. exclusions ("anything but a comedy", "不要喜剧") after a session of comedies (a user's
   first 10 comedies): share of comedies in the top 10 (target 0), and the requests-
   protocol HR@10 of the first non-comedy the user rated after them, with the request and
   without it (printed, no target; the artifacts saw every rating in training).
3. include + exclude ("a horror film, but no comedy") and eras ("a film from the 1970s",
   "before 1980", year from the catalogue's year attribute): share of the top 10 meeting
   every constraint. Target >= 0.95.
4. the category requests of row 1 in an empty session: the slate is the same for every
   user, so the count is of requests, not sessions. Target >= 0.8.
5. like Toy Story and Aladdin, dislike The Lion King (ids found by title), and seeded random
   triples of animated films: share of Animation in the top 10 (target >= 0.5, mean over
   triples) and how often the disliked film is in the top 10 when seen items are allowed
   (`exclude_seen=False`; target 0).
6. latency on one thread, no LLM anywhere: `RequestInterpreter.interpret` on the first
   reading of every request text above (target p99 <= 10 ms, as `bench_interpret.py`);
   `recommend` with a request at MovieLens' 1,682 items (no target), once with the texts
   above (read by then) and once with free-form texts it has never read (generated from
   a few word lists, English and Chinese: most carry words no facet names, so the encoder
   reads them while the person waits; no target); and over a synthetic
   100,000-item catalogue (a default-size transformer with random weights, as
   `bench_engine.py` builds, with the artifact's encoder reading the requests): target
   p99 <= 10 ms. Targets judge the wall clock; the thread's CPU time is printed beside
   it, since on a shared machine the wall clock also counts waiting for a core.

A share counts the top 10 slots: a slate shorter than 10 counts its missing slots as misses.
Prints one table (rows: targets; columns: one per artifact, the target, pass per artifact).
Deterministic for a seed apart from the latency rows. Progress goes to stderr. Exits 1 when
a target fails, 2 when the inputs are missing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import percentiles, random_sessions  # a sibling script
from sessionrec.artifact import load_artifact, load_artifact_catalogue
from sessionrec.data.loaders import load_dataset
from sessionrec.data.schema import (
    ATTRIBUTES,
    CATEGORIES,
    ITEM_ID,
    SESSION_ID,
    TIMESTAMP,
    TITLE,
    USER_ID,
    Catalogue,
    EventType,
    make_catalogue,
)
from sessionrec.data.vocab import Vocabulary
from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.interpret import Facets, RequestInterpreter, Titles
from sessionrec.engine.steering import RequestEncoder
from sessionrec.eval.cases import CaseEvent, RequestCase
from sessionrec.interactive.requests import (
    WITH_REQUEST,
    WITHOUT_REQUEST,
    evaluate_requests,
)
from sessionrec.models.embedding import as_embedding_model
from sessionrec.models.transformer import (
    CausalTransformer,
    ItemEncoder,
    SessionTransformer,
    TransformerConfig,
)
from sessionrec.service.runtime import settle_memory
from sessionrec.text.base import TextEncoder
from sessionrec.text.registry import load_encoder

K = 10
SESSION_LENGTH = 10
CATEGORY_TARGET = 0.8
CONSTRAINT_TARGET = 0.95
ANIMATED_TARGET = 0.5
LATENCY_TARGET_MS = 10.0
LATENCY_REQUESTS = 300
WARMUP = 20
EXCLUDED = "Comedy"
ANIMATION = "Animation"
NAMED_TRIPLE = (("Toy Story", "Aladdin"), "The Lion King")
"""(liked titles, disliked title) of row 5."""

Years = tuple[int | None, int | None]


@dataclass(frozen=True)
class Ask:
    """A request and what a slate must hold to honour it."""

    text: str
    language: str
    label: str
    include: frozenset[str] = frozenset()
    """Any one of these categories counts (empty: no category asked for)."""
    exclude: frozenset[str] = frozenset()
    years: Years | None = None

    def honoured_by(self, item: Item) -> bool:
        """Whether one item meets every constraint of the request."""
        if self.include and not item.categories & self.include:
            return False
        if item.categories & self.exclude:
            return False
        if self.years is not None:
            low, high = self.years
            if item.year is None:
                return False
            if (low is not None and item.year < low) or (high is not None and item.year > high):
                return False
        return True


@dataclass(frozen=True)
class Item:
    """What the benchmark knows of one catalogue item."""

    title: str
    categories: frozenset[str]
    year: int | None


# -- the requests -----------------------------------------------------------------------------

GENRE_NAMES: dict[str, tuple[str, str]] = {
    "Horror": ("horror", "恐怖"),
    "Comedy": ("comedy", "喜剧"),
    "Documentary": ("documentary", "纪录"),
    "War": ("war", "战争"),
    "Musical": ("musical", "歌舞"),
    "Sci-Fi": ("sci-fi", "科幻"),
    "Animation": ("animated", "动画"),
    "Western": ("western", "西部"),
    "Thriller": ("thriller", "惊悚"),
    "Romance": ("romance", "爱情"),
}
"""Genre → its name in English and Chinese request templates."""

CATEGORY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": ("{a} {g} film", "I'd like to watch {g} movies", "show me some {g} films",
           "any good {g} films?"),
    "zh": ("来一部{g}片", "我想看{g}电影", "有什么好看的{g}片吗", "推荐几部{g}片"),
}  # fmt: skip
KIDS = frozenset({"Animation", "Children's"})
CATEGORY_PHRASES: tuple[Ask, ...] = (
    Ask("an animated film for children", "en", "Animation/Children's", KIDS),
    Ask("cartoons for the kids", "en", "Animation/Children's", KIDS),
    Ask("something scary", "en", "Horror", frozenset({"Horror"})),
    Ask("something funny", "en", "Comedy", frozenset({"Comedy"})),
    Ask("适合孩子的动画片", "zh", "Animation/Children's", KIDS),
    Ask("给小朋友看的动画", "zh", "Animation/Children's", KIDS),
    Ask("吓人的电影", "zh", "Horror", frozenset({"Horror"})),
    Ask("搞笑的电影", "zh", "Comedy", frozenset({"Comedy"})),
)
"""Fixed phrasings asked in every session besides the templates."""

COMEDY = frozenset({EXCLUDED})
EXCLUSIONS: tuple[Ask, ...] = (
    Ask("anything but a comedy", "en", "not Comedy", exclude=COMEDY),
    Ask("no comedies, please", "en", "not Comedy", exclude=COMEDY),
    Ask("I don't want a comedy", "en", "not Comedy", exclude=COMEDY),
    Ask("不要喜剧", "zh", "not Comedy", exclude=COMEDY),
    Ask("除了喜剧都行", "zh", "not Comedy", exclude=COMEDY),
    Ask("别推荐喜剧片", "zh", "not Comedy", exclude=COMEDY),
)


def _both(text: str, language: str, include: str, exclude: str) -> Ask:
    return Ask(
        text, language, f"{include} not {exclude}", frozenset({include}), frozenset({exclude})
    )


INCLUDE_EXCLUDE: tuple[Ask, ...] = (
    _both("a horror film, but no comedy", "en", "Horror", "Comedy"),
    _both("a thriller but not horror", "en", "Thriller", "Horror"),
    _both("a drama without romance", "en", "Drama", "Romance"),
    _both("an action film, no sci-fi", "en", "Action", "Sci-Fi"),
    _both("I want a comedy, not a romance", "en", "Comedy", "Romance"),
    _both("恐怖片，但不要喜剧", "zh", "Horror", "Comedy"),
    _both("来一部惊悚片，但不是恐怖片", "zh", "Thriller", "Horror"),
    _both("我想看剧情片，不要爱情片", "zh", "Drama", "Romance"),
    _both("动作片，不要科幻片", "zh", "Action", "Sci-Fi"),
    _both("要喜剧，不要爱情片", "zh", "Comedy", "Romance"),
)
ERAS: tuple[Ask, ...] = (
    Ask("a film from the 1970s", "en", "1970s", years=(1970, 1979)),
    Ask("something from the 80s", "en", "1980s", years=(1980, 1989)),
    Ask("before 1980", "en", "before 1980", years=(None, 1979)),
    Ask("a film made before 1960", "en", "before 1960", years=(None, 1959)),
    Ask("a comedy from the 1990s", "en", "Comedy 1990s", COMEDY, years=(1990, 1999)),
    Ask("七十年代的电影", "zh", "1970s", years=(1970, 1979)),
    Ask("八十年代的片子", "zh", "1980s", years=(1980, 1989)),
    Ask("1980年以前的电影", "zh", "before 1980", years=(None, 1979)),
    Ask("六十年代的电影", "zh", "1960s", years=(1960, 1969)),
    Ask("九十年代的喜剧", "zh", "Comedy 1990s", COMEDY, years=(1990, 1999)),
)


def category_asks(language: str, known: set[str]) -> list[Ask]:
    """Every template filled with every genre the catalogue has, and the fixed phrases."""
    out = []
    for genre, names in GENRE_NAMES.items():
        if genre not in known:
            continue
        name = names[0] if language == "en" else names[1]
        article = "an" if name[0] in "aeiou" else "a"
        for template in CATEGORY_TEMPLATES[language]:
            out.append(Ask(template.format(g=name, a=article), language, genre, frozenset({genre})))
    for ask in CATEGORY_PHRASES:
        if ask.language == language and ask.include & known:
            out.append(Ask(ask.text, language, ask.label, ask.include & known))
    return out


def usable(asks: Sequence[Ask], known: set[str], has_years: bool) -> list[Ask]:
    """The asks this catalogue can answer: its categories exist, it has years if asked."""
    return [
        a
        for a in asks
        if a.include <= known and a.exclude <= known and (a.years is None or has_years)
    ]


# -- data -------------------------------------------------------------------------------------


def catalogue_items(catalogue: Catalogue) -> dict[str, Item]:
    """Item id → title, categories and year (None without a numeric "year" attribute)."""
    frame = catalogue.frame
    out = {}
    for item, title, cats, attrs in zip(
        frame[ITEM_ID], frame[TITLE], frame[CATEGORIES], frame[ATTRIBUTES], strict=True
    ):
        raw = attrs.get("year") if isinstance(attrs, Mapping) else None
        year = int(raw) if isinstance(raw, int | float) and np.isfinite(raw) else None
        out[str(item)] = Item(str(title or ""), frozenset(str(c) for c in cats), year)
    return out


def histories(data: Path) -> list[list[str]]:
    """Each user's (or, without users, each session's) items in rating order."""
    frame = load_dataset(data).interactions.frame
    key = USER_ID if frame[USER_ID].notna().all() else SESSION_ID
    frame = frame.sort_values([key, TIMESTAMP], kind="stable")
    return [[str(i) for i in group[ITEM_ID]] for _, group in frame.groupby(key, sort=True)]


def sample(n_total: int, n: int, rng: np.random.Generator) -> list[int]:
    """`n` indices of `n_total`, seeded, in their original order."""
    if n >= n_total:
        return list(range(n_total))
    return sorted(int(i) for i in rng.choice(n_total, size=n, replace=False))


def views(items: Sequence[str]) -> list[SessionEvent]:
    return [SessionEvent(i, EventType.VIEW) for i in items]


def comedy_cases(
    users: Sequence[Sequence[str]], items: Mapping[str, Item], length: int
) -> list[tuple[list[str], str]]:
    """(a user's first `length` comedies, the first non-comedy rated after them) per user
    with that many comedies and a non-comedy after them."""
    out = []
    for history in users:
        comedies: list[str] = []
        for position, item in enumerate(history):
            if item in items and EXCLUDED in items[item].categories:
                comedies.append(item)
                if len(comedies) == length:
                    after = [
                        i
                        for i in history[position + 1 :]
                        if i in items and EXCLUDED not in items[i].categories
                    ]
                    if after:
                        out.append((comedies, after[0]))
                    break
    return out


_ARTICLE = re.compile(r"^(.*), (the|a|an)$")


def normal_title(title: str) -> str:
    """Titles compared: "Lion King, The" and "The Lion King" both read "the lion king"."""
    low = " ".join(title.lower().split())
    match = _ARTICLE.match(low)
    return f"{match.group(2)} {match.group(1)}" if match else low


def find_title(items: Mapping[str, Item], title: str) -> str | None:
    """The id of the first item whose title is `title` (articles either way), if any."""
    wanted = normal_title(title)
    return next((i for i, item in items.items() if normal_title(item.title) == wanted), None)


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Cell:
    """One artifact's figure for one row."""

    figure: str
    value: float | None
    ok: bool | None
    n: int
    details: dict[str, Any] = field(default_factory=dict)


NA = Cell("n/a", None, None, 0)


def top(engine: Engine, query: Query) -> list[str]:
    return [i.item_id for i in engine.recommend(query).items]


def share_row(
    engine: Engine,
    sessions: Sequence[Sequence[str]],
    asks: Sequence[Ask],
    items: Mapping[str, Item],
    target: float,
    progress: Callable[[str], None],
) -> Cell:
    """Mean share of the top K honouring the request, over every session × request."""
    if not asks or not sessions:
        return NA
    shares: dict[str, list[float]] = {}
    for number, session in enumerate(sessions):
        events = views(session)
        for ask in asks:
            slate = top(engine, Query(events=events, text=ask.text, k=K, explain=False))
            honoured = sum(i in items and ask.honoured_by(items[i]) for i in slate)
            shares.setdefault(ask.label, []).append(honoured / K)
        if number % 10 == 9:
            progress(f"{number + 1}/{len(sessions)} sessions")
    every = [s for values in shares.values() for s in values]
    mean = float(np.mean(every))
    by_label = {label: round(float(np.mean(v)), 4) for label, v in shares.items()}
    worst = min(by_label, key=lambda label: by_label[label])
    return Cell(
        f"{mean:.3f} (min {worst} {by_label[worst]:.2f})",
        mean,
        mean >= target,
        len(every),
        {"by_label": by_label, "sessions": len(sessions), "requests": len(asks)},
    )


def exclusion_rows(
    engine: Engine,
    cases: Sequence[tuple[list[str], str]],
    asks: Sequence[Ask],
    items: Mapping[str, Item],
) -> tuple[Cell, Cell]:
    """Share of the excluded category in the top K (target 0), and HR@K with/without."""
    if not asks or not cases:
        return NA, NA
    excluded = shown = 0
    request_cases = []
    for number, (session, target) in enumerate(cases):
        ask = asks[number % len(asks)]
        slate = top(engine, Query(events=views(session), text=ask.text, k=K, explain=False))
        excluded += sum(i in items and bool(items[i].categories & ask.exclude) for i in slate)
        shown += len(slate)
        events = tuple(CaseEvent(i, EventType.VIEW.value) for i in session)
        request_cases.append(RequestCase(events, (target,), ask.text, "exclusion"))
    share = excluded / max(shown, 1)
    report = evaluate_requests(engine, request_cases, ks=(K,))
    with_request = report.results[WITH_REQUEST].metrics[f"HR@{K}"]
    without = report.results[WITHOUT_REQUEST].metrics[f"HR@{K}"]
    n = len(cases)
    return (
        Cell(f"{share:.3f}", share, excluded == 0, n, {"excluded_in_slates": excluded}),
        Cell(
            f"{with_request:.3f} / {without:.3f}",
            with_request,
            None,
            report.dataset["test_cases"],
            {"with_request": with_request, "without": without},
        ),
    )


def empty_session_row(
    engine: Engine, asks: Sequence[Ask], items: Mapping[str, Item], target: float
) -> Cell:
    """The share of `share_row` with no events at all: one slate per request."""
    return share_row(engine, [[]], asks, items, target, lambda _: None)


def dislike_row(
    engine: Engine, triples: Sequence[tuple[str, str, str]], items: Mapping[str, Item]
) -> Cell:
    """Two likes and a dislike: Animation share of the top K, disliked film in the top K."""
    if not triples:
        return NA
    shares = []
    returned = 0
    for first, second, disliked in triples:
        events = [
            SessionEvent(first, EventType.LIKE),
            SessionEvent(second, EventType.LIKE),
            SessionEvent(disliked, EventType.DISLIKE),
        ]
        slate = top(engine, Query(events=events, k=K, explain=False))
        shares.append(sum(i in items and ANIMATION in items[i].categories for i in slate) / K)
        unseen = top(engine, Query(events=events, k=K, explain=False, exclude_seen=False))
        returned += disliked in unseen
    mean = float(np.mean(shares))
    return Cell(
        f"{mean:.3f}, disliked shown {returned}",
        mean,
        mean >= ANIMATED_TARGET and returned == 0,
        len(triples),
        {"min_share": float(np.min(shares)), "disliked_shown": returned},
    )


class Stopwatch:
    """Wall and CPU seconds of each timed block: on a shared machine the wall clock also
    counts time the thread waited for a core, the CPU clock only its own work."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.thread_time() - self._cpu)

    def cell(self, target_ms: float | None) -> Cell:
        """Wall p50 / p99 (judged against the target) and CPU p50 / p99."""
        p50, p99 = percentiles(self.wall)
        cpu50, cpu99 = percentiles(self.cpu)
        return Cell(
            f"{p50:.2f} / {p99:.2f} ms (cpu {cpu50:.2f} / {cpu99:.2f})",
            p99,
            None if target_ms is None else p99 <= target_ms,
            len(self.wall),
            {"p50_ms": p50, "p99_ms": p99, "cpu_p50_ms": cpu50, "cpu_p99_ms": cpu99},
        )


def interpreter_row(catalogue: Catalogue, encoder: TextEncoder, texts: Sequence[str]) -> Cell:
    """First reading of each text by a fresh interpreter with the engine's request encoder."""
    requests = RequestEncoder(lambda: encoder)
    frame = catalogue.frame
    interpreter = RequestInterpreter(
        Facets.from_catalogue(frame), requests.encode_many, titles=Titles.from_catalogue(frame)
    )
    interpreter.interpret("warm up the encoder, please")
    clock = Stopwatch()
    for text in texts:
        with clock:
            interpreter.interpret(text)
    return clock.cell(LATENCY_TARGET_MS)


def timed(engine: Engine, queries: Sequence[Query], target: float | None) -> Cell:
    """p50 / p99 of `recommend` over `queries` after `Engine.prepare` (as the service runs
    at start-up) and a warm-up without requests."""
    engine.prepare()
    for query in queries[:WARMUP]:
        engine.recommend(Query(events=query.events, k=query.k))
    settle_memory()  # as the service does after loading a model
    clock = Stopwatch()
    for query in queries:
        with clock:
            engine.recommend(query)
    return clock.cell(target)


FREE_FORM = (
    "something {a} for {s}",
    "a {a} movie about {s}",
    "{a} and {b} films",
    "anything {a}, maybe about {s}",
    "not too {a}, something about {s}",
    "我想看{c}的电影",
)
FREE_ADJECTIVES = (
    "cozy", "tense", "dark", "funny", "gentle", "violent", "romantic", "smart",
    "weird", "quiet", "epic", "sad", "uplifting", "slow", "gritty", "charming",
)  # fmt: skip
FREE_SUBJECTS = (
    "space exploration", "a rainy evening", "a date night", "my kids", "a long flight",
    "old friends", "the ocean", "growing up", "a heist", "music",
)  # fmt: skip
FREE_CHINESE = ("轻松", "浪漫", "恐怖", "感人", "搞笑", "紧张", "温馨", "悬疑")


def free_form_texts(n: int, rng: np.random.Generator) -> list[str]:
    """`n` distinct requests as people type them, from `FREE_FORM`'s templates: their words
    repeat across requests (as a service's do), the requests themselves never."""
    texts: dict[str, None] = {}
    limit = len(FREE_FORM) * len(FREE_ADJECTIVES) ** 2 * len(FREE_SUBJECTS)
    while len(texts) < min(n, limit // 4):
        a, b = rng.choice(len(FREE_ADJECTIVES), size=2, replace=False)
        form = FREE_FORM[int(rng.integers(len(FREE_FORM)))]
        chinese = FREE_CHINESE[int(rng.integers(len(FREE_CHINESE)))]
        text = form.format(
            a=FREE_ADJECTIVES[a],
            b=FREE_ADJECTIVES[b],
            s=FREE_SUBJECTS[int(rng.integers(len(FREE_SUBJECTS)))],
            c=chinese + ("一点", "", "些")[int(rng.integers(3))],
        )
        texts[text] = None
    return list(texts)


def synthetic_engine(n_items: int, encoder: TextEncoder) -> Engine:
    """`bench_engine.synthetic_engine` with the text vectors sized for `encoder` and that
    encoder reading the requests; 20 genres and a year per item, for requests to read."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = TransformerConfig(progress=False)
    text = rng.normal(size=(n_items, encoder.dimension)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    model = SessionTransformer(config)
    model.vocab = Vocabulary([str(i) for i in range(n_items)])
    vectors = ItemEncoder(n_items, config.embedding_size, torch.from_numpy(text), True, 0.0)
    model.net = CausalTransformer(config, vectors)
    model.net.eval()
    catalogue = make_catalogue(
        model.vocab.ids,
        [f"Item {i}" for i in range(n_items)],
        categories=[[f"genre {i % 20}"] for i in range(n_items)],
        attributes=[{"year": 1950 + i % 50} for i in range(n_items)],
    )
    return Engine(model, catalogue, encoder=encoder)


def synthetic_queries(
    n_items: int, n: int, texts: Sequence[str], rng: np.random.Generator
) -> list[Query]:
    """`bench_engine.random_sessions` (50 events) with a request each: about half read
    from the synthetic genres and years, half the benchmark's own film requests."""
    genre_texts = [
        f"something from genre {g}, but not genre {(g + 7) % 20}, before {1960 + g}"
        for g in range(20)
    ]
    pool = [*genre_texts, *texts[:20]]
    ids = [str(i) for i in range(n_items)]
    sessions = random_sessions(ids, n, 50, rng)
    return [
        Query(events=q.events, text=pool[i % len(pool)], k=K, impressions=q.impressions)
        for i, q in enumerate(sessions)
    ]


# -- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    target: str


ROWS = (
    Row("category_en", "1. category requests, en: share in asked categories", ">= 0.8"),
    Row("category_zh", "1. category requests, zh: share in asked categories", ">= 0.8"),
    Row("exclusion_en", "2. exclusion after comedies, en: comedy share", "= 0"),
    Row("exclusion_zh", "2. exclusion after comedies, zh: comedy share", "= 0"),
    Row("exclusion_hr_en", "2. exclusion, en: HR@10 with / without request", "(printed)"),
    Row("exclusion_hr_zh", "2. exclusion, zh: HR@10 with / without request", "(printed)"),
    Row("include_exclude_en", "3. include + exclude, en: share meeting both", ">= 0.95"),
    Row("include_exclude_zh", "3. include + exclude, zh: share meeting both", ">= 0.95"),
    Row("era_en", "3. eras, en: share in the years asked", ">= 0.95"),
    Row("era_zh", "3. eras, zh: share in the years asked", ">= 0.95"),
    Row("empty_en", "4. category requests, empty session, en", ">= 0.8"),
    Row("empty_zh", "4. category requests, empty session, zh", ">= 0.8"),
    Row("dislike_named", "5. like Toy Story+Aladdin, dislike Lion King", ">= 0.5, shown 0"),
    Row("dislike_random", "5. like 2 + dislike 1 animated, random triples", ">= 0.5, shown 0"),
    Row("interpret_latency", "6. interpret(), first reading: p50 / p99", "p99 <= 10 ms"),
    Row("recommend_latency", "6. recommend + request, {n_items:,} items: p50 / p99", "(printed)"),
    Row(
        "new_text_latency",
        "6. recommend + a text never read, {n_items:,} items: p50 / p99",
        "(printed)",
    ),
    Row("scale_latency", "6. recommend + request, {synthetic:,} items: p50 / p99", "p99 <= 10 ms"),
)


def measure(
    name: str,
    engine: Engine,
    encoder: TextEncoder,
    catalogue: Catalogue,
    users: Sequence[Sequence[str]],
    args: argparse.Namespace,
) -> dict[str, Cell]:
    """Every row's cell for one artifact."""

    def progress(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    items = catalogue_items(catalogue)
    known = {c for item in items.values() for c in item.categories}
    has_years = any(item.year is not None for item in items.values())
    rng = np.random.default_rng(args.seed)
    chosen = [users[i] for i in sample(len(users), args.users, rng)]
    sessions = [list(h[: args.session_length]) for h in chosen]
    comedy = comedy_cases(users, items, args.session_length)
    comedy = [comedy[i] for i in sample(len(comedy), args.users, rng)]
    cells: dict[str, Cell] = {}
    texts: list[str] = []
    for language in ("en", "zh"):
        asks = category_asks(language, known)
        texts += [a.text for a in asks]
        progress(f"category requests ({language}): {len(sessions)} x {len(asks)}")
        cells[f"category_{language}"] = share_row(
            engine, sessions, asks, items, CATEGORY_TARGET, progress
        )
        cells[f"empty_{language}"] = empty_session_row(engine, asks, items, CATEGORY_TARGET)
        exclusions = usable([a for a in EXCLUSIONS if a.language == language], known, has_years)
        texts += [a.text for a in exclusions]
        progress(f"exclusions ({language}): {len(comedy)} comedy sessions")
        share, hits = exclusion_rows(engine, comedy, exclusions, items)
        cells[f"exclusion_{language}"] = share
        cells[f"exclusion_hr_{language}"] = hits
        for key, pool in (("include_exclude", INCLUDE_EXCLUDE), ("era", ERAS)):
            asks = usable([a for a in pool if a.language == language], known, has_years)
            texts += [a.text for a in asks]
            progress(f"{key} ({language}): {len(sessions)} x {len(asks)}")
            cells[f"{key}_{language}"] = share_row(
                engine, sessions, asks, items, CONSTRAINT_TARGET, progress
            )
    liked, disliked = NAMED_TRIPLE
    named = [find_title(items, t) for t in (*liked, disliked)]
    cells["dislike_named"] = (
        dislike_row(engine, [(named[0], named[1], named[2])], items)
        if named[0] and named[1] and named[2]
        else NA
    )
    animated = sorted(i for i, item in items.items() if ANIMATION in item.categories)
    triples: list[tuple[str, str, str]] = []
    if len(animated) >= 3:
        for _ in range(args.users):
            a, b, c = rng.choice(len(animated), size=3, replace=False)
            triples.append((animated[a], animated[b], animated[c]))
    progress(f"likes and dislikes: {len(triples)} random triples")
    cells["dislike_random"] = dislike_row(engine, triples, items)
    unique = list(dict.fromkeys(texts))
    progress(f"latency: interpreter on {len(unique)} request texts")
    cells["interpret_latency"] = interpreter_row(catalogue, encoder, unique)
    queries = [
        Query(events=views(sessions[i % len(sessions)]), text=unique[i % len(unique)], k=K)
        for i in range(args.latency_requests)
    ]
    cells["recommend_latency"] = timed(engine, queries, None) if sessions and unique else NA
    fresh = [
        Query(events=views(sessions[i % len(sessions)]), text=text, k=K)
        for i, text in enumerate(free_form_texts(args.latency_requests, rng))
    ]
    cells["new_text_latency"] = timed(engine, fresh, None) if sessions else NA
    if args.items > 0:
        progress(f"latency: synthetic engine over {args.items:,} items")
        big = synthetic_engine(args.items, encoder)
        scale_queries = synthetic_queries(args.items, args.latency_requests, unique, rng)
        cells["scale_latency"] = timed(big, scale_queries, LATENCY_TARGET_MS)
        del big
    else:
        cells["scale_latency"] = NA
    return cells


def verdict(cell: Cell) -> str:
    if cell.value is None:
        return "n/a"
    return "" if cell.ok is None else ("PASS" if cell.ok else "FAIL")


def table(
    names: Sequence[str], cells: Mapping[str, Mapping[str, Cell]], sizes: Mapping[str, int]
) -> str:
    """The rows as aligned text: measure, one column per artifact, target, pass; `sizes`
    fill the item counts into the latency rows' names."""
    header = ["measure", *names, "target", "pass"]
    lines = [header]
    for row in ROWS:
        figures = [cells[n][row.key].figure for n in names]
        passes = " / ".join(verdict(cells[n][row.key]) for n in names)
        lines.append(
            [row.name.format(**sizes), *figures, row.target, passes if passes.strip(" /") else ""]
        )
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def parse_artifacts(args: argparse.Namespace) -> dict[str, Path]:
    if args.artifacts:
        out = {}
        for spec in args.artifacts:
            name, sep, path = spec.partition("=")
            if not sep or not name or not path:
                raise SystemExit(f"--artifacts takes NAME=PATH, got {spec!r}")
            out[name] = Path(path)
        return out
    return {"MiniLM": args.artifact_minilm, "e5": args.artifact_e5}


def main(
    argv: Sequence[str] | None = None, encoders: Mapping[str, TextEncoder] | None = None
) -> int:
    """Run the benchmark; `encoders` (artifact name → encoder) replace the artifacts' own,
    for tests whose artifacts were trained with a test encoder."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--artifact-minilm", type=Path, default=Path("/tmp/u12-minilm"))
    parser.add_argument("--artifact-e5", type=Path, default=Path("/tmp/u12-e5"))
    parser.add_argument(
        "--artifacts", nargs="+", metavar="NAME=PATH", help="instead of the two above"
    )
    default_data = Path(os.environ.get("SESSIONREC_DATA", "../shared/data")) / "ml-100k"
    parser.add_argument("--data", type=Path, default=default_data, help="the events")
    parser.add_argument("--users", type=int, default=60, help="sessions per row (sampled)")
    parser.add_argument("--session-length", type=int, default=SESSION_LENGTH)
    parser.add_argument("--items", type=int, default=100_000, help="synthetic; 0: skip")
    parser.add_argument(
        "--latency-requests", type=int, default=LATENCY_REQUESTS, help="timed per latency row"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    artifacts = parse_artifacts(args)
    missing = [f"{n} ({p})" for n, p in artifacts.items() if not (p / "manifest.json").is_file()]
    if missing or not args.data.exists():
        print(
            f"missing artifact(s) {', '.join(missing) or '-'} or data {args.data}; train with\n"
            f"  sessionrec train --data {args.data} --out DIR [--encoder multilingual]",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    users = histories(args.data)
    cells: dict[str, dict[str, Cell]] = {}
    specs: dict[str, str | None] = {}
    n_items = 0
    for name, folder in artifacts.items():
        catalogue = load_artifact_catalogue(folder)
        if catalogue is None:
            print(f"{folder} has no catalogue", file=sys.stderr)
            return 2
        spec = as_embedding_model(load_artifact(folder)).text_encoder
        specs[name] = spec
        encoder = (encoders or {}).get(name) or load_encoder(spec)
        engine = Engine.from_artifact(folder, encoder=encoder)
        n_items = engine.n_items
        cells[name] = measure(name, engine, encoder, catalogue, users, args)
    seconds = time.perf_counter() - start
    names = list(artifacts)
    sizes = {"n_items": n_items, "synthetic": args.items}
    print(table(names, cells, sizes))
    print(
        f"\n{args.users} users sampled with seed {args.seed}; sessions: first "
        f"{args.session_length} ratings as views; {seconds:.0f} s"
    )
    if args.json:
        report = {
            "artifacts": {n: {"path": str(p), "encoder": specs[n]} for n, p in artifacts.items()},
            "data": str(args.data),
            "users": args.users,
            "seed": args.seed,
            "seconds": seconds,
            "rows": [
                {
                    "key": row.key,
                    "name": row.name.format(**sizes),
                    "target": row.target,
                    "results": {
                        n: {
                            "figure": cells[n][row.key].figure,
                            "value": cells[n][row.key].value,
                            "pass": cells[n][row.key].ok,
                            "n": cells[n][row.key].n,
                            **cells[n][row.key].details,
                        }
                        for n in names
                    },
                }
                for row in ROWS
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    failed = any(cells[n][r.key].ok is False for n in names for r in ROWS)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
