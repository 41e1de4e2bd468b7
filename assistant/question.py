"""What a question asks: its terms, the slot its question word stands in, the kind of answer.

Reading-comprehension questions are written by replacing the answer in a sentence with a
question word: "天水围河有哪三条支流？" stands for "天水围河有3条支流，分别为……". The words
around the question word (its *left* and *right* context) therefore stand around the answer in
the sentence that holds it, which is how the extractive reader finds the asked span.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .hanzi import HANZI_CHAR
from .keyword import question_words, segment, tagged_words

# Question words, longest first. The group names the kind of answer they ask for. 何 asks only in
# compounds: alone it is a surname ("何某") or part of 任何. A closing "是什么样的" asks what a thing is
# like, as 怎么样 does. "在哪个节目中" asks for the programme, not a place.
QUESTION_WORD = re.compile(
    r"(?P<time>什么时候|什么时间|哪一年|哪年|哪一天|哪天|何时|几月几日|几时|多久|多长时间)"
    r"|(?P<place>什么地方|哪里|哪儿|何地|何处|在哪(?![里儿一个些种家所条部座支款项类只名位]))"
    r"|(?P<number>多少|多大|多高|多长|多远|多重|几[个件项家人名次年位种所批届倍天岁条座只张场部篇]?)"
    r"|(?P<reason>为什么|为何|何故|何以|什么原因)"
    r"|(?P<manner>怎么样|怎样|如何|怎么|什么样(?=的?[？?]?$))"
    r"|(?P<person>谁|何人|哪位)"
    r"|(?P<entity>什么|何种|何物|何事|何意|哪[个些种家国所条部座支款项类只名]?)"
)
# A question that asks for a judgement ("是否", "…吗？") rather than for something the text states.
YES_NO = re.compile(r"是否|是不是|有没有|有无|能否|可否|吗[？?]?$|(?<![什怎这那多])么[？?]?$")
# Words that name the kind of answer when no question word does ("ChatGPT的发布时间").
ANSWER_NOUN = {
    "time": re.compile(r"(?:时间|日期|年份|时候|期限|时间段)$"),
    # A noun ending in 地 or 国 names a place ("所在地", "目的地", "东道国").
    "place": re.compile(r"(?:[地国]|地点|地址|位置|首都|国籍)$"),
    # A noun ending in 数, 量, 率, 额 or 级 names a count, an amount, a rate, a grade ("病例数", "出口量",
    # "失业率", "震级").
    "number": re.compile(r"(?:[数量率额级]|人次|比例|比重|增速|增幅|规模|价格|收入|产值)$"),
    # A noun ending in 人, 者, 员, 长 or 主 names a person ("负责人", "作者", "市长", "得主"); so do the
    # placings of a contest ("冠军"), which may also be a team.
    "person": re.compile(r"(?:[人者员长主]|冠军|亚军|季军)$"),
    "reason": re.compile(r"(?:原因|理由|缘由|缘故|动机|目的)$"),
    "manner": re.compile(r"(?:方式|方法|途径|手段)$"),
}
# The kinds whose noun an answering sentence replaces by the answer ("位于X" for 地址); a number's or a
# person's noun stays in it ("失业率3.2%", "由X担任负责人"). Time and cause nouns were measured too
# (external sets, auto): judgments keep them ("期限自…", "发生时间为…"), 1 right answer lost, 1 wrong gained.
REPLACED_NOUN_KINDS = ("place",)
# Nouns that ask for a description ("有什么特点", "经营范围为？"): the answer is the whole predicate
# that describes, which runs over several clauses, not the first clause of it.
DESCRIPTION_NOUN = re.compile(
    r"(?:特点|特征|特色|内容|职责|范围|作用|功能|用途|结果|情况|表现|症状|诊断|意思|含义|定义|规定|要求|措施|经过|过程|变化|趋势)$"
)
# Nouns whose members have names: "什么单位" asks for one by its name.
NAMED_NOUN = re.compile(
    r"(?:单位|公司|机构|组织|部门|企业|集团|学校|大学|医院|银行|法院|球队|俱乐部|电视台|电台|报社|网站|平台|品牌|牌子"
    r"|作品|电影|影片|电视剧|小说|歌曲|专辑|节目|游戏|城市|国家|省份|车站|机场)$"
)
# Verbs ending before 为 ("称为", "成为", "改为"): "称为什么" asks for a name, not a reason.
COPULA_VERB_ENDS = "称成作改名视译列定分认选"
# A question without a question word ends with the asked noun, or with 是/为 after it ("负责人是？").
ASKED_NOUN_END = "是为：: "
# The noun a determiner question word governs names the kind of answer ("什么时期", "哪个国家").
HEAD_NOUN_KIND = {
    **dict.fromkeys("时期 年代 时间 日期 年份 时候 朝代 季节 月份".split(), "time"),
    **dict.fromkeys("地方 地区 地点 城市 国家 省份 位置".split(), "place"),
    **dict.fromkeys("人 人物 人士".split(), "person"),
}
ENGLISH_KIND = re.compile(
    r"\b(?:(?P<time>when|what (?:year|decade|century|date)|which (?:year|decade|century))|(?P<place>where)|(?P<number>how (?:many|much|long|far|old|large|big)"
    r"|what (?:percentage|percent|proportion|share|fraction|number|amount))"
    r"|(?P<reason>why)|(?P<manner>how)|(?P<person>who|whom)|(?P<entity>what|which))\b",
    re.IGNORECASE,
)
ENGLISH_YES_NO = re.compile(r"^\s*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b", re.I)
# Numerals and measure words between a determiner and its noun ("哪一科", "哪三条支流").
NUMERAL_CHARS = "一二两三四五六七八九十几"
COUNTING_CHARS = NUMERAL_CHARS + "个些种家国所条部座支款项类只名位"
# The last word place where 的 joins the determiner's noun to another: after the noun ("国家的"), or
# after a measure word and the noun ("三条支流的").
RELATION_JOIN_AT = 2
# Nouns that ask for a kind of the noun after them ("什么类型的作品"), not for its owner.
KIND_NOUNS = frozenset("类型 种类 类别 品种 类".split())
# Function characters that join the slot to its context; they are not part of the answer.
SLOT_EDGE = "是为有了的在于由被将把对从向与和及等即系：:，,、 "
QUESTION_END = "？?。.!！ \n"


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # time, place, number, reason, manner, person, entity, yesno or "" (unknown)
    left: str  # the question's words before its question word
    right: str  # and after it
    terms: tuple[str, ...]

    @property
    def asks_judgement(self) -> bool:
        return self.kind == "yesno"

    @property
    def word(self) -> str:
        """The question word, between the slot's left and right context ("" without a slot)."""
        stripped = self.text.strip().rstrip(QUESTION_END)
        if not (self.left or self.right) or not stripped.startswith(self.left):
            return ""
        return stripped[len(self.left) : len(stripped) - len(self.right)]

    @functools.cached_property
    def head(self) -> str:
        """The noun a determiner question word governs, past numerals and measure words ("哪三条*支流*")."""
        words = segment(self.right) if self.right else []
        return next((w.lstrip(NUMERAL_CHARS) for w in words if w.strip(COUNTING_CHARS)), "")

    @functools.cached_property
    def relation(self) -> str:
        """The noun the determiner's noun is joined to by 的 ("哪条线路的*终点站*", "多少比例的*家庭*"):
        the answer is that noun's owner or measure, so it stands in the noun's clause ("是青石线的终点站").
        Not after an adjective ("哪些著名的产品") or a kind noun ("什么类型的作品": the answer is a kind
        of the noun, "一部武侠小说", which the text may name in another clause)."""
        words = tagged_words(self.right) if self.right else ()
        joined = next((at for at, (word, _) in enumerate(words[: RELATION_JOIN_AT + 1]) if word == "的"), 0)
        if not joined or joined + 1 >= len(words):
            return ""
        noun, tag = words[joined - 1]
        return words[joined + 1][0] if tag.startswith("n") and noun not in KIND_NOUNS else ""

    @property
    def asks_description(self) -> bool:
        """The asked noun is one a description answers: the head of "有什么特点", or the noun before a
        closing 是/为 ("经营范围为？")."""
        noun = self.head if self.right else self.left.rstrip(ASKED_NOUN_END + "的")
        return self.kind in ("entity", "") and bool(DESCRIPTION_NOUN.search(noun))

    @property
    def asks_named_thing(self) -> bool:
        """A determiner asks for one thing with a name: "哪支球队", and "什么单位" when the noun is one
        whose members have names (a company, a school, a film), not "什么特点"."""
        if self.kind != "entity" or not self.right:
            return False
        return self.word.startswith("哪") or bool(NAMED_NOUN.search(self.head))

    def asking_terms(self) -> frozenset[str]:
        """Terms that only say what kind of answer is asked: pieces of the question word ("国人" of
        "哪国人") and the generic noun it governs ("什么地方"), not the subject asked about."""
        if not self.left and not self.right:
            return frozenset()  # no question word to tell apart (search terms, English)
        generic_head = {self.head} & HEAD_NOUN_KIND.keys()
        context = f"{self.left} {self.right}".lower()  # terms are lower-cased ("emnlp")
        return frozenset(t for t in self.terms if t not in context or t in generic_head or t == self.answer_noun)

    @functools.cached_property
    def answer_noun(self) -> str:
        """The noun before a closing question word or 是/为 that the answer stands in for: a sentence
        gives the address, not the word 地址 ("地址是哪里"); "" for other nouns (REPLACED_NOUN_KINDS)."""
        if self.right:
            return ""
        noun = self.left.rstrip(ASKED_NOUN_END + "的")
        found = (ANSWER_NOUN[kind].search(noun) for kind in REPLACED_NOUN_KINDS)
        return next((m.group() for m in found if m and len(m.group()) > 1), "")

    def with_text(self, text: str) -> Question:
        """The same kind of question read as other words with no question word (search terms)."""
        return Question(text, self.kind, "", "", tuple(question_words(text)))


