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

Policy for contradictions: a category both asked for and refused by matches of the same
strength (both lexical, or both by the encoder: "a comedy but not a comedy") goes to
neither side, with a note in `conflicts`; a filter either way would contradict half of
the request, and the note lets a caller ask. Where one side is lexical and the other only
an encoder match ("a scary movie but not a slasher", if "slasher" lands near Horror), the
lexical side wins, also noted.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.data.schema import ATTRIBUTES, CATEGORIES

__all__ = [
    "CONCEPTS",
    "MAX_SPANS",
    "MAX_TEXT_CHARS",
    "MAX_VALUES",
    "Concept",
    "Facets",
    "RequestInterpreter",
    "UnderstoodRequest",
]

MAX_VALUES = 200
"""String attributes with more distinct values than this (titles, ids) are not matched."""

MAX_TEXT_CHARS = 2_000
"""Characters of a request that are read (four times the engine's own limit); the rest is
ignored with a note, so a pasted essay costs a few milliseconds, not seconds."""

MAX_SPANS = 12
"""Spans embedded per request, at most: one encoder call stays within a few milliseconds."""

CACHE_SIZE = 2048
"""Requests (and, separately, span vectors) remembered; people repeat and refine requests."""

NUMERIC_SHARE = 0.9
"""Share of an attribute's non-empty values that must read as numbers for it to be numeric."""

_LEXICAL, _ENCODER = 2, 1
"""Strength of a match: a name or synonym beats an encoder cosine (see the module doc)."""

_JUNK_CATEGORIES = frozenset({"unknown", "other", "others", "misc", "none", "n/a", "na"})
"""Category names that stand for "no category" ("(no genres listed)" reads as junk too)."""


# --------------------------------------------------------------------------------------
# The synonym table


def _words(text: str, sep: str | None = None) -> list[str]:
    """The entries of a word list written as one string (space- or `sep`-separated)."""
    return [w.strip() for w in text.split(sep) if w.strip()]


@dataclass(frozen=True)
class Concept:
    """A generic concept people name in many ways, tied to a catalogue category by name."""

    key: str
    label: str
    """What the encoder reads for the concept when no category carries one of its names."""
    names: tuple[str, ...]
    """What a category may be called to be this concept (also matched inside longer names:
    "Kids & Family" holds "kid")."""
    english: tuple[str, ...] = ()
    """Words and phrases that name the concept in a request (singular; inflections follow)."""
    chinese: tuple[str, ...] = ()


CONCEPTS: tuple[Concept, ...] = (
    # films
    Concept(
        "comedy",
        "comedy",
        ("comedy",),
        ("comedy", "funny", "hilarious", "humor", "humour", "humorous", "comedic", "romcom"),
        ("喜剧", "搞笑", "好笑", "幽默", "滑稽"),
    ),
    Concept(
        "horror",
        "horror",
        ("horror",),
        ("horror", "scary", "spooky", "creepy", "frightening", "terrifying"),
        ("恐怖", "吓人", "鬼片"),
    ),
    Concept(
        "animation",
        "animation",
        ("animation", "animated", "cartoon", "anime"),
        ("animation", "animated", "cartoon", "anime"),
        ("动画片", "动画", "卡通", "动漫"),
    ),
    Concept(
        "children",
        "children",
        ("children", "child", "kid", "family"),
        ("kid", "child", "children", "family", "toddler", "family friendly"),
        ("孩子", "儿童", "小孩", "少儿", "亲子", "家庭", "小朋友"),
    ),
    Concept(
        "scifi",
        "science fiction",
        ("sci fi", "scifi", "science fiction"),
        ("sci fi", "scifi", "science fiction"),
        ("科幻",),
    ),
    Concept(
        "romance",
        "romance",
        ("romance", "romantic"),
        ("romance", "romantic", "love story", "romcom"),
        ("爱情", "浪漫", "言情"),
    ),
    Concept("action", "action", ("action",), ("action", "action packed"), ("动作", "武打")),
    Concept(
        "thriller",
        "thriller",
        ("thriller", "suspense"),
        ("thriller", "suspense", "suspenseful"),
        ("惊悚",),
    ),
    Concept(
        "documentary",
        "documentary",
        ("documentary",),
        ("documentary", "nonfiction", "non fiction"),
        ("纪录片", "记录片", "纪录"),
    ),
    Concept("war", "war", ("war",), ("war", "wartime", "world war"), ("战争", "二战", "抗战")),
    Concept(
        "western", "western", ("western",), ("western", "cowboy", "wild west"), ("西部", "牛仔")
    ),
    Concept(
        "crime",
        "crime",
        ("crime",),
        ("crime", "criminal", "gangster", "heist", "mafia"),
        ("犯罪", "黑帮", "警匪"),
    ),
    Concept(
        "mystery",
        "mystery",
        ("mystery",),
        ("mystery", "whodunit", "whodunnit", "detective"),
        ("悬疑", "推理", "侦探"),
    ),
    Concept(
        "fantasy",
        "fantasy",
        ("fantasy",),
        ("fantasy", "magic", "magical", "wizard"),
        ("奇幻", "魔幻", "魔法"),
    ),
    Concept(
        "musical",
        "musical",
        ("musical", "music"),
        ("musical", "music", "song and dance"),
        ("音乐", "歌舞"),
    ),
    Concept("drama", "drama", ("drama",), ("drama", "dramatic"), ("剧情",)),
    Concept(
        "adventure", "adventure", ("adventure",), ("adventure", "adventurous"), ("冒险", "探险")
    ),
    Concept("noir", "film noir", ("film noir", "noir"), ("noir", "film noir"), ("黑色电影",)),
    # shops
    Concept(
        "kitchen",
        "kitchen",
        ("kitchen", "kitchenware", "cookware"),
        ("kitchen", "cooking", "cookware", "kitchenware"),
        ("厨房", "厨具"),
    ),
    Concept(
        "outdoor", "outdoor", ("outdoor", "outdoors"), ("outdoor", "outdoors"), ("户外", "野外")
    ),
    Concept(
        "shoes", "shoes", ("shoe", "footwear"), ("shoe", "sneaker", "footwear"), ("鞋子", "鞋")
    ),
    Concept(
        "sport",
        "sport",
        ("sport",),
        ("sport", "sporty", "fitness", "workout", "gym"),
        ("运动", "体育", "健身"),
    ),
    Concept("office", "office", ("office",), ("office",), ("办公",)),
    Concept("garden", "garden", ("garden", "gardening"), ("garden", "gardening"), ("花园", "园艺")),
    Concept("camping", "camping", ("camping", "camp"), ("camping", "camp"), ("露营", "野营")),
    Concept("running", "running", ("running",), ("running", "jogging", "runner"), ("跑步",)),
    Concept(
        "cycling",
        "cycling",
        ("cycling", "bike", "bicycle"),
        ("cycling", "bike", "bicycle", "biking"),
        ("骑行", "自行车", "单车"),
    ),
    Concept(
        "electronics",
        "electronics",
        ("electronic",),
        ("electronic", "gadget"),
        ("电子产品", "电子", "数码"),
    ),
    Concept(
        "food", "food", ("food", "grocery"), ("food", "snack", "grocery"), ("食品", "食物", "零食")
    ),
    Concept("coffee", "coffee", ("coffee",), ("coffee", "espresso"), ("咖啡",)),
    Concept("tea", "tea", ("tea",), ("tea",), ("茶叶", "茶")),
    Concept("stationery", "stationery", ("stationery",), ("stationery", "stationary"), ("文具",)),
    Concept("tools", "tools", ("tool",), ("tool",), ("工具",)),
    Concept(
        "clothing",
        "clothing",
        ("clothing", "clothe", "apparel"),
        ("clothe", "clothing", "apparel"),
        ("衣服", "服装"),
    ),
    Concept("books", "books", ("book",), ("book",), ("图书", "书籍")),
    Concept("toys", "toys", ("toy",), ("toy",), ("玩具",)),
    Concept(
        "beauty", "beauty", ("beauty", "cosmetic"), ("beauty", "cosmetic", "makeup"), ("美妆",)
    ),
    Concept("lighting", "lighting", ("lighting",), ("lighting", "lamp"), ("照明", "台灯", "灯具")),
)
"""Catalogue-independent: each concept reaches a category only where the catalogue has
one by that name (or, with an encoder, one whose name lies close to `label`)."""


