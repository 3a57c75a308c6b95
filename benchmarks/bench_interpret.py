"""Request interpreter: latency per request and accuracy on a labelled list, English and Chinese.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_interpret.py \\
        --data /work/shared/data/ml-100k --shop examples/shop/items.csv

On ml-100k's catalogue and the example shop, ~300 requests (templates filled with each
catalogue's categories and ranges, in English and Chinese, plus the labelled list) are
read one at a time on one thread, once without an encoder (names and the synonym table
only) and then with the bundled MiniLM three ways: "st" embeds spans through
sentence-transformers' `encode` (the library's path), "f32" through the lean forward that
typed requests take (`sessionrec.text.bert_queries`), "bf16" the same with bfloat16
products where the CPU has them in hardware (what "auto" chooses there; the row is absent
elsewhere). "cold" is the first reading of each text (span vectors cached across requests,
as in a server), "repeat" the second (the request cache), and "+steer" the first reading
by a fresh interpreter plus the vector of the text it leaves to steer by (the engine's next
step, an encoder call unless the reading already embedded that text with its spans,
`SpanEncoder.match`'s `also`): what reading a request costs before ranking starts. The
verdict judges "cold", the interpreter's own target. The labelled list scores
include, exclude and ranges by exact match. Target: p99 <= 10 ms.

Films requests also name titles of the catalogue ("I loved Toy Story, got anything just as
tense?", "something like Heat (1995)", "not like Alien") and point at the session ("more
like the last one"); `--catalogue-size 100000` pads the films catalogue with made-up
titles (words of the real ones, so first words collide as in a large catalogue) to show
title linking stays as fast at 100,000 titles. Exits 2 when the data is missing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sessionrec.data.loaders import load_catalogue, load_dataset
from sessionrec.data.schema import ITEM_ID, TITLE
from sessionrec.engine.engine import steering_text
from sessionrec.engine.interpret import Facets, RequestInterpreter, Titles

Range = dict[str, tuple[float | None, float | None]]
Case = tuple[str, str, tuple[str, ...], tuple[str, ...], Range]
"""(catalogue "films" | "shop", text, include, exclude, ranges)."""

LABELLED: list[Case] = [
    # films, English
    ("films", "a scary movie but not a slasher", ("Horror",), (), {}),
    ("films", "something lighter, not a comedy", (), ("Comedy",), {}),
    ("films", "a horror film, but no comedy", ("Horror",), ("Comedy",), {}),
    ("films", "not a comedy but a drama", ("Drama",), ("Comedy",), {}),
    ("films", "comedies from the 80s", ("Comedy",), (), {"year": (1980, 1989)}),
    ("films", "animated films for kids", ("Animation", "Children's"), (), {}),
    ("films", "cartoons please", ("Animation",), (), {}),
    ("films", "sci-fi from the nineties", ("Sci-Fi",), (), {"year": (1990, 1999)}),
    ("films", "a western made before 1970", ("Western",), (), {"year": (None, 1969)}),
    ("films", "thrillers released after 1995", ("Thriller",), (), {"year": (1996, None)}),
    ("films", "anything but horror", (), ("Horror",), {}),
    ("films", "I don't want horror, I want comedy", ("Comedy",), ("Horror",), {}),
    ("films", "a romantic movie from 1995", ("Romance",), (), {"year": (1995, 1995)}),
    ("films", "war films between 1940 and 1960", ("War",), (), {"year": (1940, 1960)}),
    ("films", "no horror or thrillers", (), ("Horror", "Thriller"), {}),
    ("films", "Hi! I loved it last night", (), (), {}),
    ("films", "a documentary, nothing scary", ("Documentary",), ("Horror",), {}),
    ("films", "film noir from the 1940s", ("Film-Noir",), (), {"year": (1940, 1949)}),
    ("films", "a funny family film", ("Comedy", "Children's"), (), {}),
    ("films", "a detective story without romance", ("Mystery",), ("Romance",), {}),
    ("films", "musicals from the early 60s", ("Musical",), (), {"year": (1960, 1963)}),
    (
        "films",
        "an adventure for the whole family, except cartoons",
        ("Adventure", "Children's"),
        ("Animation",),
        {},
    ),
    # films, Chinese
    ("films", "不要喜剧", (), ("Comedy",), {}),
    ("films", "除了恐怖片都行", (), ("Horror",), {}),
    ("films", "90年代的动画片", ("Animation",), (), {"year": (1990, 1999)}),
    ("films", "七十年代的科幻电影", ("Sci-Fi",), (), {"year": (1970, 1979)}),
    ("films", "我想看爱情片，不要战争片", ("Romance",), ("War",), {}),
    ("films", "不要恐怖片要喜剧", ("Comedy",), ("Horror",), {}),
    ("films", "适合孩子看的动画", ("Children's", "Animation"), (), {}),
    ("films", "1990年以前的犯罪片", ("Crime",), (), {"year": (None, 1989)}),
    ("films", "来一部惊悚片，但不是恐怖片", ("Thriller",), ("Horror",), {}),
    ("films", "八十年代的动作片", ("Action",), (), {"year": (1980, 1989)}),
    ("films", "你好，谢谢", (), (), {}),
    ("films", "纪录片或者西部片", ("Documentary", "Western"), (), {}),
    ("films", "悬疑片，别太吓人", ("Mystery",), ("Horror",), {}),
    ("films", "奇幻冒险", ("Fantasy", "Adventure"), (), {}),
    # shop, English
    ("shop", "kitchen stuff", ("Kitchen",), (), {}),
    ("shop", "something for camping under 50 euros", ("Camping",), (), {"price": (None, 50)}),
    ("shop", "coffee gear, less than $40", ("Coffee",), (), {"price": (None, 40)}),
    ("shop", "garden things but not tools", ("Garden",), ("Tools",), {}),
    ("shop", "running gear between 20 and 40 euros", ("Running",), (), {"price": (20, 40)}),
    ("shop", "tea, no coffee", ("Tea",), ("Coffee",), {}),
    ("shop", "office supplies over 30", ("Office",), (), {"price": (30, None)}),
    ("shop", "a gift for a cyclist", ("Cycling",), (), {}),
    ("shop", "hiking equipment", ("Camping",), (), {}),
    # shop, Chinese
    ("shop", "厨房用品", ("Kitchen",), (), {}),
    ("shop", "户外的东西，50元以下", ("Outdoor",), (), {"price": (None, 50)}),
    ("shop", "跑步用的，不要电子产品", ("Running",), ("Electronics",), {}),
    ("shop", "咖啡，100块以内", ("Coffee",), (), {"price": (None, 100)}),
    ("shop", "园艺工具", ("Garden", "Tools"), (), {}),
    ("shop", "便宜的茶", ("Tea",), (), {}),
]
"""Hand-labelled; "a gift for a cyclist" has no category word the table knows (cyclist is
not cycling) and "hiking equipment" needs the encoder, so both measure what it adds."""

EN_TEMPLATES = (
    "a {c} film",
    "something {c}, not too long",
    "no {c} please",
    "{c} from the {d}s",
    "I'd like a {c} made before {y}",
    "anything but {c}",
    "{c} or {c2}",
    "a {c} but not a {c2}",
    "hi! any good {c} since {y}?",
    "show me {c} stuff between {p} and {p2} euros",
)
ZH_TEMPLATES = (
    "来一部{c}",
    "不要{c}",
    "{d}年代的{c}",
    "{c}或者{c2}",
    "除了{c}都行",
    "{y}年以前的{c}",
    "{c}，{p}元以下",
    "我想看{c}，但不是{c2}",
)
ZH_NAMES = {
    "Comedy": "喜剧", "Horror": "恐怖片", "Animation": "动画片", "Children's": "儿童片",
    "Sci-Fi": "科幻片", "Romance": "爱情片", "Action": "动作片", "Thriller": "惊悚片",
    "Documentary": "纪录片", "War": "战争片", "Western": "西部片", "Crime": "犯罪片",
    "Mystery": "悬疑片", "Fantasy": "奇幻片", "Musical": "歌舞片", "Drama": "剧情片",
    "Adventure": "冒险片", "Kitchen": "厨房用品", "Outdoor": "户外用品", "Sport": "运动用品",
    "Office": "办公用品", "Garden": "园艺", "Camping": "露营装备", "Running": "跑步装备",
    "Cycling": "骑行装备", "Coffee": "咖啡", "Tea": "茶", "Food": "食品", "Tools": "工具",
}  # fmt: skip


def generated(catalogue: str, categories: Sequence[str], n: int, seed: int) -> list[str]:
    """`n` template requests over `categories`, about half English and half Chinese."""
    rng = random.Random(seed)
    names = list(categories)
    zh = [c for c in names if c in ZH_NAMES]
    out = []
    for i in range(n):
        chinese = i % 2 == 1 and zh
        pool = zh if chinese else names
        c, c2 = rng.sample(pool, 2)
        fill = {
            "c": ZH_NAMES[c] if chinese else c.lower(),
            "c2": ZH_NAMES[c2] if chinese else c2.lower(),
            "d": rng.choice((50, 60, 70, 80, 90)),
            "y": rng.choice((1960, 1975, 1990, 1995)),
            "p": rng.choice((10, 20, 30)),
            "p2": rng.choice((40, 60, 100)),
        }
        template = rng.choice(ZH_TEMPLATES if chinese else EN_TEMPLATES)
        out.append(template.format(**fill))
    return out


MENTION_TEMPLATES = (
    "Hi! I loved {t} last night, got anything just as tense?",
    "something like {t}",
    "I hated {t}, something lighter",
    "not like {t} please",
    "comedies like {t} but not too long",
    "{t} was great, more like that",
)
REFERENCE_REQUESTS = (
    "more like the last one",
    "something darker than the previous one",
    "like that but funnier",
    "上一个那样的",
    "刚才那个，但更轻松一点",
    "Hi! got anything?",
    "thanks, 谢谢",
)


def mention_requests(titles: Sequence[str], n: int, seed: int) -> list[str]:
    """`n` requests naming catalogue titles (as written, or without the year), plus the
    reference and chit-chat requests."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = rng.choice(list(titles))
        if i % 2:
            title = title.rsplit(" (", 1)[0]  # "Toy Story (1995)" as "Toy Story"
        out.append(rng.choice(MENTION_TEMPLATES).format(t=title))
    return out + list(REFERENCE_REQUESTS)


