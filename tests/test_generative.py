"""The language model as a reader: the real local model on a few questions, and the checks on its reply.

The checks are tested with LangChain's fake chat model (a reply planted on purpose); the real
model's tests are marked ``llm`` and assert which reader answered (``Answer.mode``, ``checks``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import Field

from assistant import Config, answer, answer_stream, api, build_index
from assistant.api import _embedder
from assistant.errors import AssistantError
from assistant.extractive import answers_question, predicate_words, read
from assistant.figures import numbers_in
from assistant.generative import (
    completed,
    locate,
    locate_abridged,
    manner_clause,
    model_reading,
    place_phrase,
    translate_for_search,
)
from assistant.question import parse_question
from assistant.retrieve import Passage


@pytest.fixture(scope="module")
def llm_config(corpus_index: Config) -> Config:
    return corpus_index.replace(llm="local")


@pytest.mark.llm
def test_a_figure_is_read_by_the_model_and_only_checked_text_is_streamed(llm_config: Config) -> None:
    items = list(answer_stream("全年登记了多少项技术合同？", config=llm_config, mode="llm"))
    *pieces, result = items
    assert pieces == [result.text], "nothing but the checked answer reaches the caller"
    assert result.found and "169" in result.text.split("\n\n")[0]
    assert result.mode == "llm", result.checks
    assert "the words stand in the chosen sentence" in result.checks
    assert "169" in result.sources[0].highlight


@pytest.mark.llm
def test_english_questions_are_read_from_glossary_words_then_from_the_models_translation(llm_config: Config) -> None:
    result = answer("How many patents did Guangzhou grant in 2007?", config=llm_config, mode="auto")
    assert result.found and "8,524" in result.text.split("\n\n")[0] and result.mode == "extractive"
    translated = answer("How many patents did Guangzhou grant in 2007?", config=llm_config, mode="llm")
    assert any(c.startswith("searched and read as: ") for c in translated.checks), translated.checks
    assert not translated.found or "8524" in translated.text.replace(",", ""), "a found answer is the right one"


@pytest.mark.llm
def test_auto_asks_the_model_only_when_the_extractive_reading_is_unsure(llm_config: Config) -> None:
    confident = answer("全年登记了多少项技术合同？", config=llm_config, mode="auto")
    assert confident.found and "169" in confident.text and confident.mode == "extractive"
    assert not any(c.startswith("model") for c in confident.checks), confident.checks
    # The figure's subject stands two clauses before it ("专利申请量…，达12057件"): the reading is unsure.
    unsure = answer("2007年专利申请总量达到多少？", config=llm_config, mode="auto")
    assert any(c.startswith("model reply: ") for c in unsure.checks), unsure.checks
    assert unsure.mode == "llm" and unsure.found and "12057" in unsure.text.split("\n\n")[0]


@pytest.mark.llm
def test_an_unanswerable_question_is_refused(llm_config: Config) -> None:
    result = answer("2007年广州市的人口是多少？", config=llm_config, mode="llm")
    assert not result.found and result.text == "报告中没有找到这个问题的答案。"
    # The model read it: it found no answer (llm), or its words failed a check; it did not fail to run.
    assert result.mode == "llm" or any(c.startswith("model reading rejected") for c in result.checks), result.checks
    # auto asks the model about a question its reader refuses, and refuses what the model cannot answer.
    refused = answer("2007年广州市的人口是多少？", config=llm_config, mode="auto")
    assert not refused.found and any(c.startswith("model") for c in refused.checks), refused.checks


@pytest.mark.llm
def test_a_follow_up_is_condensed_with_the_model(llm_config: Config) -> None:
    # The conversation as a chat client sends it: the assistant's turn in plain words.
    history = [
        {"role": "user", "content": "全年登记了多少项技术合同？"},
        {"role": "assistant", "content": "全年登记技术合同169项。"},
    ]
    result = answer("总免税额呢？", history, config=llm_config, mode="llm")
    assert "condensed by the model" in result.checks, result.checks
    assert result.condensed_question != "总免税额呢？" and "总免税额" in result.condensed_question
    assert result.found and "1200" in result.text


@pytest.mark.llm
def test_whoever_condenses_a_follow_up_adds_no_figure(llm_config: Config) -> None:
    first = "全年登记了多少项技术合同？"
    earlier = answer(first, config=llm_config, mode="llm")
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": earlier.text}]
    result = answer("总免税额呢？", history, config=llm_config, mode="llm")
    assert {"condensed by the model", "condensed by rules"} & set(result.checks), result.checks
    said = numbers_in(" ".join(m["content"] for m in history) + "总免税额呢？")
    assert set(numbers_in(result.condensed_question)) <= set(said), result.condensed_question
    assert result.found and "1200" in result.text


def _reading(
    base_config: Config,
    question: str = "全市新增公园多少个？",
    texts: tuple[str, ...] = ("全市新增公园12个，改造绿道40公里。", "全市接待游客3200万人次，建成停车场45个。"),
):
    """The real reader's reading of a question over passages of one report."""
    passages = [Passage(f"p{n}", "a.txt", "某市2019年工作总结", "", text, 1.0) for n, text in enumerate(texts, start=1)]
    embeddings = _embedder(base_config)
    return question, read(parse_question(question), passages, embeddings, embeddings.embed_query(question), "zh")


