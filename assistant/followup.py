"""Follow-up questions ("其中发明专利有多少件？", "总免税额呢？") made standalone with the conversation.

These are the rules used without a language model; with one, the generative answerer asks the
model to condense instead and falls back to these rules.
"""

from __future__ import annotations

import re

from .prompts import language_of

# A question leaning on what came before: pronouns, "of those", "what about …", elliptical 呢.
FOLLOW_UP = re.compile(
    r"^(?:其中|那么|那|它|它们|他们|这些|那些|这个|那个|该|此外|另外|还有|同时|以及|and\b|what about\b|how about\b|and what\b)"
    r"|呢[？?]?$|\b(?:it|its|they|them|their|those|these|that one|of them)\b",
    re.IGNORECASE,
)
ASK_PHRASE = re.compile(r"(多少|几)[个件项家人名次元]?|是什么|有哪些|哪些|哪个|什么")


def user_turns(history: list[dict] | None) -> list[str]:
    """The user's earlier questions, oldest first, from OpenAI/Gradio-style messages."""
    turns = []
    for message in history or []:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str) and content.strip():
                turns.append(content.strip())
    return turns


def needs_context(question: str) -> bool:
    return bool(FOLLOW_UP.search(question.strip()))


def condense_by_rules(question: str, history: list[dict] | None) -> str:
    """The question itself, or for a follow-up the previous question's frame filled in."""
    previous = user_turns(history)
    if not previous or not needs_context(question):
        return question
    last = previous[-1]
    current = question.strip()
    if language_of(current) == "zh":
        if re.search(r"呢[？?]?$", current):
            stem = re.sub(r"呢[？?]?$", "", current)
            ask = ASK_PHRASE.search(last)
            current = f"{stem}是{(ask.group(1) or ask.group(0)).removeprefix('是') if ask else '什么'}？"
        return f"{_topic(last)}，{current}"
    return f"{current} (following: {last})"


def _topic(question: str) -> str:
    """The previous question without its question phrase and end mark: its subject."""
    topic = re.sub(r"[？?。！!\s]+$", "", ASK_PHRASE.sub("", question))
    return topic.rstrip("了的是有共") or question.rstrip("？?")


def keeps_subject(question: str, condensed: str) -> bool:
    """A condensed Chinese follow-up must keep what the user typed ("总免税额"), not a paraphrase."""
    if language_of(question) != "zh":
        return True
    core = re.sub(
        r"^(其中|那么|那|另外|此外|还有|同时)[，,]?|(呢|是多少|有多少|多少|是什么|有哪些)?[？?。！!\s]*$",
        "",
        question.strip(),
    )
    core = re.sub(r"(呢|是多少|有多少|多少|是什么|有哪些)$", "", core)
    return core in condensed
