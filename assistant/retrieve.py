"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by weighted reciprocal rank fusion.

A year or a place the question names is evidence, not a filter: the documents whose title or
years name it rank as a third list in the fusion, so a look-alike report about another year or
city ranks lower without being ruled out (reports say "过去一年" for the year they review).
A year or place that no document names at all leaves the question unanswerable.
A passage that ends announcing what follows ("如下：") comes with the chunk that follows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .chunk import next_chunk_id
from .config import Config
from .hanzi import HANZI
from .store import Generation

YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
# A passage's end that announces what follows: a colon ("如下：", "载明：").
ANNOUNCING_END = re.compile(r"[：:]\s*$")
MONTH = re.compile(r"(?<![\d.])((?:1[0-2]|0?[1-9])月)")
# A year named relative to the document's own: a question's "今年" is the report's 今年 or 本年.
THIS_YEAR = "今年"
RELATIVE_YEARS = {THIS_YEAR: ("今年", "本年"), "去年": ("去年", "上年", "过去一年", "过去的一年")}


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    doc: str
    title: str
    section: str
    text: str
    score: float
    page: int | None = None  # the PDF page the passage stands on


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    query_vector: list[float]
    unmatched_anchors: list[str]
    # The next top_k passages of the fused ranking: read when the reader rules out every sentence of the
    # first ones (another year's review, another city's report).
    further: list[Passage] = field(default_factory=list)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = 60
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum of weight / (k + rank), ranks from 1."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def years_in(text: str) -> list[str]:
    return sorted(set(YEAR.findall(text)))


def relative_years_in(text: str) -> list[str]:
    return [word for word in RELATIVE_YEARS if word in text]


def months_in(text: str) -> list[str]:
    return sorted(set(MONTH.findall(text)))


PLACE = re.compile(rf"^[{HANZI}]{{1,6}}(?:省|市|自治区|特别行政区|县|区|州|镇)$")
PLACE_SUFFIXES = ("省", "市", "县", "区", "州", "镇")
NOT_A_PLACE = re.compile(r"^(?:全|本|我|该|各|每|城|地|市|省|县|区|辖|郊|园|社|小|山|景|矿|自贸|哪|何|什么|几)")
# A place's suffix after a question word is the noun asked for ("哪个县", "哪一大洋区"), not a place named.
ASKED_BEFORE = re.compile(r"(?:哪|何|什么|几)[一个]*$")


def place_names(text: str) -> list[str]:
    """Places a question names, by their administrative suffix ("深圳市", "广东省"), not "全市"."""
    from .keyword import segment

    words = segment(text)
    found: set[str] = set()
    for i, word in enumerate(words):
        names = [(i, word)]
        if i and word in PLACE_SUFFIXES and len(words[i - 1]) >= 2:  # jieba may split "滨海" + "市"
            names.append((i - 1, words[i - 1] + word))
        for start, name in names:
            before = "".join(words[max(0, start - 3) : start])
            if PLACE.match(name) and not NOT_A_PLACE.match(name) and not ASKED_BEFORE.search(before):
                found.add(name)
    return sorted(found)


def retrieve(
    query: str, generation: Generation, embeddings, config: Config, keyword_query: str | None = None
) -> Retrieval:
    """Top passages for a query, best first, with their fused scores.

    `keyword_query` is what BM25 searches when it differs from the dense query: an English
    question is embedded as asked (the embeddings are multilingual) and searched by its Chinese terms.
    """
    query_vector = embeddings.embed_query(query)
    store = generation.vectorstore(embeddings)
    dense = store.similarity_search_by_vector(query_vector, k=config.candidates)
    keyword = generation.keyword.search(keyword_query or query, config.candidates)
    metadata = {doc.id: doc.metadata for doc in dense}
    candidates = list(dict.fromkeys([doc.id for doc in dense] + [chunk_id for chunk_id, _ in keyword]))
    metadata.update(generation.chunks_by_id([c for c in candidates if c not in metadata]))
    anchored_docs, unmatched = _anchor_documents(f"{query} {keyword_query or ''}", generation)
    anchored = [c for c in candidates if c in metadata and metadata[c]["doc_id"] in anchored_docs]
    fused = reciprocal_rank_fusion(
        [[doc.id for doc in dense], [chunk_id for chunk_id, _ in keyword], anchored],
        [config.dense_weight, config.keyword_weight, config.anchor_weight],
        k=config.rrf_k,
    )
    passages = [
        Passage(
            chunk_id=chunk_id,
            doc=meta["doc_id"],
            title=meta.get("title", ""),
            section=meta.get("section", ""),
            text=meta["text"],
            score=score,
            page=meta.get("page"),
        )
        for chunk_id, score in fused
        if (meta := metadata.get(chunk_id)) is not None
    ][: 2 * config.top_k]
    passages = _with_what_follows(passages, generation)
    return Retrieval(
        passages=passages[: config.top_k],
        query_vector=query_vector,
        unmatched_anchors=unmatched,
        further=passages[config.top_k :],
    )


def _with_what_follows(passages: list[Passage], generation: Generation) -> list[Passage]:
    """A passage that ends announcing what follows ("勘验情况如下：") is read with the next chunk of its
    document: the chunker cuts a run-on sentence (a judgment's) at a colon, and what the colon
    announces is the answer."""
    following_ids = {p.chunk_id: next_chunk_id(p.chunk_id) for p in passages if ANNOUNCING_END.search(p.text)}
    if not following_ids:
        return passages
    following = generation.chunks_by_id([i for i in following_ids.values() if i])
    extended = []
    for passage in passages:
        meta = following.get(following_ids.get(passage.chunk_id) or "")
        if meta is not None and meta["doc_id"] == passage.doc:
            passage = replace(passage, text=passage.text + _past_overlap(passage.text, meta["text"]))
        extended.append(passage)
    return extended


def _past_overlap(text: str, following: str) -> str:
    """The following chunk less the sentences it repeats from the end of `text` (the chunk overlap)."""
    for length in range(min(len(text), len(following)), 0, -1):
        if text.endswith(following[:length]):
            return following[length:]
    return following


def _anchor_documents(query: str, generation: Generation) -> tuple[set[str], list[str]]:
    """Documents that name all of the question's years and places, and anchors no document names.

    A year counts when a document's title or text names it, a place when the title or the
    index's words do.
    """
    documents = list(generation.manifest.documents.values())
    anchored: list[set[str]] = []
    unmatched: list[str] = []
    for year in years_in(query):
        in_title = {d.doc_id for d in documents if year in d.title}
        mentioned = in_title or {d.doc_id for d in documents if year in d.years}
        if mentioned:
            anchored.append(mentioned)
        else:
            unmatched.append(year)
    vocabulary = generation.keyword.vocabulary
    for place in place_names(query):
        stem = place[:-1] if len(place) > 2 else place
        in_title = {d.doc_id for d in documents if place in d.title or stem in d.title}
        if in_title:
            anchored.append(in_title)
        elif place not in vocabulary and stem not in vocabulary:
            unmatched.append(place)
    return (set.intersection(*anchored) if anchored else set()), unmatched
