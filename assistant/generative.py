"""Generative answers: a chat model writes from the sentences that matter, cites them, and is checked.

Prompt processing is the slow part on a CPU (about 75 tokens/s here), so the prompt carries
the best sentences of the top passages within a token budget, not whole chunks, after a
fixed system prompt that llama.cpp keeps cached. Every figure of the answer must stand in
the cited passages or the question; otherwise the extractive answer is given instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from langchain_core.messages import HumanMessage, SystemMessage

from .answer import Source, to_sources
from .chunk import split_sentences
from .config import Config
from .errors import AssistantError
from .extractive import coverage_of, extractive_answer, question_terms, similarities, term_weights
from .figures import numbers_in, unsupported_numbers
from .followup import needs_context, user_turns
from .prompts import language_of, template
from .retrieve import Passage, Retrieval, anchors_missing

log = logging.getLogger(__name__)
PASSAGES_IN_PROMPT = 4
MAX_CONTEXT_SENTENCES = 4
CONDENSE_MAX_TOKENS = 60
SPEAKERS = {"zh": {"user": "用户", "assistant": "助手"}, "en": {"user": "User", "assistant": "Assistant"}}

# Small models paraphrase the refusal sentence; these are its usual forms.
PARAPHRASED_REFUSAL = re.compile(
    r"\b(?:do(?:es)? not (?:say|mention|contain|provide|specify|state|include)|(?:is|are) not (?:mentioned|provided|specified|stated|given|available)|no information)\b"
    r"|没有(?:找到|提到|提及|相关|涉及)|未(?:提及|提到|说明|涉及)|无法(?:回答|确定|得知)",
    re.IGNORECASE,
)

# (text, found, sources, checks, mode)
GeneratedAnswer = tuple[str, bool, list[Source], list[str], str]


def generate_answer(
    question: str,
    condensed: str,
    search_query: str,
    reading_query: str,
    retrieval: Retrieval,
    chat_model,
    embeddings,
    config: Config,
    lang: str,
) -> Iterator[str | GeneratedAnswer]:
    """Stream the model's answer, then yield the checked result."""
    passages = retrieval.passages[:PASSAGES_IN_PROMPT]
    if retrieval.unmatched_anchors or not passages:
        text = template("refusal", lang)
        yield text
        reason = f"no document mentions {', '.join(retrieval.unmatched_anchors)}" if passages else "no passages"
        yield text, False, to_sources(retrieval.passages), [reason], "llm"
        return

    context = select_context(
        search_query, passages, embeddings, retrieval.query_vector, language_of(search_query), config
    )
    quoted = [passages[i] for i in context]  # prompt order: [n] is quoted[n - 1]
    missing = anchors_missing(
        search_query, [f"{p.title} {p.section}" for p in quoted] + [s for c in context.values() for s in c]
    )
    if missing:  # the quoted text is about another year or place than the one asked
        text = template("refusal", lang)
        yield text
        yield text, False, to_sources(retrieval.passages), [f"the passages do not name {', '.join(missing)}"], "llm"
        return
    messages = [
        SystemMessage(template("system", lang)),
        HumanMessage(
            template("question", lang).format(
                passages=format_passages(quoted, list(context.values())), question=condensed
            )
        ),
    ]
    pieces: list[str] = []
    try:
        for chunk in chat_model.stream(messages, max_tokens=config.llm_max_answer_tokens):
            if chunk.content:
                pieces.append(str(chunk.content))
                yield str(chunk.content)
    except AssistantError:
        raise
    except Exception as exc:  # a remote server that went away, a broken model: answer extractively
        log.warning("the language model failed, answering extractively: %s", exc)
        yield from _fallback(question, reading_query, retrieval, embeddings, [f"model failed: {exc}"])
        return
    text = "".join(pieces).strip()

    rest = [p for p in retrieval.passages if p not in quoted]
    if is_refusal(text, lang):
        yield template("refusal", lang), False, to_sources(quoted + rest), [f"model answer: {text}"], "llm"
        return
    sentences = list(context.values())
    checks = [f"prompt passages: {len(quoted)}", f"model answer: {text}"]
    checked = check_answer(text, ["".join(chosen) for chosen in sentences], question)
    if isinstance(checked, str):
        log.warning("%s; answering extractively", checked)
        yield from _fallback(question, reading_query, retrieval, embeddings, [*checks, checked])
        return
    text, cited, notes = checked
    extractive = extractive_answer(question, reading_query, retrieval, embeddings)
    if disagrees(text, extractive, question):
        # A small model puts figures on the wrong subject (a subsidiary's revenue for the
        # company's); when the extractive reading states other figures, it is the safer answer.
        log.warning("the model's figures differ from the extractive answer's; answering extractively")
        text, found, sources = extractive
        yield (
            text,
            found,
            sources,
            [*checks, *notes, "figures differ from the extractive reading", "answered extractively"],
            "extractive",
        )
        return
    highlights = {i: _supporting_sentence(sentences[i], text) for i in cited}
    yield text, True, to_sources(quoted + rest, highlights), [*checks, *notes], "llm"


