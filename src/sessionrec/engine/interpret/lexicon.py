"""The bilingual word lists: concepts and their synonyms, stop words, chit-chat, cues.

Kept apart from the code that reads them so a word can be added without touching a rule;
every list is catalogue-independent (`Concept` reaches a category only by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

JUNK_CATEGORIES = frozenset({"unknown", "other", "others", "misc", "none", "n/a", "na"})
"""Category names that stand for "no category" ("(no genres listed)" reads as junk too)."""


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
STOP = frozenset(
    _words("""a an the some any something anything everything stuff thing one ones kind sort type
    genre style of for to with in on at by about from as into like that this these those it
    its is are be was were been am do does did i i'm im me my we our you your he she they
    them their him her and or nor so very really quite too more most less just maybe
    perhaps also please can could would will shall should may might must want wanna need
    looking look find get give show see watch watching watched seen saw recommend suggest suggestion
    recommendation have has had what which who how tonight today tomorrow yesterday night
    evening weekend now again movie film flick show series item product pick option good
    great nice new old best better well ok okay let us let's something's there here
    love loved liked enjoy enjoyed enjoying fun time last again all other equipment gear
    supply accessory kit set""")
)

CHITCHAT = frozenset(
    _words("""hi hello hey hiya yo thanks thank thx ty cheers please lol haha hahaha wow cool
    awesome bye goodbye sure yes yeah yep ok okay hmm um uh oh ah""")
)
"""Greetings, thanks and reactions: dropped from `soft` wherever they stand."""

CJK_STOP = tuple(
    sorted(
        _words("""我 你 他 她 它 们 的 了 吗 呢 吧 啊 呀 哦 嗯 哈 一 个 部 些 点 想 要 看 给
        推荐 找 来 像 请问 请 有没有 有什么 麻烦 帮我 给我 推荐一下
        有 没 是 在 和 或 也 都 行 可以 什么 东西 电影 片子 影片 片 好 很 太 谢谢 你好 嗨 哈哈
        昨晚 今晚 昨天 今天 晚上 周末 喜欢 爱 还 再 就 这 那 种 类 类型 风格 一下 随便 能 请
        帮 一些 多 最 更 比较 部分 一部 一个 之类 类的 那种 这种 东东 商品 产品 买 挺 特别
        真 真的 觉得 感觉 开心 不错 会 让 把 被 得 地 着 过 去 不 要不要 用品 用的 用 东西
        的话 适合 适合于 合适"""),
        key=len,
        reverse=True,
    )
)
CJK_CHITCHAT = frozenset(
    _words("谢谢 你好 嗨 哈哈 哈 请问 请 有没有 有什么 麻烦 帮我 给我 推荐 推荐一下 昨晚 昨天")
)
"""Greetings, thanks and request filler: dropped from `soft` wherever they stand
("有没有轻松一点的" steers by 轻松一点的 alone)."""

FILLER_EN: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(phrase.split())
            for phrase in _words(
                """got anything | got any | got something | have you got | do you have |
                you got | is there | are there | any ideas | any suggestions | what about |
                how about | last night | the other day | just as | thank you | thanks a lot |
                can you | could you | would you | i was wondering | if you have | pls | plz |
                i loved it | i liked it | i enjoyed it""",
                "|",
            )
        ),
        key=len,
        reverse=True,
    )
)
"""Phrases of chit-chat and request filler, dropped from `soft` like `CHITCHAT`: "Hi! got
anything just as tense?" steers by "tense" alone."""

MENTION_CUES_EN = frozenset(
    _words("""like liked love loved enjoy enjoyed adore adored watched saw seen as than
    hated disliked hate dislike to""")
)
"""Words after which a lower-case phrase reads as a title ("loved toy story")."""

REFERENCE_EN: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {
            *(
                (d, w, n)
                for d in ("the", "that", "this")
                for w in ("last", "previous", "latest", "prior")
                for n in [
                    "one",
                    "film",
                    "movie",
                    "item",
                    "pick",
                    "suggestion",
                    "recommendation",
                    "product",
                    "thing",
                    "show",
                    "book",
                    "song",
                    "album",
                ]
            ),
            *(
                (m, "like", d)
                for m in [
                    "more",
                    "something",
                    "anything",
                    "one",
                    "ones",
                    "stuff",
                    "films",
                    "movies",
                    "things",
                    "just",
                    "items",
                    "products",
                ]
                for d in ("that", "this", "it", "those", "these", "them")
            ),
            *(("similar", "to", d) for d in ("that", "this", "it", "those", "these")),
            *((p, d, "one") for p in ("like", "as", "than", "to") for d in ("that", "this")),
            *(("than", d) for d in ("that", "this", "it", "those", "before")),
            ("same", "as", "before"),
            ("the", "same", "again"),
            ("more", "of", "the", "same"),
            ("more", "of", "that"),
            ("that", "one", "again"),
            ("another", "one"),
            ("something", "similar"),
            ("anything", "similar"),
            ("similar", "ones"),
            ("the", "previous"),
            ("the", "last"),
        },
        key=len,
        reverse=True,
    )
)
"""Phrases that point at the session's last item ("more like that", "the previous one");
("the", "last") only at a clause's end, so "the last night" is none."""
REFERENCE_LEAD_EN = frozenset({"like", "than", "as", "to", "similar", "more", "just", "same"})
"""Words before a reference that belong to it ("lighter *than* the last one")."""
REFERENCE_DEMONSTRATIVE_EN = frozenset({"that", "this", "it", "those", "these", "them"})
"""A reference made with one of these points at a title named in the same request, when
there is one ("I loved Alien, more like that"), not at the session."""