# Words that carry no request by themselves: kept in `soft` when something else is there.
_STOP = frozenset(
    _words("""a an the some any something anything everything stuff thing one ones kind sort type
    genre style of for to with in on at by about from as into like that this these those it
    its is are be was were been am do does did i i'm im me my we our you your he she they
    them their him her and or nor so very really quite too more most less just maybe
    perhaps also please can could would will shall should may might must want wanna need
    looking look find get give show see watch watching recommend suggest suggestion
    recommendation have has had what which who how tonight today tomorrow yesterday night
    evening weekend now again movie film flick show series item product pick option good
    great nice new old best better well ok okay let us let's something's there here
    love loved liked enjoy enjoyed enjoying fun time last again all other equipment gear
    supply accessory kit set""")
)

_CHITCHAT = frozenset(
    _words("""hi hello hey hiya yo thanks thank thx ty cheers please lol haha hahaha wow cool
    awesome bye goodbye sure yes yeah yep ok okay hmm um uh oh ah""")
)
"""Greetings, thanks and reactions: dropped from `soft` wherever they stand."""

_CJK_STOP = tuple(
    sorted(
        _words("""我 你 他 她 它 们 的 了 吗 呢 吧 啊 呀 哦 嗯 哈 一 个 部 些 点 想 要 看 给
        推荐 找 来
        有 没 是 在 和 或 也 都 行 可以 什么 东西 电影 片子 影片 片 好 很 太 谢谢 你好 嗨 哈哈
        昨晚 今晚 昨天 今天 晚上 周末 喜欢 爱 还 再 就 这 那 种 类 类型 风格 一下 随便 能 请
        帮 一些 多 最 更 比较 部分 一部 一个 之类 类的 那种 这种 东东 商品 产品 买 挺 特别
        真 真的 觉得 感觉 开心 不错 会 让 把 被 得 地 着 过 去 不 要不要 用品 用的 用 东西
        的话"""),
        key=len,
        reverse=True,
    )
)
_CJK_CHITCHAT = frozenset({"谢谢", "你好", "嗨", "哈哈", "哈"})

# English negation cues (token sequences), longest first; and sequences that look like a
# cue but are not one ("why not", "nothing but" = only).
_NEG_EN: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(cue.split())
            for cue in _words(
                """not | no | without | anything but | everything but | anything except | except |
                except for | excluding | exclude | nothing | no more | avoid | don't | dont |
                do not | never | isn't | aren't | won't | hate | dislike | other than | instead of |
                rather than | sick of | tired of | minus | can't stand | none | skip""",
                "|",
            )
        ),
        key=len,
        reverse=True,
    )
)
_NOT_NEG_EN: tuple[tuple[str, ...], ...] = (
    ("why", "not"),
    ("not", "only"),
    ("not", "just"),
    ("no", "matter"),
    ("nothing", "but"),
    ("don't", "mind"),
    ("dont", "mind"),
    ("if", "not"),
)
_NEG_ZH: tuple[str, ...] = tuple(
    sorted(
        _words("""不要 不是 别 除了 不想要 不想看 不看 不喜欢 不爱看 不爱 讨厌 不想 不含 不带 没有
        避免 排除 拒绝 不需要 除开 不用 受够了 不能是 别给我"""),
        key=len,
        reverse=True,
    )
)
_ZH_NOT_BEFORE: Mapping[str, str] = {
    "不要": "要",
    "不是": "是",
    "没有": "有",
    "别": "特区分级类个告性识差辨派",
    "不想": "想",
}
"""A Chinese cue preceded by one of these characters is not one: 要不要 (how about), 是不是,
有没有 (is there any), 特别 (especially), 区别 (difference)."""
_ZH_NOT_AFTER: Mapping[str, str] = {"别": "的人处墅"}
"""...or followed by one: 别的 (other), 别人 (others)."""

_BOUNDARY_EN = frozenset({"but", "however", "though", "although", "whereas", "yet"})
_BOUNDARY_ZH: tuple[str, ...] = ("但是", "可是", "不过", "而是", "但")
_POSITIVE_EN: tuple[tuple[str, ...], ...] = (
    ("i", "want"),
    ("i'd", "like"),
    ("i", "would", "like"),
    ("give", "me"),
    ("show", "me"),
    ("instead",),
    ("rather",),
    ("prefer",),
    ("i", "prefer"),
)
_POSITIVE_ZH: tuple[str, ...] = ("想要", "想看", "要", "来点", "来部", "来一部", "换成", "只要")
_ARTICLES = frozenset({"a", "an", "the"})
_CONJUNCTIONS = frozenset({"and", "or", "nor", "和", "或", "或者", "跟", "与", "及"})
_CJK_SUFFIXES: tuple[str, ...] = ("电影", "片子", "片", "类", "剧", "风")
"""Absorbed after a Chinese facet word: 恐怖片, 动作电影, 喜剧类."""

