"""Keyword search: Chinese segmentation, whole numbers, and BM25 scores against a reference formula."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from assistant.keyword import KeywordIndex, names_in, question_words, tokenize

pytestmark = pytest.mark.fast  # rules alone: the quick tier

CORPUS = [
    "2007年专利申请量达12,057件，其中发明专利2894件。",
    "全年登记技术合同169项，合同总金额近2.6亿元。",
    "深圳市2008年商标注册量为3,000件。",
    "广州市知识产权局获全国专利行政执法先进单位称号。",
    "The company reported revenue of 8.5 billion in 2010.",
]


def test_chinese_runs_are_segmented_into_words() -> None:
    tokens = tokenize("全年登记技术合同169项")
    assert "技术" in tokens and "合同" in tokens
    assert "全年登记技术合同" not in tokens  # a whitespace tokenizer would keep the whole run


def test_numbers_and_years_stay_whole() -> None:
    tokens = tokenize("2007年专利申请量达12,057件，金额2.6亿元，增长33.2%")
    for number in ("2007", "12057", "2.6", "33.2"):
        assert number in tokens
    assert "12" not in tokens and "057" not in tokens and "6" not in tokens


def test_english_is_lowercased_without_stopwords() -> None:
    assert tokenize("How many Patents were granted in 2007?") == ["patents", "granted", "2007"]


def reference_bm25(query: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> list[float]:
    """Lucene's BM25 (bm25s' default variant), written out from the formula: no (k1 + 1) factor."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    scores = []
    for doc in docs:
        score = 0.0
        for term in set(query):
            df = sum(1 for d in docs if term in d)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            score += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


@pytest.mark.parametrize("query", ["技术合同金额", "2007年发明专利", "专利执法称号", "revenue 2010", "深圳 商标"])
def test_bm25_scores_match_the_reference(query: str) -> None:
    index = KeywordIndex.build([f"c{i}" for i in range(len(CORPUS))], [tokenize(t) for t in CORPUS])
    got = dict(index.search(query, k=len(CORPUS)))
    expected = reference_bm25(tokenize(query), [tokenize(t) for t in CORPUS])
    for i, score in enumerate(expected):
        assert got.get(f"c{i}", 0.0) == pytest.approx(score, rel=1e-4, abs=1e-6)
    assert max(got, key=got.get) == f"c{max(range(len(expected)), key=expected.__getitem__)}"


def test_saved_index_loads_and_answers_the_same(tmp_path: Path) -> None:
    index = KeywordIndex.build(["a", "b", "c", "d", "e"], [tokenize(t) for t in CORPUS])
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert loaded.search("技术合同", 3) == index.search("技术合同", 3)
    assert loaded.search("完全无关的词语", 3) == []


def test_empty_index_answers_nothing(tmp_path: Path) -> None:
    index = KeywordIndex.build([], [])
    index.save(tmp_path / "kw")
    assert KeywordIndex.load(tmp_path / "kw").search("专利", 5) == []


def test_a_question_word_glued_to_a_function_character_is_written_as_sentences_write_it() -> None:
    # jieba's HMM makes "钱惺有" and "方是", words no sentence writes; dictionary words stay whole.
    assert "钱惺有" in tokenize("钱惺有哪些代表作") and "钱惺" in question_words("钱惺有哪些代表作")
    assert question_words("该书的出版方是谁") == ["该书", "出版", "方", "谁"]
    assert question_words("文、赋及诗各多少篇") == ["文", "赋", "诗", "各", "篇"]
    assert "哪支" in question_words("冠军是哪支球队")  # the question word keeps its measure word
    assert question_words("2019年增长12.5%") == tokenize("2019年增长12.5%")


def test_hidden_names_of_judgments_are_names() -> None:
    assert names_in("被告人赵某某担任的职务是什么？") == ("赵某某",)
    assert "夏1某" in names_in("被告人夏1某为何离开？")
    assert "某某" not in " ".join(names_in("某某公司的地址"))
    assert names_in("被告人周某丙以扣发奖金相威胁") == ("周某丙",)  # 丙 ends the name before a verb
    assert names_in("李某甲方提供场地") == ("李某",)  # 甲方 is a contract's party
