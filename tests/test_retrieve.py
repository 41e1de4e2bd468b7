"""Retrieval's rules: weighted reciprocal rank fusion, and a question's years and places as anchors.

A real Chroma index of three look-alike reports, embedded by the fake embedder (tests/fakes.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Config, build_index
from assistant.chunk import next_chunk_id
from assistant.config import DEFAULT_CORPUS_DIR
from assistant.embed import get_embedder
from assistant.retrieve import _past_overlap, place_names, reciprocal_rank_fusion, retrieve, years_in
from assistant.store import open_store

pytestmark = pytest.mark.fast

DATA = Path(__file__).parent / "data"
REPORTS = {
    "2007": "guangzhou-ip-office-2007-work-summary.txt",
    "2008": "shenzhen-2008.txt",
    "2009": "beijing-2009.md",
}


def test_fusion_adds_weighted_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], [1.0, 0.5], k=60))
    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 0.5 / 61, "c": 0.5 / 62})
    assert [item for item, _ in reciprocal_rank_fusion([["a", "b"], ["b", "c"]], [1.0, 0.5], k=60)] == ["b", "a", "c"]


def test_fusion_weights_decide_between_rankings_that_disagree() -> None:
    rankings = [["dense-first", "keyword-first"], ["keyword-first", "dense-first"]]
    assert reciprocal_rank_fusion(rankings, [1.0, 0.5])[0][0] == "dense-first"
    assert reciprocal_rank_fusion(rankings, [0.5, 1.0])[0][0] == "keyword-first"
    with pytest.raises(ValueError):
        reciprocal_rank_fusion(rankings, [1.0])  # a weight per ranking


def test_years_and_places_named_in_a_question() -> None:
    assert years_in("2008年与2009年相比，1888件") == ["2008", "2009"]
    assert years_in("编号120081号") == []
    assert place_names("2008年深圳市专利授权量是多少？") == ["深圳市"]
    assert place_names("全市专利授权量是多少？") == []  # 全市 is the report's own city, not a place named
    # The noun a question word asks for names no place, written whole or split from its suffix.
    assert place_names("澉浦镇西边与哪个县接壤？") == ["澉浦镇"]
    assert place_names("该鱼分布于哪一大洋区？") == []
    assert place_names("滨海市和哪个市相邻？") == ["滨海市"]


@pytest.fixture()
def three_reports(fake_index_config: Config) -> Config:
    build_index([DEFAULT_CORPUS_DIR, DATA / REPORTS["2008"], DATA / REPORTS["2009"]], config=fake_index_config)
    return fake_index_config


def _retrieve(question: str, config: Config):
    return retrieve(question, open_store(config).open(), get_embedder(config), config)


@pytest.mark.parametrize("year", sorted(REPORTS))
def test_the_report_of_the_year_asked_ranks_first_and_the_others_stay(three_reports: Config, year: str) -> None:
    retrieval = _retrieve(f"{year}年专利授权量是多少件？", three_reports.replace(top_k=three_reports.candidates))
    docs = [p.doc for p in retrieval.passages]
    assert docs[0] == REPORTS[year] and retrieval.unmatched_anchors == []
    assert len(set(docs)) > 1  # evidence, not a filter: the other reports are still read
    assert [p.score for p in retrieval.passages] == sorted((p.score for p in retrieval.passages), reverse=True)


def test_only_the_anchored_report_s_passages_gain_from_the_year(three_reports: Config) -> None:
    question, every = "2008年专利授权量是多少件？", three_reports.candidates
    anchored = {p.chunk_id: p for p in _retrieve(question, three_reports.replace(top_k=every)).passages}
    plain = {p.chunk_id: p for p in _retrieve(question, three_reports.replace(top_k=every, anchor_weight=0.0)).passages}
    assert anchored.keys() == plain.keys()
    for chunk_id, passage in anchored.items():
        if passage.doc == REPORTS["2008"]:
            assert passage.score > plain[chunk_id].score
        else:
            assert passage.score == pytest.approx(plain[chunk_id].score)


def test_the_further_passages_are_the_next_of_the_same_ranking(three_reports: Config) -> None:
    question = "专利授权量是多少件？"
    retrieval = _retrieve(question, three_reports.replace(top_k=3))
    deeper = _retrieve(question, three_reports.replace(top_k=6)).passages
    assert len(retrieval.passages) == len(retrieval.further) == 3
    assert [p.chunk_id for p in retrieval.passages + retrieval.further] == [p.chunk_id for p in deeper]


def test_a_year_or_place_no_report_names_is_reported_unmatched(three_reports: Config) -> None:
    assert _retrieve("2015年专利授权量是多少件？", three_reports).unmatched_anchors == ["2015"]
    assert _retrieve("杭州市专利授权量是多少件？", three_reports).unmatched_anchors == ["杭州市"]
    assert _retrieve("深圳市专利授权量是多少件？", three_reports).unmatched_anchors == []


def test_the_chunk_after_a_passage_and_what_it_repeats() -> None:
    assert next_chunk_id("473b3251-eafb4aff-00009") == "473b3251-eafb4aff-00010"
    assert next_chunk_id("no-position") == ""
    # The overlap is whole sentences the next chunk repeats from the passage's end.
    assert _past_overlap("甲。乙。勘验情况如下：", "勘验情况如下：“1、破损；2、烧焦”") == "“1、破损；2、烧焦”"
    assert _past_overlap("甲。乙：", "丙。丁") == "丙。丁"


def test_a_passage_that_announces_what_follows_is_read_with_the_next_chunk(fake_index_config: Config) -> None:
    build_index([DATA / "inspection-report.txt"], config=fake_index_config)
    chunks = open_store(fake_index_config).open().collection.get(include=["metadatas"])
    first = next(m["text"] for i, m in zip(chunks["ids"], chunks["metadatas"], strict=True) if i.endswith("-00000"))
    assert first.endswith("勘验情况如下：")  # the case: the chunker cut at the colon
    passages = _retrieve("勘验情况如下", fake_index_config).passages
    announcing = next(p for p in passages if p.chunk_id.endswith("-00000"))
    assert announcing.text.startswith(first) and announcing.text.endswith("另查明，仓库于次日停业整顿。")
    assert announcing.text.count("勘验情况如下：") == 1
    later = next(p for p in passages if p.chunk_id.endswith("-00001"))
    assert later.text.startswith("“1、")  # a passage that announces nothing stays as stored
