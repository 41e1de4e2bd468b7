"""Chinese characters: the one definition every module that tells Chinese text apart uses.

CJK Unified Ideographs with extension A, and the compatibility ideographs. (chunk.py's wide
characters, which also take in CJK punctuation and full-width forms, are another class: where
text joins without spaces.)
"""

from __future__ import annotations

import re

HANZI = "\u3400-\u9fff\uf900-\ufaff"  # a character-class body, for building regular expressions
HANZI_CHAR = re.compile(f"[{HANZI}]")


def is_hanzi_word(text: str) -> bool:
    """Every character of ``text`` is a Chinese character."""
    return bool(re.fullmatch(f"[{HANZI}]+", text))
