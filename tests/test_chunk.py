"""Chunking: sentence boundaries, numbers and quoted titles kept whole, sections, stable ids."""

from __future__ import annotations

import itertools
import re

import pytest

from assistant.chunk import chunk_document, split_clauses, split_sentences
from assistant.config import DEFAULT_CORPUS_DIR
from assistant.ingest import Document, load_document

pytestmark = pytest.mark.fast  # rules alone: the quick tier

REPORT = next(DEFAULT_CORPUS_DIR.glob("*.txt"))


def _doc(text: str, title: str = "测试报告") -> Document:
    return Document(doc_id="t.txt", title=title, path="/t.txt", text=text, content_hash="ab" * 32)


def test_sentences_split_at_chinese_and_ascii_ends() -> None:
    assert split_sentences("第一句。第二句！第三句？第四句；Fifth one. Sixth!") == [
        "第一句。",
        "第二句！",
        "第三句？",
        "第四句；",
        "Fifth one.",
        "Sixth!",
    ]


def test_an_ascii_period_between_chinese_characters_ends_a_sentence() -> None:
    assert split_sentences("货币出现高通胀.新货币只以纸币发行.面值为2.5元。") == [
        "货币出现高通胀.",
        "新货币只以纸币发行.",
        "面值为2.5元。",
    ]


def test_no_split_inside_numbers_or_quoted_titles() -> None:
    text = "合同总金额近2.6亿元。他说：“今年增长12.5%。明年更好。”随后下发《关于印发〈方案〉的通知。附件》。完毕。"
    assert split_sentences(text) == [
        "合同总金额近2.6亿元。",
        "他说：“今年增长12.5%。明年更好。”",
        "随后下发《关于印发〈方案〉的通知。附件》。",
        "完毕。",
    ]


def test_clauses_keep_thousands_separators() -> None:
    assert split_clauses("达12,057件，其中发明专利2,894件，同比增长33.2%。") == [
        "达12,057件，",
        "其中发明专利2,894件，",
        "同比增长33.2%。",
    ]


def test_sections_are_detected_and_nested() -> None:
    text = "一、总体情况\n全年工作顺利。\n（一）专利工作\n——申请量增长。申请达100件。\n（二）商标工作\n注册商标50件。\n二、明年计划\n继续努力。"
    sections = {c.section for c in chunk_document(_doc(text), chunk_size=300, chunk_overlap=0)}
    assert sections == {
        "一、总体情况",
        "一、总体情况 > （一）专利工作 > ——申请量增长",
        "一、总体情况 > （二）商标工作",
        "二、明年计划",
    }


def test_a_line_naming_a_year_dates_the_sections_under_it() -> None:
    text = (
        "——2014年1月9日在青石市人民代表大会上\n"
        "2013年工作回顾\n一、经济运行\n全市生产总值增长9%。\n"
        "2014年工作安排\n全年生产总值预期增长8%。\n"
        "2014年，我们将继续努力。"
    )
    sections = [c.section for c in chunk_document(_doc(text), chunk_size=300, chunk_overlap=0)]
    assert sections == [
        "——2014年1月9日在青石市人民代表大会上",  # a dated subtitle is a "——" heading, not a period
        "2013年工作回顾 > 一、经济运行",
        "2014年工作安排",  # "2014年，我们…" is a sentence of it, not a heading
    ]


def test_a_line_naming_a_five_year_plan_dates_the_sections_under_it() -> None:
    text = (
        "“十一五”时期工作回顾\n一、港口建设\n全市港口货物吞吐量增长1.5倍。\n"
        "十二五时期主要任务\n全市港口货物吞吐量力争翻一番。\n"
        "第十五届运动会在我市举行\n"
    )
    sections = [c.section for c in chunk_document(_doc(text), chunk_size=300, chunk_overlap=0)]
    assert sections == [
        "“十一五”时期工作回顾 > 一、港口建设",
        "十二五时期主要任务",  # "第十五届" is a count, not a plan: a line of the section above
    ]