def _model(reply: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))


def _replies(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))


def test_words_the_model_copied_are_accepted_as_the_sentence_writes_them(base_config: Config) -> None:
    question, reading = _reading(base_config)
    chosen, checks = model_reading(reading, question, _model("新增公园１２个"))
    assert chosen is not None and "新增公园12个" in chosen.span and "subject checked" in checks
    # A sentence number the model adds anyway is dropped; the words decide the sentence.
    chosen, _ = model_reading(reading, question, _model("[2] 新增公园12个"))
    assert chosen is not None and "公园" in chosen.sentence


def test_words_inside_the_readers_span_confirm_it(base_config: Config) -> None:
    question, reading = _reading(base_config, "节目的主持人是谁？", ("节目由陈家明、林小雨及周文主持，每周播出一次。",))
    chosen, checks = model_reading(reading, question, _model("陈家明"))
    assert chosen is not None and "陈家明、林小雨及周文" in chosen.span and "the reader's span confirmed" in checks


def test_copied_words_keep_the_unit_and_the_marks_the_sentence_writes_around_them(base_config: Config) -> None:
    question, reading = _reading(base_config)
    chosen, _ = model_reading(reading, question, _model("12"))
    assert chosen is not None and chosen.span.endswith("12个")
    assert completed(3, 7, "又译《熊猫家族》。") == (2, 8)  # 熊猫家族 -> 《熊猫家族》
    assert completed(2, 7, "增长11.3%。") == (2, 7)
    assert completed(2, 5, "解决4.6万户。") == (2, 7)  # 4.6 -> 4.6万户
    assert completed(8, 13, "影片于2023年4月20日上映。") == (3, 13)  # 4月20日 -> 2023年4月20日
    assert completed(11, 17, "学校全称为台北市万华区龙山国民小学。") == (5, 17)  # 台北市万华区龙山国民小学
    assert completed(8, 10, "比赛将在中国四川成都举行。") == (4, 10)  # 成都 -> 中国四川成都
    assert completed(2, 4, "该厂生产自行车1.2万辆。") == (2, 4)  # no place before it


@pytest.mark.fast
@pytest.mark.parametrize(
    ("words", "sentence", "stretch"),
    [
        ("主动投案", "被告人赵某于2015年9月18日主动到检察机关投案，如实供述。", "主动到检察机关投案"),
        ("2011年4月1日至2016年3月31日", "期限自2011年4月1日起至2016年3月31日为止。", "2011年4月1日起至2016年3月31日"),
        ("2022年10月9日", "2022年8月30日，政治局召开会议，决定10月9日召开。", None),  # across clauses
        ("主动投案", "主动联系了当地很多个部门之后才去投案。", None),  # over three times as long
        ("9000 years", "距今9000年。", None),  # an English reply abridges nothing
    ],
)
def test_words_the_model_shortened_are_found_as_the_text_writes_them(
    words: str, sentence: str, stretch: str | None
) -> None:
    assert locate_abridged(words, sentence) == stretch


