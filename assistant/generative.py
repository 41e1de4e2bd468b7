"""The language model as a reader: it picks the candidate sentence that answers and trims the span.

A 1.5B model on a CPU writes fluent text that is too often about another subject, and every
token of prompt costs about 13 ms here. So the model does not write the answer: it reads the
extractive reader's best few candidates (a short prompt) and replies with the words of one of
them that answer, or with "none". What it copies is checked before anyone sees it: the words
must stand in a shown sentence (or abridge words of one of its clauses, which then answer) and be
of the asked kind, and that sentence must be about what was asked (the same bars the extractive
answer clears). The model also translates English questions for search and condenses follow-ups.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from .errors import AssistantError
from .extractive import (
    ANNOUNCEMENT_END,
    ASIDE,
    CLAUSE_ANSWER_CHARS,
    DATE,
    MIN_COVERAGE,
    MIN_SIMILARITY,
    SPAN_END,
    Candidate,
    Reading,
    clause_around,
    clause_bounds,
    gives_answer,
    names_an_earlier_work,
    peer_of_subject,
    predicate_words,
    subject_share_at,
    with_span,
)
from .figures import added_numbers, find_figures
from .followup import needs_context, user_turns
from .hanzi import HANZI_CHAR
from .keyword import ORGANISATION_TAG, PLACE_TAG, VERB_TAG, tagged_words
from .prompts import language_of, template
from .question import parse_question

log = logging.getLogger(__name__)
# The prompt budget: every prompt token costs about 13 ms (above; docs/benchmarks.md has the prompt
# sizes and first-token times these give), so the model sees the reader's best three sentences, each cut to 120
# characters around its span, and the last six turns of a conversation, each cut to 200 characters.
CANDIDATES_SHOWN = 3
SENTENCE_CHARS = 120
HISTORY_TURNS = 6
HISTORY_TURN_CHARS = 200
READ_MAX_TOKENS = 48
CONDENSE_MAX_TOKENS = 60
# A translation or a standalone question longer than this many times the question (plus a margin
# for the conversation's subject) is the model rambling, not a rewrite.
REWRITE_GROWTH = 4
SPEAKERS = {"zh": {"user": "用户", "assistant": "助手"}, "en": {"user": "User", "assistant": "Assistant"}}
# The reply is the copied words alone. Asked for "[n] words" (until `ed18e51`), the model replied with
# a bare "[n]" to 59 of 249 readings of the external sets' Chinese questions, and often named the wrong
# number; a sentence number it adds anyway is dropped, and the words decide the sentence.
COPIED = re.compile(r"^\s*\[\d+\]\s*|^(?:Reply|答案|回答)\s*[:：]\s*", re.IGNORECASE)
ENCLOSING = ("《》", "“”", "「」", "〈〉")
# The kinds of question answered by a name or a time, which govern the clauses after them when they
# open their own; and how many hanzi may stand before one that still opens it ("被告人黄某", "其中李某").
OPENING_KINDS = ("person", "entity", "place", "time")
SUBJECT_LEAD_CHARS = 3
# Words jieba tags as verbs that introduce an example or a restatement ("such as", "namely"): the
# words after them are what the clauses that follow speak of.
INTRODUCING_VERBS = frozenset({"如", "例如", "比如", "譬如", "像", "包括", "即"})
# Abridged words: at least this many characters, standing in a stretch at most this many times as long.
MIN_ABRIDGED_CHARS = 4
ABRIDGED_GROWTH = 3
# The tags jieba gives place names (it tags many as people's: 温哥华/nr, 申扎县/nr), and the units a
# place name ends with when jieba writes them as words of their own ("离岛" + "区", "黄埔" + "村").
PLACE_LIKE_TAGS = (PLACE_TAG, "nr", "nz")
ADMINISTRATIVE_UNITS = frozenset("省市县区镇乡村州郡")
# A historical place's present name, bracketed after it ("黄埔村（今广州海珠区）"): part of the place.
PRESENT_NAME = re.compile(r"[（(]今[^（）()，。]{1,20}[)）]")
NO_ANSWER = re.compile(r"^\W*(?:none|无|没有|无法回答|not found)\W*$", re.IGNORECASE)
# A Chinese question that asks for a foreign form ("英文名", "缩写", "学名") is answered by Latin letters.
FOREIGN_FORM_ASKED = re.compile(r"[英外拉][文语]|文名|语名|缩写|简称|符号|代码|代号|学名|拼写")


def read_messages(sentences: list[str], question: str) -> list[BaseMessage]:
    """The reader's prompt: its fixed system prompt first (llama.cpp reuses it from the cache), then
    the numbered sentences and the question. `bench/bench_llm.py` times prompts built by it."""
    lines = "\n".join(f"[{n}] {sentence}" for n, sentence in enumerate(sentences, start=1))
    lang = language_of(question)
    return [
        SystemMessage(template("read_system", lang)),
        HumanMessage(template("read", lang).format(sentences=lines, question=question)),
    ]


def model_reading(reading: Reading, question: str, chat_model) -> tuple[Candidate | None, list[str]]:
    """The candidate the model chose with the span it copied, or None when it found no answer.

    Raises AssistantError when the model's reply fails the checks, so the caller can decide.
    """
    shown = [c for c in reading.candidates if not c.contradicted][:CANDIDATES_SHOWN]
    if not shown:
        return None, ["no candidate sentences"]
    messages = read_messages([_excerpt(c) for c in shown], question)
    reply = str(chat_model.invoke(messages, max_tokens=READ_MAX_TOKENS).content).strip()
    reply = reply.splitlines()[0].strip() if reply else ""
    checks = [f"model reply: {reply}"]
    if not reply or NO_ANSWER.match(reply):
        return None, [*checks, "the model found no answer"]
    words = COPIED.sub("", reply).strip().strip("“”\"'「」。.[]")
    if not words:
        raise AssistantError(f"the model's reply {reply!r} holds no words from the sentences")
    # The words decide which sentence answers. Words the shown sentences write in several places are
    # judged where the text says what was asked ("甲方为经营方；甲方投入营业场地" for 谁提供营业场地;
    # "成立20周年…1988年至2008年", then "于1988年成立" for 哪一年成立): the first place, in the reader's
    # order, that passes every check answers; when none does, the first place's failure is the reason.
    holders = [(c, at) for c in shown if (at := locate(words, c.sentence)) is not None]
    if not holders:
        # Words the model shortened ("主动投案" for "主动到检察机关投案") answer with the text's own.
        holders = [(c, at) for c in shown if (at := locate_abridged(words, c.sentence)) is not None]
        if not holders:
            raise AssistantError(f"the model's words {words!r} stand in no shown sentence")
        checks = [*checks, f"the model's words abridge the sentence's {holders[0][1]!r}"]
    positions = [(c, span) for c, written in holders for span in _occurrences(written, c.sentence, reading)]
    first_failure = ""
    for chosen, (start, end) in positions:
        failure = _failed_check(chosen, start, end, reading, question)
        if not failure:
            break
        first_failure = first_failure or failure
    else:
        raise AssistantError(first_failure)
    located = chosen.sentence[start:end]
    checks = [*checks, "the words stand in the chosen sentence", "subject checked"]
    if located in chosen.span and gives_answer(chosen.span, chosen.sentence, reading.question):
        # The model confirms the reader's span, which says more: the whole list ("夏雨" of "夏雨、宋熙年及
        # 陈爽"), the words that say what the figure is ("上缴国库", "副镇长" of "明城镇副镇长"), when that
        # span clears the checks the model's words cleared.
        return chosen, [*checks, "the reader's span confirmed"]
    return with_span(chosen, located), checks


def _failed_check(chosen: Candidate, start: int, end: int, reading: Reading, question: str) -> str:
    """Why the words at this place of the chosen sentence do not answer, or "" when they do."""
    sentence = chosen.sentence
    located = sentence[start:end]
    foreign_asked = FOREIGN_FORM_ASKED.search(question)
    if language_of(question) == "zh" and glosses_in_brackets(start, end, sentence) and not foreign_asked:
        return f"the model's words {located!r} are a foreign gloss of the text's own answer"
    if cuts_a_number(start, end, sentence):
        return f"the model's words {located!r} are a piece of a longer number"
    if cuts_a_name(start, end, sentence):
        return f"the model's words {located!r} are a piece of a longer name"
    if peer := peer_of_subject(reading.question, sentence, start, end):
        return f"the model's words {located!r} are listed beside {peer!r}, the subject asked about"
    if not clause_shares_subject(start, end, sentence, reading):
        return f"the clause of {located!r} names nothing the question asks about"
    if not clause_holds_predicate(start, end, sentence, reading):
        return f"the clause of {located!r} is not the one that says what was asked"
    clause = clause_around(sentence, start, end)
    if ANNOUNCEMENT_END.search(clause):
        return f"the clause of {located!r} announces what follows and does not say it"
    if earlier := names_an_earlier_work(reading.question.text, clause):
        return f"the clause of {located!r} is about 《{earlier}》, not the work asked about"
    if not gives_answer(located, sentence, reading.question):
        return f"the model's words {located!r} are not a {reading.question.kind} answer as asked"
    if not about_the_question(chosen, reading):
        return f"the sentence holding {located!r} is not about what was asked"
    return ""


def _occurrences(written: str, sentence: str, reading: Reading) -> list[tuple[int, int]]:
    """Where the sentence writes the words, each completed to the asked unit."""
    found = [completed(m.start(), m.end(), sentence) for m in re.finditer(re.escape(written), sentence)]
    if reading.question.kind == "place":
        return [place_phrase(start, end, sentence) for start, end in found]
    if reading.question.kind == "manner":
        return [manner_clause(start, end, sentence) for start, end in found]
    return found


def completed(start: int, end: int, sentence: str) -> tuple[int, int]:
    """Where the copied words stand with what the sentence writes around them as part of them: the
    unit of a figure ("246" of "246个"), the rest of a date ("4月20日" of "2023年4月20日"), the marks
    enclosing a title or quotation ("熊猫家族" of "《熊猫家族》") and the place names before a name."""
    for figure in find_figures(sentence):
        figure_end = figure.start + len(figure.text)
        if figure.start <= start < figure_end and end < figure_end:
            end = figure_end
    for date in DATE.finditer(sentence):
        if date.start() < start < date.end() and sentence[start - 1] in "年月":  # not "2" of "2005年"
            start, end = date.start(), max(end, date.end())
    for opening, closing in ENCLOSING:
        if sentence[start - 1 : start] == opening and sentence[end : end + 1] == closing:
            start, end = start - 1, end + 1
    if HANZI_CHAR.match(sentence, start):
        # The place names that qualify a name are part of it ("台北市万华区" of "台北市万华区龙山国民小学").
        word_starts = {}
        at = 0
        for word, tag in tagged_words(sentence):
            word_starts[at + len(word)] = (at, tag)
            at += len(word)
        while start in word_starts and word_starts[start][1] == PLACE_TAG:
            start = word_starts[start][0]
    return start, end


def place_phrase(start: int, end: int, sentence: str) -> tuple[int, int]:
    """Where a place answer stands with the names and the administrative units around it: the place
    is asked, and the model copies a piece of it ("东涌" of "位于香港离岛区东涌的", "广东番禺" of
    "广东番禺黄埔村人"). Each side is tagged alone, since jieba's words run across the copied words'
    edge ("区东/n 涌/v"). The phrase starts at a name, and ends at a place name or a unit, so a unit
    without its name ("卑诗省" as 卑/诗/省) or a name jieba cuts ("肯尼/特区") is left out; a present
    name bracketed after the place is kept."""
    at = start
    while at > 0:
        word, tag = tagged_words(sentence[:at])[-1]
        if not (tag.startswith(PLACE_LIKE_TAGS) or word in ADMINISTRATIVE_UNITS):
            break
        at -= len(word)
        if tag.startswith(PLACE_LIKE_TAGS):
            start = at
    at = end
    while at < len(sentence):
        word, tag = tagged_words(sentence[at:])[0]
        if not (tag.startswith(PLACE_LIKE_TAGS) or word in ADMINISTRATIVE_UNITS):
            break
        at += len(word)
        if tag == PLACE_TAG or word in ADMINISTRATIVE_UNITS:
            end = at
    present = PRESENT_NAME.match(sentence, end)
    return start, present.end() if present else end


def manner_clause(start: int, end: int, sentence: str) -> tuple[int, int]:
    """A manner is said by a clause, which the reader answers with when it is short (CLAUSE_ANSWER_CHARS):
    the model's words are a piece of it ("线粒体DNA序列显示" of "其线粒体DNA序列显示…分开演化")."""
    left, right = clause_bounds(sentence, start, end)
    while left < start and not sentence[left].strip():
        left += 1
    return (left, right) if right - left <= CLAUSE_ANSWER_CHARS else (start, end)


