"""Follow-up questions made standalone by rules, without a language model."""

from __future__ import annotations

import pytest

from assistant.followup import condense_by_rules, keeps_subject, needs_context, user_turns

pytestmark = pytest.mark.fast

HISTORY = [
    {"role": "user", "content": "全年登记了多少项技术合同？"},
    {"role": "assistant", "content": "全年登记技术合同1,580项。[1]"},
]


def test_only_the_user_s_words_are_the_conversation() -> None:
    messages = [
        {"role": "user", "content": " 第一问 "},
        {"role": "assistant", "content": "答"},
        {"role": "user", "content": ""},
        {"role": "user", "content": None},
        "not a message",
        {"role": "user", "content": "第二问"},
    ]
    assert user_turns(messages) == ["第一问", "第二问"]
    assert user_turns(None) == []


@pytest.mark.parametrize(
    ("question", "follows"),
    [
        ("总免税额呢？", True),
        ("其中发明专利有多少件？", True),
        ("What about its growth?", True),
        ("2008年深圳市专利授权量是多少？", False),
        ("How many patents were granted in 2007?", False),
    ],
)
def test_a_follow_up_is_recognised_by_its_words(question: str, follows: bool) -> None:
    assert needs_context(question) is follows


def test_an_elliptical_question_takes_the_previous_subject_and_question_word() -> None:
    assert condense_by_rules("总免税额呢？", HISTORY) == "全年登记了技术合同，总免税额是多少？"
    assert condense_by_rules("其中发明专利有多少件？", HISTORY) == "全年登记了技术合同，其中发明专利有多少件？"


def test_a_standalone_question_or_one_without_history_is_left_alone() -> None:
    assert condense_by_rules("2008年深圳市专利授权量是多少？", HISTORY) == "2008年深圳市专利授权量是多少？"
    assert condense_by_rules("总免税额呢？", []) == "总免税额呢？"


def test_an_english_follow_up_carries_the_previous_question() -> None:
    assert (
        condense_by_rules("And what about 2008?", HISTORY)
        == "And what about 2008? (following: 全年登记了多少项技术合同？)"
    )


def test_a_condensed_question_must_keep_the_words_the_user_typed() -> None:
    assert keeps_subject("总免税额呢？", "全年技术合同的总免税额是多少？")
    assert not keeps_subject("总免税额呢？", "全年技术合同免税总额是多少？")  # a paraphrase
    assert keeps_subject("What about 2008?", "anything")  # only Chinese follow-ups are checked
