"""Judge answers on a question set: accuracy, refusals, confidently wrong answers, retrieval, latency.

Two kinds of sets share one format (shared/eval/README.md):
- sets with ``answers``/``unanswerable`` (written by others, shared/eval/external/README.md): an
  answer is right when an accepted string stands in its first paragraph and it is ``found``; an
  unanswerable question is right only when refused. ``doc`` names the file that holds the answer.
- sets with ``must``/``evidence`` (the bundled report's): every ``must`` group in the answer and the
  evidence string in one of the first three sources.

A *confidently wrong* answer is one given as found and wrong: the worst kind, reported apart.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .api import answer
from .config import Config
from .errors import InputError
from .figures import normalise_numbers, numbers_in
from .results import Answer

REQUIRED_FIELDS = ("id", "q")
KNOWN_FIELDS = frozenset(
    {"id", "q", "lang", "kind", "must", "evidence", "after", "answers", "unanswerable", "doc", "q_zh"}
)
SOURCES_JUDGED = 3


@dataclass
class Judged:
    id: str
    question: str
    kind: str
    lang: str
    answerable: bool
    correct: bool
    found: bool
    evidence_rank: int | None
    doc_rank: int | None
    seconds: float
    answer: str
    mode: str
    expected: str = ""
    doc: str = ""
    evidence: str = ""
    checks: tuple[str, ...] = ()

    @property
    def confidently_wrong(self) -> bool:
        return self.found and not self.correct


def load_questions(path: str | Path) -> list[dict]:
    """The questions of a JSONL file; a line that cannot be judged is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No such question file: {path}")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not UTF-8 text ({exc.reason}); save it as UTF-8.") from exc
    questions: list[dict] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}, line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg}).") from exc
        if not isinstance(item, dict):
            raise InputError(f"{where}: a question is a JSON object with at least {', '.join(REQUIRED_FIELDS)}.")
        missing = [f for f in REQUIRED_FIELDS if f not in item]
        if missing:
            raise InputError(f"{where}: missing {', '.join(missing)}.")
        unknown = sorted(set(item) - KNOWN_FIELDS)
        if unknown:
            raise InputError(f"{where}: unknown field {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_FIELDS))}.")
        if not isinstance(item["q"], str) or not item["q"].strip():
            raise InputError(f"{where}: the question `q` is empty.")
        if not any(key in item for key in ("answers", "unanswerable", "must", "kind")):
            raise InputError(f"{where}: nothing to judge by: give `answers`, `unanswerable` or `must`.")
        if item["id"] in seen:
            raise InputError(f"{where}: the id {item['id']!r} is used twice.")
        if item.get("after") and item["after"] not in seen:
            raise InputError(f"{where}: `after` names {item['after']!r}, which no earlier line has.")
        seen.add(item["id"])
        questions.append(item)
    if not questions:
        raise InputError(f"{path.name} holds no questions.")
    return questions


def sample(questions: list[dict], limit: int | None) -> list[dict]:
    """An even spread of `limit` questions (every k-th), keeping those a follow-up needs."""
    if limit is None or limit >= len(questions):
        return questions
    if limit < 1:
        raise InputError("--limit takes a number of questions of at least 1.")
    step = len(questions) / limit
    chosen = {questions[int(i * step)]["id"] for i in range(limit)}
    by_id = {q["id"]: q for q in questions}
    for question_id in list(chosen):
        previous = by_id[question_id].get("after")
        while previous:
            chosen.add(previous)
            previous = by_id[previous].get("after")
    return [q for q in questions if q["id"] in chosen]


def eval_index_config(docs: str | Path, config: Config, *, explicit_index: bool = False) -> Config:
    """Where the index of an evaluation folder lives: the cache, one index per folder, unless given."""
    folder = Path(docs).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(f"--docs {docs}: not a folder of documents.")
    if explicit_index or config.chroma_url:
        return config
    digest = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:12]
    return config.replace(index_dir=config.cache_dir / "eval-index" / f"{folder.parent.name}-{folder.name}-{digest}")


def first_paragraph(text: str) -> str:
    """The answer itself: a quoted source sentence after a blank line does not count."""
    return text.strip().split("\n\n", 1)[0]


def normalise_for_matching(text: str) -> str:
    """Unicode NFKC, no spaces, no digit-group commas (external README's rule)."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    return re.sub(r"\s+", "", text)


def is_answerable(item: dict) -> bool:
    return not item.get("unanswerable", False) and item.get("kind") != "refuse"


def judge(item: dict, result: Answer) -> tuple[bool, int | None, int | None]:
    """Whether the answer is right, and the rank of the evidence and of the answer's document."""
    evidence = item.get("evidence")
    evidence_rank = next((i for i, s in enumerate(result.sources) if evidence and evidence in s.text), None)
    doc_rank = next((i for i, s in enumerate(result.sources) if item.get("doc") and s.doc == item["doc"]), None)
    if "answers" in item or "unanswerable" in item:
        if not is_answerable(item):
            return not result.found, evidence_rank, doc_rank
        said = normalise_for_matching(first_paragraph(result.text))
        right = result.found and any(normalise_for_matching(a) in said for a in item.get("answers", []))
        return right, evidence_rank, doc_rank
    if not is_answerable(item):
        invented = (
            set(numbers_in(result.text)) - set(numbers_in(item["q"])) - set(re.findall(r"\[(\d+)\]", result.text))
        )
        return (not result.found) and not invented, evidence_rank, doc_rank
    text = _squash(result.text)
    must_ok = all(any(_squash(option) in text for option in group) for group in item.get("must", []))
    return must_ok and evidence_rank is not None and evidence_rank < SOURCES_JUDGED, evidence_rank, doc_rank


