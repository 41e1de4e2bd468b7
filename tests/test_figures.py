"""Figures with their units: found in text, said in English, compared without separators."""

from __future__ import annotations

import pytest

from assistant.figures import added_numbers, english_figure, find_figures, normalise_numbers, numbers_in

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    ("text", "figure", "value", "english"),
    [
        ("技术合同总金额近2.6亿元。", "近2.6亿元", 2.6e8, "nearly 260 million yuan"),
        ("全年专利授权量8524件。", "8524件", 8524, "8,524 items"),
        ("总投资逾1,200万元。", "逾1,200万元", 1.2e7, "over 12 million yuan"),
        ("共有300余家企业参加。", "300余家", 300, "over 300 organisations"),
        ("常住人口1755万人。", "1755万人", 1.755e7, "17.55 million people"),
        ("同比增长33.2%。", "33.2%", 33.2, "33.2%"),
    ],
)
def test_a_figure_keeps_its_qualifier_magnitude_and_unit(text: str, figure: str, value: float, english: str) -> None:
    (found,) = find_figures(text)
    assert (found.text, found.value, text[found.start : found.end]) == (figure, pytest.approx(value), figure)
    assert english_figure(found) == english


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("2007年全年授权8524件", ["8524件"]),  # a year before 年 is a date
        ("3月5日召开第2次会议", ["2次"]),  # day and month are dates
        ("20世纪40年代建成3座", ["3座"]),  # so are a century and a decade
        ("1.完成任务3项；2、新增5家", ["3项", "5家"]),  # list markers number items
        ("同比增长12.5%，其中发明专利1,024件", ["12.5%", "1,024件"]),
    ],
)
def test_dates_and_list_markers_are_not_figures(text: str, figures: list[str]) -> None:
    assert [f.text for f in find_figures(text)] == figures


def test_a_bare_year_is_known_as_one() -> None:
    assert [f.is_year for f in find_figures("截至2021，共计2021项")] == [True, False]


def test_numbers_compare_without_separators_or_full_width_digits() -> None:
    assert normalise_numbers("１２，０５７件与12,057件") == "12057件与12057件"
    assert normalise_numbers("1,23和1,2345") == "1,23和1,2345"  # not thousands separators
    assert numbers_in("共12,057件，增长3.5%，第２季度") == ["12057", "3.5", "2"]


@pytest.mark.parametrize(
    ("rewrite", "source", "added"),
    [
        ("伊斯兰国在2015年3月控制多少人？", "How many people as of March 2015?", set()),  # the month, in digits
        ("2009年8月20日有多少家公司？", "How many companies in August 2009?", {"20"}),  # a day it invented
        ("5月可能下降多少？", "How much may it fall?", {"5"}),  # "may" is no month
    ],
)
def test_a_month_named_in_english_is_no_added_number(rewrite: str, source: str, added: set[str]) -> None:
    assert added_numbers(rewrite, source) == added
