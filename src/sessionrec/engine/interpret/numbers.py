"""Numbers, amounts and eras in a request ("before 1990", "80s", "九十年代", "50元以下").

`find_ranges` reads every range phrase without overlaps; which attribute it belongs to is
the interpreter's business (it knows the catalogue). `as_number` is shared with the
catalogue so both read "89.00" as 89 the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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
YEAR_WORDS = ("year", "years", "released", "release", "made", "decade", "年份", "上映", "出品")
MONEY_WORDS = (
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
class RangeMatch:
    """One range phrase of a request: its span, bounds (strict or not) and unit hint."""

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


def find_ranges(s: str, year_span: tuple[float, float] | None) -> list[RangeMatch]:
    """Every number or era phrase in the lower-cased text `s`, without overlaps."""
    found: list[RangeMatch] = []
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
            RangeMatch(m.start(), m.end(), lo, hi, lo_strict, hi_strict, hint, numbers, m.group())
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


def attribute_kind(name: str) -> str:
    """ "year", "money" or "" for an attribute's name ("release_year", "价格")."""
    lowered = name.casefold()
    if "year" in lowered or lowered in ("年份", "年代", "年"):
        return "year"
    if any(w in lowered for w in ("price", "cost", "amount", "价格", "价")):
        return "money"
    return ""


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


def show_number(value: float | None) -> str:
    """A bound as a note shows it: 1990, 12.5, or … for an open end."""
    if value is None:
        return "…"
    return str(int(value)) if value == int(value) else f"{value:g}"
