"""Figures in Chinese text: find them with their units, say them in English, check them.

Used by the reader (a figure is an answer of the asked kind, said in English for English questions)
and by the judge of question sets (figures compared without thousands separators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?"
# Measure words that count things or people ("12个", "3人", "五项"); a figure's unit may be one.
MEASURE_WORDS = "个件项家人名次台套所位篇部条批种类届户间座只块张本期场"
# A figure: optional qualifier, digits, optional magnitude and "more than" marks, optional unit.
FIGURE = re.compile(
    rf"(?P<pre>近|约|逾|超过|将近|大约)?"
    rf"(?P<num>{_DIGITS})"
    r"(?P<approx1>多|余)?(?P<mag>万亿|千万|百万|十万|万|亿|千|百)?(?P<approx2>多|余)?"
    rf"(?P<unit>%|‰|[{MEASURE_WORDS}元倍]|大类|小项|万元|亿元|美元|平方米|公里|千米|米|吨|岁|字)?"
)
MAGNITUDE = {"百": 1e2, "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8, "万亿": 1e12}
UNIT_EN = {
    "元": "yuan",
    "万元": "yuan",
    "亿元": "yuan",
    "美元": "US dollars",
    "%": "%",
    "‰": "‰",
    "人": "people",
    "名": "people",
    "家": "organisations",
    "项": "items",
    "件": "items",
    "个": "",
    "次": "times",
    "倍": "times",
    "吨": "tonnes",
    "米": "metres",
    "公里": "km",
    "千米": "km",
    "平方米": "square metres",
    "字": "characters",
    "岁": "years old",
}
PREFIX_EN = {"近": "nearly ", "约": "about ", "大约": "about ", "将近": "nearly ", "逾": "over ", "超过": "over "}
# A number written in digits.
NUMBER_IN_DIGITS = re.compile(r"\d+(?:\.\d+)?")
ENGLISH_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
# A month named in English; "May" only capitalised, since "may" is also a verb.
ENGLISH_MONTH = re.compile(rf"\b(?:{'|'.join(m.capitalize() for m in ENGLISH_MONTHS)})\b")
# What makes a number a date, not a quantity: "2007年", "20世纪".
_DATE_SUFFIX = re.compile(r"年|世纪")


@dataclass(frozen=True)
class Figure:
    text: str
    value: float
    unit: str
    start: int
    end: int

    @property
    def is_year(self) -> bool:
        return self.unit == "" and 1900 <= self.value <= 2100 and float(self.value).is_integer()


def find_figures(text: str) -> list[Figure]:
    """Figures in order; numbers of a date ("2007年", "20世纪", "5月") are skipped: they are no quantities."""
    figures = []
    for match in FIGURE.finditer(text):
        after = text[match.end() : match.end() + 2]
        num = float(match.group("num").replace(",", ""))
        if not match.group("unit") and not match.group("mag") and _DATE_SUFFIX.match(after):
            continue
        if text[match.end() : match.end() + 1] in ("月", "日", "号") and not match.group("unit"):
            continue
        if _is_list_marker(text, match):
            continue
        magnitude = MAGNITUDE.get(match.group("mag") or "", 1.0)
        unit = match.group("unit") or ""
        if unit in ("万元", "亿元"):
            magnitude *= MAGNITUDE[unit[0]]
        figures.append(Figure(match.group(0), num * magnitude, unit, match.start(), match.end()))
    return figures


def _is_list_marker(text: str, match: re.Match[str]) -> bool:
    """ "2.合肥…" or "3、…" at the start of a text or clause numbers a list item, it is no figure."""
    start = match.start()
    at_start = start == 0 or text[start - 1] in "\n。；;：:，,（(　 "
    return at_start and not match.group("unit") and text[match.end() : match.end() + 1] in ("、", ".", "．", ")", "）")


def english_figure(figure: Figure) -> str:
    """'2.6亿元' -> 'nearly 260 million yuan'; plain counts keep their digits with separators."""
    match = FIGURE.fullmatch(figure.text)
    prefix = PREFIX_EN.get(match.group("pre") or "", "") if match else ""
    approx = bool(match and (match.group("approx1") or match.group("approx2")))
    value = figure.value
    if figure.unit in ("%", "‰"):
        return f"{prefix}{_plain(value)}{figure.unit}"
    if value >= 1e9:
        number = f"{_plain(value / 1e9)} billion"
    elif value >= 1e6:
        number = f"{_plain(value / 1e6)} million"
    else:
        number = f"{value:,.0f}" if value.is_integer() else _plain(value)
    unit = UNIT_EN.get(figure.unit, "")
    more = "over " if approx and not prefix else ""
    return f"{prefix}{more}{number}{' ' + unit if unit else ''}".strip()


def _plain(value: float) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text


def normalise_numbers(text: str) -> str:
    """Full-width digits to ASCII and thousands separators removed, for comparing figures."""
    text = text.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    text = text.replace("．", ".")
    return re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)


def numbers_in(text: str) -> list[str]:
    """Every number written in digits, normalised ("12,057" -> "12057")."""
    return NUMBER_IN_DIGITS.findall(normalise_numbers(text))


def added_numbers(rewrite: str, source: str) -> set[str]:
    """Numbers a rewrite (a translation, a standalone question) has that its source does not: invented.

    A month the source names in English is a number in Chinese ("March 2015" -> "2015年3月").
    """
    months = {str(ENGLISH_MONTHS.index(m.lower()) + 1) for m in ENGLISH_MONTH.findall(source)}
    return set(numbers_in(rewrite)) - set(numbers_in(source)) - months