def test_an_abridged_reply_answers_with_the_texts_own_words(base_config: Config) -> None:
    question, reading = _reading(
        base_config, "被告人赵某的投案情况为？", ("被告人赵某于2015年9月18日主动到检察机关投案，如实供述犯罪事实。",)
    )
    chosen, checks = model_reading(reading, question, _model("主动投案"))
    assert chosen is not None and "主动到检察机关投案" in chosen.span
    assert "the model's words abridge the sentence's '主动到检察机关投案'" in checks


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("[1] 99999个", "stand in no shown sentence"),
        ("公园有很多", "stand in no shown sentence"),
        ("[1]", "holds no words"),
    ],
)
def test_a_reply_that_fails_a_check_is_rejected(base_config: Config, reply: str, reason: str) -> None:
    question, reading = _reading(base_config)
    with pytest.raises(AssistantError, match=reason):
        model_reading(reading, question, _model(reply))


def test_a_figure_from_a_sentence_about_another_subject_is_rejected(base_config: Config) -> None:
    question, reading = _reading(base_config)
    with pytest.raises(AssistantError, match="not about what was asked"):
        model_reading(reading, question, _model("45个"))


@pytest.mark.parametrize(
    ("question", "sentence", "wrong", "right"),
    [
        ("居民人均可支配收入增长了多少？", "居民人均可支配收入2.36万元，增长8%。", "2.36万元", "8%"),
        # The noun the asked share is joined to by 的 ("比例的居民") stands in the answer's clause.
        (
            "青石镇1990年有多少比例的居民是渔民？",
            "青石镇1990年的耕地占56.2%，渔民占全镇居民的12.5%。",
            "56.2%",
            "12.5%",
        ),
    ],
)
def test_a_figure_outside_the_clause_of_the_asked_predicate_is_rejected(
    base_config: Config, question: str, sentence: str, wrong: str, right: str
) -> None:
    question, reading = _reading(base_config, question, (sentence,))
    with pytest.raises(AssistantError, match="not the one that says what was asked"):
        model_reading(reading, question, _model(wrong))
    chosen, _ = model_reading(reading, question, _model(right))
    assert chosen is not None and right in chosen.span and wrong not in chosen.span


def test_a_change_question_is_not_answered_by_the_models_amount(base_config: Config) -> None:
    question, reading = _reading(
        base_config, "全市旅游总收入增长了多少？", ("全年实现旅游总收入22亿元，接待游客300万人次。",)
    )
    with pytest.raises(AssistantError, match="not a number answer as asked"):
        model_reading(reading, question, _model("22亿元"))


def test_a_latin_gloss_in_brackets_does_not_answer_a_chinese_question(base_config: Config) -> None:
    texts = ("本届运动会的口号是“同心向前”（英文：Forward Together），由市民投票选出。",)
    question, reading = _reading(base_config, "本届运动会的口号是什么？", texts)
    with pytest.raises(AssistantError, match="foreign gloss"):
        model_reading(reading, question, _model("Forward Together"))
    chosen, _ = model_reading(reading, question, _model("同心向前"))
    assert chosen is not None and "同心向前" in chosen.span
    question, reading = _reading(base_config, "本届运动会口号的英文是什么？", texts)
    chosen, _ = model_reading(reading, question, _model("Forward Together"))
    assert chosen is not None and "Forward Together" in chosen.span


def test_a_clause_about_an_earlier_work_does_not_answer_for_its_sequel(base_config: Config) -> None:
    texts = ("《云海奇缘》系列电影于2001年至2021年期间上映了9部，《云海奇缘3》将于明年5月上映。",)
    question, reading = _reading(base_config, "云海奇缘3什么时候上映？", texts)
    assert not answers_question(reading) or "明年" in reading.best.span
    with pytest.raises(AssistantError, match="about 《云海奇缘》"):
        model_reading(reading, question, _model("2001年至2021年期间"))
    chosen, _ = model_reading(reading, question, _model("明年5月"))
    assert chosen is not None and "明年5月" in chosen.span
    question, reading = _reading(base_config, "云海奇缘系列电影什么时候上映？", texts)
    chosen, _ = model_reading(reading, question, _model("2001年至2021年期间"))
    assert chosen is not None and "2001年" in chosen.span


def test_a_name_listed_beside_the_asked_subject_is_its_peer_not_an_answer(base_config: Config) -> None:
    for text in (
        "从陈立伟到孙雅琴，几位老演员都在《春江晚照》中担纲主演。",
        "陈立伟、孙雅琴在《春江晚照》中担纲主演。",
    ):
        question, reading = _reading(base_config, "陈立伟在《春江晚照》中演的谁？", (text,))
        with pytest.raises(AssistantError, match="listed beside '陈立伟'"):
            model_reading(reading, question, _model("孙雅琴"))
    # Asked for the subject's companion, the peer answers.
    question, reading = _reading(
        base_config, "谁和陈立伟在《春江晚照》中担纲主演？", ("陈立伟与孙雅琴在《春江晚照》中担纲主演。",)
    )
    chosen, _ = model_reading(reading, question, _model("孙雅琴"))
    assert chosen is not None and "孙雅琴" in chosen.span