def parse_question(text: str) -> Question:
    """The question's kind and slot; English questions get a kind but no slot (no shared words)."""
    stripped = text.strip().rstrip(QUESTION_END)
    terms = tuple(question_words(stripped))
    if not HANZI_CHAR.search(stripped):
        match = ENGLISH_KIND.search(stripped)  # "In what year…", "…evolved into how many layers"
        kind = next((k for k, v in match.groupdict().items() if v), "") if match else ""
        if not kind and ENGLISH_YES_NO.match(stripped):
            kind = "yesno"
        return Question(text, kind, "", "", terms)
    match = QUESTION_WORD.search(stripped)
    if YES_NO.search(stripped) and not (match and match.lastgroup in ("number", "person", "time", "place")):
        return Question(text, "yesno", stripped, "", terms)
    if match is None:
        return Question(text, _kind_of_noun(stripped.rstrip(ASKED_NOUN_END)), stripped, "", terms)
    if match.lastgroup == "reason" and match.group().startswith("为"):
        if match.group() == "为何" and not stripped[match.end() :]:
            # "受伤程度为何": a closing 为何 asks what the noun is ("程度是什么"), not why.
            noun = stripped[: match.start()]
            return Question(text, _kind_of_noun(noun) or "entity", noun, "", terms)
        if stripped[match.start() - 1 : match.start()] in COPULA_VERB_ENDS:
            # "合称为什么", "改名为什么": 为 belongs to the verb, and 什么 asks for a name.
            match = QUESTION_WORD.search(stripped, match.start() + 1) or match
    kind, right = match.lastgroup or "", stripped[match.end() :]
    if kind == "entity" and right:
        kind = HEAD_NOUN_KIND.get(segment(right)[0], kind)
    elif kind == "entity" and stripped[: match.start()].endswith(("是", "为")):
        # "死亡的原因是什么": the noun before 是 names the kind, as it does with no question word.
        kind = _kind_of_noun(stripped[: match.start() - 1]) or kind
    return Question(text, kind, stripped[: match.start()], right, terms)


def _kind_of_noun(noun: str) -> str:
    """The kind of answer the noun that ends a question names ("…的发布时间": time), or ""."""
    return next((kind for kind, pattern in ANSWER_NOUN.items() if pattern.search(noun)), "")