_PUNCT = frozenset(',.;!?:。，；！？、：…()[]{}"“”「」『』《》')
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<punct>[,.;!?:。，；！？、：…()\[\]{}\"“”「」『』《》]+)"
    r"|(?P<sym>\S)"
)


# --------------------------------------------------------------------------------------
# The facets


@dataclass(frozen=True)
class Facets:
    """What a request can be grounded in, built once per catalogue version."""

    categories: tuple[str, ...]
    """Distinct category names, as the catalogue spells them (most frequent first)."""
    numeric: Mapping[str, tuple[float, float]]
    """Numeric attribute -> (min, max) over the catalogue, e.g. year, price."""
    values: Mapping[str, tuple[str, ...]]
    """String attribute -> distinct values (e.g. brand), for attributes with few only."""
    integers: frozenset[str] = frozenset()
    """Numeric attributes whose values are all whole numbers: "before 1990" is <= 1989."""

    @classmethod
    def from_catalogue(cls, frame: pd.DataFrame) -> Facets:
        """Read the facets of a catalogue frame (columns of `data.schema`)."""
        counts: dict[str, int] = {}
        if CATEGORIES in frame:
            for cats in frame[CATEGORIES]:
                if isinstance(cats, list | tuple | np.ndarray):
                    for cat in cats:
                        name = str(cat).strip()
                        if name:
                            counts[name] = counts.get(name, 0) + 1
        seen: dict[str, list[Any]] = {}
        if ATTRIBUTES in frame:
            for attrs in frame[ATTRIBUTES]:
                if isinstance(attrs, Mapping):
                    for key, value in attrs.items():
                        if value is None or (isinstance(value, float) and math.isnan(value)):
                            continue
                        seen.setdefault(str(key), []).append(value)
        numeric: dict[str, tuple[float, float]] = {}
        integers: set[str] = set()
        values: dict[str, tuple[str, ...]] = {}
        for key, raw in seen.items():
            numbers = [n for n in (as_number(v) for v in raw) if n is not None]
            if numbers and len(numbers) >= NUMERIC_SHARE * len(raw):
                numeric[key] = (min(numbers), max(numbers))
                if all(n == int(n) for n in numbers):
                    integers.add(key)
                continue
            distinct = sorted({str(v).strip() for v in raw if str(v).strip()})
            if 0 < len(distinct) <= MAX_VALUES:
                values[key] = tuple(distinct)
        ordered = tuple(sorted(counts, key=lambda c: (-counts[c], c)))
        return cls(ordered, numeric, values, frozenset(integers))