def test_words_announcing_what_follows_are_no_answer_of_the_model_or_the_reader(base_config: Config) -> None:
    texts = ("青石区安监局派员前往事发现场进行勘验，勘验情况如下：",)
    question, reading = _reading(base_config, "青石区安监局的现场勘查结果是？", texts)
    assert not answers_question(reading)
    with pytest.raises(AssistantError, match="announces what follows"):
        model_reading(reading, question, _model("勘验情况"))
    # Words the model confirms in a reader's span that fails a check answer alone.
    chosen, checks = model_reading(reading, question, _model("派员前往事发现场进行勘验"))
    assert chosen is not None and not chosen.span.endswith("如下"), chosen.span
    assert "the reader's span confirmed" not in checks


def test_a_piece_of_a_longer_number_is_rejected(base_config: Config) -> None:
    question, reading = _reading(base_config, "该市曾有几支球队？", ("从2005年到2014年，该市有两支球队。",))
    with pytest.raises(AssistantError, match="piece of a longer number"):
        model_reading(reading, question, _model("2"))


def test_a_piece_of_a_longer_name_is_rejected(base_config: Config) -> None:
    question, reading = _reading(base_config, "该航班在哪里降落？", ("中国东方航空MU1234航班于昨日安全降落。",))
    with pytest.raises(AssistantError, match="piece of a longer name"):
        model_reading(reading, question, _model("中国"))
    # A place inside a demonym or a longer place still answers.
    question, reading = _reading(base_config, "张明是哪里人？", ("张明，山西人，1950年生。",))
    chosen, _ = model_reading(reading, question, _model("山西"))
    assert chosen is not None and "山西" in chosen.span


def test_a_time_that_opens_the_sentence_belongs_to_its_subject(base_config: Config) -> None:
    question, reading = _reading(base_config, "德军何时重新占领莱茵兰？", ("1936年，德军重新占领莱茵兰。",))
    chosen, checks = model_reading(reading, question, _model("1936年"))
    assert chosen is not None and "1936年" in chosen.span and "subject checked" in checks
    # A time that opens a clause anywhere in the sentence speaks for the clauses after it.
    question, reading = _reading(
        base_config, "首架客机什么时候交付？", ("据悉，项目进展顺利，2019年5月9日，首架客机正式交付。",)
    )
    chosen, checks = model_reading(reading, question, _model("2019年5月9日"))
    assert chosen is not None and "2019年5月9日" in chosen.span and "subject checked" in checks


@pytest.mark.fast
def test_a_question_without_a_question_word_asks_no_predicate() -> None:
    assert predicate_words(parse_question("首架客机的交付时间？")) == set()  # 时间 is the asked noun
    assert predicate_words(parse_question("全市收入增长了多少？")) == {"增长"}
    assert predicate_words(parse_question("谁提供营业场地？")) == {"提供"}


def test_a_name_that_opens_its_clause_speaks_for_the_clauses_after_it(base_config: Config) -> None:
    question, reading = _reading(
        base_config,
        "谁是该市首个票房达到30亿元的演员？",
        ("张明主演的电影总票房达到30亿元，成为该市首个达到此票房的演员。",),
    )
    chosen, checks = model_reading(reading, question, _model("张明"))
    assert chosen is not None and chosen.span == "张明" and "subject checked" in checks
    # A figure does not: its clause is its own.
    question, reading = _reading(
        base_config, "居民人均可支配收入增长了多少？", ("居民人均可支配收入2.36万元，增长8%。",)
    )
    with pytest.raises(AssistantError, match="not the one that says what was asked"):
        model_reading(reading, question, _model("2.36万元"))


def test_a_time_after_a_verb_does_not_speak_for_the_clauses_after_it(base_config: Config) -> None:
    # "决定3月1日召开理事会年会" holds the time of another meeting: the asked one is in the last clause.
    question, reading = _reading(
        base_config,
        "青年论坛什么时候开幕？",
        ("6月2日，组委会召开会议，决定3月1日召开理事会年会，并建议青年论坛于4月8日在江北开幕。",),
    )
    with pytest.raises(AssistantError, match="names nothing the question asks about"):
        model_reading(reading, question, _model("3月1日"))
    chosen, checks = model_reading(reading, question, _model("4月8日"))
    assert chosen is not None and "4月8日" in chosen.span and "subject checked" in checks


