"""Extractive answers: pick the sentence and clause that answer, state the figure, quote, cite.

Sentences are scored by the question's terms (weighted by how rare they are among the
candidates) and by embedding similarity, which also carries English questions to Chinese text.
When no sentence covers the question well enough, the answer is "not found".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .answer import Source, to_sources
from .chunk import split_clauses, split_sentences
from .figures import Figure, english_figure, find_figures
from .keyword import tokenize
from .prompts import language_of, template
from .retrieve import Passage, Retrieval, anchors_missing, years_in

QUANTITY_QUESTION = re.compile(
    r"多少|几[个件项家人名次年位大类种所批届倍]?|数量|数目|总额|金额|总量|比例|百分|增长|"
    r"\bhow (?:many|much)\b|\bnumber of\b|\bamount\b|\btotal\b|\bpercent|\bshare of\b|\bcount\b",
    re.IGNORECASE,
)
# Words that frame a question but say nothing about its subject.
GENERIC_TERMS = frozenset(
    "年 全年 今年 去年 一年 谁 何时 哪里 共 共有 一共 总共 总 达到 达 是 有 多 少 数量 数目 情况 方面 内容 问题 什么 哪个 哪些 哪 几 多少 主要 具体 "
    "大约 大概 左右 其中 分别 请 告诉 我 我们 呢 吗 了 的 被 成 what which who how many much was were is are the did does do in of".split()
)
# Calibrated for multilingual-e5: unrelated sentences of the same report score about 0.80-0.85.
MIN_SIMILARITY = {"zh": 0.86, "en": 0.80}
MIN_COVERAGE = 0.3
# Sentences embedded per question: embedding is the slow part of an extractive answer, and
# Chinese questions are ranked well by their terms, English ones only by meaning.
SEMANTIC_CANDIDATES = {"zh": 3, "en": 8}
PASSAGES_READ = 4


@dataclass(frozen=True)
class Evidence:
    passage_index: int
    sentence: str
    span: str
    figures: tuple[Figure, ...]
    coverage: float
    similarity: float
    # Share of what is asked (the question's terms less its years and the report's title words).
    asked_coverage: float = 1.0
    # The question's years and places that the sentence, its section and its title do not name.
    missing_anchors: tuple[str, ...] = ()


def is_quantity_question(question: str) -> bool:
    return bool(QUANTITY_QUESTION.search(question))


ASKING = re.compile(r"^(?:多少|几)")
LINKING = frozenset("了 是 有 为 达 达到 共 共有 一共 总共 的 约 大约".split())


def asked_terms(question: str) -> list[str]:
    """The words next to 多少/几: what is asked ("成交额增长了多少" -> 增长; "有多少家企业" -> 企业)."""
    from .keyword import segment

    words = [w for w in segment(question) if w.strip()]
    asked: list[str] = []
    for i, word in enumerate(words):
        if not ASKING.match(word):
            continue
        before = [w for w in words[:i] if w not in LINKING]
        after = [
            w for w in words[i + 1 :] if w not in LINKING and len(w) > 1 and not re.fullmatch(r"[？?。，,！!]+", w)
        ]
        asked += before[-1:] + after[:1]
    return asked


def question_terms(question: str) -> list[str]:
    seen: dict[str, None] = {}
    for term in tokenize(question):
        if term not in GENERIC_TERMS and term not in seen:
            seen[term] = None
    return list(seen)


def find_evidence(
    question: str,
    passages: list[Passage],
    embeddings,
    query_vector: list[float],
    lang: str,
    *,
    focus: str | None = None,
) -> Evidence | None:
    """The best answering sentence among the top passages, or None when none answers.

    `question` (standalone, after condensing a follow-up) picks the sentence; `focus` (the
    user's own words) picks the clause within it, so "总免税额呢？" states the tax figure.
    """
    candidates: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, passage in enumerate(passages[:PASSAGES_READ]):
        for sentence in split_sentences(passage.text):
            if sentence not in seen and len(sentence) >= 4:
                seen.add(sentence)
                candidates.append((index, sentence))
    if not candidates:
        return None

    terms = question_terms(question)
    weights = term_weights(terms, [s for _, s in candidates])
    quantity = is_quantity_question(question)
    asked_numbers = {f.value for f in find_figures(question)}

    def context(index: int) -> str:
        """A sentence's subject may stand in its report's title or section, not in itself."""
        return f"{passages[index].title} {passages[index].section} "

    def lexical(index: int, sentence: str) -> float:
        score = coverage_of(context(index) + sentence, weights) + 0.05 / (1 + index)
        if quantity and not _answer_figures(sentence, asked_numbers):
            score *= 0.5
        return score

    ranked = sorted(candidates, key=lambda c: lexical(*c), reverse=True)
    shortlist = ranked[: SEMANTIC_CANDIDATES[lang]]
    shortlist_similarity = similarities(embeddings, query_vector, [s for _, s in shortlist])
    weight_semantic = 1.0 if lang == "en" or not weights else 0.5

    def combined(item: tuple[tuple[int, str], float]) -> float:
        (index, sentence), similarity = item
        penalty = 0.0 if (not quantity or _answer_figures(sentence, asked_numbers)) else 0.05
        return (1 - weight_semantic) * lexical(index, sentence) + weight_semantic * similarity - penalty

    (index, sentence), similarity = max(zip(shortlist, shortlist_similarity, strict=True), key=combined)
    coverage = coverage_of(context(index) + sentence, weights) if weights else 0.0
    # Years and the words of the report's title (its city, its office) choose the report and the
    # sentence; the clause is chosen by what is asked.
    title = passages[index].title
    anchors = set(years_in(focus or question))
    focus_terms = [
        t for t in question_terms(focus or question) if t not in title and not any(t in a or a in t for a in anchors)
    ]
    focus_weights = term_weights(focus_terms, [s for _, s in candidates])
    asked_words = [w for w in asked_terms(focus or question) if w not in title]
    span, figures = _answer_span(
        sentence, focus_weights or weights, quantity, asked_numbers, asked_words, embeddings, query_vector, lang
    )
    asked_coverage = coverage_of(sentence, focus_weights) if focus_weights else 1.0
    missing = tuple(anchors_missing(focus or question, [context(index), sentence]))
    return Evidence(index, sentence, span, tuple(figures), coverage, similarity, asked_coverage, missing)


def answers_question(evidence: Evidence | None, question: str, lang: str) -> bool:
    """The sentence is close in meaning and (for Chinese) shares enough of the question's terms."""
    if evidence is None or evidence.missing_anchors:
        return False
    if is_quantity_question(question) and not evidence.figures:
        return False
    if lang == "zh" and (evidence.coverage < MIN_COVERAGE or evidence.asked_coverage == 0):
        return False
    return evidence.similarity >= MIN_SIMILARITY[lang]


def compose(evidence: Evidence, question: str, lang: str) -> str:
    """The answer text in the question's language: the stated answer, then the quoted sentence."""
    if lang == "en":
        stated = "; ".join(f"{english_figure(f)} ({f.text})" for f in evidence.figures) or f"“{evidence.span}”"
        return template("extractive_answer", "en").format(answer=stated, span=evidence.span, sentence=evidence.sentence)
    return template("extractive_answer", "zh").format(
        answer=evidence.span, span=evidence.span, sentence=evidence.sentence
    )


def refusal(lang: str) -> str:
    return template("refusal", lang)


def term_weights(terms: list[str], sentences: list[str]) -> dict[str, float]:
    """Rarer terms among the candidate sentences count more; unseen terms count most."""
    total = len(sentences)
    weights = {}
    for term in terms:
        df = sum(1 for s in sentences if term in s.lower())
        weights[term] = math.log(1 + (total + 1) / (df + 0.5)) * (1.0 if len(term) > 1 or term.isdigit() else 0.3)
    return weights


def coverage_of(text: str, weights: dict[str, float]) -> float:
    total = sum(weights.values())
    if not total:
        return 0.0
    lowered = text.lower()
    return sum(w for term, w in weights.items() if term in lowered) / total


def _answer_figures(text: str, asked: set[float]) -> list[Figure]:
    return [f for f in find_figures(text) if f.value not in asked and not f.is_year]


def similarities(embeddings, query_vector: list[float], texts: list[str]) -> list[float]:
    if not texts:
        return []
    vectors = embeddings.embed_documents(texts)
    return [sum(a * b for a, b in zip(query_vector, v, strict=True)) for v in vectors]


def _answer_span(
    sentence: str,
    weights: dict[str, float],
    quantity: bool,
    question_numbers: set[float],
    asked_words: list[str],
    embeddings,
    query_vector: list[float],
    lang: str,
) -> tuple[str, list[Figure]]:
    """The clause that answers; for a figure, the clause (and the next one) that states it.

    A clause holding the word next to 多少 (what is asked) wins over one that merely shares
    more of the question's subject.
    """
    clauses = split_clauses(sentence)
    if len(clauses) == 1:
        return _strip_end(sentence), _answer_figures(sentence, question_numbers) if quantity else []
    if lang == "en" or not weights:
        scores = similarities(embeddings, query_vector, clauses)
    else:
        scores = [coverage_of(c, weights) for c in clauses]
    if quantity:
        named = [i for i, clause in enumerate(clauses) if any(w in clause for w in asked_words)]
        best = max(range(len(clauses)), key=lambda i: (scores[i], -i))
        for first in [*named, best]:
            for last in (first, first + 1):
                if last < len(clauses) and _answer_figures(clauses[last], question_numbers):
                    span = "".join(clauses[first : last + 1])
                    return _strip_end(span), _answer_figures(clauses[last], question_numbers)
        with_figures = [i for i in range(len(clauses)) if _answer_figures(clauses[i], question_numbers)]
        if with_figures:
            pick = max(with_figures, key=lambda i: scores[i])
            return _strip_end(clauses[pick]), _answer_figures(clauses[pick], question_numbers)
        return _strip_end(sentence), []
    best = max(range(len(clauses)), key=lambda i: (scores[i], -i))
    return _strip_end(clauses[best]), []


def _strip_end(text: str) -> str:
    return text.strip().rstrip("，、：；。,;:")


def extractive_answer(
    question: str, search_query: str, retrieval: Retrieval, embeddings
) -> tuple[str, bool, list[Source]]:
    """The answer text, whether the documents hold it, and the sources with the cited one first.

    `search_query` (the standalone question, perhaps translated into the documents' language)
    picks the evidence; the answer is written in the language of `question`. The cited passage
    leads the sources because the answer's [1] points to it.
    """
    lang = language_of(question)
    if retrieval.unmatched_anchors or not retrieval.passages:
        return refusal(lang), False, to_sources(retrieval.passages)
    match_lang = language_of(search_query)
    focus = question if language_of(question) == match_lang else search_query
    evidence = find_evidence(
        search_query, retrieval.passages, embeddings, retrieval.query_vector, match_lang, focus=focus
    )
    if evidence is None or not answers_question(evidence, search_query, match_lang):
        return refusal(lang), False, to_sources(retrieval.passages)
    cited = evidence.passage_index
    passages = [retrieval.passages[cited], *(p for i, p in enumerate(retrieval.passages) if i != cited)]
    return compose(evidence, question, lang), True, to_sources(passages, {0: evidence.sentence})
