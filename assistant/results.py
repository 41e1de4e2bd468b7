"""What an answer is: its text, whether the documents hold it, and its sources, best first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .retrieve import Passage


@dataclass(frozen=True)
class Source:
    doc: str
    title: str
    section: str
    text: str
    score: float
    highlight: str = ""
    chunk_id: str = ""
    # "instruction": the passage tells its reader what to answer; it is shown, never used as evidence.
    flag: str = ""
    page: int | None = None  # the PDF page the passage stands on (numbered from 1)


@dataclass
class Answer:
    text: str
    found: bool
    sources: list[Source]
    timings: dict[str, float]
    question: str
    condensed_question: str
    mode: str
    checks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def to_sources(
    passages: list[Passage], highlights: dict[int, str] | None = None, flags: dict[int, str] | None = None
) -> list[Source]:
    """Sources in the given order, each with the sentence it was cited for (if any) and its flag."""
    highlights = highlights or {}
    flags = flags or {}
    return [
        Source(
            doc=p.doc,
            title=p.title,
            section=p.section,
            text=p.text,
            score=round(p.score, 6),
            highlight=highlights.get(i, ""),
            chunk_id=p.chunk_id,
            flag=flags.get(i, ""),
            page=p.page,
        )
        for i, p in enumerate(passages)
    ]
