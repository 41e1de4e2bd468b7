"""Prompt and answer templates, one text file per template and language, in ``prompts/``."""

from __future__ import annotations

import functools

from .config import PROMPTS_DIR
from .hanzi import HANZI_CHAR


@functools.lru_cache(maxsize=64)
def template(name: str, lang: str) -> str:
    """The template ``<name>.<lang>.txt`` of prompts/ (falling back to English)."""
    for candidate in (PROMPTS_DIR / f"{name}.{lang}.txt", PROMPTS_DIR / f"{name}.en.txt"):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8").strip()
    raise FileNotFoundError(f"no template {name!r} in {PROMPTS_DIR}")


def language_of(text: str) -> str:
    """'zh' when the text has Chinese characters, else 'en'."""
    return "zh" if HANZI_CHAR.search(text) else "en"


def text_language(text: str) -> str:
    """The main language of a document: 'zh' when Chinese characters outnumber Latin letters."""
    sample = text[:5000]
    chinese = len(HANZI_CHAR.findall(sample))
    latin = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    return "zh" if chinese >= latin / 4 else "en"
