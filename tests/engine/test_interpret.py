"""The request interpreter: typed text read as categories, ranges and values of a catalogue.

Two catalogues built here (films with years; a shop with categories, price and brand), read
without an encoder (names and the synonym table) and with the bundled MiniLM (no mocks).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from sessionrec.data.schema import make_catalogue
from sessionrec.engine.interpret import (
    MAX_TEXT_CHARS,
    Facets,
    RequestInterpreter,
    UnderstoodRequest,
)
from sessionrec.text.base import TextEncoder

FILM_GENRES = [
    ["Comedy"],
    ["Horror"],
    ["Animation", "Children's", "Comedy"],
    ["Sci-Fi", "Action"],
    ["Drama", "Romance"],
    ["Thriller", "Crime"],
    ["Documentary"],
    ["War", "Drama"],
    ["Western"],
    ["Mystery", "Film-Noir"],
    ["Fantasy", "Adventure"],
    ["Musical"],
    ["unknown"],
]


def film_frame() -> pd.DataFrame:
    n = len(FILM_GENRES)
    years: list[dict[str, object]] = [{"year": 1930 + 5 * i} for i in range(n - 1)]
    years.append({"year": None})
    return make_catalogue(
        [str(i) for i in range(n)],
        [f"Film {i}" for i in range(n)],
        categories=FILM_GENRES,
        attributes=years,
    ).frame


def shop_frame() -> pd.DataFrame:
    rows = [
        (["Kitchen", "Coffee"], "Brewline", "34.00"),
        (["Kitchen", "Tea"], "Tetsu", "54.00"),
        (["Shoes", "Running"], "Nike", "120.00"),
        (["Shoes"], "Stride", "80.50"),
        (["Outdoor", "Camping"], "Trailhead", "229.00"),
        (["Garden", "Tools"], "Greenhand", "12.50"),
        (["Office"], "Papierhaus", "18.00"),
        (["Cycling"], "Velo", "79.00"),
    ]
    return make_catalogue(
        [f"P{i}" for i in range(len(rows))],
        [f"Product {i}" for i in range(len(rows))],
        categories=[r[0] for r in rows],
        attributes=[{"brand": r[1], "price": r[2]} for r in rows],
    ).frame


@pytest.fixture(scope="module")
def films() -> RequestInterpreter:
    return RequestInterpreter(Facets.from_catalogue(film_frame()))


@pytest.fixture(scope="module")
def shop() -> RequestInterpreter:
    return RequestInterpreter(Facets.from_catalogue(shop_frame()))


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    from sessionrec.text.registry import load_encoder

    return load_encoder()


@pytest.fixture(scope="module")
def films_encoded(minilm: TextEncoder) -> RequestInterpreter:
    return RequestInterpreter(Facets.from_catalogue(film_frame()), minilm.encode)


@pytest.fixture(scope="module")
def shop_encoded(minilm: TextEncoder) -> RequestInterpreter:
    return RequestInterpreter(Facets.from_catalogue(shop_frame()), minilm.encode)


def read(interpreter: RequestInterpreter, text: str) -> UnderstoodRequest:
    return interpreter.interpret(text)


def same(got: Sequence[str], want: Sequence[str]) -> bool:
    return sorted(got) == sorted(want)


# facets ---------------------------------------------------------------------------------


def test_facets_read_categories_numbers_and_small_string_attributes() -> None:
    facets = Facets.from_catalogue(shop_frame())
    assert set(facets.categories) >= {"Kitchen", "Shoes", "Outdoor"}
    assert facets.categories[0] == "Kitchen"  # most frequent first (tied with Shoes: by name)
    assert facets.numeric == {"price": (12.5, 229.0)}  # numeric strings count as numbers
    assert "price" not in facets.integers
    assert set(facets.values["brand"]) == {
        "Brewline", "Tetsu", "Nike", "Stride", "Trailhead", "Greenhand", "Papierhaus", "Velo"
    }  # fmt: skip
    films = Facets.from_catalogue(film_frame())
    assert films.numeric["year"] == (1930.0, 1985.0)  # the missing year is skipped
    assert "year" in films.integers
    assert films.values == {}


def test_string_attributes_with_many_values_are_not_matched() -> None:
    frame = make_catalogue(
        [str(i) for i in range(300)],
        [f"t{i}" for i in range(300)],
        attributes=[{"sku": f"code{i}"} for i in range(300)],
    ).frame
    assert Facets.from_catalogue(frame).values == {}


# categories -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "include"),
    [
        ("comedies", ["Comedy"]),
        ("something animated", ["Animation"]),
        ("cartoons for the kids", ["Animation", "Children's"]),
        ("a scary one", ["Horror"]),
        ("family night", ["Children's"]),
        ("sci-fi", ["Sci-Fi"]),
        ("science fiction", ["Sci-Fi"]),
        ("SCIFI!", ["Sci-Fi"]),
        ("westerns and thrillers", ["Western", "Thriller"]),
        ("film noir", ["Film-Noir"]),
        ("a whodunit", ["Mystery"]),
    ],
)
def test_english_words_and_synonyms_match_the_catalogue_names(
    films: RequestInterpreter, text: str, include: list[str]
) -> None:
    got = read(films, text)
    assert same(got.include, include), got
    assert got.exclude == ()


@pytest.mark.parametrize(
    ("text", "include"),
    [
        ("动画片", ["Animation"]),
        ("卡通", ["Animation"]),
        ("喜剧", ["Comedy"]),
        ("恐怖片", ["Horror"]),
        ("科幻电影", ["Sci-Fi"]),
        ("爱情片", ["Romance"]),
        ("动作片", ["Action"]),
        ("适合小孩看的", ["Children's"]),
        ("惊悚", ["Thriller"]),
        ("纪录片", ["Documentary"]),
        ("战争片", ["War"]),
        ("西部片", ["Western"]),
        ("犯罪", ["Crime"]),
        ("悬疑", ["Mystery"]),
        ("奇幻冒险", ["Fantasy", "Adventure"]),
        ("歌舞片", ["Musical"]),
        ("剧情片", ["Drama"]),
        ("特别好笑的", ["Comedy"]),  # 特别 is "especially", not the cue 别
    ],
)
def test_chinese_synonyms_need_no_encoder(
    films: RequestInterpreter, text: str, include: list[str]
) -> None:
    got = read(films, text)
    assert same(got.include, include), got
    assert got.exclude == ()


def test_shop_categories_match_when_named(shop: RequestInterpreter) -> None:
    assert read(shop, "kitchen stuff").include == ("Kitchen",)
    assert read(shop, "no shoes").exclude == ("Shoes",)
    assert read(shop, "户外").include == ("Outdoor",)  # the table knows 户外 = outdoor
    assert read(shop, "running shoes") == UnderstoodRequest(include=("Running", "Shoes"))


def test_words_of_concepts_the_catalogue_lacks_stay_soft(shop: RequestInterpreter) -> None:
    got = read(shop, "something scary")
    assert got.include == () and got.soft == "scary"


@pytest.mark.parametrize(
    "text", ["Hi! I loved it last night", "thanks, that was great", "你好，谢谢", "ok cool lol"]
)
def test_chit_chat_matches_nothing(films_encoded: RequestInterpreter, text: str) -> None:
    got = read(films_encoded, text)
    assert got.is_empty, got


def test_junk_categories_are_never_matched(films: RequestInterpreter) -> None:
    assert "unknown" not in films.categories
    assert read(films, "an unknown film").include == ()


# the encoder ----------------------------------------------------------------------------


def test_the_encoder_matches_words_the_table_does_not_know(
    shop: RequestInterpreter, shop_encoded: RequestInterpreter
) -> None:
    assert read(shop, "a bicycle lock").include == ("Cycling",)  # the table's "bicycle"
    assert read(shop, "hiking").include == ()
    # A category only the encoder finds is a guess: shown as loose, never a constraint,
    # and the whole request steers by its words instead.
    hiking = read(shop_encoded, "hiking")
    assert hiking.include == () and hiking.loose == ("Camping",) and hiking.soft == "hiking"
    assert read(shop_encoded, "jogging").include == ("Running",)  # synonym first
    got = read(shop_encoded, "pots for plants, no tent")
    assert got.include == () and got.exclude == ()
    assert set(got.loose) == {"Garden", "Camping"} and got.soft == "pots for plants, no tent"
    roast = read(shop_encoded, "beans for a light roast")
    assert roast.include == () and "Lighting" not in roast.include


def test_minilm_is_not_trusted_with_chinese_spans(films_encoded: RequestInterpreter) -> None:
    # MiniLM does not read Chinese: its Chinese spans would only add noise.
    assert films_encoded.reads_chinese is False
    assert read(films_encoded, "不要喜剧").exclude == ("Comedy",)  # the table still works


def test_an_encoder_that_reads_chinese_matches_chinese_spans() -> None:
    """A toy multilingual encoder (word lists, so no mock of a model): 野营 and camping
    share a dimension, as a multilingual model would place them."""
    groups = [
        ("camping", "camp", "露营", "野营", "outdoor", "户外", "outdoors"),
        ("kitchen", "厨房", "厨具"),
        ("horror", "恐怖", "scary"),
        ("comedy", "喜剧"),
        ("music", "音乐"),
    ]

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(groups) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            hits = [i for i, g in enumerate(groups) if any(w in lowered for w in g)]
            for i in hits:
                out[row, i] = 1.0
            if not hits:
                out[row, -1] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    frame = make_catalogue(["a", "b"], ["A", "B"], categories=[["Camping"], ["Kitchen"]]).frame
    interpreter = RequestInterpreter(Facets.from_catalogue(frame), encode)
    assert interpreter.reads_chinese
    assert read(interpreter, "去野营").include == ("Camping",)


# negation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "include", "exclude"),
    [
        ("a scary movie but not a slasher", ["Horror"], []),
        ("something lighter, not a comedy", [], ["Comedy"]),
        ("a horror film, but no comedy", ["Horror"], ["Comedy"]),
        ("not a comedy but a drama", ["Drama"], ["Comedy"]),
        ("no comedy. a drama", ["Drama"], ["Comedy"]),
        ("anything but horror", [], ["Horror"]),
        ("everything except westerns", [], ["Western"]),
        ("without romance", [], ["Romance"]),
        ("nothing scary", [], ["Horror"]),
        ("no more comedies", [], ["Comedy"]),
        ("avoid war films", [], ["War"]),
        ("no horror or thrillers", [], ["Horror", "Thriller"]),
        ("I don't want horror, I want comedy", ["Comedy"], ["Horror"]),
        ("no horror and a comedy", ["Comedy"], ["Horror"]),
        ("nothing but comedies", ["Comedy"], []),
        ("why not a comedy", ["Comedy"], []),
        ("不要喜剧", [], ["Comedy"]),
        ("除了恐怖片都行", [], ["Horror"]),
        ("不是动画片", [], ["Animation"]),
        ("别给我推荐恐怖片", [], ["Horror"]),
        ("不想要战争片", [], ["War"]),
        ("不看科幻", [], ["Sci-Fi"]),
        ("我想看爱情片，不要战争片", ["Romance"], ["War"]),
        ("不要恐怖片要喜剧", ["Comedy"], ["Horror"]),
        ("惊悚片，但不是恐怖片", ["Thriller"], ["Horror"]),
        ("要不要来部喜剧", ["Comedy"], []),  # "how about", not a refusal
    ],
)
def test_negation_scope(
    films: RequestInterpreter, text: str, include: list[str], exclude: list[str]
) -> None:
    got = read(films, text)
    assert same(got.include, include), got
    assert same(got.exclude, exclude), got


def test_refused_brand_goes_to_exclude_values(shop: RequestInterpreter) -> None:
    got = read(shop, "a kettle, nothing by Brewline")
    assert got.exclude_values == {"brand": ("Brewline",)}
    assert got.values == {}
    assert got.soft == "kettle"


def test_refused_free_words_are_kept_apart_from_soft(films: RequestInterpreter) -> None:
    got = read(films, "a drama without violence")
    assert got.include == ("Drama",)
    assert got.soft is None
    assert got.avoid == "violence"


# contradictions -------------------------------------------------------------------------


def test_asked_for_and_refused_goes_to_neither_with_a_note(films: RequestInterpreter) -> None:
    got = read(films, "a comedy but not a comedy")
    assert got.include == () and got.exclude == ()
    assert len(got.conflicts) == 1 and "Comedy" in got.conflicts[0]
    assert "both asked for" in got.conflicts[0]


def test_ranges_that_do_not_overlap_are_left_open(films: RequestInterpreter) -> None:
    got = read(films, "from the 50s, after 1980")
    assert got.ranges == {}
    assert any("do not overlap" in note for note in got.conflicts)


def test_a_range_outside_the_catalogue_is_kept_and_noted(films: RequestInterpreter) -> None:
    got = read(films, "after 2000")
    assert got.ranges == {"year": (2001.0, None)}
    assert any("1930–1985" in note for note in got.conflicts)


# ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("from the 80s", (1980, 1989)),
        ("80s", (1980, 1989)),
        ("1980s thrillers", (1980, 1989)),
        ("the eighties", (1980, 1989)),
        ("'70s", (1970, 1979)),
        ("early 60s", (1960, 1963)),
        ("late fifties", (1957, 1959)),
        ("before 1990", (None, 1989)),
        ("after 1970", (1971, None)),
        ("since 1970", (1970, None)),
        ("1970 or later", (1970, None)),
        ("a film from 1955", (1955, 1955)),
        ("from the 1970s", (1970, 1979)),
        ("between 1940 and 1960", (1940, 1960)),
        ("1950-1960", (1950, 1960)),
        ("not before 1960", (1960, None)),
        ("90年代", (1990, 1999)),
        ("七十年代的", (1970, 1979)),
        ("八零年代", (1980, 1989)),
        ("1990年以前", (None, 1989)),
        ("1960年以后", (1961, None)),
        ("1960年以来", (1960, None)),
    ],
)
def test_years(films: RequestInterpreter, text: str, bounds: tuple[float | None, ...]) -> None:
    got = read(films, text)
    assert got.ranges == {"year": bounds}, got


def test_generation_words_are_not_eras(films: RequestInterpreter) -> None:
    got = read(films, "八零后")
    assert got.ranges == {} and got.soft == "八零后"


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("under 50 euros", (None, 50)),
        ("less than $50", (None, 50)),
        ("50元以下", (None, 50)),
        ("100块以内", (None, 100)),
        ("between 20 and 40", (20, 40)),
        ("20 to 40 euros", (20, 40)),
        ("over 100", (100, None)),
        ("at least €30", (30, None)),
        ("price under 60", (None, 60)),
        ("不超过五十元", (None, 50)),
        ("a 50 euro gift", (None, 50)),
    ],
)
def test_prices(shop: RequestInterpreter, text: str, bounds: tuple[float | None, ...]) -> None:
    got = read(shop, text)
    assert got.ranges == {"price": bounds}, got


def test_cheap_without_a_number_is_left_to_soft(shop: RequestInterpreter) -> None:
    assert read(shop, "便宜的").ranges == {}
    assert read(shop, "便宜的").soft == "便宜"
    assert read(shop, "something cheap").soft == "cheap"


def test_only_attributes_the_catalogue_has(
    shop: RequestInterpreter, films: RequestInterpreter
) -> None:
    assert read(shop, "from the 80s").ranges == {}
    assert read(shop, "before 1990").ranges == {}
    assert read(films, "under 50 euros").ranges == {}
    assert read(films, "between 20 and 40").ranges == {}


def test_a_year_and_a_category_together(films: RequestInterpreter) -> None:
    got = read(films, "comedies from the 80s, no horror")
    assert got == UnderstoodRequest(
        include=("Comedy",), exclude=("Horror",), ranges={"year": (1980.0, 1989.0)}
    )


# values ---------------------------------------------------------------------------------


def test_brand_values(shop: RequestInterpreter) -> None:
    assert read(shop, "by Nike").values == {"brand": ("Nike",)}
    got = read(shop, "Nike shoes")
    assert got.values == {"brand": ("Nike",)} and got.include == ("Shoes",)


# soft -----------------------------------------------------------------------------------


def test_soft_is_what_is_left(films: RequestInterpreter, shop: RequestInterpreter) -> None:
    assert read(films, "something lighter, not a comedy").soft == "lighter"
    assert read(films, "a horror film, but no comedy").soft is None
    assert read(films, "Hi! A comedy with talking animals please").soft == "with talking animals"
    assert read(shop, "a kettle under 60 euros").soft == "kettle"
    assert read(films, "films about the ocean").soft == "films about the ocean"
    # A preposition whose object a range took names nothing ("gloomy from").
    assert read(films, "a gloomy thriller from the 70s").soft == "gloomy"
    assert read(films, "something gloomy from 1975").soft == "gloomy"
    assert read(films, "a gloomy film made before 1980").soft == "gloomy film made"


# bad input and speed --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "?!...", "，。！", "😀😀", "---"])
def test_empty_input_is_an_empty_request(films_encoded: RequestInterpreter, text: str) -> None:
    got = read(films_encoded, text)
    assert got.is_empty and got.as_json()["include"] == []


def test_long_input_stays_fast_and_is_noted(films_encoded: RequestInterpreter) -> None:
    text = "a scary movie from the 80s but not a comedy, with dragons and castles " * 200
    start = time.perf_counter()
    got = read(films_encoded, text)
    assert time.perf_counter() - start < 2.0  # one encoder call over at most MAX_SPANS spans
    assert got.include == ("Horror",) and got.exclude == ("Comedy",)
    assert any(f"{MAX_TEXT_CHARS:,}" in note for note in got.conflicts)


def test_results_are_cached_by_text(films_encoded: RequestInterpreter) -> None:
    first = read(films_encoded, "a spooky tale about ghosts")
    assert read(films_encoded, "a  spooky tale about ghosts ") is first


def test_as_json(films: RequestInterpreter) -> None:
    got = read(films, "comedies from the 1970s, not horror").as_json()
    assert got["include"] == ["Comedy"]
    assert got["exclude"] == ["Horror"]
    assert got["ranges"] == {"year": [1970, 1979]}
    assert got["soft"] is None and got["conflicts"] == []


def test_odd_catalogues() -> None:
    empty = RequestInterpreter(Facets.from_catalogue(make_catalogue([], []).frame))
    assert empty.interpret("a comedy from the 80s").include == ()
    assert empty.interpret("a comedy from the 80s").ranges == {}
    chinese = make_catalogue(["1", "2"], ["a", "b"], categories=[["喜剧"], ["动作"]]).frame
    reader = RequestInterpreter(Facets.from_catalogue(chinese))
    assert reader.interpret("不要喜剧，要动作片").as_json()["exclude"] == ["喜剧"]
    assert reader.interpret("comedy").include == ("喜剧",)  # through the synonym table
