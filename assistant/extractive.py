"""The extractive reader: find the sentence that answers and, in it, the asked span — or refuse.

Every sentence of the top passages is a candidate. A candidate is judged by
- *coverage*: the question's terms (weighted by rarity among the candidates) in the sentence and
  its passage's title and section, so the answer is about what was asked;
- *alignment*: the words around the question word found around a span of the sentence
  (``question.py``), which is what makes the span the asked one and not a neighbour;
- *similarity*: multilingual-e5 between question and sentence, which also carries English
  questions to Chinese text;
- *anchors*: a year (or month) the question names that the sentence's own context contradicts (it names
  other years and not this one) rules the sentence out; one it does not name at all costs a little.
  A place is weighed by the sentence's document: naming other places of its rank and never this one
  rules it out (another city's report), naming none costs a little ("我市"). A name the question asks
  about that the sentence's document never mentions rules it out.

The answer is the span and the sentence it stands in, cited; when no candidate is good enough,
the answer is "not found".
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace

from .chunk import split_clauses, split_sentences
from .figures import MEASURE_WORDS, NUMBER_IN_DIGITS, Figure, english_figure, find_figures
from .hanzi import HANZI, HANZI_CHAR, is_hanzi_word
from .keyword import (
    EMPTY_TAGS,
    HIDDEN_NAME,
    LOCALISER_TAGS,
    dictionary_words,
    leading_nouns,
    names_in,
    names_something,
    question_words,
    says_something,
    segment,
    tagged_words,
)
from .prompts import language_of, template
from .question import QUESTION_END, SLOT_EDGE, Question
from .results import to_sources
from .retrieve import RELATIVE_YEARS, THIS_YEAR, Passage, Retrieval, months_in, place_names, relative_years_in, years_in

# Words that frame a question but say nothing about its subject.
GENERIC_TERMS = frozenset(
    "年 全年 今年 去年 一年 谁 何时 哪里 共 共有 一共 总共 总 达到 达 是 有 多 少 数量 数目 情况 方面 内容 问题 什么 哪个 哪些 哪 几 多少 主要 具体 "
    "大约 大概 左右 其中 分别 请 告诉 我 我们 呢 吗 了 的 被 成 为 时候 怎样 如何 为什么 "
    "what which who how many much was were is are the did does do in of".split()
)
PASSAGES_READ = 5
# A section that looks back ("2013年工作回顾", "过去五年工作回顾") is about past years: a work report's
# 今年 is the year after the one it reviews, and its targets stand in other sections.
REVIEW_SECTION = re.compile(r"回顾|过去")
# A part of a year ("第四季度", "上半年"): a figure of the clause that names one is that part's, not the year's.
PART_OF_YEAR = re.compile(r"第?[一二三四1-4]季度|前三季度|[上下]半年")
OPENING_TIME_CHARS = 10  # "2021年第四季度", "2022年上半年"
# Sentences embedded per question: embedding is the slow part of an extractive answer.
SEMANTIC_CANDIDATES = {"zh": 6, "en": 10}
# An answer is its whole clause when the clause is this short: it says what the span is.
CLAUSE_ANSWER_CHARS = 40
# Sentences longer than this are read in pieces of whole clauses.
MAX_UNIT_CHARS = 100
MIN_CONTEXT_CHARS = 2
# The marks that end a statement; an answer running to its sentence's end keeps its own.
FULL_STOPS = "。！？"
# The marks a span sheds at its ends, and how many characters at an end decide whether a joining
# character is a word of its own there (jieba's dictionary words; 4 holds any word it starts or ends).
EDGE_MARKS = SLOT_EDGE + "。；;"
EDGE_WORD_CHARS = 4
# A figure question for each of several things ("各多少篇", "分别是多少").
EACH_ASKED = re.compile(r"各|分别")
# Words that announce what follows ("勘验情况如下", "诊断为：") give no answer themselves.
ANNOUNCEMENT_END = re.compile(r"(?:如下|以下)[：:]?$|[：:]$")
# Clause ends that close a span; 、 joins the items of a list, which an answer may be.
SPAN_END = re.compile(r"[，；;。！？!?]|,(?!\d{3})")
# A list a colon opens, its items ended by semicolons (split into sentences by chunk.SENTENCE_END):
# "出院诊断为：1、…；2、…", "经营范围：歌舞娱乐；餐饮服务". Its colon (not a time's), and the opening
# with the first item's marker.
LIST_COLON = re.compile(r"：|(?<!\d):|:(?!\d)")
LIST_OPENING = re.compile(
    r"[：:]\s*(?:[0-9０-９]{1,2}[、.．]|[（(][0-9０-９一二三四五六七八九十]{1,2}[)）]|[①-⑳]|[一二三四五六七八九十][是、])?\s*"
)
LIST_ITEM_END = ("；", ";")
# Where an item stops that runs on without its semicolon: a clause end, or the colon of what follows.
LIST_ITEM_BREAK = re.compile(f"{SPAN_END.pattern}|{LIST_COLON.pattern}")
MAX_LIST_ITEMS = 10  # a bound on run-on text, not a tuned figure
# The first item of a numbered list that follows an announcing clause ("勘验情况如下：“1、…；2、…"),
# maybe opened by a quote; its items may hold commas, and each later one opens with the next number
# right after an item's end. The last item ends at a full stop, a line's end or the list's closing quote.
NUMBERED_LIST_START = re.compile(
    r'\s*(?P<quote>[“"「]?)\s*(?:(?P<digit>1(?:、|[.．](?!\d)))|(?P<bracketed>[（(]1[)）])|(?P<circled>①))'
)
NEXT_ITEM = {
    "digit": r"[；;。，,\s]\s*({number}(?:、|[.．](?!\d)))",
    "bracketed": r"[；;。，,\s]\s*([（(]{number}[)）])",
    "circled": r"[；;。，,\s]?\s*({circled})",
}
CLOSING_QUOTE = {"“": "”", '"': '"', "「": "」", "": ""}
MAX_ITEM_CHARS = 300  # a bound on run-on text, not a tuned figure
# A bracketed aside after a name (its English or Latin name, an abbreviation, empty brackets) is
# read past: "尼古拉·卡利尼奇（：Nikola Kalinić，），是一名…" reads "尼古拉·卡利尼奇，是一名…".
ASIDE = re.compile(rf"[（(](?:[^（）(){HANZI}]*|[^（）()]*[:：][^（）()]*)[)）]")
# A title or a quoted name ("《波丽士大人》", "〈生命回响曲〉") with words in it: in the words a span adds to
# the question, "《 》" is a title the question already named.
TITLE = re.compile(r"[《〈「“\"][^《》〈〉「」“”\"\s]")
# A work's title in book-title marks.
WORK_TITLE = re.compile(r"《([^《》]+)》")
# A title continued by a number names a sequel or an edition ("速度与激情10", "《流浪地球2》"); a year or
# a count after it ("新闻联播2023年", "3集") does not.
TITLE_CONTINUATION = re.compile(r"\s*(?:[0-9０-９]{1,2}|[Ⅰ-Ⅻ])(?![0-9０-９年月日号期集部季届次])")
# A transliterated name: its parts joined by a middle dot ("西蒙·布雷德伯里").
DOTTED_NAME = re.compile(rf"[{HANZI}]{{1,8}}(?:·[{HANZI}]{{1,8}})+")
# A name is short and has no words that make a clause ("这家他工作了30年的" is not a name).
NAME_CHARS = 12
CLAUSE_WORD = re.compile(r"[的了这那是在有和与及把被将着过]")
# How many characters of a full name an abbreviation may leave out between two it keeps (a bound on
# the words of a name, not a tuned figure).
ABBREVIATION_GAP = 8
# A count in Chinese numerals is a numeral with its measure word ("五个子女", "三项"), not the 一 of 统一.
CHINESE_COUNT = re.compile(rf"[一二两三四五六七八九十百千万亿零〇]+(?:[{MEASURE_WORDS}元倍岁天吨米首]|万|亿)")
# A time: a date, a year, a clock time or a duration (a figure with a unit of time; judgments write
# hidden dates "××××年××月"), a day said relative to another, or a word that names a period
# ("古新世晚期", "明朝", "春季"). A figure alone is a count, not a time ("1.4万名师生").
TIME_WORDS = re.compile(
    r"[\d一二两三四五六七八九十百千零〇×]+\s*[多余]?个?(?:[年月日号天周时点分秒]|小时|分钟|星期|世纪)"
    r"|(?<!\d)(?:1[0-9]|20)\d{2}(?!\d)|\d{1,2}[:：]\d{2}"
    r"|[今去明前昨后上下本同次当]年|[今昨明前后当次翌]天|[今昨明当次翌]日|当[晚时]|凌晨|[上下中]午|傍晚|晚上|夜间|清晨|早上"
    r"|[周星期][一二三四五六日天末]|元旦|春节|除夕"
    r"|世纪|年代|时期|[初中末晚早]期|期间|前夕|朝|[春夏秋冬]季|季度|[上中下]旬"
    r"|\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b"
)
# People are named (names_in: jieba's names and a judgment's hidden "张某某"), or called by a word for a
# party or a role ("甲方", "原告", "申请人", "会长"); of the words ending in 告 only the parties are people
# ("公告", "报告" are not).
PERSON_WORD = re.compile(r"(?:[人者员长师家方主手官士夫妻]|[原被]告)(?:$|[，、和及与])")
# A judgment's names for its parties: like a name, they say who, not how or why.
PARTY_ROLE = re.compile(r"被上诉人|上诉人|被申请人|申请人|被告人|犯罪嫌疑人|原告|被告|第三人")
# A question for what named people are: "高某是谁", "被告人李某的职务是什么", "黄某、王某从事什么职务".
ROLE_ASKED = re.compile(
    r"(?:是谁|是什么人|是何人|(?:担任|从事)?的?(?:职务|职业|身份|职位)(?:是什么|是|为)?"
    r"|(?:从事|担任|任)(?:什么|何种)(?:职务|职业|职位|工作))$"
)
# What joins the names of several people ("黄某、王某", "张某和李某").
NAME_JOINER = "[、和及与]"
# The verbs that give a named person's role after the name ("黄某系…民警", "张某原任…经理").
ROLE_VERB = re.compile(r"原?(?:系|是|任|担任|为)")
# jieba's tags of the words that end a role written before the name ("总经理高某"), read back from the
# name: a verb, preposition, conjunction, particle, adverb, localiser or mark ("找到|时任…书记廖某").
ROLE_STOP_TAGS = ("v", "p", "c", "u", "d", "x", "f")
# The measure words that count people.
PEOPLE_MEASURE = frozenset("人名位")
# A unit the question asks a figure in ("多少倍", "几个百分点", "多少亿元", "多少钱"), which the answer
# must give: the unit itself, or for money a sum in 元 or in 万 or 亿 ("罚款8760万").
ASKED_UNIT = re.compile(r"^个?(?:(?P<unit>倍|百分点|吨|公里|平方米|岁)|(?P<money>[万亿]?元|美元|钱))")
MONEY = re.compile(r"元|[\d一二三四五六七八九十百千]\s*[万亿]")
# An abbreviation in capitals ("NFL", "APEC") names an organisation or a thing, not a person.
ACRONYM = re.compile(r"[A-Z0-9]{2,6}")
# A question asking for a rate, a share or a change, which a percentage answers.
RATE_ASKED = re.compile(r"率|增|降|减|涨|跌|比|百分|占|幅|份额")
# A date written whole: a year, a month, a day of a month ("2013年11月19日", "5月", "2022年").
DATE = re.compile(
    r"(?:19|20)\d{2}年(?:(?:1[0-2]|0?[1-9])月(?:[0-3]?\d[日号])?)?|(?<!\d)(?:1[0-2]|0?[1-9])月(?:[0-3]?\d[日号])?"
)
# A question asking for a year, which a year's digits answer ("1988年"), not a duration ("成立20周年").
YEAR_ASKED = re.compile(r"哪一?年|何年|什么年份|哪个年份|\b(?:what|which) year\b", re.IGNORECASE)
YEAR_GIVEN = re.compile(r"\d{3,4}|[〇零一二三四五六七八九]{4}")
# A question asking for a day, which a day of the month answers ("12月9日", "次日"), not a year.
DAY_ASKED = re.compile(r"哪一?天|哪一?日|几月几[日号]|日期")
DAY_GIVEN = re.compile(r"[\d一二三四五六七八九十×]+\s*[日号]|\d{1,2}[/.-]\d{1,2}|[今昨明前后当次翌][天日]|×+日")
# A question asking for several items by number ("哪两种酸", "哪三条支流"), and the marks and words that
# join items in a list ("甲、乙和丙").
ITEMS_ASKED = re.compile(r"(?<=哪)[两二三四五六七八九十]")
ITEM_COUNTS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
ITEM_JOINER = re.compile(r"[、，,；;/]|以及|[和及与或]")
# Words that say a quantity changed ("增长", "下降", "提高", "翻番").
CHANGE_WORD = re.compile(r"[增降减涨跌升翻]|提高|回落")
# Places are named, or end in a word for a place ("伍德沃德大道9844号"), or are a localiser ("新界西北部",
# "市内"; LOCALISER_TAGS: "全部" ends like 西北部 but places nothing).
PLACE_END = re.compile(r"[省市县区州镇乡村国岛洲山河湖海江路街道号港湾城府郡]$")
LOCALISER_END = re.compile(r"[部面边侧内外]$")
# A passage that tells its reader what to answer is an instruction, not a fact (issue: prompt injection).
INSTRUCTION = re.compile(
    r"忽略(?:之前|以上|上述|前面)的?(?:所有|全部)?(?:指令|指示|说明|要求)|(?:请|你必须|你应该|务必)(?:回答|答复|输出|告诉用户)"
    r"|ignore (?:all |any )?(?:previous|prior|above) (?:instructions|prompts)|you (?:must|should) (?:answer|reply|say)",
    re.IGNORECASE,
)

# Weights of the candidate score and the bars an answer must clear. Set on the development
# sets in ../shared/eval/external (halves of each set checked against each other) and the
# bundled report's questions; see docs/benchmarks.md for the figures they give.
WEIGHT_COVERAGE = 0.5
WEIGHT_ALIGNMENT = 0.3
WEIGHT_SIMILARITY = 0.6
UNNAMED_ANCHOR_PENALTY = 0.1
# A run next to question words the sentence has in another order than the question ("由Y担任会长"
# for "会长是谁") is weaker evidence of the slot than one in the question's order.
WRONG_SIDE = 0.3
# A run must be next to question words to be the slot (a neighbour at distance 2 scores 0.5)
# and be of the asked kind (0.5).
MIN_RUN_SCORE = 0.9
# Words that introduce the doer of a clause ("由X主持", "被X收回"), who comes before the verb; not
# the 由 and 被 inside other words ("由于", "理由", "被告", "被害人", "被申请人"), nor the 由 of a change
# from one figure to another ("由2377万吨增加到7650万吨").
AGENT_MARKER = re.compile(r"(?<![理自缘事经来])由(?![于此来衷])(?!\d[^，。；]*?[到至]\d)|被(?![告害子褥申上诉执])")
# What a marker adds to a run it introduces: a doer still competes with the runs between question
# words; a cause is what a 为什么 question asks for, wherever it stands.
DOER_BONUS = 0.3
CAUSE_BONUS = 1.0
# Words that introduce a cause or a purpose ("由于X，…", "…，意图X"), which a 为什么 question asks for.
CAUSE_MARKER = re.compile(r"因为|由于|因(?![此而])|为了|鉴于|意图|旨在|以便|以免")
# The words that open a consequence ("…，故原告诉至本院"): what follows them is what the cause led to.
CONSEQUENCE_WORDS = frozenset({"故", "因此", "因而", "所以", "于是", "遂", "从而"})
# How sure a title standing right after the asked noun ("电视剧《X》") is the answer: as sure as a
# run with question words close on both sides.
APPOSITION_ALIGNMENT = 0.9
# A run in a clause naming the question's whole subject gains this much over one naming none.
WEIGHT_CLAUSE_SUBJECT = 0.6
# What stands between two names of one list: a joiner ("甲、乙", "甲以及乙", "从甲到乙"), or other
# items between enumeration commas ("甲、丙、乙").
PEER_GAP = re.compile(
    rf"[”」》)）]?(?:以?{NAME_JOINER}|到|(?:、[^，。；：！？、\s]{{1,8}})+以?{NAME_JOINER})[“「《(（]?"
)
MIN_COVERAGE = 0.45
MIN_ALIGNMENT = 0.25
MIN_SIMILARITY = {"zh": 0.80, "en": 0.75}
# A reading of a translated question is used only above this score.
CONFIDENT_SCORE = 1.05
# Below this, auto asks the model to check an answering reading (and it asks about every refusal).
# Measured on the external sets (`b918263`, every question read by both readers): 1.15 → 1.35 took RGB
# 46 → 52 right (CW 10 → 5), CJRC 44 → 45 (CW 10 → 9), CMRC 61 → 58 (CW 16 → 18); always asking gained
# RGB one more. Earlier (`07e0c25`), 1.05 → 1.15 had taken RGB 35 → 37 right, CJRC 31 → 34.
ASK_MODEL_BELOW = 1.35
# Below this, a reading the model could not confirm (its words failed a check) is refused, not
# answered. Measured on the external sets (`8225d09`, every answering reading sent to the model): of
# the extractive answers below 1.0, 6 in 26 were right; of those the model did not confirm, 2 in 11.
UNCONFIRMED_REFUSED_BELOW = 1.0
# A span aligned below this with the question's words is checked by the model whatever its score, and
# refused when the model does not confirm it. Measured on the external sets (`7a0d675`, every answering
# reading sent to the model): confidently wrong answers 68 → 64, unanswerable questions refused 33 → 34,
# right answers unchanged at 147; a bar of 0.6 cost 2 right answers, 0.7 cost 5.
WEAK_ALIGNMENT = 0.55
# How aligned the sentence's one name or date of the asked kind is, when the span where the question word
# stands names none: below WEAK_ALIGNMENT, so auto has the model confirm it.
LONE_ITEM_ALIGNMENT = 0.5


@dataclass(frozen=True)
class Candidate:
    passage_index: int
    sentence: str
    span: str
    figures: tuple[Figure, ...]
    coverage: float  # of the question's terms, as the bar counts them (see `read`)
    subject_coverage: float  # of the question's subject terms, in the sentence itself
    alignment: float
    similarity: float
    contradicted: tuple[str, ...]
    score: float
    # The span is the sentence's one item of the asked kind, not the words where the question word
    # stands (`lone_item`): an answer only when the model confirms it.
    lone: bool = False


@dataclass(frozen=True)
class Reading:
    """The reader's candidates, best first, and what the question asks."""

    question: Question
    lang: str  # of the question as the user asked it
    lexical: bool  # the question's terms are matched (Chinese text read)
    candidates: list[Candidate]
    flagged: frozenset[int]  # passages that tell the reader what to answer

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def question_terms(question: str) -> list[str]:
    return [t for t in question_words(question) if t not in GENERIC_TERMS]


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