REFERENCE_ZH: tuple[str, ...] = tuple(
    sorted(
        _words("""上一个 上一部 上一本 上一款 上一件 上一首 上个 上部 刚才那个 刚才那部
        刚才那款 刚才的 刚刚那个 刚刚那部 刚刚的 之前那个 之前那部 之前的 前一个 前一部
        前面那个 再来一部 再来一个 再来个"""),
        key=len,
        reverse=True,
    )
)
REFERENCE_DEMONSTRATIVE_ZH: tuple[str, ...] = tuple(
    sorted(
        _words("像这样的 像那样的 这样的 那样的 类似的 差不多的 同样的 一样的"),
        key=len,
        reverse=True,
    )
)
"""Point at a title named in the request where there is one (像《X》那样的), else at the
session's last item."""
REFERENCE_LEAD_ZH: tuple[str, ...] = ("像", "和", "跟", "比", "类似")
REFERENCE_TAIL_ZH: tuple[str, ...] = ("那样的", "一样的", "那样", "一样", "类似的", "的")

COMPARATIVES_EN = frozenset(
    _words("""lighter darker shorter longer funnier scarier happier sadder calmer gentler
    softer heavier cheaper pricier newer older simpler smarter quieter louder slower faster
    weirder stranger sillier sweeter less""")
)
"""Words that compare with something unnamed: the session's last item ("something lighter",
"less violent"), which the engine anchors on while the words still steer."""
COMPARATIVES_ZH: tuple[str, ...] = ("更", "没那么", "不那么", "再")
"""Before content: 更轻松, 没那么吓人; after content, 一点 / 一些 compare too (轻松一点)."""
COMPARATIVE_TAILS_ZH: tuple[str, ...] = ("一点", "一些")

# English negation cues (token sequences), longest first; and sequences that look like a
# cue but are not one ("why not", "nothing but" = only).
NEG_EN: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(cue.split())
            for cue in _words(
                """not | no | without | anything but | everything but | anything except | except |
                except for | excluding | exclude | nothing | no more | avoid | don't | dont |
                do not | never | isn't | aren't | won't | hate | dislike | other than | instead of |
                rather than | sick of | tired of | minus | can't stand | none | skip |
                didn't | didnt | did not | hated | disliked | couldn't stand | not a fan of""",
                "|",
            )
        ),
        key=len,
        reverse=True,
    )
)
NOT_NEG_EN: tuple[tuple[str, ...], ...] = (
    ("why", "not"),
    ("not", "only"),
    ("not", "just"),
    ("no", "matter"),
    ("nothing", "but"),
    ("don't", "mind"),
    ("dont", "mind"),
    ("if", "not"),
)
NEG_ZH: tuple[str, ...] = tuple(
    sorted(
        _words("""不要 不是 别 除了 不想要 不想看 不看 不喜欢 不爱看 不爱 讨厌 不想 不含 不带 没有
        避免 排除 拒绝 不需要 除开 不用 受够了 不能是 别给我"""),
        key=len,
        reverse=True,
    )
)
ZH_NOT_BEFORE: Mapping[str, str] = {
    "不要": "要",
    "不是": "是",
    "没有": "有",
    "别": "特区分级类个告性识差辨派",
    "不想": "想",
}
"""A Chinese cue preceded by one of these characters is not one: 要不要 (how about), 是不是,
有没有 (is there any), 特别 (especially), 区别 (difference)."""
ZH_NOT_AFTER: Mapping[str, str] = {"别": "的人处墅"}
"""...or followed by one: 别的 (other), 别人 (others)."""

BOUNDARY_EN = frozenset({"but", "however", "though", "although", "whereas", "yet"})
BOUNDARY_ZH: tuple[str, ...] = ("但是", "可是", "不过", "而是", "但")
POSITIVE_EN: tuple[tuple[str, ...], ...] = (
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
POSITIVE_ZH: tuple[str, ...] = ("想要", "想看", "要", "来点", "来部", "来一部", "换成", "只要")
ARTICLES = frozenset({"a", "an", "the"})
CONJUNCTIONS = frozenset({"and", "or", "nor", "和", "或", "或者", "跟", "与", "及"})
CJK_SUFFIXES: tuple[str, ...] = ("电影", "片子", "片", "类", "剧", "风")
"""Absorbed after a Chinese facet word: 恐怖片, 动作电影, 喜剧类."""


NOT_EMBEDDED = frozenset(
    _words("""year years released release made decade price priced cost costs costing budget
    spend euro euros eur dollar dollars usd buck bucks pound pounds quid gbp yuan rmb cny kr
    under below less fewer lower before prior earlier older over above higher after later
    newer since between until till within around about approximately roughly circa least
    max maximum min minimum starting onwards era century but however though although whereas
    yet i'd i'll i've i'm you'd you're it's that's what's there's let's""")
)
"""Words of ranges and units, clause boundaries and contractions: when no attribute took
them ("between 30 and 40 euros" in a catalogue without prices) they name no category
either, and embedding them costs an encoder call (milliseconds) for nothing."""


def by_first_word(
    phrases: tuple[tuple[str, ...], ...],
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Phrases grouped by their first word, longest first: a scan probes one group per
    token instead of every phrase (a 2,000-character request has 400 tokens)."""
    groups: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        groups.setdefault(phrase[0], []).append(phrase)
    return {w: tuple(sorted(g, key=len, reverse=True)) for w, g in groups.items()}


def by_first_char(words: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Chinese words grouped by their first character, longest first (as `by_first_word`)."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word)
    return {c: tuple(sorted(g, key=len, reverse=True)) for c, g in groups.items()}
