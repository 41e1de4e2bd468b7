"""Cleaning keeps real text: at least 99.5% of the characters that are not page furniture survive it.

Characters are counted as CJK ideographs and ASCII digits after NFKC, the part of a text that
clean_text's width and punctuation repairs leave alone. Which lines are furniture is decided here
by a definition of its own, simpler than the cleaner's: a row of short links, or a line that starts
with a navigation or notice word and holds no sentence punctuation. Any other line is text, the
notices it may start with included, so the share measured is a floor.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from assistant.ingest import clean_text

SHARED = Path(__file__).parents[2] / "shared"
MIN_SURVIVING_SHARE = 0.995

COUNTED_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f0-9]")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
FURNITURE_WORDS = (
    "上一篇", "下一篇", "相关阅读", "推荐阅读", "返回", "打印", "关闭", "分享到", "【",
    "来源", "作者", "编辑", "责任编辑", "发布时间", "发表时间", "更新时间", "浏览", "点击", "字号", "字体",
    "当前位置", "您现在的位置", "首页", "版权所有", "Copyright", "©",
)  # fmt: skip
SENTENCE_PUNCTUATION = re.compile(r"[，。！？；]")

# Web pages as collected, written for this test; [[...]] marks page furniture, the rest is text.
WEB_SAMPLES = (
    "[[来源：滨江日报]] 5日，滨江市第三届龙舟邀请赛在东湖举行，共有48支队伍参赛。",
    "[[© 2024 北岸新闻网 版权所有。]] 据北岸新闻网报道，北岸市今年新建口袋公园137个。",
    "[[您现在的位置 首页 > 新闻中心 > 本地新闻]] 当地时间10月31日，南湾港集装箱吞吐量达到120万标准箱。",
    "[[当前位置：首页 > 政务公开 > 统计信息]]\n"
    "[[发布时间：2023-04-18 10:00 来源：市统计局 字号：大 中 小]]\n"
    "2023年一季度全市经济运行情况\n"
    "一季度，全市地区生产总值完成1,234.5亿元，同比增长5.2%。其中，第一产业增加值45.6亿元，增长3.1%。\n"
    "全市规模以上工业增加值同比增长6.8%，高技术制造业增加值增长12.3%。\n"
    "[[【打印本页】 【关闭窗口】]]\n"
    "[[上一篇：2022年全市国民经济和社会发展统计公报]]\n"
    "[[下一篇：3月份全市居民消费价格变动情况]]\n"
    "[[网站地图 | 联系我们 | 隐私声明]]\n"
    "[[版权所有：某市人民政府办公室]]",
    "[[发布日期：2022年11月3日 09:15  作者：王磊]] 今年前三季度，全省新能源汽车产量达到36.2万辆，"
    "同比增长87%，占全国比重提高到8.5%。\n"
    "[[分享到： 浏览次数：2,381]]",
    "[[首页 >> 公告]] 东湖水质监测结果显示，今年8月各监测点位水质均达到III类标准，其中5个点位达到II类。\n"
    "[[Copyright © 2010-2023 Lakeside Daily. All Rights Reserved]]",
)
FURNITURE_MARK = re.compile(r"\[\[.*?\]\]")


def _counted(text: str) -> str:
    return "".join(COUNTED_CHAR.findall(unicodedata.normalize("NFKC", text)))


def _is_furniture(line: str) -> bool:
    line = line.strip()
    if SENTENCE_PUNCTUATION.search(line):
        return False
    is_link_row = line.count("|") + line.count("｜") >= 2
    return is_link_row or line.startswith(FURNITURE_WORDS)


def _text_chars_kept(raw: str, text_lines: list[str]) -> tuple[int, int]:
    """(counted characters of raw's text lines, how many of them clean_text keeps, in order).

    The cleaner removes a line's start (its notices) or the whole line, never its middle, so what
    a line keeps is the longest suffix of it found in the output after the previous line's match.
    """
    output = _counted(clean_text(raw))
    total = kept = position = 0
    for line in text_lines:
        chars = _counted(line)
        total += len(chars)
        start, end = 0, len(chars)  # binary search for the first start whose suffix is found
        while start < end:
            middle = (start + end) // 2
            if output.find(chars[middle:], position) >= 0:
                end = middle
            else:
                start = middle + 1
        if start < len(chars):
            position = output.find(chars[start:], position) + len(chars) - start
            kept += len(chars) - start
    return total, kept


def _shared_text_sets() -> dict[str, list[Path]]:
    """The bundled corpus and every external set's documents, read where they stand (never copied)."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the tests need the shared material beside the repository (../shared).")
    sets = {"corpus": sorted(SHARED.glob("corpus/*.txt"))}
    sets |= {folder.name: sorted(folder.glob("docs/*.txt")) for folder in sorted(SHARED.glob("eval/external/*/"))}
    empty = [name for name, paths in sets.items() if not paths]
    assert len(sets) > 1 and not empty, f"{SHARED}: no external sets, or sets without documents: {empty}"
    return sets


def test_shared_texts_survive_cleaning() -> None:
    failures = []
    for name, paths in _shared_text_sets().items():
        counts = {}
        for path in paths:
            raw = path.read_text(encoding="utf-8")
            text_lines = [line for line in LINE_BREAK.split(raw) if not _is_furniture(line)]
            counts[path.name] = _text_chars_kept(raw, text_lines)
        failures += _survival_failure(name, counts)
    assert not failures, "\n".join(failures)


def test_web_samples_survive_cleaning() -> None:
    counts = {}
    for number, sample in enumerate(WEB_SAMPLES):
        raw = sample.replace("[[", "").replace("]]", "")
        counts[f"sample {number}"] = _text_chars_kept(raw, FURNITURE_MARK.sub("", sample).split("\n"))
    failures = _survival_failure("web samples", counts)
    assert not failures, "\n".join(failures)


def _survival_failure(name: str, counts: dict[str, tuple[int, int]]) -> list[str]:
    """A message when fewer than MIN_SURVIVING_SHARE of the set's text characters survive."""
    total = sum(chars for chars, _ in counts.values())
    kept = sum(chars for _, chars in counts.values())
    if kept >= MIN_SURVIVING_SHARE * total:
        return []
    worst = sorted(counts.items(), key=lambda item: item[1][1] / item[1][0] if item[1][0] else 1.0)[:5]
    return [f"{name}: kept {kept} of {total} text characters ({kept / total:.2%}); worst (total, kept): {worst}"]
