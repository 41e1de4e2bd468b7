"""Several look-alike reports in one index: each question reaches the report it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Config, answer, build_index
from assistant.config import DEFAULT_CORPUS_DIR
from assistant.evaluate import load_questions, run_eval

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def three_reports(base_config: Config, tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The bundled 2007 Guangzhou report beside made-up 2008 Shenzhen and 2009 Beijing reports."""
    config = base_config.replace(index_dir=tmp_path_factory.mktemp("three") / "index")
    build_index([DEFAULT_CORPUS_DIR, DATA / "shenzhen-2008.txt", DATA / "beijing-2009.md"], config=config)
    return config


@pytest.mark.parametrize(
    ("question", "doc", "figure"),
    [
        ("2008年深圳市专利授权量是多少？", "shenzhen-2008.txt", "18805"),
        ("2007年广州市专利授权量是多少？", "guangzhou-ip-office-2007-work-summary.txt", "8524"),
        ("北京市2009年专利授权量是多少？", "beijing-2009.md", "22921"),
        ("2009年北京市常住人口是多少？", "beijing-2009.md", "1755万人"),
        ("北京市技术合同成交额增长了多少？", "beijing-2009.md", "18.4%"),
        ("How many PCT international patent applications did Shenzhen file in 2008?", "shenzhen-2008.txt", "2709"),
    ],
)
def test_question_reaches_the_report_it_names(three_reports: Config, question: str, doc: str, figure: str) -> None:
    result = answer(question, config=three_reports, mode="extractive")
    assert result.found, result.text
    assert figure in result.text.splitlines()[0].replace(",", "")
    assert result.sources[0].doc == doc


@pytest.mark.parametrize(
    "question",
    [
        "2008年广州市专利授权量是多少？",  # a year of one report, the city of another
        "上海市2009年专利授权量是多少？",  # a city no report covers
        "深圳市2010年专利申请量是多少？",  # a year no report covers
        "What was Shenzhen's population in 2008?",  # a subject no report covers
    ],
)
def test_questions_no_single_report_covers_are_refused(three_reports: Config, question: str) -> None:
    result = answer(question, config=three_reports, mode="extractive")
    assert not result.found, result.text


def test_markdown_headings_become_sections(three_reports: Config) -> None:
    result = answer("北京市2009年专利授权量是多少？", config=three_reports, mode="extractive")
    assert result.sources[0].section == "二、科技"
    assert "##" not in result.sources[0].text


@pytest.fixture(scope="module")
def annual_reports(base_config: Config, tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A company annual report (.docx with a table), a city bulletin (GB18030 HTML) and a
    university report (Markdown), with questions written apart from the development set."""
    config = base_config.replace(index_dir=tmp_path_factory.mktemp("annual") / "index")
    build_index([DATA / "annual"], config=config)
    return config


def test_other_kinds_of_report_are_answered(annual_reports: Config) -> None:
    # 62% right and 4 of 7 refusals since the glossary entries copied from this set's answers were
    # removed and the reader was rebuilt for documents nobody here wrote (three refusals fail on a
    # figure about a neighbouring subject: 净资产收益率 for 资产负债率); ../shared/eval/external is
    # the measure now (make eval).
    report = run_eval(load_questions(DATA / "annual" / "qa.jsonl"), annual_reports, mode="extractive")
    assert report["accuracy"] >= 0.6, report["failures"]
    assert report["evidence_hit@3"] >= 0.9
    assert report["by_group"]["kind:refuse"]["accuracy"] >= 0.55, report["failures"]


def test_tables_keep_their_headers(annual_reports: Config) -> None:
    result = answer("华晟精密2022年营业收入是多少？", config=annual_reports, mode="extractive")
    assert result.sources[0].doc == "company-2022-annual-report.docx"
    assert "2022年营业收入为5836217450.32" in result.text