def padded(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """The catalogue with made-up items up to `size`: titles of 1-5 words of the real
    titles, with a year, so first words collide as they do in a large catalogue."""
    if size <= len(frame):
        return frame
    rng = random.Random(seed)
    vocabulary = sorted({w for t in frame[TITLE] for w in str(t).split() if w.isalpha()})
    extra = size - len(frame)
    made_up = pd.DataFrame(
        {
            ITEM_ID: [f"pad{i}" for i in range(extra)],
            TITLE: [
                " ".join(rng.choices(vocabulary, k=rng.randint(1, 5)))
                + f" ({rng.randint(1920, 2020)})"
                for _ in range(extra)
            ],
        }
    )
    return pd.concat([frame, made_up], ignore_index=True)


TARGET_MS = 10.0
"""Issue 12's target for the cold p99 of one reading on one thread."""


def timed(interpreter: RequestInterpreter, texts: Sequence[str]) -> np.ndarray:
    """Milliseconds per request."""
    out = np.empty(len(texts))
    for i, text in enumerate(texts):
        start = time.perf_counter()
        interpreter.interpret(text)
        out[i] = (time.perf_counter() - start) * 1000
    return out


class Remembering:
    """An encode function that keeps every vector it made, as the engine's request cache
    does: a steering text embedded with the spans needs no call of its own. (The engine's
    `RequestEncoder` itself would read through the encoder's query path, and the "st" row
    must keep the library's.)"""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.encode = encode
        self.vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.encode(texts)
        self.vectors.update((" ".join(t.split()), v) for t, v in zip(texts, vectors, strict=True))
        return vectors

    def steer(self, text: str) -> None:
        if " ".join(text.split()) not in self.vectors:
            self([text])


def timed_with_steering(
    interpreter: RequestInterpreter, encode: Remembering, texts: Sequence[str]
) -> np.ndarray:
    """Milliseconds per request: the reading and the vector of what it steers by."""
    out = np.empty(len(texts))
    for i, text in enumerate(texts):
        start = time.perf_counter()
        steer = steering_text(text, interpreter.interpret(text))
        if steer is not None:
            encode.steer(steer)
        out[i] = (time.perf_counter() - start) * 1000
    return out


def accuracy(
    interpreters: dict[str, RequestInterpreter], cases: Sequence[Case]
) -> tuple[float, int, list[str]]:
    """Share of cases whose include, exclude and ranges all match exactly; the misses."""
    hits, misses = 0, []
    for catalogue, text, include, exclude, ranges in cases:
        got = interpreters[catalogue].interpret(text)
        ok = (
            set(got.include) == set(include)
            and set(got.exclude) == set(exclude)
            and dict(got.ranges) == {k: tuple(v) for k, v in ranges.items()}
        )
        hits += ok
        if not ok:
            misses.append(
                f"{text!r}: include {list(got.include)} exclude {list(got.exclude)} "
                f"ranges {dict(got.ranges)}"
            )
    return hits / max(len(cases), 1), len(cases), misses


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_data = Path(os.environ.get("SESSIONREC_DATA", "/work/shared/data")) / "ml-100k"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--shop", type=Path, default=Path("examples/shop/items.csv"))
    parser.add_argument("--requests", type=int, default=150, help="generated per catalogue")
    parser.add_argument("--no-encoder", action="store_true", help="skip the MiniLM rows")
    parser.add_argument("--misses", action="store_true", help="list the labelled misses")
    parser.add_argument(
        "--catalogue-size", type=int, default=0, help="pad the films' titles to this many"
    )
    args = parser.parse_args()
    if not args.data.exists() or not args.shop.exists():
        print(f"missing data: {args.data} or {args.shop}", file=sys.stderr)
        return 2
    films = load_dataset(args.data).catalogue
    shop = load_catalogue(args.shop)
    assert films is not None
    facets = {
        "films": Facets.from_catalogue(films.frame),
        "shop": Facets.from_catalogue(shop.frame),
    }
    start = time.perf_counter()
    film_titles = padded(films.frame, args.catalogue_size, seed=7)
    titles = {
        "films": Titles.from_catalogue(film_titles),
        "shop": Titles.from_catalogue(shop.frame),
    }
    print(
        f"titles: {len(titles['films']):,} films, {len(titles['shop']):,} products, "
        f"indexed in {(time.perf_counter() - start) * 1000:.0f} ms"
    )
    requests = {
        name: generated(name, f.categories[:14], args.requests, seed=i)
        + [c[1] for c in LABELLED if c[0] == name]
        for i, (name, f) in enumerate(facets.items())
    }
    requests["films"] += mention_requests(films.frame[TITLE].tolist(), 40, seed=3)
    encoders: list[tuple[str, Callable[[Sequence[str]], np.ndarray] | None]] = [("none", None)]
    if not args.no_encoder:
        import torch

        from sessionrec.text.registry import DEFAULT_ENCODER_NAME, bundled_model_folder
        from sessionrec.text.sentence_transformers import SentenceTransformerEncoder

        torch.set_num_threads(1)
        folder = str(bundled_model_folder())
        lean = {
            precision: SentenceTransformerEncoder(
                folder, name=DEFAULT_ENCODER_NAME, query_precision=precision
            )
            for precision in ("float32", "auto")
        }
        # The library's own path (what requests took before the lean forward), then the
        # lean one in float32 (any CPU) and as "auto" chooses on this one.
        encoders.append(("MiniLM st", lean["float32"].encode))
        encoders.append(("MiniLM f32", lean["float32"].encode_queries))
        chosen = lean["auto"].query_precision
        if chosen != "float32":
            encoders.append(("MiniLM bf16", lean["auto"].encode_queries))
    print(
        f"{'encoder':11} {'catalogue':9} {'n':>4} {'build ms':>9} {'cold p50':>9} "
        f"{'cold p99':>9} {'cold max':>9} {'repeat p99':>10} {'+steer p50':>10} "
        f"{'+steer p99':>10}  p99 <= {TARGET_MS:g} ms"
    )
    accuracies = []
    for label, encode in encoders:
        interpreters = {}
        for name, f in facets.items():
            start = time.perf_counter()
            interpreter = RequestInterpreter(f, encode, titles=titles[name])
            build = (time.perf_counter() - start) * 1000
            interpreters[name] = interpreter
            texts = requests[name]
            cold = timed(interpreter, texts)
            repeat = timed(interpreter, texts)
            steered = ""
            if encode is not None:
                remembering = Remembering(encode)
                fresh = RequestInterpreter(f, remembering, titles=titles[name])
                both = timed_with_steering(fresh, remembering, texts)
                steered = f"{np.percentile(both, 50):10.2f} {np.percentile(both, 99):10.2f}"
            print(
                f"{label:11} {name:9} {len(texts):4d} {build:9.1f} {np.percentile(cold, 50):9.2f} "
                f"{np.percentile(cold, 99):9.2f} {cold.max():9.2f} "
                f"{np.percentile(repeat, 99):10.3f} {steered:21}  "
                f"{'ok' if np.percentile(cold, 99) <= TARGET_MS else 'FAIL'}"
            )
        for language, keep in (("en", lambda t: not is_chinese(t)), ("zh", is_chinese)):
            cases = [c for c in LABELLED if keep(c[1])]
            share, n, misses = accuracy(interpreters, cases)
            accuracies.append((label, language, share, n, misses))
    named = mention_requests(films.frame[TITLE].tolist(), 40, seed=3)[:40]
    linked = sum(
        bool(r.mentions or r.avoid_mentions) for r in map(interpreters["films"].interpret, named)
    )
    print(f"\ntitle requests with a title linked: {linked}/{len(named)}")
    long_text = "a scary movie from the 80s but not a comedy, " * 230
    interpreter = RequestInterpreter(facets["films"], encoders[-1][1], titles=titles["films"])
    start = time.perf_counter()
    interpreter.interpret(long_text)
    print(f"\n{len(long_text):,}-character request: {(time.perf_counter() - start) * 1000:.1f} ms")
    print(f"\n{'encoder':11} {'lang':4} {'cases':>5} {'exact':>6}")
    for label, language, share, n, misses in accuracies:
        print(f"{label:11} {language:4} {n:5d} {share:6.1%}")
        if args.misses:
            for miss in misses:
                print(f"    {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