def test_a_place_for_a_question_naming_only_its_subject_is_accepted(base_config: Config) -> None:
    # "青石湖在哪里" names nothing but the lake: the clause naming the lake is about what was asked.
    question, reading = _reading(base_config, "青石湖在哪里？", ("青石湖位于云河县北部，湖面海拔1200米。",))
    chosen, checks = model_reading(reading, question, _model("云河县北部"))
    assert chosen is not None and "云河县北部" in chosen.span and "subject checked" in checks


def test_a_place_answer_is_the_whole_place_phrase_around_the_copied_words(base_config: Config) -> None:
    # jieba reads "…离岛区东涌" as 离岛/区东/涌: each side of the copied words is tagged alone.
    question, reading = _reading(base_config, "青石中学位于哪里？", ("青石中学是一所位于香港离岛区东涌的中学。",))
    chosen, _ = model_reading(reading, question, _model("东涌"))
    assert chosen is not None and "香港离岛区东涌" in chosen.span
    sentence = "他是广东番禺黄埔村人。"
    assert place_phrase(2, 6, sentence) == (2, 9)  # 广东番禺 -> 广东番禺黄埔村, not 人
    sentence = "他是福建晋江青阳村（今晋江市青阳街道）人。"
    assert (
        sentence[place_phrase(2, 6, sentence)[0] : place_phrase(2, 6, sentence)[1]]
        == "福建晋江青阳村（今晋江市青阳街道）"
    )
    sentence = "该楼位于加拿大卑诗省温哥华市中心。"
    assert place_phrase(10, 13, sentence) == (10, 13)  # no 省 without the name jieba does not know
    sentence = "张三在北京工作。"
    assert place_phrase(3, 5, sentence) == (3, 5)


def test_words_written_twice_are_judged_where_the_sentence_answers(base_config: Config) -> None:
    question, reading = _reading(
        base_config, "谁提供营业场地？", ("甲方负责日常经营，乙方负责宣传，甲方提供营业场地和设备。",)
    )
    chosen, checks = model_reading(reading, question, _model("甲方"))
    assert chosen is not None and "甲方" in chosen.span and "subject checked" in checks


def test_the_model_may_refuse(base_config: Config) -> None:
    question, reading = _reading(base_config)
    chosen, checks = model_reading(reading, question, _model("none"))
    assert chosen is None and "the model found no answer" in checks


def test_locate_ignores_width_spaces_and_digit_commas() -> None:
    assert locate("12057 件", "专利申请量达12,057件。") == "12,057件"
    assert locate("１２０５７件", "专利申请量达12,057件。") == "12,057件"
    assert locate("13000件", "专利申请量达12,057件。") is None


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("这座桥是2001年由谁设计的？", "adds figures"),
        ("这座桥由一家公司设计。", "not a question of the asked kind"),
        ("Who designed it", "no usable translation"),
    ],
)
def test_a_translation_that_changes_the_question_is_rejected(reply: str, reason: str) -> None:
    with pytest.raises(AssistantError, match=reason):
        translate_for_search("Who designed the bridge?", _replies(reply, reply))
    assert translate_for_search("Who designed the bridge?", _model("这座桥是谁设计的？")) == "这座桥是谁设计的？"


def test_a_translation_that_lost_the_question_word_is_asked_again() -> None:
    model = _RecordingChatModel(
        messages=iter([AIMessage(content="这座桥由一家公司设计。"), AIMessage(content="这座桥是谁设计的？")])
    )
    assert translate_for_search("Who designed the bridge?", model) == "这座桥是谁设计的？"
    assert len(model.prompts) == 2 and "keep it a question" in model.prompts[1]