def glosses_in_brackets(start: int, end: int, sentence: str) -> bool:
    """Latin words inside a bracketed aside (the reader's ASIDE): a gloss of the Chinese before them
    ("同心向前（Forward Together）", "李明（拼音：Li Ming）"), which a Chinese question is answered by."""
    if HANZI_CHAR.search(sentence, start, end):
        return False
    return any(aside.start() < start and end < aside.end() for aside in ASIDE.finditer(sentence))


def cuts_a_number(start: int, end: int, sentence: str) -> bool:
    """The words start or end inside a number of the sentence ("2" of "2005年")."""
    span = sentence[start:end]
    before, after = sentence[start - 1 : start] if start > 0 else "", sentence[end : end + 1]
    return bool(span) and (
        (span[0].isdigit() and before.isdigit()) or (span[-1].isdigit() and (after.isdigit() or after == "."))
    )


def cuts_a_name(start: int, end: int, sentence: str) -> bool:
    """The words are a piece of an organisation's name ("中国" of the airline "中国东方航空"); a place
    inside a longer place ("北京" of "北京市") or a demonym ("山西" of "山西人") still answers."""
    at = 0
    for word, flag in tagged_words(sentence):
        word_end = at + len(word)
        if at <= start and end <= word_end and (at, word_end) != (start, end) and flag == ORGANISATION_TAG:
            return True
        if word_end >= end:
            return False
        at = word_end
    return False


