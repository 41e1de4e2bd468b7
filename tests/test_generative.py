"""Generative answers: the real local model for a few short questions, and the checks around it."""

from __future__ import annotations

import re

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import Answer, Config, answer, answer_stream
from assistant.api import _embedder
from assistant.generative import check_answer, generate_answer, is_refusal
from assistant.retrieve import retrieve
from assistant.store import open_store


@pytest.fixture(scope="module")
def llm_config(corpus_index: Config) -> Config:
    return corpus_index.replace(llm="local")


def _figures(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", re.sub(r"\[\d+\]", "", text).replace(",", "")))


@pytest.mark.llm
def test_chinese_figure_is_streamed_cited_and_checked(llm_config: Config) -> None:
    pieces: list[str] = []
    result = None
    for item in answer_stream("2007年广州市专利授权量是多少？", config=llm_config, mode="llm"):
        if isinstance(item, str):
            pieces.append(item)
        else:
            result = item
    assert isinstance(result, Answer)
    assert len(pieces) > 1, "the answer should arrive in pieces"
    assert result.mode == "llm" and result.found
    assert "8524" in result.text and re.search(r"\[\d\]", result.text)
    assert "figure guard passed" in result.checks
    cited = result.sources[int(re.search(r"\[(\d)\]", result.text).group(1)) - 1]
    assert "8524" in cited.text and "8524" in cited.highlight


@pytest.mark.llm
def test_english_question_gets_an_english_answer_with_the_original_figure(llm_config: Config) -> None:
    result = answer("How many patents did Guangzhou grant in 2007?", config=llm_config, mode="llm")
    assert result.found and "8524" in result.text.replace(",", "")
    assert not re.search(r"[\u4e00-\u9fff]{4,}", re.sub(r"\(.*?\)|“.*?”|\".*?\"", "", result.text))
    assert _figures(result.text) <= _figures(" ".join(s.text for s in result.sources)) | {"2007"}


@pytest.mark.llm
def test_unanswerable_question_is_refused(llm_config: Config) -> None:
    result = answer("2007年广州市的人口是多少？", config=llm_config, mode="llm")
    assert not result.found and result.text == "报告中没有找到这个问题的答案。"


@pytest.mark.llm
def test_follow_up_is_condensed_with_the_model(llm_config: Config) -> None:
    first = "全年登记了多少项技术合同？"
    earlier = answer(first, config=llm_config, mode="llm")
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": earlier.text}]
    result = answer("总免税额呢？", history, config=llm_config, mode="llm")
    assert result.condensed_question != "总免税额呢？"
    assert "免税" in result.condensed_question
    assert result.found and "1200" in result.text


def test_figure_guard_catches_a_planted_wrong_figure(corpus_index: Config) -> None:
    """A fake model states a figure no passage has; the extractive answer is given instead."""
    liar = GenericFakeChatModel(messages=iter([AIMessage("2007年广州市专利授权量为9999件[1]。")]))
    generation = open_store(corpus_index).open()
    embeddings = _embedder(corpus_index)
    question = "2007年广州市专利授权量是多少？"
    retrieval = retrieve(question, generation, embeddings, corpus_index)
    items = list(
        generate_answer(question, question, question, question, retrieval, liar, embeddings, corpus_index, "zh")
    )
    text, found, sources, checks, mode = items[-1]
    assert mode == "extractive" and found
    assert "9999" not in text and "8524" in text
    assert any("figure guard failed" in c and "9999" in c for c in checks)
    assert "8524" in sources[0].text


@pytest.mark.parametrize(
    ("answer_text", "verdict"),
    [
        ("合同总金额近2.6亿元[1]。", "ok"),
        ("The total was 近2.6亿元 (nearly 260 million yuan) [1].", "ok"),
        ("The total was nearly 2.6 billion yuan [1].", "guard"),
        ("合同总金额近2.6亿元[2]。", "corrected"),
        ("合同总金额为3.1亿元[1]。", "guard"),
        ("总金额很高。", "uncited"),
    ],
)
def test_check_answer(answer_text: str, verdict: str) -> None:
    quoted = ["此外，全年登记技术合同169项，合同总金额近2.6亿元，总免税额1200余万元。", "授权量8524件。"]
    checked = check_answer(answer_text, quoted, "技术合同总金额是多少？")
    if verdict == "guard":
        assert isinstance(checked, str) and "figure guard failed" in checked
    elif verdict == "uncited":
        assert checked == "the model cited no passage"
    else:
        text, cited, notes = checked
        assert cited == [0]
        assert ("citations corrected" in notes[0]) == (verdict == "corrected")
        assert "[1]" in text and "[2]" not in text


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("报告中没有找到这个问题的答案。", True),
        ("The documents do not say.", True),
        ("The mayor is not mentioned in the given passages.", True),
        ("授权量8524件[1]。", False),
        ("The report does not mention 2009, but 2007 had 8524 [1].", False),
    ],
)
def test_refusals_are_recognised(text: str, refused: bool) -> None:
    assert is_refusal(text, "en") is refused
