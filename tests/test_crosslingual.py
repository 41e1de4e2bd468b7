"""English questions about Chinese documents without a language model: glossary and pinyin names."""

from __future__ import annotations

import pytest

from assistant.crosslingual import chinese_search_terms, dictionary_word, glossary, pinyin_names

pytestmark = pytest.mark.fast  # rules alone: the quick tier

VOCABULARY = frozenset({"广州", "广州市", "深圳", "专利", "授权", "申请", "金额", "总金额", "合同", "技术", "试点"})


def test_glossary_phrases_win_over_their_words() -> None:
    terms = chinese_search_terms("How many invention patents were granted?", VOCABULARY).split()
    assert "发明专利" in terms and "授权" in terms
    assert "发明" not in terms


def test_one_word_per_term_the_one_the_documents_use() -> None:
    terms = chinese_search_terms("What was the total value of technology contracts?", VOCABULARY).split()
    assert "金额" in terms and "价值" not in terms and "产值" not in terms
    assert terms.count("合同") == 1


def test_pinyin_names_are_matched_to_indexed_words() -> None:
    names = pinyin_names(VOCABULARY)
    assert names["guangzhou"] == "广州" and names["shenzhen"] == "深圳"
    terms = chinese_search_terms("How many patents did Guangzhou grant in 2007?", VOCABULARY).split()
    assert {"广州", "专利", "授权", "2007"} <= set(terms)
    assert "did" not in terms and "in" not in terms


def test_unknown_words_stay_so_that_they_count_as_missing() -> None:
    assert "zebra" in chinese_search_terms("How many zebras live in Guangzhou?", VOCABULARY)


def test_glossary_entries_are_well_formed() -> None:
    entries = glossary()
    assert len(entries) > 200
    for english, chinese in entries.items():
        assert english and all(word == word.lower() for word in english)
        assert chinese and all(
            any("\u4e00" <= ch <= "\u9fff" or ch.isalnum() or ch == "%" for ch in c) for c in chinese
        )


def test_dictionary_gives_the_translation_the_documents_use() -> None:
    vocabulary = frozenset({"华沙", "大学", "波兰"})
    assert dictionary_word("warsaw", vocabulary) == "华沙"
    assert dictionary_word("universities", vocabulary) == "大学"
    # A word whose translations the documents never use stays untranslated (it counts as missing).
    assert dictionary_word("zebra", vocabulary) is None
    assert dictionary_word("the", vocabulary) is None


def test_english_function_words_are_not_search_terms() -> None:
    terms = chinese_search_terms(
        "When was he elected by the University of Warsaw?", frozenset({"华沙", "大学", "选举"})
    )
    assert set(terms.split()) >= {"华沙", "大学", "选举"}
    assert not {"he", "was", "by"} & set(terms.split())