def governed(start: int, end: int, sentence: str, reading: Reading) -> tuple[int, int]:
    """The clauses the words speak for: their own, and for a name or a time that opens its clause,
    the clauses after it too, since a Chinese subject or opening time governs the comma clauses that
    follow ("吴京主演的电影总票房达到300亿元，成为首个…的演员"; "2022年12月9日，C919首次交付").
    Words after a verb are its object or its time ("决定3月1日召开年会，并建议…"): they open nothing,
    unless the verb only introduces them ("如青石县，则免收该费")."""
    left, right = clause_bounds(sentence, start, end)
    lead = sentence[left:start]
    opens_clause = len(HANZI_CHAR.findall(lead)) <= SUBJECT_LEAD_CHARS and not any(
        tag == VERB_TAG and word not in INTRODUCING_VERBS for word, tag in tagged_words(lead)
    )
    return (left, len(sentence)) if reading.question.kind in OPENING_KINDS and opens_clause else (left, right)


def clause_shares_subject(start: int, end: int, sentence: str, reading: Reading) -> bool:
    """The clause holding the model's words names (or continues, "…专利申请量…，达12057件") the
    question's subject: a figure next to another subject in the right sentence is the commonest
    wrong answer."""
    if not reading.lexical:
        return True
    left, right = governed(start, end, sentence, reading)
    clause_starts = [left, *(m.end() for m in SPAN_END.finditer(sentence, left, right))]
    return any(subject_share_at(reading.question, sentence, at) > 0 for at in clause_starts)