def words_written(text: str, weights: dict[str, float]) -> float:
    """The weighted share of the question's words the text writes, a word and its parts (jieba's
    search pieces "发源", "源地" of "发源地") counted as one: a text that writes some of them
    ("发源于") writes the share of the word's characters they cover."""
    groups = _word_groups(tuple(weights))
    total = sum(max(weights[t] for t in members) for members in groups.values())
    if not total:
        return 0.0
    lowered = text.lower()
    written = sum(
        max(weights[t] for t in members) * _share_written(w, members, lowered) for w, members in groups.items()
    )
    return written / total


@functools.lru_cache(maxsize=256)
def _word_groups(terms: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Each word no other term contains, with the terms it contains (itself included)."""
    whole = [t for t in terms if not any(t != u and t in u for u in terms)]
    return {w: tuple(t for t in terms if t in w) for w in whole}


def _share_written(word: str, parts: tuple[str, ...], text: str) -> float:
    """The share of the word's characters that the text writes, whole or in its parts."""
    if word in text:
        return 1.0
    covered: set[int] = set()
    for part in parts:
        if part in text:
            at = word.find(part)
            covered.update(range(at, at + len(part)))
    return len(covered) / len(word)


def similarities(embeddings, query_vector: list[float], texts: list[str]) -> list[float]:
    if not texts:
        return []
    vectors = embeddings.embed_documents(texts)
    return [sum(a * b for a, b in zip(query_vector, v, strict=True)) for v in vectors]


def reading_units(text: str) -> list[tuple[str, str]]:
    """Sentences, with the long ones (judgments run on for hundreds of characters without a full
    stop) cut at clause ends into pieces a reader can quote. Each piece comes with the opening clause
    of the sentence it was cut from ("" for the first): "今年…主要预期目标是：" says what every piece
    of the list it opens is about."""
    units: list[tuple[str, str]] = []
    for sentence in split_sentences(text):
        if len(sentence) <= MAX_UNIT_CHARS:
            units.append((sentence, ""))
            continue
        clauses = split_clauses(sentence)
        piece, lead = "", ""
        for clause in clauses:
            if piece and len(piece) + len(clause) > MAX_UNIT_CHARS:
                units.append((piece, lead))
                piece, lead = "", clauses[0]
            piece += clause
        if piece:
            units.append((piece, lead))
    return units


def is_instruction(text: str) -> bool:
    return bool(INSTRUCTION.search(text))


def read(question: Question, passages: list[Passage], embeddings, query_vector: list[float], lang: str) -> Reading:
    """Candidates from the top passages, scored and sorted best first.

    `question` is what is read (a Chinese wording of an English question, or its Chinese terms);
    `lang` is the language of the question as embedded in `query_vector`.
    """
    question_text = question.text
    lexical = language_of(question_text) == "zh"
    flagged = frozenset(i for i, p in enumerate(passages) if is_instruction(p.text))
    sentences: list[tuple[int, str]] = []
    leads: dict[str, str] = {}
    units_read: dict[int, list[str]] = {}
    for index, passage in enumerate(passages[:PASSAGES_READ]):
        if index in flagged:
            continue
        units = reading_units(passage.text)
        units_read[index] = [unit for unit, _ in units]
        for sentence, lead in units:
            if sentence not in leads and len(sentence) >= 4:
                leads[sentence] = lead
                sentences.append((index, sentence))
    if not sentences:
        return Reading(question, lang, lexical, [], flagged)

    # The words that ask (the question word's pieces, "地方" of "什么地方", "地址" of "地址是哪里") are
    # replaced by the answer in the sentence that gives it: they weigh nothing.
    asking = question.asking_terms()
    terms = [t for t in question_terms(question_text) if t not in asking]
    weights = term_weights(terms, [s for _, s in sentences])
    years = years_in(question_text)
    months = months_in(question_text)
    # A year asked whole: a clause about a part of it answers for that part.
    whole_year = bool(years) and not months and not PART_OF_YEAR.search(question_text)
    relative_years = relative_years_in(question_text) if lexical else []
    places = place_names(question_text) if lexical else []
    # The subject: what the question asks about, less the years, places and title words that
    # only say which document (a figure from the right report about another thing is wrong).
    subject = {t: w for t, w in weights.items() if t not in years and not any(t in p for p in places)}
    documents: dict[str, str] = {}
    for passage in passages:
        documents[passage.doc] = (
            f"{documents.get(passage.doc, '')} {passage.title} {passage.section} {passage.text}".lower()
        )
    # Names are matched without spaces: "EMNLP 2022" names what "EMNLP2022" asks about.
    unspaced = {doc: re.sub(r"\s+", "", text) for doc, text in documents.items()}
    drafts = []
    for index, sentence in sentences:
        # A place the sentence's document names frames all its sentences: a report says "全省" and
        # "外贸" where the question names the province ("江南省的出口额").
        framed = " ".join(p for p in places if p[:-1].lower() in documents[passages[index].doc])
        context = f"{passages[index].title} {passages[index].section} {leads[sentence]} {sentence} {framed}"
        coverage = coverage_of(context, weights) + 0.02 / (1 + index)
        span, alignment = asked_span(question, sentence, leads[sentence])
        lone = "" if gives_kind(span, question) else lone_item(sentence, question)
        if lone:
            span, alignment = lone, min(alignment, LONE_ITEM_ALIGNMENT)
        drafts.append((index, sentence, span, alignment, coverage, context, bool(lone)))
    title_words = {t for index, _ in sentences for t in subject if t in passages[index].title.lower()}
    drafts.sort(key=lambda d: d[4] + WEIGHT_ALIGNMENT * d[3], reverse=True)
    shortlist = drafts[: SEMANTIC_CANDIDATES[lang]]
    scores = similarities(embeddings, query_vector, [d[1] for d in shortlist])

    # The names the question asks about (people, organisations, titles): a passage that never
    # mentions one is about something else ("泸定地震" read from a passage on another earthquake).
    # A document names it in any of its retrieved passages ("我市" in one, "韶关" in another).
    # (A bag of search terms for an English question, or its machine translation, has no names of its
    # own: its spelling of a foreign name, "汤姆·皮凯蒂" for the text's "托马斯·皮凯蒂", is a guess.)
    # Not names: the noun the question word asks for ("哪座城市"), nor a word jieba joined across a
    # possessive 的 ("张静美的代表作" read as 张静 + 美的).
    asked = question.left or question.right
    names = (
        [
            n
            for n in names_in(question_text)
            if len(n) > 1
            and not any(n in p or p in n for p in places)
            and n not in asking
            and n != question.head
            and not n.endswith("的")
        ]
        if asked and language_of(question_text) == lang
        else []
    )
    candidates = []
    for (index, sentence, span, alignment, coverage, context, lone), similarity in zip(shortlist, scores, strict=True):
        whole = documents[passages[index].doc]
        other_places = {p: _names_other_place(whole, p) for p in places}  # another city's report
        unnamed_relative = [w for w in relative_years if not any(name in context for name in RELATIVE_YEARS[w])]
        # A 今年 the passage does not say, in a section that looks back, is another year.
        reviewed = THIS_YEAR in unnamed_relative and bool(REVIEW_SECTION.search(passages[index].section))
        contradicted = (
            tuple(y for y in years if y not in context and years_in(context))
            # A month the passage never names: its figure is another period's (the year's).
            + tuple(m for m in months if m not in context and (months_in(context) or m not in passages[index].text))
            + tuple(p for p in places if other_places[p])
            + tuple(n for n in names if not written_in(re.sub(r"\s+", "", n.lower()), unspaced[passages[index].doc]))
            + (tuple(PART_OF_YEAR.findall(_period_clause(sentence, span))) if whole_year else ())
            + ((THIS_YEAR,) if reviewed else ())
        )
        unnamed = (
            tuple(y for y in years if y not in context and not years_in(context))
            + tuple(p for p in places if p[:-1] not in whole and not other_places[p])
            + tuple(w for w in unnamed_relative if not (reviewed and w == THIS_YEAR))
        )
        figures = tuple(f for f in find_figures(span) if not f.is_year) if question.kind == "number" else ()
        if question.kind in ("entity", "") and not lone:
            sentence, span = whole_list(passages[index].text, units_read[index], sentence, span)
            sentence, span = numbered_list(passages[index].text, sentence, span)
        about = {t: w for t, w in subject.items() if t not in title_words}
        subject_coverage = coverage_of(sentence, about) if about else 1.0
        score = (
            (WEIGHT_COVERAGE * coverage if lexical else 0.0)
            + WEIGHT_ALIGNMENT * alignment
            + WEIGHT_SIMILARITY * similarity
            - UNNAMED_ANCHOR_PENALTY * len(unnamed)
            - (0.0 if fits_kind(span, question.kind) else 0.2)
        )
        candidates.append(
            Candidate(
                index,
                sentence,
                span,
                figures,
                # The bar is cleared by either count: the pieces credit a sentence that writes a
                # compound whole, the words one that writes part of it ("发源" of "发源地"). A sentence
                # whose context leaves a year or place of the question unnamed gets no part credit:
                # it may be another place's figure.
                coverage if unnamed else max(coverage, words_written(context, weights)),
                subject_coverage,
                alignment,
                similarity,
                contradicted,
                score,
                lone,
            )
        )
    candidates.sort(key=lambda c: (not c.contradicted, c.score), reverse=True)
    return Reading(question, lang, lexical, candidates, flagged)


def whole_list(text: str, units: list[str], sentence: str, span: str) -> tuple[str, str]:
    """A span that is the first item of a list a colon opens is answered by the list: the items up to
    the one that ends without a semicolon, and the units of `text` they stand in. Otherwise the same."""
    stripped = sentence.rstrip()
    at = stripped.rfind(span)
    if not span or at < 0 or not stripped.endswith(LIST_ITEM_END) or stripped[at + len(span) : -1].strip():
        return sentence, span
    # The colon stands in the span ("出院诊断为：1、…") or just before it, with the item's marker.
    colon = max((m.start() for m in LIST_COLON.finditer(stripped, 0, at + len(span))), default=-1)
    if colon < 0 or sentence not in units or (colon < at and not LIST_OPENING.fullmatch(stripped[colon:at])):
        return sentence, span
    pieces = [sentence]
    for unit in units[units.index(sentence) + 1 :][:MAX_LIST_ITEMS]:
        pieces.append(unit)
        # An item that runs on past a clause end or a colon is the last ("2、…骨折出院医嘱：注意休息，"):
        # judgments lose the line breaks that ended their lists.
        if not unit.rstrip().endswith(LIST_ITEM_END) or LIST_ITEM_BREAK.search(unit.rstrip()[:-1]):
            break
    joined = "".join(pieces)
    if len(pieces) == 1 or joined not in text:  # a list runs on in one paragraph
        return sentence, span
    last_item = LIST_ITEM_BREAK.split(pieces[-1], maxsplit=1)[0]
    end = len(joined) - len(pieces[-1]) + len(last_item)
    return joined, _strip_edges(joined[min(at, colon + 1) : end])


def numbered_list(text: str, sentence: str, span: str) -> tuple[str, str]:
    """A span that announces a numbered list ("勘验情况如下：") is answered by the list: its items, commas
    and all, up to the end of the last one, cited from the sentence's start in `text` (the passage).
    Otherwise the same: a span in one item answers as itself ("指控：1、…用其身份证租来…").
    """
    start = text.find(sentence.rstrip())
    at = text.find(span, start) if span and start >= 0 else -1
    announcing = LIST_COLON.match(text, at + len(span)) if at >= 0 else None
    opening = NUMBERED_LIST_START.match(text, announcing.end()) if announcing else None
    if not opening:
        return sentence, span
    style = next(name for name in NEXT_ITEM if opening.group(name))
    closing = CLOSING_QUOTE[opening.group("quote")]
    markers = [opening.start(style)]
    for number in range(2, MAX_LIST_ITEMS + 1):
        pattern = NEXT_ITEM[style].format(number=number, circled=chr(ord("①") + number - 1))
        following = re.compile(pattern).search(text, markers[-1] + 1, markers[-1] + MAX_ITEM_CHARS)
        if not following or re.search(f"[\\n{closing}]", text[markers[-1] : following.start(1)]):
            break
        markers.append(following.start(1))
    end = re.compile(f"[。\\n{closing}]").search(text, markers[-1] + 1, markers[-1] + MAX_ITEM_CHARS)
    if len(markers) < 2 or end is None:
        return sentence, span
    return text[start : end.end()], _strip_edges(text[markers[0] : end.start()])


def _period_clause(sentence: str, span: str) -> str:
    """The clause holding the span (the sentence when the span is not in it), after the sentence's
    opening clause when that is a time, which governs what follows ("2021年第四季度，…增长6.9%")."""
    at = sentence.find(span)
    if at < 0 or not span:
        return sentence
    left, right = clause_bounds(sentence, at, at + len(span))
    opening = SPAN_END.split(sentence, maxsplit=1)[0]
    governs = left > 0 and len(opening) <= OPENING_TIME_CHARS and TIME_WORDS.search(opening)
    return f"{opening if governs else ''}{sentence[left:right]}"


def _span_clause(sentence: str, span: str) -> str:
    """The clause holding the span, or the sentence when the span is not in it."""
    at = sentence.find(span)
    return clause_around(sentence, at, at + len(span)) if at >= 0 and span else sentence


def written_in(name: str, document: str) -> bool:
    """The document writes the name, or a full name it abbreviates: a Chinese abbreviation keeps
    characters of the full name in order ("世锦赛" of "世界乒乓球团体锦标赛", "冬奥会" of "冬季奥林匹克
    运动会"), and the full name is nouns (not "王某说小李很明白" for 王小明). Two characters are too
    few to tell an abbreviation from chance."""
    if name in document:
        return True
    if len(name) < 3 or not is_hanzi_word(name):
        return False
    gap = rf"[{HANZI}]{{0,{ABBREVIATION_GAP}}}?"
    return any(
        all(flag == "vn" or not flag.startswith(EMPTY_TAGS) for _, flag in tagged_words(full.group()))
        for full in re.finditer(gap.join(map(re.escape, name)), document)
    )


def _names_other_place(document: str, place: str) -> bool:
    """The document names places of the asked place's rank ("金华市" for "铜仁市") and never the asked
    one: a report about another city. One that names none may still be the asked city's ("我市")."""
    if place[:-1] in document:
        return False
    return any(other != place for other in _places_named(document) if other.endswith(place[-1]))


@functools.lru_cache(maxsize=64)
def _places_named(document: str) -> tuple[str, ...]:
    return tuple(place_names(document))  # once per document, not per sentence


def asked_span(question: Question, sentence: str, lead: str = "") -> tuple[str, float]:
    """The span of the sentence that stands where the question word stands, and how sure that is.

    The sentence's characters shared with the question (runs of two or more) are its context;
    the answer is a run of the other characters next to the context that stood next to the
    question word ("财政总收入*增长*了多少" -> the run after 增长). When the question word is a
    determiner ("哪个公司"), the noun after it heads the answer and is kept ("…有限公司").
    Without a slot (English questions), the clause most like the question. `lead`, the opening clause
    of the long sentence this piece was cut from, says its words of the piece too.
    """
    sentence = ASIDE.sub("", sentence)
    if not question.left and not question.right:
        return _strip_edges(_best_clause(sentence, question)), 0.0
    titled = _titled_head(question, sentence) or _role_of(question, sentence)
    if titled:
        return titled, APPOSITION_ALIGNMENT
    distance = _shared_runs(question, sentence, lead)
    clauses = _clause_subjects(question, sentence)
    best: tuple[float, float, int, int] | None = None
    marker = CAUSE_MARKER if question.kind == "reason" else AGENT_MARKER
    copula = question.left.endswith("是") and not question.right.strip(SLOT_EDGE)
    each_asked = question.kind == "number" and bool(EACH_ASKED.search(question.text))
    for start, end in _introduced_runs(sentence, _unshared_runs(sentence, distance), marker):
        span = _strip_edges(sentence[start:end])
        if not span:
            continue
        before, after = _neighbour(distance, sentence, start - 1, -1), _neighbour(distance, sentence, end, 1)
        introduced = _is_introduced(sentence, start, marker)
        if not (introduced and question.kind == "reason") and not each_asked:
            # Question words on the wrong side past a clause end open the next clause (or close the one
            # before): in "A增长8%，B增长10%", B's words say nothing of 8%. (A cause binds both sides, and
            # a question for each thing's figure asks for the next one too.)
            if after and after[0] == "left" and SPAN_END.search(sentence, end, _next_shared(distance, end, 1)):
                after = None
            if (
                before
                and before[0] == "right"
                and SPAN_END.search(sentence, _next_shared(distance, start - 1, -1), start)
            ):
                before = None
        if introduced and question.kind == "reason":
            # "由于X，比赛推迟" and "比赛推迟，意图X": the marker binds the cause to the question's words
            # on either side.
            before, after = before or after, after or before
        elif after and (introduced or (copula and "是" in sentence[max(start, end - 2) : end + 1])):
            # "由X主持" says "X is the one who 主持": the question's words follow the answer here, and
            # the construction binds the doer to them as a slot between question words does. So does
            # 是 both ways: "X是A的基础" answers "A的基础是什么".
            after = ("right", after[1])
        introduced = introduced and bool(before or after)
        score = (
            _closeness(before, "left")
            + _closeness(after, "right")
            + (CAUSE_BONUS if question.kind == "reason" else DOER_BONUS) * introduced
        )
        score += 0.3 * bool(before and after and before[0] in ("left", "both") and after[0] in ("right", "both"))
        score += 0.5 * fits_question(span, question) + 0.5 * bool(_head_noun(question, sentence, end))
        score -= 0.02 * max(0, len(span) - 20)
        # The clause's subject chooses among the runs of this sentence; it is not evidence of the slot.
        choice = score + WEIGHT_CLAUSE_SUBJECT * next(share for clause_end, share in clauses if start < clause_end)
        if best is None or choice > best[0]:
            best = (choice, score, start, end)
    if best is None or best[1] < MIN_RUN_SCORE:
        clause = _best_clause(sentence, question)
        return _strip_edges(_described(sentence, clause, clauses) if question.asks_description else clause), 0.0
    _, score, start, end = best
    span = _strip_edges(sentence[start:end])
    if len(span) <= 2 and start > 0 and distance[start - 1] and question.kind in ("entity", "place"):
        # A character or two glued to shared words completes a name ("鲤鱼门天后" + "宫").
        while start > 0 and distance[start - 1] is not None:
            start -= 1
        span = _strip_edges(sentence[start:end])
    span = span + _head_noun(question, sentence, end)
    clause = clause_around(sentence, _listed_names_start(sentence, start) if question.kind == "person" else start, end)
    if each_asked:
        left, right = clause_bounds(sentence, start, end)
        clause = _strip_edges(sentence[left : _figure_clauses_end(sentence, right)])
    if question.asks_description:
        return _strip_edges(_described(sentence, clause, clauses)), min(1.0, score / 2)
    return (clause if len(clause) <= CLAUSE_ANSWER_CHARS else span), min(1.0, score / 2)


def _listed_names_start(sentence: str, start: int) -> int:
    """Where a list of names that the span opens begins: translated text joins names with commas as
    well as with 和 ("西蒙·布雷德伯里，埃里克·乌列特和大卫·莱斯特成立…"), so the comma pieces just
    before that are a name and nothing else belong to the answer."""
    if not _opens_with_name(ITEM_JOINER.split(sentence[start:], maxsplit=1)[0][: NAME_CHARS * 2]):
        return start
    while sentence[start - 1 : start] == "，":
        piece_start = max((m.end() for m in SPAN_END.finditer(sentence, 0, start - 1)), default=0)
        if not _is_name(sentence[piece_start : start - 1]):
            break
        start = piece_start
    return start


def _opens_with_name(text: str) -> bool:
    names = _proper_names(text)
    return bool(DOTTED_NAME.match(text)) or (bool(names) and text.startswith(names[0]))


def _is_name(text: str) -> bool:
    return bool(DOTTED_NAME.fullmatch(text)) or (bool(text) and "".join(_proper_names(text)) == text)


def names_an_earlier_work(question_text: str, clause: str) -> str:
    """A title the clause names whose asked work is a longer one: "《速度与激情》系列…" is about the
    series, not about "速度与激情10" or "《速度与激情10》" the question names. Returns the title, or ""."""
    for title in WORK_TITLE.findall(clause):
        for at in _find_all(question_text, title):
            after = question_text[at + len(title) :]
            if TITLE_CONTINUATION.match(after):
                return title
    return ""


def _figure_clauses_end(sentence: str, end: int) -> int:
    """Where the comma clauses after a figure's clause that give a figure of their own end: a question
    for each thing's figure ("文、赋及诗各多少篇") is answered by all of them ("…1104篇，诗961首")."""
    while sentence[end : end + 1] in ("，", "；", ";"):
        following = SPAN_END.search(sentence, end + 1)
        clause_end = following.start() if following else len(sentence)
        if not any(not f.is_year for f in find_figures(sentence[end + 1 : clause_end])):
            break
        end = clause_end
    return end


def lone_item(sentence: str, question: Question) -> str:
    """The sentence's one name (for 谁) or date (for 何时) that the question does not give, when the
    span where the question word stands has none ("吴京…达到300亿元，成为首个…的演员"), or ""."""
    if question.kind == "person":
        items = {n for n in _proper_names(sentence) if not ACRONYM.fullmatch(n)}
    elif question.kind == "time":
        items = set(DATE.findall(sentence))
        if YEAR_ASKED.search(question.text) or DAY_ASKED.search(question.text):
            items = {d for d in items if gives_kind(d, question)}
    else:
        return ""
    items = {item for item in items if item.lower() not in question.text.lower()}
    return next(iter(items)) if len(items) == 1 else ""


def _titled_head(question: Question, sentence: str) -> str:
    """The title a sentence writes right after the noun a question for a named thing asks for: "电视剧
    《波丽士大人》" names the series "哪部电视剧" asks for."""
    if not question.asks_named_thing or not question.head:
        return ""
    match = re.search(re.escape(question.head) + r"\s*([《〈「][^《》〈〉「」]+[》〉」])", sentence)
    return match.group(1) if match else ""


@functools.lru_cache(maxsize=256)
def role_asked_of(question: Question) -> tuple[str, ...]:
    """The named people whose role (what they are, their post) the question asks, or () (once per
    question, not per sentence)."""
    stripped = question.text.strip().rstrip(QUESTION_END)
    asked = ROLE_ASKED.search(stripped)
    if not asked:
        return ()
    people = tuple(p for p in re.split(NAME_JOINER, PARTY_ROLE.sub("", stripped[: asked.start()])) if p)
    named = all(HIDDEN_NAME.fullmatch(p) or _is_name(p) for p in people)
    return people if people and named else ()


def _role_of(question: Question, sentence: str) -> str:
    """The role the sentence gives the asked people: written after them with a linking verb ("黄某、王某
    系南宁市公安局民警") or before the first of them as its title ("江西某公司总经理高某"), or ""."""
    people = role_asked_of(question)
    if not people:
        return ""
    for at in _find_all(sentence, people[0]):
        end = at + len(people[0])
        for person in people[1:]:  # the other people, listed after the first
            following = re.match(NAME_JOINER + re.escape(person), sentence[end:])
            end = end + following.end() if following else end
        verb = ROLE_VERB.match(sentence, end)
        if verb:
            stop = SPAN_END.search(sentence, verb.end())
            role = sentence[verb.end() : stop.start() if stop else len(sentence)]
            if 1 < len(role) <= CLAUSE_ANSWER_CHARS and names_something(role):
                return role
        start = max((m.end() for m in LIST_ITEM_BREAK.finditer(sentence, 0, at)), default=0)
        words = tagged_words(sentence[start:at])
        opening = next(
            (
                i + 1
                for i in range(len(words) - 1, -1, -1)
                if words[i][1].startswith(ROLE_STOP_TAGS) and words[i][1] != "vn"
            ),
            0,
        )
        role = "".join(word for word, _ in words[opening:])
        if len(role) > 1 and words[-1][1].startswith("n") and not PARTY_ROLE.fullmatch(role):
            return role
    return ""


def _described(sentence: str, clause: str, clauses: list[tuple[int, float]]) -> str:
    """A description runs to the end of the sentence, from its clause or from an earlier one naming
    what is described: "鹿角分开为10-14个叉，有些甚至达至20个"; "于9月18日主动投案，并如实供述"."""
    at = sentence.find(clause)
    if at < 0:
        return clause
    start = 0
    for end, share in clauses:
        if share > 0 or start >= at:
            break
        start = end
    return sentence[min(at, start) :]


def predicate_words(question: Question) -> set[str]:
    """At either end of the question, the word next to the question word: what is asked of the
    subject ("收入增长了多少", "谁提供场地"), not which subject. A question without a question word
    ends with the asked noun ("C919的交付时间"), which is no predicate."""
    if not question.word:
        return set()
    left, right = segment(question.left.rstrip(SLOT_EDGE)), segment(question.right.lstrip(SLOT_EDGE))
    return set(left[-1:] if not right else right[:1] if not left else [])


def subject_share_at(question: Question, sentence: str, position: int) -> float:
    """The share of the question's subject words that the clause at a position names (or continues)."""
    return next(share for clause_end, share in _clause_subjects(question, sentence) if position < clause_end)


def _clause_subjects(question: Question, sentence: str) -> list[tuple[int, float]]:
    """Per clause (its end), the share of the question's subject words it names.

    A list sentence ("收入94.7亿元、增长6.8%，其中税收收入60.2亿元、增长11.3%") gives each subject its
    own clause, and the asked figure is the one in the clause about the asked subject. A clause
    naming none of them ("，增长25.89%") continues the subject of the one before.
    """
    subject = _subject_words(question)
    total = sum(len(t) for t in subject)
    shares: list[tuple[int, float]] = []
    start, previous = 0, 0.0
    for end in [m.end() for m in re.finditer(r"[，；;。！？!?]", sentence)] + [len(sentence) + 1]:
        clause = sentence[start:end].lower()  # terms are lower-cased ("emnlp")
        share = sum(len(t) for t in subject if t in clause) / total if total else 0.0
        previous = share or previous
        shares.append((end, previous))
        start = end
    # A sentence that opens with its time ("1936年，德军重新占领莱茵兰") names the subject after it:
    # the opening clause belongs to the next clause that names one.
    if shares and not shares[0][1] and TIME_WORDS.search(sentence[: shares[0][0]]):
        following = next((share for _, share in shares if share), 0.0)
        shares[0] = (shares[0][0], following)
    return shares


@functools.lru_cache(maxsize=256)
def _subject_words(question: Question) -> tuple[str, ...]:
    """The question's terms that say which subject it asks about (once per question, not per sentence).

    A question whose one term stands next to its question word ("色林错在哪里", "高某是谁") asks
    about that term: the word next to the question word is its predicate only when another names the
    subject.
    """
    years = years_in(question.text)
    named = [
        t
        for t in question.terms
        if len(t) > 1
        and not t.isdigit()
        and t not in GENERIC_TERMS
        and t not in years
        and t not in question.asking_terms()
    ]
    predicate = predicate_words(question)
    return tuple(t for t in named if t not in predicate) or tuple(named)


def _is_introduced(sentence: str, start: int, marker: re.Pattern[str]) -> bool:
    """The run starts with, or follows, a word that says what it is: the doer of a passive or 由
    clause ("由霍震霆担任会长", "被甲方收回"), or a cause ("由于天气原因")."""
    # Not cut at start + 2: a marker's lookahead reads on ("由2377万吨增加到…" is no doer).
    near = (m for m in marker.finditer(sentence, max(0, start - 2)) if m.start() < start + 2)
    return any(m.start() <= start <= m.end() for m in near)


def _introduced_runs(sentence: str, runs: list[tuple[int, int]], marker: re.Pattern[str]) -> list[tuple[int, int]]:
    """The runs, and within a run what follows its last marker ("节目由X主持": X; "，意图X": X)."""
    found = list(runs)
    for start, end in runs:
        at = max((m.end() for m in marker.finditer(sentence, start, end)), default=-1)
        if start < at < end:
            found.append((at, end))
    return found


def clause_bounds(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Where the clause holding a span begins and ends."""
    left = max((m.end() for m in SPAN_END.finditer(sentence, 0, start)), default=0)
    right = SPAN_END.search(sentence, end)
    return left, right.start() if right else len(sentence)


def clause_around(sentence: str, start: int, end: int) -> str:
    """The clause that holds a span: the span with the words that say what it is."""
    left, right = clause_bounds(sentence, start, end)
    return _strip_edges(sentence[left:right])


Shared = tuple[str, int] | None  # the side of the question word a shared run is on, and how far


def _closeness(shared: Shared, side: str) -> float:
    """How much a shared neighbour says that the run is the answer: near the question word, and on
    the side the question has it (less when the sentence has the words in another order)."""
    if shared is None:
        return 0.0
    where, distance = shared
    return (1.0 if where in (side, "both") else WRONG_SIDE) / (1 + distance / 2)


def _shared_runs(question: Question, sentence: str, lead: str = "") -> list[Shared]:
    """Per sentence character: the side of the question word the question has it on and how far
    from it (in characters other than joining words and those the lead says), or None when the
    question does not share it. Greedy longest runs from the left, two characters or more."""
    left, right = question.left, question.right
    left_gaps, right_gaps = _said_by_lead(left, sentence, lead), _said_by_lead(right, sentence, lead)
    distance: list[Shared] = [None] * len(sentence)
    i = 0
    while i < len(sentence):
        size, nearest = 0, None
        for length in range(min(len(sentence) - i, 30), MIN_CONTEXT_CHARS - 1, -1):
            piece = sentence[i : i + length]
            if not piece.strip(SLOT_EDGE + "，。；、（）()《》“”"):
                continue
            gaps = [("left", _content_chars(left_gaps[at + length :])) for at in _find_all(left, piece)]
            gaps += [("right", _content_chars(right_gaps[:at])) for at in _find_all(right, piece)]
            if gaps:
                sides = {side for side, _ in gaps}
                size = length
                nearest = ("both" if len(sides) > 1 else sides.pop(), min(d for _, d in gaps))
                break
        if size:
            distance[i : i + size] = [nearest] * size
            i += size
        else:
            i += 1
    # A hidden name is one word: the question's "黄某" shares the sentence's "黄某甲" whole, so no span
    # starts with its "甲".
    for name in HIDDEN_NAME.finditer(sentence):
        shared = [d for d in distance[name.start() : name.end()] if d is not None]
        if shared:
            distance[name.start() : name.end()] = [min(shared, key=lambda d: d[1])] * (name.end() - name.start())
    return distance


def _said_by_lead(text: str, sentence: str, lead: str) -> str:
    """The text with the words blanked that the lead says and the sentence does not: "目标是" of
    "…收入增长目标是多少" stands in "今年…主要预期目标是：", which says it of every item of the list
    the sentence goes on with, so it parts the question word from nothing there."""
    if not lead:
        return text
    blanked = list(text)
    i = 0
    while i < len(text):
        for length in range(len(text) - i, MIN_CONTEXT_CHARS - 1, -1):
            piece = text[i : i + length]
            if piece in lead and piece not in sentence:
                blanked[i : i + length] = " " * length
                i += length - 1
                break
        i += 1
    return "".join(blanked)


def _neighbour(distance: list[Shared], sentence: str, at: int, step: int) -> Shared:
    """The question words next to a position, looking past a joining word or a comma or two.

    Question words standing together ("营业收入：2022年") count as one block, as near the question
    word as its nearest member.
    """
    for _ in range(3):
        if not 0 <= at < len(sentence) or distance[at] is not None:
            break
        if sentence[at] not in SLOT_EDGE:
            return None
        at += step
    block: list[tuple[str, int]] = []
    while 0 <= at < len(sentence) and (distance[at] is not None or sentence[at] in SLOT_EDGE):
        if distance[at] is not None:
            block.append(distance[at])  # type: ignore[arg-type]
        at += step
    return min(block, key=lambda shared: shared[1]) if block else None


def _next_shared(distance: list[Shared], at: int, step: int) -> int:
    """Where the nearest shared character from `at` on, in the direction of `step`, stands (the
    sentence's end in that direction when none does)."""
    while 0 <= at < len(distance) and distance[at] is None:
        at += step
    return max(at, 0)


def _find_all(text: str, piece: str) -> list[int]:
    found, at = [], text.find(piece)
    while at >= 0:
        found.append(at)
        at = text.find(piece, at + 1)
    return found


def _content_chars(text: str) -> int:
    return sum(1 for ch in text if ch not in SLOT_EDGE)


def _unshared_runs(sentence: str, distance: list[Shared]) -> list[tuple[int, int]]:
    """Runs of characters not shared with the question, cut at clause ends."""
    runs = []
    start = None
    for i, ch in enumerate(sentence + "。"):
        inside = i < len(sentence) and distance[i] is None and not SPAN_END.match(ch)
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _head_noun(question: Question, sentence: str, end: int) -> str:
    """The noun a determiner question word governs ("哪个*公司*制作"), where the sentence has it next."""
    if question.kind not in ("entity", "person", "place", "number") or not question.right:
        return ""
    words = segment(question.right)
    head = words[0] if words else ""
    return head if head and head not in SLOT_EDGE and sentence.startswith(head, end) else ""


def fits_kind(span: str, kind: str) -> bool:
    """A span of the kind asked: a figure for 多少, a time for 何时, a name (not a figure) for 谁."""
    if not span:
        return False
    if kind == "number":
        # A figure, not a date's digits ("2002年1月13日" counts nothing).
        return any(not f.is_year for f in find_figures(span)) or bool(CHINESE_COUNT.search(span))
    if kind == "time":
        return bool(TIME_WORDS.search(span))
    if kind == "person":
        people = [n for n in _proper_names(span) if not ACRONYM.fullmatch(n)]
        return bool(people or PERSON_WORD.search(span) or TITLE.search(span)) or "·" in span
    if kind == "place":
        # A hidden name of a judgment ("黄某甲") is a person's, never a place's.
        places = [n for n in _proper_names(span) if not HIDDEN_NAME.fullmatch(n)]
        return bool(places) or any(
            PLACE_END.search(word) or (LOCALISER_END.search(word) and flag in LOCALISER_TAGS)
            for word, flag in tagged_words(span)
        )
    return True


def _proper_names(span: str) -> list[str]:
    """The names in a span; a Latin word is one only when capitalised ("Barbara", "NFL", not "top")."""
    return [n for n in names_in(span) if not n.isascii() or n[:1].isupper()]


def gives_kind(span: str, question: Question) -> bool:
    """The words the span adds to the question hold an answer of the asked kind: "成为首个获得该奖的
    演员" echoes "…的演员" and names nobody, so it does not answer "谁是首个获得该奖的演员"; and a
    percentage answers only a question about a rate or a change ("招生人数" is not "增长率达到8.2%")."""
    added = new_words(span, question.text)
    if ANNOUNCEMENT_END.search(span.rstrip("。")):
        return False
    if YEAR_ASKED.search(question.text) and not YEAR_GIVEN.search(added):
        return False
    if DAY_ASKED.search(question.text) and not DAY_GIVEN.search(added):
        return False  # "哪一天领取" is not answered by "2013年"
    if question.asks_named_thing and not names_a_thing(span, added, question):
        return False
    if question.kind in ("entity", "") and not question.asks_description and not names_something(added):
        return False
    items = ITEMS_ASKED.search(question.text)
    if items and len(ITEM_JOINER.split(span)) < ITEM_COUNTS[items.group()]:
        return False  # "哪两种酸" is not answered by one acid
    if question.kind in ("reason", "manner") and added and not _says_more_than_names_and_times(added):
        return False  # a name or a date is no cause and no way: "为何离婚" is not answered by "尚x1"
    if question.kind == "reason" and next(iter(dictionary_words(span)), "") in CONSEQUENCE_WORDS:
        return False  # "故原告起诉" says what followed, not why
    if question.kind == "number" and not _counts_alike(span, question):
        return False  # "多少项专利" is not answered by "3人"
    return fits_question(span if question.kind == "number" else added, question)


def _says_more_than_names_and_times(added: str) -> bool:
    """Words beyond names, parties and times: "于2009年5月2日报" says when something was reported,
    not why, "被告人 又" (of "被告人李某又利用职务之便") not how, and "了一个" (of "建立了一个强大的经济基础",
    the question's own words) says nothing."""
    rest = PARTY_ROLE.sub(" ", TIME_WORDS.sub(" ", added))
    for name in names_in(rest):
        rest = rest.replace(name, " ")
    return any(len(piece) > 1 and says_something(piece) for piece in rest.split())


def _counts_alike(span: str, question: Question) -> bool:
    """A count answers in the class of the question's measure word: people (人, 名, 位) for "多少人",
    things for "多少项" or "几个"; a span whose counts are all of the other class does not answer."""
    measure = question.word[-1:] if question.word.startswith("几") else question.right[:1]
    if not measure or measure not in MEASURE_WORDS:
        return True
    units = [f.unit for f in find_figures(span) if f.unit and f.unit in MEASURE_WORDS]
    return not units or any((unit in PEOPLE_MEASURE) == (measure in PEOPLE_MEASURE) for unit in units)


def fits_question(span: str, question: Question) -> bool:
    """Of the asked kind. A figure question is answered by a figure the question does not give
    (its measure word may be the question's: "五个" for "几个堂区"), in the unit it asks in ("多少倍"),
    and by a percentage only when it asks for a rate or a change."""
    if question.kind != "number":
        return fits_kind(span, question.kind)
    unit = _asked_unit(question)
    if unit and not (MONEY.search(span) if unit.group("money") else unit.group("unit") in span):
        return False  # "增长了多少倍" is not answered by "增长21.6%", nor "罚了多少钱" by "两种"
    figures = [f for f in find_figures(span) if not f.is_year and f.text not in question.text]
    if figures and all(f.text.endswith("%") for f in figures) and not RATE_ASKED.search(question.text):
        return False
    return bool(figures) or any(count not in question.text for count in CHINESE_COUNT.findall(span))


@functools.lru_cache(maxsize=64)
def _asked_unit(question: Question) -> re.Match[str] | None:
    """The unit a figure question asks in, parsed once per question."""
    unit = ASKED_UNIT.match(question.right)
    if unit and unit.group().lstrip("个") not in segment(question.right):
        return None  # a word that begins like a unit: "多少个元素" asks no money
    return unit


def names_a_thing(span: str, added: str, question: Question) -> bool:
    """A question for a named thing ("哪支球队", "什么单位") is answered by a name or a title,
    or words of its own that the asked noun ends ("牛鬣兽科" for "哪一科", "无线电视台" for "哪个
    电视台"; not "有3条支流" for "哪三条支流"). `added` is the span less the question's words (`new_words`)."""
    if _proper_names(added) or TITLE.search(added):
        return True
    head = question.head
    pieces = added.split()
    named = [p for p in pieces if len(p) <= NAME_CHARS and not CLAUSE_WORD.search(p)]
    return bool(head) and any(p.endswith(head[-1]) or f"{p}{head}" in span for p in named)


def gives_answer(span: str, sentence: str, question: Question) -> bool:
    """The span answers as asked: of the asked kind, and for a change, in a clause saying something
    changed ("收入增长了多少" is not answered by the income alone). The extractive and the model's
    answers both clear it."""
    if not gives_kind(span, question) or _counts_another_noun(span, sentence, question):
        return False
    if asks_change(question):
        at = sentence.find(span)
        clause = sentence if at < 0 else clause_around(sentence, at, at + len(span))
        return bool(CHANGE_WORD.search(span + clause))
    return True


def _counts_another_noun(span: str, sentence: str, question: Question) -> bool:
    """The count is written before a noun that is not the asked one: "多少项专利" is not answered by
    "25个" of "25个项目". A verb after the count ("22个获奖") is no noun."""
    head = question.head
    at = sentence.find(span)
    if question.kind != "number" or len(head) < 2 or at < 0:
        return False
    counts = [f for f in find_figures(span) if not f.unit or f.unit in MEASURE_WORDS]  # bare, or with its measure word
    if not counts:
        return False
    noun = leading_nouns((span + sentence[at + len(span) :])[counts[-1].end :][:NAME_CHARS])
    return bool(noun) and not set(noun) & set(head)


def peer_of_subject(question: Question, sentence: str, start: int, end: int) -> str:
    """The name of the question that the words at start:end are listed beside ("从陈立伟到孙雅琴",
    "陈立伟、孙雅琴" for "陈立伟演的谁"), or "": another item of the subject's own list is its peer,
    not something the sentence says of it. A question that asks for a companion ("谁和陈立伟…")
    is answered by a peer."""
    span = sentence[start:end]
    for name in (n for n in names_in(question.text) if len(n) > 1):
        named = re.escape(name)
        companion = rf"(?:{NAME_JOINER}|[跟同]){named}|{named}{NAME_JOINER}"  # "谁和甲…", "甲与谁…"
        if name in span or span in name or re.search(companion, question.text):
            continue
        for at in _find_all(sentence, name):
            (first, first_end), (second, _) = sorted([(at, at + len(name)), (start, end)])
            gap = sentence[first_end:second]
            if PEER_GAP.fullmatch(gap) and (gap != "到" or sentence[first - 1 : first] == "从"):
                return name
    return ""


def asks_change(question: Question) -> bool:
    """A figure question whose predicate is a change ("增长了多少", "下降了几个百分点")."""
    return question.kind == "number" and any(CHANGE_WORD.search(w) for w in predicate_words(question))


def new_words(span: str, question_text: str) -> str:
    """The span less the words it shares with the question (a space where they stood): character
    pairs, and numbers whole ("2020" is shared, the "20" of "8.20%" is not)."""
    pairs = {question_text[i : i + 2] for i in range(len(question_text) - 1)}
    numbers = set(NUMBER_IN_DIGITS.findall(question_text))
    shared = [False] * len(span)
    for i in range(len(span) - 1):
        if span[i : i + 2] in pairs and not span[i : i + 2].isdigit():
            shared[i] = shared[i + 1] = True
    for match in NUMBER_IN_DIGITS.finditer(span):
        shared[match.start() : match.end()] = [match.group() in numbers] * len(match.group())
    return " ".join("".join(ch if not s else " " for ch, s in zip(span, shared, strict=True)).split())


def _best_clause(sentence: str, question: Question) -> str:
    """The clause sharing most of the question's terms (the whole sentence when it has one clause)."""
    clauses = [c for c in SPAN_END.split(sentence) if c.strip()]
    if len(clauses) <= 1:
        return sentence
    weights = term_weights(list(question.terms), clauses)
    scored = [(coverage_of(c, weights), -i, c) for i, c in enumerate(clauses)]
    best = max(scored)
    if question.kind in ("number", "time"):  # the clause that holds a figure, or a time
        of_kind = [s for s in scored if fits_question(s[2], question)]
        best = max(of_kind) if of_kind else best
    return best[2]


def _strip_edges(span: str) -> str:
    """A span without joining words at its ends, nor brackets and quotes that close nothing in it."""
    previous = None
    while span != previous:
        previous = span
        span = span.strip()
        while span and _joins_at_end(span):
            span = span[:-1]
        while span and _joins_at_start(span):
            span = span[1:]
        span = re.sub(r"^[（(]\s*[)）]|[（(]\s*[)）]$", "", span)
        for opening, closing in ("（）", "()", "《》", "“”", "「」"):
            if span.startswith(closing) or (span.startswith(opening) and closing not in span):
                span = span[1:]
            if span.endswith(opening) or (span.endswith(closing) and opening not in span):
                span = span[:-1]
    return span


def _joins_at_start(span: str) -> bool:
    """The span opens with a joining word, not with the first character of a word ("系列", "有关", "在建";
    "被告" and "由于", and 由 or 被 that introduce a doer, by AGENT_MARKER)."""
    first = span[0]
    if first not in EDGE_MARKS:
        return False
    if first in "由被":
        return bool(AGENT_MARKER.match(span))
    return not HANZI_CHAR.match(first) or dictionary_words(span[:EDGE_WORD_CHARS])[0] == first


def _joins_at_end(span: str) -> bool:
    """The span closes with a joining word, not with the last character of a word ("关系", "所有", "以及")."""
    last = span[-1]
    if last not in EDGE_MARKS:
        return False
    return not HANZI_CHAR.match(last) or dictionary_words(span[-EDGE_WORD_CHARS:])[-1] == last


def answers_question(reading: Reading) -> bool:
    """The best candidate is about what was asked and holds an answer of the asked kind."""
    best = reading.best
    if best is None or reading.question.asks_judgement or best.contradicted:
        return False
    if not gives_answer(best.span, best.sentence, reading.question):
        return False
    if names_an_earlier_work(reading.question.text, _span_clause(best.sentence, best.span)):
        return False  # the model may find the asked work's clause in the same sentence
    if reading.lexical and (best.coverage < MIN_COVERAGE or best.subject_coverage == 0):
        return False
    has_slot = bool(reading.question.left or reading.question.right)
    if has_slot and best.alignment < MIN_ALIGNMENT and best.similarity < MIN_SIMILARITY[reading.lang] + 0.05:
        return False
    return best.similarity >= MIN_SIMILARITY[reading.lang]


def is_unsure(reading: Reading) -> bool:
    """An answering reading that auto has the model check: a low score, or a weakly aligned span."""
    return (
        answers_question(reading)
        and reading.best is not None
        and (reading.best.score < ASK_MODEL_BELOW or is_weakly_aligned(reading))
    )


def is_weakly_aligned(reading: Reading) -> bool:
    """The span of a reading of Chinese text stands only loosely where the question word does."""
    return reading.lexical and reading.best is not None and reading.best.alignment < WEAK_ALIGNMENT


def is_confident(reading: Reading) -> bool:
    """Sure enough to answer without asking the language model."""
    return answers_question(reading) and reading.best is not None and reading.best.score >= CONFIDENT_SCORE


def compose(candidate: Candidate, lang: str, document: str = "") -> str:
    """The answer text in the question's language: the stated answer, then the quoted sentence."""
    if lang == "en":
        source = f" ({document})" if document else ""
        figures = candidate.figures
        if any(not f.unit and HANZI_CHAR.match(candidate.span, f.end) for f in figures):
            figures = ()  # a unit the figures do not read ("760毫米" is no "760"): the span is quoted whole
        stated = "; ".join(f"{english_figure(f)} ({f.text})" for f in figures) or f"“{candidate.span}”"
        return template("extractive_answer", "en").format(answer=stated, sentence=candidate.sentence, source=source)
    source = f"（《{document}》）" if document else ""
    return template("extractive_answer", "zh").format(
        answer=_with_full_stop(candidate), sentence=candidate.sentence, source=source
    )


def _with_full_stop(candidate: Candidate) -> str:
    """The span, with the sentence's full stop when it runs to the sentence's end: it is the statement's
    own ending ("…达至20个。"), and answers compared with the source's wording keep it."""
    sentence = candidate.sentence.rstrip()
    stop = sentence[-1:]
    return candidate.span + stop if stop in FULL_STOPS and sentence.endswith(candidate.span + stop) else candidate.span


def answer_from(candidate: Candidate, question: str, passages: list[Passage], flagged: frozenset[int]):
    """The composed answer with the cited passage first (its [1]) and the answering sentence highlighted."""
    lang = language_of(question)
    cited = candidate.passage_index
    ordered = [passages[cited], *(p for i, p in enumerate(passages) if i != cited)]
    warnings = {ordered.index(passages[i]): "instruction" for i in flagged}
    # Several documents answer "我市" and "今年" differently: the answer names the one it read.
    document = (passages[cited].title or passages[cited].doc) if len({p.doc for p in passages}) > 1 else ""
    sources = to_sources(ordered, {0: candidate.sentence}, warnings)
    return compose(candidate, lang, document), True, sources


def refuse(question: str, retrieval: Retrieval, flagged: frozenset[int] = frozenset()):
    warnings = dict.fromkeys(flagged, "instruction")
    return template("refusal", language_of(question)), False, to_sources(retrieval.passages, None, warnings)


def with_span(candidate: Candidate, span: str) -> Candidate:
    """The same candidate answering with another span of its sentence (the model's trim)."""
    figures = tuple(f for f in find_figures(span) if not f.is_year)
    return replace(candidate, span=span, figures=figures, lone=False)