def disagrees(generated: str, extractive: tuple[str, bool, list[Source]], question: str) -> bool:
    """Both readings state figures, and none of the extractive answer's stands in the generated one."""
    text, found, _ = extractive
    if not found:
        return False
    asked = set(numbers_in(question))
    stated = set(numbers_in(text.splitlines()[0])) - asked
    written = set(numbers_in(re.sub(r"\[\d+\]", " ", generated))) - asked
    return bool(stated and written and not stated & written)


def check_answer(text: str, quoted: list[str], question: str) -> tuple[str, list[int], list[str]] | str:
    """The answer with verified citations, or the reason it cannot be trusted.

    Every figure must stand in the cited passages (or the question). A small model often
    cites the wrong number, so when the figures all stand in other quoted passages, the
    citations are pointed there instead, and that is noted.
    """
    cited = cited_passages(text, len(quoted))
    figures = [n for n in numbers_in(re.sub(r"\[\d+\]", " ", text)) if n not in set(numbers_in(question))]
    if cited and not unsupported_numbers(text, [quoted[i] for i in cited], question):
        return text, cited, ["figure guard passed"]
    if figures:
        holders = [i for i, passage in enumerate(quoted) if set(figures) & set(numbers_in(passage))]
        if holders and not unsupported_numbers(text, [quoted[i] for i in holders], question):
            fixed = re.sub(r"\s*\[\d+\]", "", text)
            marks = "".join(f"[{i + 1}]" for i in holders)
            fixed = re.sub(r"([。.!?！？]?)$", lambda m: f" {marks}{m.group(1)}", fixed, count=1)
            return (
                fixed,
                holders,
                [
                    f"citations corrected from {[i + 1 for i in cited]} to {[i + 1 for i in holders]}",
                    "figure guard passed",
                ],
            )
        return f"figure guard failed: {unsupported_numbers(text, quoted, question)} not in the quoted passages"
    if not cited:
        return "the model cited no passage"
    return text, cited, ["no figures to check"]


def _fallback(
    question: str, reading_query: str, retrieval: Retrieval, embeddings, checks: list[str]
) -> Iterator[GeneratedAnswer]:
    text, found, sources = extractive_answer(question, reading_query, retrieval, embeddings)
    yield text, found, sources, [*checks, "answered extractively"], "extractive"