class _RecordingChatModel(GenericFakeChatModel):
    """Planted replies, and the last message of every prompt it was given."""

    prompts: list[str] = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(str(messages[-1].content))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def test_a_translated_question_is_put_to_the_model_in_the_documents_language(
    fresh_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("云河县工作总结\n\n云河县的纺织厂共有工人3200名，比上年增加200名。\n", encoding="utf-8")
    build_index([report], config=fresh_config)
    model = _RecordingChatModel(
        messages=iter([AIMessage(content="云河县的纺织厂有多少名工人？"), AIMessage(content="3200名")])
    )
    monkeypatch.setattr(api, "_chat_model", lambda config, mode: model)
    result = answer("How many workers does the textile mill of Yunhe County have?", config=fresh_config, mode="llm")
    translation, reading = model.prompts
    assert "How many workers" in translation
    assert "云河县的纺织厂有多少名工人？" in reading and "How many" not in reading, "the model reads the translation"
    assert result.found and "3200" in result.text.split("\n\n")[0] and result.mode == "llm", result.checks


@pytest.mark.parametrize(
    ("translation", "stands"),
    [
        ("云河县的纺织厂有多少名工人？", "searched and read as: 云河县的纺织厂有多少名工人？"),
        # The translation's reading refuses (no sentence counts machines): the dictionary words' figure stands.
        ("云河县的纺织厂有多少台机器？", "the dictionary words' figure stands"),
    ],
)
def test_auto_reads_an_english_questions_translation_though_its_dictionary_words_answer(
    fresh_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, translation: str, stands: str
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("云河县工作总结\n\n云河县的纺织厂共有工人3200名，比上年增加200名。\n", encoding="utf-8")
    build_index([report], config=fresh_config)
    model = _RecordingChatModel(messages=iter([AIMessage(content=translation), AIMessage(content="none")]))
    monkeypatch.setattr(api, "_chat_model", lambda config, mode: model)
    result = answer("How many workers does the textile mill of Yunhe County have?", config=fresh_config, mode="auto")
    assert "How many workers" in model.prompts[0], "the model translated the question"
    assert stands in result.checks, result.checks
    assert result.found and "3200" in result.text.split("\n\n")[0], result.checks


def test_auto_refuses_a_dictionary_words_answer_that_is_no_figure(
    fresh_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bag of words has no question word to line up with the answer: its span is a guess.
    report = tmp_path / "report.txt"
    report.write_text("云河县工作总结\n\n云河县的纺织厂主要生产棉布和丝绸，产品销往各地。\n", encoding="utf-8")
    build_index([report], config=fresh_config)
    question = "What does the textile mill of Yunhe County produce?"
    extractive = answer(question, config=fresh_config, mode="extractive")
    assert extractive.found, "the dictionary words answer"
    model = _RecordingChatModel(
        messages=iter([AIMessage(content="云河县的纺织厂生产什么机器？"), AIMessage(content="none")])
    )
    monkeypatch.setattr(api, "_chat_model", lambda config, mode: model)
    result = answer(question, config=fresh_config, mode="auto")
    assert not result.found and "the dictionary words' answer is no figure: refused" in result.checks, result.checks


def test_a_manner_answer_is_the_short_clause_holding_the_copied_words(base_config: Config) -> None:
    # The reader answers a manner with its clause; the model's piece of it is completed to the same.
    question, reading = _reading(
        base_config,
        "怎么证明两种鸣禽是不同的物种？",
        ("学者比较了标本，两种鸣禽的线粒体DNA序列显示它们早已分开演化，因此是不同的物种。",),
    )
    chosen, _ = model_reading(reading, question, _model("线粒体DNA序列显示"))
    assert chosen is not None and "两种鸣禽的线粒体DNA序列显示它们早已分开演化" in chosen.span
    assert manner_clause(0, 2, "甲方以现金支付，乙方出具收据。") == (0, 7)
    long_clause = "甲方以" + "现金" * 30 + "支付"
    assert manner_clause(3, 5, long_clause) == (3, 5)  # longer than the reader's clause answers


def test_words_in_several_sentences_answer_from_the_one_that_says_what_was_asked(base_config: Config) -> None:
    # "1990" stands in both; only the second sentence's clause says when the association was founded.
    question, reading = _reading(
        base_config,
        "青石体育协会成立于哪一年？",
        (
            "为庆祝成立20周年，青石体育协会举办选举，表扬1990年至2010年间为本市屡创佳绩的运动员。",
            "青石体育协会于1990年成立，由本市体育记者组成。",
        ),
    )
    assert "1990年至2010年" in reading.candidates[0].sentence  # the reader's best holds the words first
    chosen, _ = model_reading(reading, question, _model("1990"))
    assert chosen is not None and "1990年成立" in chosen.sentence and "1990" in chosen.span