def clause_holds_predicate(start: int, end: int, sentence: str, reading: Reading) -> bool:
    """When the sentence has the question's predicate ("增长" of "增长了多少") or the noun its asked
    thing is joined to ("家庭" of "多少比例的家庭"), the model's words stand in its clause:
    "收入2.36万元，增长8%" answers the growth with 8%, not 2.36万元."""
    asked = {*predicate_words(reading.question), reading.question.relation}
    predicate = [w for w in asked if len(w) > 1 and w in sentence]
    if not predicate:
        return True
    left, right = governed(start, end, sentence, reading)
    return any(w in sentence[left:right] for w in predicate)


def about_the_question(candidate: Candidate, reading: Reading) -> bool:
    """The chosen sentence shares the question's subject: the bar the extractive answer clears."""
    if candidate.contradicted:
        return False
    if reading.lexical:
        return candidate.coverage >= MIN_COVERAGE and candidate.subject_coverage > 0
    return candidate.similarity >= MIN_SIMILARITY[reading.lang]


def locate(span: str, sentence: str) -> str | None:
    """The span as the sentence writes it, ignoring width, spaces and digit-group commas."""

    def squash(text: str) -> str:
        return re.sub(r"[\s,，]", "", unicodedata.normalize("NFKC", text))

    wanted = squash(span)
    if not wanted:
        return None
    plain, positions = [], []
    for i, ch in enumerate(sentence):
        for piece in squash(ch):
            plain.append(piece)
            positions.append(i)
    at = "".join(plain).find(wanted)
    if at < 0:
        return None
    return sentence[positions[at] : positions[at + len(wanted) - 1] + 1]