def _squash(text: str) -> str:
    return re.sub(r"(?<=\d) (?=\d)", "", normalise_numbers(text))


def run_eval(
    questions: list[dict],
    config: Config,
    mode: str = "extractive",
    progress=None,
    ask: Callable[[str, list[dict]], Answer] | None = None,
) -> dict:
    """Ask every question (follow-ups with their conversation) and judge the answers.

    `ask` replaces the assistant, so that another system is judged by the same rules.
    """
    ask = ask or (lambda question, history: answer(question, history, mode=mode, config=config))
    by_id = {q["id"]: q for q in questions}
    answers: dict[str, Answer] = {}
    judged: list[Judged] = []
    for number, item in enumerate(questions, start=1):
        history = _history(item, by_id, answers)
        result = ask(item["q"], history)
        answers[item["id"]] = result
        correct, evidence_rank, doc_rank = judge(item, result)
        judged.append(
            Judged(
                id=item["id"],
                question=item["q"],
                kind=item.get("kind", "") or ("refuse" if not is_answerable(item) else "answer"),
                lang=item.get("lang", ""),
                answerable=is_answerable(item),
                correct=correct,
                found=result.found,
                evidence_rank=evidence_rank,
                doc_rank=doc_rank,
                seconds=result.timings["total"],
                answer=result.text,
                mode=result.mode,
                expected=" | ".join(item.get("answers", [])),
                doc=item.get("doc") or "",
                evidence=item.get("evidence") or "",
                checks=tuple(result.checks),
            )
        )
        if progress is not None:
            progress(number, len(questions), item["id"])
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
        groups.setdefault(f"{row.lang}:{'answerable' if row.answerable else 'refuse'}", []).append(row)
    answerable = [r for r in judged if r.answerable]
    unanswerable = [r for r in judged if not r.answerable]
    seconds = sorted(r.seconds for r in judged)
    return {
        "mode": mode,
        "questions": len(judged),
        "accuracy": share(judged),
        "answerable": {"n": len(answerable), "right": sum(r.correct for r in answerable)},
        "unanswerable": {"n": len(unanswerable), "refused": sum(r.correct for r in unanswerable)},
        "false_refusals": sum(1 for r in answerable if not r.found),
        "confidently_wrong": sum(1 for r in answerable if r.confidently_wrong),
        "answered_unanswerable": sum(1 for r in unanswerable if r.found),
        "modes_used": _count(r.mode for r in judged),
        "by_group": {name: {"n": len(rows), "accuracy": share(rows)} for name, rows in sorted(groups.items())},
        "doc_hit@3": _hit([r.doc_rank for r in answerable if r.doc], SOURCES_JUDGED),
        "evidence_hit@1": _hit([r.evidence_rank for r in answerable if r.evidence], 1),
        "evidence_hit@3": _hit([r.evidence_rank for r in answerable if r.evidence], SOURCES_JUDGED),
        "latency_p50_s": round(statistics.median(seconds), 3),
        "latency_p95_s": round(_percentile(seconds, 95), 3),
        "failures": [
            {
                "id": r.id,
                "q": r.question,
                "expected": r.expected,
                "answer": r.answer,
                "found": r.found,
                "mode": r.mode,
                "doc_rank": r.doc_rank,
                "checks": list(r.checks),
            }
            for r in judged
            if not r.correct
        ],
    }


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _hit(ranks: list[int | None], k: int) -> float | None:
    """Share of ranks below k; None when no question names what to look for."""
    if not ranks:
        return None
    return round(sum(1 for rank in ranks if rank is not None and rank < k) / len(ranks), 3)


def _percentile(sorted_values: list[float], percent: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(percent / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def format_report(report: dict) -> str:
    answerable, unanswerable = report["answerable"], report["unanswerable"]
    lines = [
        f"mode: {report['mode']}   questions: {report['questions']}   accuracy: {_percent(report['accuracy'])}",
        f"answerable: {answerable['right']}/{answerable['n']} right, {report['false_refusals']} refused,"
        f" {report['confidently_wrong']} confidently wrong",
    ]
    if unanswerable["n"]:
        lines.append(f"unanswerable: {unanswerable['refused']}/{unanswerable['n']} refused")
    lines += [
        f"doc hit@3: {_percent(report['doc_hit@3'])}   evidence hit@3: {_percent(report['evidence_hit@3'])}",
        f"latency p50: {report['latency_p50_s'] * 1000:.0f} ms   p95: {report['latency_p95_s'] * 1000:.0f} ms"
        f"   answered by: {', '.join(f'{k} {v}' for k, v in report['modes_used'].items())}",
        "",
        f"{'group':<22}{'n':>4}  accuracy",
    ]
    for name, group in report["by_group"].items():
        lines.append(f"{name:<22}{group['n']:>4}  {_percent(group['accuracy'])}")
    if report["failures"]:
        lines.append("")
        lines.append("wrong:")
        for failure in report["failures"]:
            first_line = failure["answer"].splitlines()[0] if failure["answer"] else ""
            expected = f"  (expected {failure['expected']})" if failure["expected"] else ""
            lines.append(f"  {failure['id']}: {first_line[:100]}{expected}")
    return "\n".join(lines)
