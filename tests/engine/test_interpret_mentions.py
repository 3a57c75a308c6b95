"""Titles named in a request, references to the session, and chit-chat.

A small MovieLens-style catalogue built here ("Godfather, The (1972)", two films called
Psycho, titles that are common words: "It", "Up", "Last Night", "Western"), read without
an encoder: linking is lexical, so no model is needed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from sessionrec.data.schema import make_catalogue
from sessionrec.engine.interpret import (
    LAST,
    Facets,
    RequestInterpreter,
    Titles,
    UnderstoodRequest,
)
from sessionrec.engine.interpret.mentions import title_key, title_keys

FILMS = [
    ("toy", "Toy Story (1995)", ["Animation", "Children's", "Comedy"]),
    ("godfather", "Godfather, The (1972)", ["Crime", "Drama"]),
    ("alien", "Alien (1979)", ["Horror", "Sci-Fi"]),
    ("aliens", "Aliens (1986)", ["Action", "Sci-Fi"]),
    ("it", "It (1990)", ["Horror"]),
    ("up", "Up (2009)", ["Animation"]),
    ("psycho60", "Psycho (1960)", ["Horror", "Thriller"]),
    ("psycho98", "Psycho (1998)", ["Horror", "Thriller"]),
    ("lastnight", "Last Night (1998)", ["Drama"]),
    ("western", "Western (1997)", ["Western", "Drama"]),
    ("seven", "Seven (a.k.a. Se7en) (1995)", ["Thriller", "Crime"]),
    ("starwars", "Star Wars: Episode IV - A New Hope (1977)", ["Sci-Fi", "Action"]),
    ("odyssey", "2001: A Space Odyssey (1968)", ["Sci-Fi"]),
    ("roadtrip", "Road Trip (2000)", ["Comedy"]),
    ("fewgood", "Few Good Men, A (1992)", ["Drama"]),
    ("heat", "Heat (1995)", ["Crime", "Action"]),
    ("amelie", "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)", ["Comedy", "Romance"]),
    ("toyzh", "玩具总动员", ["Animation"]),
    ("ocean", "Ocean's Eleven (2001)", ["Crime"]),
]


def films_frame() -> pd.DataFrame:
    return make_catalogue(
        [f[0] for f in FILMS],
        [f[1] for f in FILMS],
        categories=[f[2] for f in FILMS],
        attributes=[{"year": 1970 + i} for i in range(len(FILMS))],
    ).frame


@pytest.fixture(scope="module")
def films() -> RequestInterpreter:
    frame = films_frame()
    return RequestInterpreter(Facets.from_catalogue(frame), titles=Titles.from_catalogue(frame))


def read(interpreter: RequestInterpreter, text: str) -> UnderstoodRequest:
    return interpreter.interpret(text)


# normalising titles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "key", "year"),
    [
        ("Godfather, The (1972)", ("godfather",), 1972),
        ("The Godfather", ("godfather",), None),
        ("Few Good Men, A (1992)", ("few", "good", "men"), 1992),
        ("Ocean's Eleven (2001)", ("oceans", "eleven"), 2001),
        ("Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)", ("amelie",), 2001),
        ("2001: A Space Odyssey (1968)", ("2001", "a", "space", "odyssey"), 1968),
        ("玩具总动员", ("玩", "具", "总", "动", "员"), None),
    ],
)
def test_titles_are_keyed_without_case_punctuation_articles_or_year(
    title: str, key: tuple[str, ...], year: int | None
) -> None:
    got_key, got_year, _ = title_keys(title)
    assert got_key == key and got_year == year


def test_alternative_titles_and_series_names_are_aliases() -> None:
    assert ("se", "7", "en") in title_keys("Seven (a.k.a. Se7en) (1995)")[2]
    assert ("star", "wars") in title_keys("Star Wars: Episode IV - A New Hope (1977)")[2]
    assert title_key("STAR WARS!") == ("star", "wars")


def test_titles_read_the_catalogue_columns() -> None:
    titles = Titles.from_catalogue(films_frame())
    assert len(titles) == len(FILMS)
    assert len(Titles.from_catalogue(pd.DataFrame({"item_id": ["a"]}))) == 0


# linking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("Hi! I loved Alien last night, got anything just as tense?", ["alien"]),
        ("something like Toy Story (1995)", ["toy"]),
        ("something like toy story", ["toy"]),  # two content words after "like"
        ("The Godfather", ["godfather"]),  # MovieLens writes "Godfather, The"
        ("I loved the godfather (1972)", ["godfather"]),
        ("seen A Few Good Men?", ["fewgood"]),
        ("like 2001: A Space Odyssey", ["odyssey"]),  # its 2001 is no year range
        ("I loved Ocean's Eleven", ["ocean"]),
        ("loved oceans eleven, but funnier", ["ocean"]),
        ("I loved Amelie", ["amelie"]),  # accents do not matter
        ("I loved Se7en", ["seven"]),  # an alternative title
        ("Star Wars please", ["starwars"]),  # the series name, no title of its own
        ("I loved It", ["it"]),  # capitalised mid-sentence: a title
        ('"Up" was lovely', ["up"]),  # quoted
        ("像《玩具总动员》那样的", ["toyzh"]),
        ("像玩具总动员那样的", ["toyzh"]),  # unquoted Chinese titles of four characters and more
        ("I loved Alien and Aliens", ["alien", "aliens"]),
    ],
)
def test_titles_link_to_items(films: RequestInterpreter, text: str, mentions: list[str]) -> None:
    got = read(films, text)
    assert sorted(got.mentions) == sorted(mentions), got
    assert got.avoid_mentions == ()


@pytest.mark.parametrize(
    "text",
    [
        "I loved it",
        "it was up to me",
        "I LOVED IT",  # shouting carries no capitals
        "It was great",  # a sentence's first word alone is no title
        "Up for anything funny",
        "a road trip movie",  # two words, no cue: ordinary words
        "a western",  # the lexicon's word, not the film "Western"
        "I want a Western",
        "what did I watch last night",
        "the godfather please",  # one lower-case word: too common to trust
        "《不存在的电影》那样的",  # quoted, but no such title
    ],
)
def test_common_words_are_not_linked(films: RequestInterpreter, text: str) -> None:
    got = read(films, text)
    assert got.mentions == () and got.avoid_mentions == (), got


def test_a_lexicon_word_links_when_quoted(films: RequestInterpreter) -> None:
    got = read(films, 'I loved "Western"')
    assert got.mentions == ("western",) and got.include == ()
    assert read(films, "I loved Western (1997)").mentions == ("western",)


def test_the_year_disambiguates(films: RequestInterpreter) -> None:
    assert read(films, "like Psycho (1998)").mentions == ("psycho98",)
    assert read(films, "like Psycho 1960").mentions == ("psycho60",)
    assert read(films, "like psycho (1960)").mentions == ("psycho60",)
    # a bare year after one lower-case word is a range, not a date
    assert read(films, "something up 1990").mentions == ()
    assert read(films, "like Psycho (1960)").ranges == {}  # the year went with the title
    got = read(films, "I loved Psycho")
    assert got.mentions == ("psycho60",)  # the first in catalogue order, with a note
    assert any("2 items" in note for note in got.conflicts)


def test_the_longest_title_wins(films: RequestInterpreter) -> None:
    # "Alien" and "Aliens" both start here; the tokens decide, not a prefix
    assert read(films, "I loved Aliens").mentions == ("aliens",)
    # "Last Night" inside a longer match is not linked twice
    got = read(films, "I loved Last Night (1998)")
    assert got.mentions == ("lastnight",) and got.ranges == {}


def test_the_mention_leaves_soft(films: RequestInterpreter) -> None:
    got = read(films, "Hi! I loved Alien last night, got anything just as tense?")
    assert got.soft == "tense"
    assert read(films, "comedies like Toy Story but with dogs").soft == "with dogs"
    assert read(films, "comedies like Toy Story but with dogs").include == ("Comedy",)


def test_as_json_gives_mentions_as_item_ids(films: RequestInterpreter) -> None:
    got = read(films, "I loved Alien but hated Aliens").as_json()
    assert got["mentions"] == ["alien"] and got["avoid_mentions"] == ["aliens"]
    assert got["reference"] is None


def test_without_titles_nothing_links() -> None:
    plain = RequestInterpreter(Facets.from_catalogue(films_frame()))
    got = plain.interpret("I loved Toy Story (1995)")
    assert got.mentions == () and got.ranges == {"year": (1995.0, 1995.0)}


# sentiment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "liked", "refused"),
    [
        ("I loved Alien", ["alien"], []),
        ("I hated Alien", [], ["alien"]),
        ("not like Toy Story", [], ["toy"]),
        ("I didn't like Heat", [], ["heat"]),
        ("nothing like Toy Story please", [], ["toy"]),
        ("I hated Alien but loved Aliens", ["aliens"], ["alien"]),
        ("I hated Alien and Aliens", [], ["alien", "aliens"]),
        ("喜欢《玩具总动员》", ["toyzh"], []),
        ("不喜欢《玩具总动员》", [], ["toyzh"]),
        ("讨厌《玩具总动员》，要喜剧", [], ["toyzh"]),
    ],
)
def test_sentiment_sends_a_mention_to_a_side(
    films: RequestInterpreter, text: str, liked: list[str], refused: list[str]
) -> None:
    got = read(films, text)
    assert sorted(got.mentions) == sorted(liked), got
    assert sorted(got.avoid_mentions) == sorted(refused), got


def test_liked_and_refused_at_once_is_neither(films: RequestInterpreter) -> None:
    got = read(films, "I loved Alien, I hated Alien")
    assert got.mentions == () and got.avoid_mentions == ()
    assert any("both liked and refused" in note for note in got.conflicts)


# references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "like the last one",
        "more like that",
        "the previous one",
        "something similar",
        "another one",
        "上一个",
        "刚才那个",
        "像上一个那样的",
        "再来一部",
    ],
)
def test_references_to_the_session(films: RequestInterpreter, text: str) -> None:
    got = read(films, text)
    assert got.reference == LAST and got.soft is None, got
    assert not got.is_empty


@pytest.mark.parametrize(
    ("text", "soft"),
    [
        ("something lighter than the last one", "lighter"),
        ("something lighter", "lighter"),
        ("less violent please", "less violent"),
        ("更轻松一点", "更轻松一点"),
        ("比刚才那个轻松一点", "轻松一点"),
    ],
)
def test_comparatives_steer_and_anchor(films: RequestInterpreter, text: str, soft: str) -> None:
    got = read(films, text)
    assert got.reference == LAST and got.soft == soft, got


@pytest.mark.parametrize(
    "text",
    [
        "I watched it last night",
        "the last night",
        "last year's films",
        "I'd like it to be funny",
        "a comedy please",
        "less than 2 hours",
    ],
)
def test_ordinary_words_are_no_reference(films: RequestInterpreter, text: str) -> None:
    assert read(films, text).reference is None


def test_a_demonstrative_after_a_title_points_at_the_title(films: RequestInterpreter) -> None:
    got = read(films, "I loved Alien, more like that")
    assert got.mentions == ("alien",) and got.reference is None and got.soft is None
    got = read(films, "像《玩具总动员》那样的")
    assert got.reference is None and got.soft is None
    # a comparative after a title compares with the title
    got = read(films, "something like Toy Story but darker")
    assert got.mentions == ("toy",) and got.reference is None and got.soft == "darker"


def test_a_refused_reference_is_noted(films: RequestInterpreter) -> None:
    got = read(films, "nothing like the last one")
    assert got.reference is None and got.soft is None and got.avoid is None
    assert any("refused reference" in note for note in got.conflicts)


# chit-chat ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hi! got anything?",
        "thanks!",
        "please",
        "你好，请推荐一下，谢谢",
        "有没有",
        "do you have any",
    ],
)
def test_chit_chat_does_not_steer(films: RequestInterpreter, text: str) -> None:
    got = read(films, text)
    assert got.is_empty, got


@pytest.mark.parametrize(
    ("text", "soft"),
    [
        ("Hi! got anything just as tense?", "tense"),
        ("有没有轻松一点的", "轻松一点"),
        ("please, something with dragons, thanks", "with dragons"),
    ],
)
def test_chit_chat_leaves_soft(films: RequestInterpreter, text: str, soft: str) -> None:
    assert read(films, text).soft == soft


# speed ----------------------------------------------------------------------------------


def _catalogue(size: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(3000)] + ["love", "night", "last", "the", "story"]
    ids = [f"i{k}" for k in range(size)]
    names = [
        " ".join(rng.choices(words, k=rng.randint(1, 5))) + f" ({rng.randint(1920, 2020)})"
        for _ in range(size)
    ]
    return ids, names


def _cost(titles: Titles, texts: list[str]) -> float:
    frame = films_frame()
    reader = RequestInterpreter(Facets.from_catalogue(frame), titles=titles)
    start = time.perf_counter()
    for text in texts:
        reader.interpret(text)
    return time.perf_counter() - start


def test_linking_costs_the_same_at_100k_titles() -> None:
    texts = [
        f"I loved the last story of love night number {i}, got anything like w{i} w{i + 1}?"
        for i in range(300)
    ]
    small = Titles(*_catalogue(1_000, seed=1))
    large = Titles(*_catalogue(100_000, seed=1))
    _cost(small, texts[:20])  # warm up
    ratio = min(_cost(large, texts) for _ in range(3)) / min(_cost(small, texts) for _ in range(3))
    # A loop over titles would be about 100 times slower; the common words' candidate
    # lists do grow with the catalogue, and a loaded machine adds noise, so the bound
    # is loose on purpose: it catches a linear scan, not a constant factor.
    assert ratio < 10.0, ratio


def test_a_guess_asked_for_steers_by_the_words_less_the_title() -> None:
    """A toy encoder (word lists, no mock of a model): "hiking" lies near Camping, so the
    guess is loose and all the request's words steer, but not the linked title's."""
    groups = [("camping", "camp", "hiking"), ("kitchen",)]

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(groups) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            hits = [i for i, g in enumerate(groups) if any(w in text.lower() for w in g)]
            out[row, hits or [-1]] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    frame = make_catalogue(
        ["t", "k"], ["Trail Tent (2020)", "Kettle"], categories=[["Camping"], ["Kitchen"]]
    ).frame
    reader = RequestInterpreter(
        Facets.from_catalogue(frame), encode, titles=Titles.from_catalogue(frame)
    )
    got = reader.interpret('I loved "Trail Tent", more hiking stuff please')
    assert got.mentions == ("t",) and got.loose == ("Camping",)
    assert got.soft == "I loved , more hiking stuff please"