def locate_abridged(words: str, sentence: str) -> str | None:
    """The shortest stretch of the sentence that holds the words in order with others between them,
    at most ABRIDGED_GROWTH times their length and no more clauses; None for words without hanzi
    (an English reply)."""
    if len(words) < MIN_ABRIDGED_CHARS or not HANZI_CHAR.search(words):
        return None
    best: tuple[int, int] | None = None
    for first in (i for i, ch in enumerate(sentence) if ch == words[0]):
        at = first
        for ch in words[1:]:
            at = sentence.find(ch, at + 1)
            if at < 0:
                break
        else:
            if best is None or at + 1 - first < best[1] - best[0]:
                best = (first, at + 1)
    if best is None or best[1] - best[0] > ABRIDGED_GROWTH * len(words):
        return None
    stretch = sentence[best[0] : best[1]]
    # Left-out words stay inside the words' clauses: "2022年10月9日" is no abridgement of
    # "2022年8月30日，政治局召开会议，决定10月9日".
    return stretch if len(SPAN_END.findall(stretch)) == len(SPAN_END.findall(words)) else None


def _excerpt(candidate: Candidate) -> str:
    sentence = candidate.sentence
    if len(sentence) <= SENTENCE_CHARS:
        return sentence
    at = max(0, sentence.find(candidate.span))
    start = max(0, min(at - SENTENCE_CHARS // 3, len(sentence) - SENTENCE_CHARS))
    return sentence[start : start + SENTENCE_CHARS]


def translate_for_search(question: str, chat_model) -> str:
    """A Chinese wording of an English question, so that Chinese passages can be found by their terms.

    The model turns about one question in twelve into a statement ("联合国秘书长去了哈佛大学。" for
    "What UN secretary went to Harvard?"; XQuAD: 8 of 100), which has no question word to align.
    Asked again to keep the question word, it kept it for 6 of those 8 (and for 98 of the 100 when
    always asked so, but its translations then put 什么 before other question words' questions).
    """
    translated = _translation("translate", question, chat_model)
    if _lost_question_word(question, translated):
        translated = _translation("translate_question", question, chat_model)
        if _lost_question_word(question, translated):
            raise AssistantError(f"the translation {translated!r} is not a question of the asked kind")
    return translated


def _translation(prompt: str, question: str, chat_model) -> str:
    reply = chat_model.invoke(
        [HumanMessage(template(prompt, "en").format(question=question))], max_tokens=CONDENSE_MAX_TOKENS
    )
    translated = _first_line(reply)
    if language_of(translated) != "zh" or len(translated) > REWRITE_GROWTH * len(question) + 50:
        raise AssistantError("the model gave no usable translation")
    if added_numbers(translated, question):
        raise AssistantError(f"the translation {translated!r} adds figures the question does not have")
    return translated


def _lost_question_word(question: str, translated: str) -> bool:
    return parse_question(question).kind not in ("", "yesno") and parse_question(translated).kind in ("", "yesno")


def condense_with_model(question: str, history: list[dict], chat_model) -> str:
    """A standalone question from a follow-up and the conversation; the question itself otherwise."""
    earlier = user_turns(history)
    if not earlier or not needs_context(question):
        return question
    lang = language_of(question)
    speakers = SPEAKERS[lang]
    lines = []
    for message in history[-HISTORY_TURNS:]:
        content = message.get("content")
        if message.get("role") in speakers and isinstance(content, str) and content.strip():
            lines.append(f"{speakers[message['role']]}: {content.strip().splitlines()[0][:HISTORY_TURN_CHARS]}")
    prompt = template("condense", lang).format(history="\n".join(lines), question=question)
    condensed = _first_line(chat_model.invoke([HumanMessage(prompt)], max_tokens=CONDENSE_MAX_TOKENS))
    if not condensed or len(condensed) > REWRITE_GROWTH * len(question) + 100:
        raise AssistantError("the model gave no usable standalone question")
    return condensed


def _first_line(reply) -> str:
    text = str(reply.content).strip()
    return text.splitlines()[0].strip(" \"'“”「」") if text else ""
