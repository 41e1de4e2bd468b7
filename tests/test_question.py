"""What a question asks: its kind and the words around its question word (rules only, no models)."""

from __future__ import annotations

import pytest

from assistant.question import parse_question

pytestmark = pytest.mark.fast  # rules alone: the quick tier


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("该厂的厂长是谁？", "person"),
        ("新厂房哪一年建成？", "time"),
        ("全厂共有多少名职工？", "number"),
        ("工厂位于哪里？", "place"),
        ("这座桥由哪家公司设计？", "entity"),
        ("该厂为什么停产？", "reason"),
        ("该厂是否盈利？", "yesno"),
        ("工厂今年盈利了吗？", "yesno"),
        ("该厂的主要产品是什么？", "entity"),
        ("新产品的发布时间", "time"),
        ("该景区去年接待游客人次", "number"),
        ("该市去年的失业率", "number"),
        ("该厂的年产量？", "number"),
        ("下届博览会的举办地", "place"),
        ("该委员会的负责人是？", "person"),
        ("本届联赛冠军", "person"),
        ("租赁合同的期限为？", "time"),
        ("双方解除合同的原因？", "reason"),
        ("双方的合作方式是？", "manner"),
        ("该厂的前景是什么样的？", "manner"),  # what it is like, as 怎么样
        ("什么样的企业可以申请？", "entity"),
        ("他后来改名为什么？", "entity"),  # 为 belongs to 改名
        ("伤者的伤势为何？", "entity"),  # a closing 为何: "伤势是什么"
        ("工厂停产是为什么？", "reason"),
        ("这种动物出现于什么时期？", "time"),
        ("该厂的产品出口到哪个国家？", "place"),
        ("该厂获得了哪个国家级称号？", "entity"),
        ("该地震的震级", "number"),
        ("他在哪个节目中演出？", "entity"),  # 在哪个节目: the programme, not a place
        ("他在哪里工作？", "place"),
        ("何某的职业是什么？", "entity"),  # 何 is a surname here, not the question word
        ("何某受伤的原因是？", "reason"),
        ("何某受伤的原因是什么？", "reason"),  # the noun before 是 names the kind
        ("该中学的地址是什么？", "place"),
        ("When was the bridge opened?", "time"),
        ("How many workers does the factory employ?", "number"),
        ("What percentage of the workers were women in 1990?", "number"),
        ("What share of the budget went to schools?", "number"),
        ("Who designed the bridge?", "person"),
        ("Did the factory make a profit?", "yesno"),
        ("In what year was the bridge opened?", "time"),
        ("The plant first made cars but later made how many kinds of trucks?", "number"),
    ],
)
def test_kind_of_answer(question: str, kind: str) -> None:
    assert parse_question(question).kind == kind


def test_words_around_the_question_word() -> None:
    parsed = parse_question("这座桥由哪家公司设计？")
    assert (parsed.left, parsed.right) == ("这座桥由", "公司设计")
    assert parse_question("新产品的发布时间").left == "新产品的发布时间"
    assert parse_question("Who designed the bridge?").left == ""


def test_the_noun_a_determiner_governs_past_numerals_and_measure_words() -> None:
    assert parse_question("该河有哪三条支流？").head == "支流"
    assert parse_question("这种鸟属于哪一科？").head == "科"
    assert parse_question("这座桥由哪家公司设计？").head == "公司"


def test_the_noun_the_asked_thing_is_joined_to_by_de() -> None:
    assert parse_question("该站是哪条线路的终点站？").relation == "终点站"
    assert parse_question("全市有多少比例的家庭拥有汽车？").relation == "家庭"
    assert parse_question("该河有哪三条支流的长度超过百公里？").relation == "长度"
    assert parse_question("这家公司有哪些著名的产品？").relation == "", "著名 is no owner"
    assert parse_question("这部小说是什么类型的作品？").relation == "", "the answer is a kind of 作品"
    assert parse_question("这座桥由哪家公司设计？").relation == ""


def test_determiners_that_ask_for_a_named_thing() -> None:
    assert parse_question("这座桥由哪家公司设计？").asks_named_thing
    assert parse_question("他与什么单位签订了合同？").asks_named_thing
    assert not parse_question("这种鸟有什么特点？").asks_named_thing


def test_nouns_a_description_answers() -> None:
    assert parse_question("这种鸟有什么特点？").asks_description
    assert parse_question("该公司的经营范围为？").asks_description
    assert parse_question("该市的人口有什么变化？").asks_description  # "下降" describes a change
    assert parse_question("该市人口的变化是什么？").asks_description
    assert not parse_question("该厂的主要产品是什么？").asks_description
    assert not parse_question("该厂有多少名职工？").asks_description


def test_terms_that_only_say_what_is_asked_are_not_the_subject() -> None:
    assert parse_question("张伟是哪国人？").asking_terms() == {"国人"}
    assert parse_question("新厂建在什么地方？").asking_terms() == {"地方"}
    assert not parse_question("全市新建了多少个项目？").asking_terms()
    assert not parse_question("ABC2030大会的举办地").asking_terms(), "a name in capitals is the subject"


@pytest.mark.parametrize(
    ("question", "asking"),
    [
        ("云河车站的地址是哪里？", {"地址", "哪里"}),  # the address is given, not the word 地址
        ("青石镇在什么地方？", {"地方"}),
        ("事故发生的时间是？", set()),  # a judgment writes "发生时间为…"
        ("该市去年的失业率是多少？", set()),  # "失业率3.2%": a figure's noun stays
    ],
)
def test_the_asked_noun_an_answer_replaces_is_an_asking_term(question: str, asking: set[str]) -> None:
    assert parse_question(question).asking_terms() == asking
