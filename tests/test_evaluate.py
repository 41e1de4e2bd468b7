"""Judging question sets: the external sets' rules, confidently wrong answers, and bad question files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Answer, InputError, Source
from assistant.evaluate import Judged, judge, load_questions, sample, summarise


def _answer(text: str, found: bool = True, docs: tuple[str, ...] = ("a.txt",)) -> Answer:
    sources = [Source(doc=d, title="", section="", text="…", score=0.0) for d in docs]
    return Answer(text, found, sources, {"total": 0.1}, "q", "q", "extractive")


def test_an_accepted_answer_must_stand_in_the_first_paragraph() -> None:
    item = {"id": "1", "q": "q", "answers": ["1,270万人", "一千二百七十万"], "unanswerable": False, "doc": "b.txt"}
    assert judge(item, _answer("常住人口 1270 万人 [1]", docs=("a.txt", "b.txt")))[::2] == (True, 1)
    assert not judge(item, _answer("常住人口增长了 [1]\n\n原文：“常住人口1270万人。”"))[0]
    assert not judge(item, _answer("1270万人", found=False))[0]
    assert judge(item, _answer("ｘ１２７０万人"))[0]  # NFKC: full-width digits


def test_unanswerable_questions_are_right_only_when_refused() -> None:
    item = {"id": "2", "q": "q", "answers": [], "unanswerable": True}
    assert judge(item, _answer("报告中没有找到这个问题的答案。", found=False))[0]
    assert not judge(item, _answer("12个 [1]"))[0]


def test_confidently_wrong_answers_are_counted_apart_from_refusals() -> None:
    def row(answerable: bool, correct: bool, found: bool) -> Judged:
        return Judged("i", "q", "answer", "zh", answerable, correct, found, None, None, 0.1, "", "extractive")

    report = summarise(
        [row(True, True, True), row(True, False, True), row(True, False, False), row(False, False, True)], "auto"
    )
    assert report["answerable"] == {"n": 3, "right": 1}
    assert (report["confidently_wrong"], report["false_refusals"], report["answered_unanswerable"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "1", "q": "a?", "answers": ["x"]}', "{not json"], "line 2: not valid JSON"),
        (['{"id": "1", "q": "a?", "answers": ["x"], "hint": "y"}'], "line 1: unknown field hint"),
        (['{"id": "1", "answers": ["x"]}'], "line 1: missing q"),
        (['{"id": "1", "q": "a?"}'], "line 1: nothing to judge by"),
        (['{"id": "1", "q": "a?", "answers": ["x"]}', '{"id": "1", "q": "b?", "answers": ["y"]}'], "used twice"),
        (["", "  "], "holds no questions"),
    ],
)
def test_a_bad_question_file_is_an_error_naming_the_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_questions(path)


def test_a_sample_keeps_the_questions_its_follow_ups_need(tmp_path: Path) -> None:
    rows = [{"id": str(i), "q": f"q{i}?", "answers": ["x"]} for i in range(10)]
    rows[5]["after"] = "4"
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    picked = [q["id"] for q in sample(load_questions(path), 2)]
    assert picked == ["0", "4", "5"]