def test_report_chunks_respect_size_sections_and_numbers() -> None:
    doc = load_document(REPORT)
    chunks = chunk_document(doc, chunk_size=300, chunk_overlap=60)
    assert len(chunks) >= 5
    assert all(len(c.text) <= 300 for c in chunks)
    numbers = set(re.findall(r"\d+(?:\.\d+)?", doc.text))
    for chunk in chunks:
        for number in re.findall(r"\d+(?:\.\d+)?", chunk.text):
            assert number in numbers, f"number {number} was cut in {chunk.chunk_id}"
        assert chunk.section.startswith("（")
        assert chunk.embed_text.startswith(f"{doc.title} / {chunk.section}\n")
    assert any("专利技术发明和产业化深入推进" in c.section for c in chunks)


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    sentences = [f"第{i}句话讲的是一件事情，数字是{i * 111}件。" for i in range(1, 30)]
    chunks = chunk_document(_doc("".join(sentences)), chunk_size=120, chunk_overlap=40)
    assert len(chunks) > 3
    for previous, current in itertools.pairwise(chunks):
        first_sentence = split_sentences(current.text)[0]
        assert first_sentence in previous.text


def test_long_sentence_is_broken_at_commas_not_inside_numbers() -> None:
    sentence = "，".join(f"第{i}项指标达到{i * 1234.5}万元" for i in range(1, 40)) + "。"
    chunks = chunk_document(_doc(sentence), chunk_size=100, chunk_overlap=0)
    assert all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text for c in chunks) == sentence


def test_chunk_ids_are_stable_and_content_derived() -> None:
    doc = load_document(REPORT)
    first = chunk_document(doc, chunk_size=300, chunk_overlap=60)
    second = chunk_document(load_document(REPORT), chunk_size=300, chunk_overlap=60)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert all(c.chunk_id.startswith(doc.content_hash[:16]) for c in first)
    assert len({c.chunk_id for c in first}) == len(first)


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError):
        chunk_document(_doc("一句话。"), chunk_size=50, chunk_overlap=50)


def test_a_pdfs_chunks_keep_their_page_and_never_cross_one() -> None:
    pages = [
        "一、专利工作\n" + "全年专利申请量达12057件，其中发明专利2894件。" * 6,
        "授权量8524件，同比增长33.2%。" * 3,
        "二、技术市场\n全年登记技术合同169项。",
    ]
    text = "\n\n".join(pages)
    starts = tuple((text.index(page), number) for number, page in ((1, pages[0]), (3, pages[1]), (4, pages[2])))
    doc = Document(
        doc_id="scan.pdf", title="报告", path="/scan.pdf", text=text, content_hash="ab" * 32, page_starts=starts
    )
    chunks = chunk_document(doc, chunk_size=120, chunk_overlap=30)
    assert len(chunks) > 3
    for chunk in chunks:
        on_pages = [number for page, number in zip(pages, (1, 3, 4), strict=True) if chunk.text in page]
        assert on_pages == [chunk.page], (chunk.page, chunk.text)
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)
    assert {c.page for c in chunks} == {1, 3, 4}  # page 2 had no text; the numbers stay the PDF's
    assert chunks[-1].section == "二、技术市场"
    assert all(
        c.page is None for c in chunk_document(_doc("全年登记技术合同169项。"), chunk_size=120, chunk_overlap=30)
    )


def test_a_sentence_cut_by_a_page_break_is_finished_on_the_page_where_it_starts() -> None:
    pages = [
        "2007年，专利申请量达12057件，其中发明专利2894件，授权量",
        "8524件，同比增长33.2%。全年登记技术合同169项。",
    ]
    text = "\n\n".join(pages)
    doc = Document(
        doc_id="scan.pdf",
        title="报告",
        path="/scan.pdf",
        text=text,
        content_hash="ab" * 32,
        page_starts=((0, 6), (len(pages[0]) + 2, 7)),
    )
    chunks = chunk_document(doc, chunk_size=60, chunk_overlap=10)
    assert [(c.page, c.text) for c in chunks] == [
        (6, "2007年，专利申请量达12057件，其中发明专利2894件，授权量8524件，同比增长33.2%。"),
        (7, "全年登记技术合同169项。"),
    ]