def as_number(value: Any) -> float | None:
    """A catalogue value as a number (89, 12.5, "89.00"); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------
# The answer


@dataclass(frozen=True)
class UnderstoodRequest:
    """A typed request read as facts about the catalogue, plus what is left to steer by."""

    include: tuple[str, ...] = ()
    """Categories asked for, as the catalogue spells them."""
    exclude: tuple[str, ...] = ()
    """Categories refused."""
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """Numeric attribute -> [lo, hi], inclusive; None is open."""
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """String attribute -> values asked for (any of them)."""
    soft: str | None = None
    """What is left to steer softly by text; None when nothing is."""
    conflicts: tuple[str, ...] = ()
    """Human-readable notes: contradictions, and what could not be honoured."""
    exclude_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """String attribute -> values refused ("nothing by Brewline")."""
    loose: tuple[str, ...] = ()
    """Categories only the encoder's similarity found (no name or synonym): guesses, shown
    but never applied as constraints; where one was asked for, `soft` is the whole text."""
    avoid: str | None = None
    """Refused words that no facet grounds ("without a slasher" -> "a slasher"): steer away
    from them, never toward (they are kept out of `soft`)."""

    def as_json(self) -> dict[str, object]:
        """Plain JSON types: lists for tuples, [lo, hi] with null for an open end."""
        return {
            "include": list(self.include),
            "exclude": list(self.exclude),
            "ranges": {
                k: [_json_number(lo), _json_number(hi)] for k, (lo, hi) in self.ranges.items()
            },
            "values": {k: list(v) for k, v in self.values.items()},
            "exclude_values": {k: list(v) for k, v in self.exclude_values.items()},
            "loose": list(self.loose),
            "soft": self.soft,
            "avoid": self.avoid,
            "conflicts": list(self.conflicts),
        }

    @property
    def is_empty(self) -> bool:
        """Whether nothing at all was understood (conflict notes do not count)."""
        return not (
            self.include
            or self.exclude
            or self.ranges
            or self.values
            or self.exclude_values
            or self.soft
            or self.avoid
        )


def _json_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == int(value) else value


# --------------------------------------------------------------------------------------
# Tokens


@dataclass
class _Token:
    start: int
    end: int
    text: str
    """Lower-cased surface form."""
    kind: str
    """"word", "num", "cjk" (one character), "punct" or "sym"."""
    lemma: str
    consumed: str = ""
    """What claimed it: "range", "facet", "cue", "stop-cjk"; empty while free."""
    negated: bool = False
    stop: bool = False
    chitchat: bool = False
    boundary: bool = False

    @property
    def content(self) -> bool:
        return self.kind in ("word", "num", "cjk") and not (self.stop or self.chitchat)


_LEMMA_EXCEPTIONS = {
    "movies": "movie",
    "series": "series",
    "species": "species",
    "zombies": "zombie",
    "cookies": "cookie",
    "news": "news",
    "children": "children",
    "clothes": "clothe",
}


def _lemma(word: str) -> str:
    """A crude English singular: comedies -> comedy, thrillers -> thriller, kids' -> kid."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    elif word.endswith("s'"):
        word = word[:-1]
    if word in _LEMMA_EXCEPTIONS:
        return _LEMMA_EXCEPTIONS[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _lower(text: str) -> str:
    """Lower-case without changing the length (offsets stay valid)."""
    if len(text.lower()) == len(text):
        return text.lower()
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "sym"
        surface = match.group()
        if kind == "word" and _CJK.search(surface):
            # a run of letters with Chinese in it: one token per Chinese character, and
            # the Latin parts as words (a run may mix them: "80后", "iphone手机").
            offset = match.start()
            for part in re.finditer(
                r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+",
                surface,
            ):
                piece = part.group()
                start = offset + part.start()
                if _CJK.match(piece):
                    tokens.append(_Token(start, start + 1, piece, "cjk", piece))
                else:
                    tokens.append(_Token(start, start + len(piece), piece, "word", _lemma(piece)))
            continue
        lemma = _lemma(surface) if kind == "word" else surface
        tokens.append(_Token(match.start(), match.end(), surface, kind, lemma))
    return tokens


def _phrase_key(text: str) -> tuple[str, ...]:
    """The lemma sequence a name or synonym is matched by ("Sci-Fi" -> ("sci", "fi"))."""
    return tuple(
        t.lemma
        for t in _tokenise(_lower(unicodedata.normalize("NFKC", text)))
        if t.kind in ("word", "num", "cjk")
    )


# --------------------------------------------------------------------------------------
# Numbers and ranges

_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def _zh_number(text: str) -> float | None:
    """一九九五 -> 1995, 七十 -> 70, 七零 -> 70, 两百五十 -> 250."""
    if not text:
        return None
    if all(c in _ZH_DIGITS for c in text):
        return float("".join(str(_ZH_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, 0
    for char in text:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            unit = _ZH_UNITS[char]
            if unit == 10000:
                total += (section + digit) * unit
                section, digit = 0, 0
            else:
                section += (digit or 1) * unit
                digit = 0
        else:
            return None
    return float(total + section + digit)


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        cleaned = (
            text.replace(",", "")
            if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text)
            else text.replace(",", ".")
        )
        try:
            return float(cleaned)
        except ValueError:
            return None
    return _zh_number(text)


_N = r"\d+(?:[.,]\d+)*|[零〇一二两三四五六七八九十百千万]+"
_CUR_PRE = r"(?:[$€£¥]|usd|eur|gbp|rmb|cny)"
_CUR_POST = (
    r"(?:euros?|eur|€|dollars?|usd|bucks|\$|pounds?|quid|gbp|£|yuan|rmb|cny|元|块钱|块|¥|欧元|美元|英镑"
    r"|kr)"
)
_AMOUNT = rf"(?:{_CUR_PRE}\s*)?(?:{_N})(?:\s*{_CUR_POST})?"
_B = r"(?<![\w.])"  # no word, digit or decimal point just before
_E = r"(?![\w])"
_YEAR_WORDS = ("year", "years", "released", "release", "made", "decade", "年份", "上映", "出品")
_MONEY_WORDS = (
    "price",
    "priced",
    "cost",
    "costs",
    "costing",
    "budget",
    "cheap",
    "cheaper",
    "expensive",
    "pricier",
    "spend",
    "价格",
    "价钱",
    "预算",
    "售价",
    "便宜",
    "贵",
)
_DECADE_WORDS = {
    "twenties": 20,
    "thirties": 30,
    "forties": 40,
    "fifties": 50,
    "sixties": 60,
    "seventies": 70,
    "eighties": 80,
    "nineties": 90,
}
_UPPER_STRICT = (
    r"under|below|less than|fewer than|cheaper than|lower than|before|prior to|earlier than"
    r"|older than|pre-?"
)
_UPPER = (
    r"at most|up to|no more than|not more than|max(?:imum)?(?: of)?|until|till|up until"
    r"|no later than|within"
)
_LOWER_STRICT = r"over|above|more than|higher than|after|later than|newer than|post-?|pricier than"
_LOWER = (
    r"at least|min(?:imum)?(?: of)?|since|starting(?: from| in| at)?|as of|no earlier than|from"
)
_YEAR_CUES = (
    "before",
    "prior",
    "earlier",
    "older",
    "after",
    "later",
    "newer",
    "since",
    "pre",
    "post",
    "as of",
)
_MONEY_CUES = ("cheaper", "pricier")


@dataclass(frozen=True)
class _RangeMatch:
    start: int
    end: int
    lo: float | None
    hi: float | None
    lo_strict: bool
    hi_strict: bool
    hint: str
    """"year", "money" or "" (decided by the attribute's span)."""
    numbers: tuple[float, ...]
    text: str


def _unit_hint(text: str) -> str:
    if re.search(_CUR_POST, text) or re.search(_CUR_PRE, text):
        return "money"
    if "年" in text:
        return "year"
    return ""


def _decade(
    dec: int, mod: str | None, year_span: tuple[float, float] | None
) -> tuple[float, float]:
    if dec < 100:  # "80s": the century whose decade the catalogue holds, else the 1900s
        candidates = [1900 + dec, 2000 + dec]
        if year_span is not None:
            inside = [c for c in candidates if c + 9 >= year_span[0] and c <= year_span[1]]
            dec = (
                inside[-1]
                if inside
                else (2000 + dec if dec < 30 and year_span[1] >= 2000 else 1900 + dec)
            )
        else:
            dec = 2000 + dec if dec < 30 else 1900 + dec
    lo, hi = float(dec), float(dec + 9)
    if mod in ("early", "初", "初期", "早期"):
        hi = lo + 3
    elif mod in ("mid", "中期"):
        lo, hi = lo + 3, lo + 6
    elif mod in ("late", "末", "末期", "后期"):
        lo = lo + 7
    return lo, hi


def _find_ranges(s: str, year_span: tuple[float, float] | None) -> list[_RangeMatch]:
    """Every number or era phrase in the lower-cased text `s`, without overlaps."""
    found: list[_RangeMatch] = []
    taken = np.zeros(len(s) + 1, dtype=bool)

    def add(
        m: re.Match[str],
        lo: float | None,
        hi: float | None,
        hint: str,
        numbers: tuple[float, ...],
        lo_strict: bool = False,
        hi_strict: bool = False,
    ) -> None:
        if taken[m.start() : m.end()].any():
            return
        taken[m.start() : m.end()] = True
        found.append(
            _RangeMatch(m.start(), m.end(), lo, hi, lo_strict, hi_strict, hint, numbers, m.group())
        )

    # eras
    for m in re.finditer(
        rf"{_B}(?:(?P<mod>early|mid|late)[\s-]*)?(?:the\s+)?['’]?(?P<dec>[0-9]0|1[5-9]\d0|20\d0)['’]?s{_E}",
        s,
    ):
        lo, hi = _decade(int(m["dec"]), m["mod"], year_span)
        add(m, lo, hi, "year", (lo,))
    for m in re.finditer(
        r"\b(?:(?P<mod>early|mid|late)[\s-]*)?(?:the\s+)?(?:nineteen[\s-]*)?(?P<word>twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b",
        s,
    ):
        lo, hi = _decade(_DECADE_WORDS[m["word"]], m["mod"], year_span)
        add(m, lo, hi, "year", (lo,))
    for m in re.finditer(
        r"(?:上个?世纪|二十世纪|20世纪)?(?P<dec>\d{2,4}|[零〇一二三四五六七八九十]{2,4})\s*年代(?P<mod>初期|初|中期|末期|末|后期|早期)?",
        s,
    ):
        value = _number(m["dec"])
        if value is not None and (value < 100 or 1500 <= value <= 2100) and value % 10 == 0:
            lo, hi = _decade(int(value), m["mod"], year_span)
            add(m, lo, hi, "year", (lo,))
    # two-sided
    for m in re.finditer(
        rf"{_B}(?:between|from)\s+(?P<a>{_AMOUNT})\s*(?:and|to|-|–|until|till|through)\s*(?P<b>{_AMOUNT}){_E}",
        s,
    ):
        _two_sided(m, add)
    for m in re.finditer(
        rf"{_B}(?P<a>{_AMOUNT})\s*(?:-|–|to|~|～|到|至)\s*(?P<b>{_AMOUNT})(?:\s*之间)?", s
    ):
        _two_sided(m, add)
    # "1990 or later", "50 euros or less", "2000+"
    for m in re.finditer(
        rf"{_B}(?P<a>{_AMOUNT})\s*(?:\+|(?:or|and)\s+(?P<dir>later|newer|after|above|more|up|over|higher|earlier|before|older|less|under|below|cheaper|lower))",
        s,
    ):
        value = _amount(m["a"])
        if value is None:
            continue
        hint = _unit_hint(m["a"]) or (
            "year" if m["dir"] in ("later", "newer", "after", "earlier", "before", "older") else ""
        )
        if m["dir"] in ("earlier", "before", "older", "less", "under", "below", "cheaper", "lower"):
            add(m, None, value, hint or ("money" if m["dir"] == "cheaper" else ""), (value,))
        else:
            add(m, value, None, hint, (value,))
    # one-sided, English
    for words, upper, strict in (
        (_UPPER_STRICT, True, True),
        (_UPPER, True, False),
        (_LOWER_STRICT, False, True),
        (_LOWER, False, False),
    ):
        for m in re.finditer(
            rf"\b(?P<cue>{words})\s*(?:the\s+year\s+|year\s+)?(?P<a>{_AMOUNT}){_E}", s
        ):
            value = _amount(m["a"])
            if value is None:
                continue
            cue = m["cue"]
            if cue == "from" and not re.match(
                r"\s*(?:on(?:wards?)?|and later|or later)\b", s[m.end() :]
            ):
                add(m, value, value, _unit_hint(m["a"]), (value,))  # "a film from 1995"
                continue
            hint = (
                _unit_hint(m["a"])
                or ("year" if cue.startswith(_YEAR_CUES) else "")
                or ("money" if cue.startswith(_MONEY_CUES) else "")
            )
            if upper:
                add(m, None, value, hint, (value,), hi_strict=strict)
            else:
                add(m, value, None, hint, (value,), lo_strict=strict)
    # one-sided, Chinese
    for m in re.finditer(
        rf"(?P<cue>低于|少于|不超过|不到|小于|不高于|最多|至多|高于|多于|超过|大于|至少|不低于|最少)\s*(?P<a>{_AMOUNT})",
        s,
    ):
        value = _amount(m["a"])
        if value is None:
            continue
        upper = m["cue"] in ("低于", "少于", "不超过", "不到", "小于", "不高于", "最多", "至多")
        strict = m["cue"] in ("低于", "少于", "小于", "高于", "多于", "超过", "大于", "不到")
        hint = _unit_hint(m["a"])
        if upper:
            add(m, None, value, hint, (value,), hi_strict=strict)
        else:
            add(m, value, None, hint, (value,), lo_strict=strict)
    for m in re.finditer(
        rf"(?P<a>{_AMOUNT})\s*(?P<year>年)?\s*(?P<cue>以下|以内|之内|及以下|或以下|以上|及以上|或以上|以前|之前|以后|之后|以来|起|至今|左右|前|后)",
        s,
    ):
        value = _amount(m["a"])
        cue = m["cue"]
        if value is None or (cue in ("前", "后") and not m["year"]):
            continue  # 80后 is a generation, not an era
        hint = "year" if m["year"] else _unit_hint(m["a"])
        if cue in ("以下", "以内", "之内", "及以下", "或以下"):
            add(m, None, value, hint, (value,))
        elif cue in ("以上", "及以上", "或以上", "以来", "起", "至今"):
            add(m, value, None, hint, (value,))
        elif cue in ("以前", "之前", "前"):
            add(m, None, value, hint or "year", (value,), hi_strict=True)
        elif cue in ("以后", "之后", "后"):
            add(m, value, None, hint or "year", (value,), lo_strict=True)
        else:  # 左右: about
            add(m, value * 0.8, value * 1.2, hint, (value,))
    # about, exactly
    for m in re.finditer(
        rf"\b(?:around|about|approximately|roughly|circa|c\.|~)\s*(?P<a>{_AMOUNT}){_E}", s
    ):
        value = _amount(m["a"])
        if value is not None:
            add(m, value * 0.8, value * 1.2, _unit_hint(m["a"]), (value,))
    for m in re.finditer(rf"{_B}(?:in\s+)?(?P<y>1[89]\d\d|20\d\d)(?:\s*年(?!代))?(?![\w.])", s):
        value = float(m["y"])
        add(m, value, value, "year", (value,))
    for m in re.finditer(
        rf"{_B}(?P<a>(?:{_CUR_PRE}\s*(?:{_N}))|(?:(?:{_N})\s*{_CUR_POST})){_E}", s
    ):
        value = _amount(m["a"])
        if value is not None:  # "a 50 euro gift": a budget
            add(m, None, value, "money", (value,))
    found.sort(key=lambda r: r.start)
    return found


def _amount(text: str) -> float | None:
    """The number in an amount ("$50", "50 euros", "五十元")."""
    found = re.search(_N, text)
    return None if found is None else _number(found.group())


def _two_sided(m: re.Match[str], add: Callable[..., None]) -> None:
    a = _amount(m["a"])
    b = _amount(m["b"])
    if a is None or b is None:
        return
    lo, hi = min(a, b), max(a, b)
    hint = _unit_hint(m["a"]) or _unit_hint(m["b"])
    if not hint and lo >= 1800 and hi <= 2100 and lo == int(lo) and hi == int(hi):
        hint = "year"
    add(m, lo, hi, hint, (lo, hi))


def _attribute_kind(name: str) -> str:
    lowered = name.casefold()
    if "year" in lowered or lowered in ("年份", "年代", "年"):
        return "year"
    if any(w in lowered for w in ("price", "cost", "amount", "价格", "价")):
        return "money"
    return ""


# --------------------------------------------------------------------------------------
# Matching targets


@dataclass(frozen=True)
class _Target:
    kind: str
    """"category" or "value"."""
    name: str
    """The category, or the attribute value as the catalogue spells it."""
    attribute: str = ""


class RequestInterpreter:
    """Reads typed requests against one catalogue's facets; safe to share across threads.

    `encode` (texts -> unit row vectors, e.g. `TextEncoder.encode`) is optional: without it
    only names and the synonym table match. `min_cosine` and `min_margin` are the encoder's
    bars (a span's best cosine to a category name, and its lead over the span's mean cosine
    to neutral phrases); the defaults suit all-MiniLM-L6-v2, and an encoder whose cosines
    sit higher (e5 models) needs higher ones.
    """

    def __init__(
        self,
        facets: Facets,
        encode: Callable[[Sequence[str]], np.ndarray] | None = None,
        *,
        min_cosine: float = 0.55,
        min_margin: float = 0.3,
    ) -> None:
        self.facets = facets
        self.min_cosine = min_cosine
        self.min_margin = min_margin
        self._encode = encode
        self._lock = threading.Lock()
        self._requests: OrderedDict[str, UnderstoodRequest] = OrderedDict()
        self._spans: OrderedDict[str, np.ndarray] = OrderedDict()
        self.categories = tuple(
            c
            for c in facets.categories
            if _phrase_key(c)
            and " ".join(_phrase_key(c)) not in _JUNK_CATEGORIES
            and not c.strip().startswith("(")
        )
        self._year = next((a for a in facets.numeric if _attribute_kind(a) == "year"), None)
        self._money = next((a for a in facets.numeric if _attribute_kind(a) == "money"), None)
        self.reads_chinese = False
        self.concept_map: dict[str, str] = {}
        """Concept key -> the category it stands for in this catalogue."""
        self._category_vectors: np.ndarray | None = None
        self._background: np.ndarray | None = None
        self._ground_concepts()
        self._phrases: dict[tuple[str, ...], list[_Target]] = {}
        self._max_phrase = 1
        self._build_phrases()

    # construction ---------------------------------------------------------------------

    def _ground_concepts(self) -> None:
        keys = {c: _phrase_key(c) for c in self.categories}
        unmatched: list[Concept] = []
        for concept in CONCEPTS:
            names = [_phrase_key(n) for n in concept.names]
            aliases = [_phrase_key(a) for a in (*concept.english, *concept.chinese)]
            exact = [
                c for c, k in keys.items() if k in names or k in aliases or ("".join(k),) in names
            ]
            inside = [c for c, k in keys.items() if any(_contains(k, n) for n in names)]
            chosen = exact or inside
            if chosen:
                self.concept_map[concept.key] = chosen[0]
            else:
                unmatched.append(concept)
        if self._encode is None or not self.categories:
            return
        # One encoder call: category names, labels of unmatched concepts, neutral phrases
        # and the Chinese probe pairs.
        texts = [
            *self.categories,
            *(c.label for c in unmatched),
            *_BACKGROUND,
            *(z for z, _ in _PROBES),
            *(e for _, e in _PROBES),
        ]
        vectors = np.asarray(self._encode(texts), dtype=np.float32)
        n_cat, n_con, n_bg = len(self.categories), len(unmatched), len(_BACKGROUND)
        cats = vectors[:n_cat]
        labels = vectors[n_cat : n_cat + n_con]
        background = vectors[n_cat + n_con : n_cat + n_con + n_bg]
        probes = vectors[n_cat + n_con + n_bg :]
        self._category_vectors = cats
        self._background = background
        for concept, label in zip(unmatched, labels, strict=True):
            cosines = cats @ label
            best = int(np.argmax(cosines))
            lead = float(cosines[best]) - float(np.mean(background @ label))
            if cosines[best] >= self.min_cosine and lead >= self.min_margin:
                self.concept_map[concept.key] = self.categories[best]
        zh, en = probes[: len(_PROBES)], probes[len(_PROBES) :]
        sims = zh @ en.T
        diagonal = np.diag(sims)
        off = (sims.sum() - diagonal.sum()) / max(sims.size - len(diagonal), 1)
        hits = int(np.sum(np.argmax(sims, axis=1) == np.arange(len(_PROBES))))
        self.reads_chinese = bool(hits >= len(_PROBES) - 1 and float(diagonal.mean() - off) >= 0.1)

    def _build_phrases(self) -> None:
        def add(key: tuple[str, ...], target: _Target) -> None:
            if not key:
                return
            targets = self._phrases.setdefault(key, [])
            if target not in targets:
                targets.append(target)
            self._max_phrase = max(self._max_phrase, len(key))

        for category in self.categories:
            key = _phrase_key(category)
            add(key, _Target("category", category))
            if len(key) > 1 and all(k.isascii() for k in key):
                add(("".join(key),), _Target("category", category))  # "scifi"
        for concept in CONCEPTS:
            grounded = self.concept_map.get(concept.key)
            if grounded is None:
                continue
            for alias in (*concept.english, *concept.names, *concept.chinese):
                add(_phrase_key(alias), _Target("category", grounded))
        for attribute, values in self.facets.values.items():
            for value in values:
                key = _phrase_key(value)
                if not key or (len(key) == 1 and (len(key[0]) < 2 or key[0] in _STOP)):
                    continue
                if all(k.isdigit() for k in key):
                    continue
                add(key, _Target("value", value, attribute))
        self._max_phrase = min(self._max_phrase, 8)

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
        low = _lower(text)
        tokens = _tokenise(low)
        _mark_words(tokens)
        ranges = self._claim_ranges(low, tokens)
        _mark_cues(tokens)
        matches = self._match_lexical(tokens)
        _mark_scopes(tokens)
        if self._encode is not None and self._category_vectors is not None:
            matches += self._match_encoded(tokens)
        return self._assemble(text, tokens, ranges, matches, notes)

    def _claim_ranges(
        self, low: str, tokens: list[_Token]
    ) -> list[tuple[_RangeMatch, str, list[_Token]]]:
        year_span = self.facets.numeric.get(self._year) if self._year else None
        claimed: list[tuple[_RangeMatch, str, list[_Token]]] = []
        for match in _find_ranges(low, year_span):
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

    def _range_attribute(self, low: str, match: _RangeMatch) -> str | None:
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
                for w in _MONEY_WORDS
            ):
                hint = "money"
            elif any(
                re.search(rf"(?<!\w){w}(?!\w)", window) if w.isascii() else w in window
                for w in _YEAR_WORDS
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

    def _match_lexical(self, tokens: list[_Token]) -> list[tuple[_Target, list[_Token], int]]:
        """Longest-first matches of names, synonyms and values over unclaimed tokens."""
        found: list[tuple[_Target, list[_Token], int]] = []
        words = [i for i, t in enumerate(tokens) if t.kind in ("word", "num", "cjk")]
        position = 0
        while position < len(words):
            matched = False
            for length in range(min(self._max_phrase, len(words) - position), 0, -1):
                run = [tokens[i] for i in words[position : position + length]]
                if any(t.consumed for t in run):
                    continue
                if length > 1 and not _adjacent(tokens, words[position : position + length]):
                    continue
                targets = self._phrases.get(tuple(t.lemma for t in run))
                if not targets:
                    continue
                if run[-1].kind == "cjk":  # 恐怖片, 动作电影: the suffix belongs to the match
                    run += _cjk_suffix(tokens, words[position + length - 1])
                for token in run:
                    token.consumed = "facet"
                for target in targets:
                    found.append((target, run, _LEXICAL))
                position += length
                matched = True
                break
            if not matched:
                position += 1
        return found

    def _match_encoded(self, tokens: list[_Token]) -> list[tuple[_Target, list[_Token], int]]:
        """Leftover content spans against the category names, by encoder cosine."""
        spans = self._spans_of(tokens)
        if not spans:
            return []
        texts = list(dict.fromkeys(text for text, _ in spans))
        vectors = self._span_vectors(texts)
        assert self._category_vectors is not None and self._background is not None
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
        found: list[tuple[_Target, list[_Token], int]] = []
        for _, best, run in sorted(scored, key=lambda s: -s[0]):
            if any(t.consumed for t in run):
                continue
            for token in run:
                token.consumed = "facet"
            found.append((_Target("category", self.categories[best]), run, _ENCODER))
        return found

    def _spans_of(self, tokens: list[_Token]) -> list[tuple[str, list[_Token]]]:
        """Runs of free content tokens as 1–3 word (2–3 character) spans, capped."""
        runs: list[list[_Token]] = []
        current: list[_Token] = []
        for token in tokens:
            usable = (
                not token.consumed and token.content and (token.kind != "cjk" or self.reads_chinese)
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
        spans: list[tuple[str, list[_Token]]] = []
        for size in (1, 2, 3):
            for run in runs:
                cjk = run[0].kind == "cjk"
                width = size + 1 if cjk else size  # Chinese: 2-3 characters
                if cjk and width > 3:
                    continue
                for i in range(len(run) - width + 1):
                    part = run[i : i + width]
                    joined = ("" if cjk else " ").join(t.text for t in part)
                    if not cjk and width == 1 and (len(joined) < 3 or part[0].kind == "num"):
                        continue
                    spans.append((joined, part))
                    if len(spans) >= MAX_SPANS:
                        return spans
        return spans

    def _span_vectors(self, texts: list[str]) -> np.ndarray:
        assert self._encode is not None
        with self._lock:
            missing = [t for t in texts if t not in self._spans]
        if missing:
            with self._lock:  # encoders are not safe to share across threads
                fresh = np.asarray(self._encode(missing), dtype=np.float32)
                for text, vector in zip(missing, fresh, strict=True):
                    self._spans[text] = vector
                    if len(self._spans) > CACHE_SIZE:
                        self._spans.popitem(last=False)
        with self._lock:
            return np.stack([self._spans[t] for t in texts])

    def _assemble(
        self,
        text: str,
        tokens: list[_Token],
        ranges: list[tuple[_RangeMatch, str, list[_Token]]],
        matches: list[tuple[_Target, list[_Token], int]],
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
        loose = tuple(
            n for n in [*include, *exclude] if (asked.get(n) or refused[n])[0] == _ENCODER
        )
        include = [n for n in include if n not in loose]
        exclude = [n for n in exclude if n not in loose]
        soft = _soft(text, tokens)
        if any(n in asked for n in loose):
            soft = " ".join(text.split())
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
            avoid=_avoid(text, tokens),
        )

    def _bounds(
        self,
        ranges: list[tuple[_RangeMatch, str, list[_Token]]],
        tokens: list[_Token],
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
                    f"no item has {attribute} in [{_show(lo)}, {_show(hi)}]: the catalogue "
                    f"spans {_show(low)}–{_show(high)}"
                )
        return bounds


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


def _show(value: float | None) -> str:
    if value is None:
        return "…"
    return str(int(value)) if value == int(value) else f"{value:g}"


def _contains(key: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return 0 < n <= len(key) and any(key[i : i + n] == part for i in range(len(key) - n + 1))


def _adjacent(tokens: list[_Token], indices: list[int]) -> bool:
    """Whether word tokens follow one another with only spaces or hyphens between."""
    for a, b in itertools.pairwise(indices):
        if b != a + 1 and not all(tokens[k].text in "-–/&" for k in range(a + 1, b)):
            return False
    return True


def _cjk_suffix(tokens: list[_Token], last: int) -> list[_Token]:
    following = "".join(t.text for t in tokens[last + 1 : last + 3] if t.kind == "cjk")
    for suffix in _CJK_SUFFIXES:
        if following.startswith(suffix):
            run = tokens[last + 1 : last + 1 + len(suffix)]
            if all(t.kind == "cjk" and not t.consumed for t in run):
                return run
    return []


def _mark_words(tokens: list[_Token]) -> None:
    """Stop words, chit-chat and clause boundaries; Chinese multi-character ones by longest
    match over each run of Chinese characters."""
    for token in tokens:
        if token.kind == "word":
            token.chitchat = token.text in _CHITCHAT
            token.stop = token.text in _STOP or token.lemma in _STOP
            token.boundary = token.text in _BOUNDARY_EN
        elif token.kind == "punct":
            token.boundary = any(c in _PUNCT for c in token.text)
    i = 0
    while i < len(tokens):
        if tokens[i].kind != "cjk":
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j].kind == "cjk":
            j += 1
        run = "".join(t.text for t in tokens[i:j])
        k = 0
        while k < len(run):
            for word in _BOUNDARY_ZH:
                if run.startswith(word, k):
                    for t in tokens[i + k : i + k + len(word)]:
                        t.boundary = True
                    k += len(word)
                    break
            else:
                for word in _CJK_STOP:
                    if run.startswith(word, k):
                        for t in tokens[i + k : i + k + len(word)]:
                            t.stop = True
                            t.chitchat = word in _CJK_CHITCHAT
                        k += len(word)
                        break
                else:
                    k += 1
        i = j


def _mark_cues(tokens: list[_Token]) -> None:
    """Negation cues, as `consumed = "cue"` on their tokens (skipping range tokens)."""
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i]
        if token.consumed:
            i += 1
            continue
        if token.kind == "word":
            texts = [t.text for t in tokens[i : i + 3]]
            if any(tuple(texts[: len(p)]) == p for p in _NOT_NEG_EN):
                for t in tokens[i : i + 2]:
                    t.stop = True
                i += 2
                continue
            for cue in _NEG_EN:
                if tuple(texts[: len(cue)]) == cue and all(
                    not t.consumed and t.kind == "word" for t in tokens[i : i + len(cue)]
                ):
                    for t in tokens[i : i + len(cue)]:
                        t.consumed = "cue"
                        t.boundary = False  # "anything but" is no clause boundary
                    i += len(cue)
                    break
            else:
                i += 1
            continue
        if token.kind == "cjk":
            ahead = "".join(t.text if t.kind == "cjk" else "\0" for t in tokens[i : i + 4])
            before = tokens[i - 1].text if i > 0 and tokens[i - 1].kind == "cjk" else ""
            for zh_cue in _NEG_ZH:
                if not ahead.startswith(zh_cue):
                    continue
                after = ahead[len(zh_cue) : len(zh_cue) + 1]
                if before and before in _ZH_NOT_BEFORE.get(zh_cue, ""):
                    continue
                if after and after in _ZH_NOT_AFTER.get(zh_cue, ""):
                    continue
                run = tokens[i : i + len(zh_cue)]
                if any(t.consumed for t in run):
                    continue
                for t in run:
                    t.consumed = "cue"
                    t.stop = False
                i += len(zh_cue)
                break
            else:
                i += 1
            continue
        i += 1


def _mark_scopes(tokens: list[_Token]) -> None:
    """Tokens after a negation cue are negated up to a clause boundary, a positive cue
    after some content ("不要恐怖片要喜剧"), or a conjunction that does not continue the list."""
    negating = False
    seen_content = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.consumed == "cue":
            negating, seen_content = True, False
            token.negated = True
            i += 1
            continue
        if not negating:
            i += 1
            continue
        if token.boundary:
            negating = False
            i += 1
            continue
        if seen_content and _positive_at(tokens, i):
            negating = False
            i += 1
            continue
        if token.text in _CONJUNCTIONS and seen_content:
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is None or not (
                following.content or following.consumed in ("facet", "cue")
            ):
                negating = False
                i += 1
                continue
        token.negated = True
        if token.content or token.consumed == "facet" or _is_facet_candidate(token):
            seen_content = True
        i += 1


def _is_facet_candidate(token: _Token) -> bool:
    return token.kind == "cjk" and not token.stop


def _positive_at(tokens: list[_Token], i: int) -> bool:
    token = tokens[i]
    if token.kind == "word":
        texts = tuple(t.text for t in tokens[i : i + 3])
        return any(texts[: len(p)] == p for p in _POSITIVE_EN)
    if token.kind == "cjk" and not token.consumed:
        if i > 0 and tokens[i - 1].text in ("不", "想") and tokens[i - 1].kind == "cjk":
            return False
        ahead = "".join(t.text for t in tokens[i : i + 3] if t.kind == "cjk")
        return any(ahead.startswith(p) for p in _POSITIVE_ZH)
    return False


def _clauses(tokens: list[_Token]) -> list[list[_Token]]:
    clauses: list[list[_Token]] = [[]]
    for token in tokens:
        if token.boundary:
            clauses.append([])
        else:
            clauses[-1].append(token)
    return [c for c in clauses if c]


def _soft(text: str, tokens: list[_Token]) -> str | None:
    """What is left of the request: free, unnegated tokens of clauses that hold content."""
    kept_all: list[_Token] = []
    for clause in _clauses(tokens):
        kept = [
            t
            for t in clause
            if not t.consumed and not t.negated and not t.chitchat and t.kind != "punct"
        ]
        if any(t.content for t in kept):
            kept_all.extend(_trim(kept))
    if not kept_all:
        return None
    # an article whose noun was a facet word goes with it ("a comedy with dogs" -> "with dogs")
    kept_ids = {id(t) for t in kept_all}
    following = {id(a): b for a, b in itertools.pairwise(tokens)}
    kept_all = [
        t
        for t in kept_all
        if t.text not in _ARTICLES
        or (following.get(id(t)) is not None and id(following[id(t)]) in kept_ids)
    ]
    if not any(t.content for t in kept_all):
        return None
    soft = _join_kept(text, tokens, kept_all)
    return soft or None


def _avoid(text: str, tokens: list[_Token]) -> str | None:
    """Refused words no facet grounded, kept apart from `soft` so nothing steers toward them."""
    kept = [
        t for t in tokens if t.negated and not t.consumed and t.kind != "punct" and not t.chitchat
    ]
    if not any(t.content for t in kept):
        return None
    return _join_kept(text, tokens, _trim(kept)) or None


def _trim(kept: list[_Token]) -> list[_Token]:
    """Without dangling conjunctions and symbols at either end."""
    start, end = 0, len(kept)
    while start < end and (kept[start].text in _CONJUNCTIONS or kept[start].kind == "sym"):
        start += 1
    while end > start and (kept[end - 1].text in _CONJUNCTIONS or kept[end - 1].kind == "sym"):
        end -= 1
    return kept[start:end]


def _join_kept(text: str, tokens: list[_Token], kept: list[_Token]) -> str:
    """Kept tokens in order: neighbours in the request keep what was between them."""
    position = {id(t): i for i, t in enumerate(tokens)}
    pieces: list[str] = []
    group_start = group_end = -1
    previous = -2
    for token in kept:
        index = position[id(token)]
        if index == previous + 1 and group_start >= 0:
            group_end = token.end
        else:
            if group_start >= 0:
                pieces.append(text[group_start:group_end])
            group_start, group_end = token.start, token.end
        previous = index
    if group_start >= 0:
        pieces.append(text[group_start:group_end])
    return " ".join(p.strip() for p in pieces if p.strip())