def select_context(
    question: str, passages: list[Passage], embeddings, query_vector: list[float], lang: str, config: Config
) -> dict[int, list[str]]:
    """The sentences worth sending, per passage index, in reading order, within the token budget."""
    from .llm import estimate_tokens

    candidates = [(i, j, s) for i, p in enumerate(passages) for j, s in enumerate(split_sentences(p.text))]
    terms = question_terms(question)
    if lang == "zh" and terms:
        weights = term_weights(terms, [s for _, _, s in candidates])
        scores = [coverage_of(s, weights) + 0.1 / (1 + i) for i, _, s in candidates]
    else:
        scores = [
            sim + 0.01 / (1 + i)
            for (i, _, _), sim in zip(
                candidates, similarities(embeddings, query_vector, [s for _, _, s in candidates]), strict=True
            )
        ]
    chosen: set[tuple[int, int]] = set()
    used = 0
    for score_index in sorted(range(len(candidates)), key=lambda k: scores[k], reverse=True):
        i, j, sentence = candidates[score_index]
        cost = estimate_tokens(sentence)
        if used + cost > config.llm_prompt_budget_tokens:
            continue
        chosen.add((i, j))
        used += cost
        if len(chosen) == MAX_CONTEXT_SENTENCES:
            break
    context: dict[int, list[str]] = {}
    for i, j, sentence in candidates:
        if (i, j) in chosen:
            context.setdefault(i, []).append(sentence)
    return context


def format_passages(passages: list[Passage], sentences: list[list[str]]) -> str:
    """Passages numbered from 1 without gaps; document titles only when several documents are quoted."""
    several = len({p.doc for p in passages}) > 1
    blocks = []
    for number, (passage, chosen) in enumerate(zip(passages, sentences, strict=True), start=1):
        title = f"《{passage.title}》" if several else ""
        blocks.append(f"[{number}] {title}{''.join(chosen)}")
    return "\n".join(blocks)


def cited_passages(text: str, count: int) -> list[int]:
    """Indices of the passages an answer cites as [n], in order of first citation."""
    seen: list[int] = []
    for number in re.findall(r"\[(\d+)\]", text):
        index = int(number) - 1
        if 0 <= index < count and index not in seen:
            seen.append(index)
    return seen


def is_refusal(text: str, lang: str) -> bool:
    """The model replied with (or began with) the fixed refusal sentence of either language."""

    def squash(s: str) -> str:
        return re.sub(r"[\W_]+", "", s).lower()

    answer = squash(text)
    if any(squash(template("refusal", code)) in answer[:80] for code in (lang, "zh", "en")):
        return True
    return bool(PARAPHRASED_REFUSAL.search(text)) and not re.search(r"\d", text)


def translate_for_search(question: str, chat_model) -> str:
    """A Chinese wording of an English question, so that Chinese passages can be found by their terms."""
    reply = chat_model.invoke(
        [HumanMessage(template("translate", "en").format(question=question))], max_tokens=CONDENSE_MAX_TOKENS
    )
    translated = _first_line(reply)
    if language_of(translated) != "zh" or len(translated) > 4 * len(question) + 50:
        raise AssistantError("the model gave no usable translation")
    return translated


def condense_with_model(question: str, history: list[dict], chat_model) -> str:
    """A standalone question from a follow-up and the conversation; the question itself otherwise."""
    earlier = user_turns(history)
    if not earlier or not needs_context(question):
        return question
    lang = language_of(question)
    speakers = SPEAKERS[lang]
    lines = []
    for message in history[-6:]:
        content = message.get("content")
        if message.get("role") in speakers and isinstance(content, str) and content.strip():
            lines.append(f"{speakers[message['role']]}: {content.strip().splitlines()[0][:200]}")
    prompt = template("condense", lang).format(history="\n".join(lines), question=question)
    condensed = _first_line(chat_model.invoke([HumanMessage(prompt)], max_tokens=CONDENSE_MAX_TOKENS))
    if not condensed or len(condensed) > 4 * len(question) + 100:
        raise AssistantError("the model gave no usable standalone question")
    return condensed


def _first_line(reply) -> str:
    text = str(reply.content).strip()
    return text.splitlines()[0].strip(" \"'“”「」") if text else ""


def _supporting_sentence(sentences: list[str], answer: str) -> str:
    """The quoted sentence sharing the most figures (then characters) with the answer, to highlight."""
    figures = set(numbers_in(answer))

    def support(sentence: str) -> tuple[int, int]:
        return len(figures & set(numbers_in(sentence))), len(set(sentence) & set(answer))

    return max(sentences, key=support) if sentences else ""
