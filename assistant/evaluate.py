"""Judge answers on a question set (format: shared/eval/README.md): accuracy, evidence hits, latency."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from .api import Answer, answer
from .config import Config
from .errors import InputError
from .figures import normalise_numbers, numbers_in

REQUIRED_FIELDS = ("id", "q", "kind")


@dataclass
class Judged:
    id: str
    kind: str
    lang: str
    correct: bool
    evidence_rank: int | None
    seconds: float
    answer: str


def load_questions(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No such question file: {path}")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name}, line {number}: not valid JSON ({exc.msg}).") from exc
        missing = [f for f in REQUIRED_FIELDS if f not in item]
        if missing:
            raise InputError(f"{path.name}, line {number}: missing {', '.join(missing)}.")
        questions.append(item)
    if not questions:
        raise InputError(f"{path.name} holds no questions.")
    return questions


def judge(item: dict, result: Answer) -> tuple[bool, int | None]:
    """Correctness as the question set's README defines it, and the evidence's source rank."""
    text = _squash(result.text)
    evidence = item.get("evidence")
    rank = next((i for i, s in enumerate(result.sources) if evidence and evidence in s.text), None)
    if item["kind"] == "refuse":
        invented = (
            set(numbers_in(result.text)) - set(numbers_in(item["q"])) - set(re.findall(r"\[(\d+)\]", result.text))
        )
        return (not result.found) and not invented, rank
    must_ok = all(any(_squash(option) in text for option in group) for group in item.get("must", []))
    return must_ok and rank is not None and rank < 3, rank


def _squash(text: str) -> str:
    return re.sub(r"(?<=\d) (?=\d)", "", normalise_numbers(text))


def run_eval(questions: list[dict], config: Config, mode: str = "extractive") -> dict:
    by_id = {q["id"]: q for q in questions}
    answers: dict[str, Answer] = {}
    judged: list[Judged] = []
    for item in questions:
        history = _history(item, by_id, answers)
        result = answer(item["q"], history, mode=mode, config=config)
        answers[item["id"]] = result
        correct, rank = judge(item, result)
        judged.append(
            Judged(item["id"], item["kind"], item.get("lang", ""), correct, rank, result.timings["total"], result.text)
        )
    return summarise(judged, mode)


def _history(item: dict, by_id: dict[str, dict], answers: dict[str, Answer]) -> list[dict]:
    chain = []
    previous = item.get("after")
    while previous:
        earlier = by_id[previous]
        chain.insert(0, earlier)
        previous = earlier.get("after")
    history: list[dict] = []
    for earlier in chain:
        history.append({"role": "user", "content": earlier["q"]})
        if earlier["id"] in answers:
            history.append({"role": "assistant", "content": answers[earlier["id"]].text})
    return history


def summarise(judged: list[Judged], mode: str) -> dict:
    def share(rows: list[Judged]) -> float | None:
        return round(sum(r.correct for r in rows) / len(rows), 3) if rows else None

    groups: dict[str, list[Judged]] = {}
    for row in judged:
        groups.setdefault(f"kind:{row.kind}", []).append(row)
        groups.setdefault(f"lang:{row.lang}", []).append(row)
        answerable = "refuse" if row.kind == "refuse" else "answerable"
        groups.setdefault(f"{row.lang}:{answerable}", []).append(row)
    with_evidence = [r for r in judged if r.kind != "refuse"]
    seconds = sorted(r.seconds for r in judged)
    return {
        "mode": mode,
        "questions": len(judged),
        "accuracy": share(judged),
        "by_group": {name: {"n": len(rows), "accuracy": share(rows)} for name, rows in sorted(groups.items())},
        "evidence_hit@1": _hit(with_evidence, 1),
        "evidence_hit@3": _hit(with_evidence, 3),
        "latency_p50_s": round(statistics.median(seconds), 3),
        "latency_p95_s": round(_percentile(seconds, 95), 3),
        "failures": [{"id": r.id, "answer": r.answer} for r in judged if not r.correct],
    }


def _hit(rows: list[Judged], k: int) -> float | None:
    if not rows:
        return None
    return round(sum(1 for r in rows if r.evidence_rank is not None and r.evidence_rank < k) / len(rows), 3)


def _percentile(sorted_values: list[float], percent: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(percent / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def format_report(report: dict) -> str:
    lines = [
        f"mode: {report['mode']}   questions: {report['questions']}   accuracy: {report['accuracy']:.0%}",
        f"evidence hit@1: {report['evidence_hit@1']:.0%}   hit@3: {report['evidence_hit@3']:.0%}",
        f"latency p50: {report['latency_p50_s'] * 1000:.0f} ms   p95: {report['latency_p95_s'] * 1000:.0f} ms",
        "",
        f"{'group':<22}{'n':>4}  accuracy",
    ]
    for name, group in report["by_group"].items():
        lines.append(f"{name:<22}{group['n']:>4}  {group['accuracy']:.0%}")
    if report["failures"]:
        lines.append("")
        lines.append("wrong:")
        for failure in report["failures"]:
            first_line = failure["answer"].splitlines()[0] if failure["answer"] else ""
            lines.append(f"  {failure['id']}: {first_line[:100]}")
    return "\n".join(lines)
