"""Keyword search: BM25 (bm25s) over jieba-segmented text, with numbers and years kept whole.

Generic BM25 tokenisers split on spaces, which leaves a run of Chinese as a single token; here
Chinese is segmented by jieba and each number ("12,057", "2.6", "2007") stays one token.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path

from .hanzi import HANZI

NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
WORD = re.compile(rf"[a-z]+|[{HANZI}]+")
STOPWORDS = frozenset(
    "的 了 和 与 及 或 在 是 为 对 等 其 其中 并 也 就 都 而 以 之 于 被 把 将 由 从 向 这 那 有 个 中 上 下 吗 呢 吧 啊 么 什么 多少 几 哪 哪些 哪个 怎么 怎样 如何 是否 请问 "
    "the a an of to in on for and or is are was were be been what which who whom how many much did do does that this these those it its by with as at from".split()
)


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Search tokens: jieba words (plus their sub-words), whole numbers, lower-case English words."""
    tokens: list[str] = []
    text = text.lower()
    last = 0
    for match in NUMBER.finditer(text):
        tokens.extend(_words(text[last : match.start()]))
        tokens.append(match.group().replace(",", ""))
        last = match.end()
    tokens.extend(_words(text[last:]))
    return tokens


# jieba's part-of-speech tags of names: people (nr, nrt, nrfg), places (ns), organisations (nt), other
# proper nouns (nz) and Latin words (eng). Its tagger confuses them (吴京/ns, 阿布扎比/nrt), so they count as one.
NAME_TAGS = ("nr", "ns", "nt", "nz", "eng")
PLACE_TAG = "ns"
ORGANISATION_TAG = "nt"
VERB_TAG = "v"
# jieba's tags of localisers (西北部, 外面) and place words (市内, 家里).
LOCALISER_TAGS = ("f", "s")


# Judgments hide people's names behind their surname and 某 ("赵某某", "夏1某", "黄某甲"), which jieba
# does not know as names; 甲乙丙丁 ends one ("黄某甲从…") unless it opens 甲方/乙方, a contract's party.
HIDDEN_NAME = re.compile(rf"(?!某)[{HANZI}]\d*某+(?:\d+|[甲乙丙丁](?!方))?")


@functools.lru_cache(maxsize=8192)
def tagged_words(text: str) -> tuple[tuple[str, str], ...]:
    """jieba's words and their part-of-speech tags."""
    import jieba.posseg

    _jieba()
    return tuple((pair.word, pair.flag) for pair in jieba.posseg.cut(text))


@functools.lru_cache(maxsize=8192)
def names_in(text: str) -> tuple[str, ...]:
    """The words jieba tags as proper names, and the hidden names of judgments."""
    hidden = HIDDEN_NAME.findall(text)
    tagged = (word for word, flag in tagged_words(text) if flag.startswith(NAME_TAGS))
    return tuple(dict.fromkeys([*hidden, *(w for w in tagged if not any(w in h for h in hidden))]))


def leading_nouns(text: str) -> str:
    """The common nouns a text opens with ("项目" of "项目列入省市…"; "" for "获奖，…")."""
    nouns = []
    for word, flag in tagged_words(text):
        if flag not in ("n", "vn"):
            break
        nouns.append(word)
    return "".join(nouns)


# jieba's tags of words that name nothing: verbs (not verbal nouns), adverbs, prepositions,
# conjunctions, particles, pronouns, localisers and punctuation.
EMPTY_TAGS = ("v", "d", "p", "c", "u", "r", "y", "f", "x")


# jieba's tags of words that say nothing of their own: the empty words less verbs and localisers, which
# say something, and with numerals and measure words.
FUNCTION_TAGS = (*(tag for tag in EMPTY_TAGS if tag not in ("v", "f")), "m", "q")


def says_something(text: str) -> bool:
    """Any word that is not a function word: "了一个", left when a span only repeats the question's
    words ("建立了一个强大的经济基础" for "如何建立强大的经济基础"), says nothing."""
    return any(not flag.startswith(FUNCTION_TAGS) for word, flag in tagged_words(text) if word.strip())


def names_something(text: str) -> bool:
    """Any word other than a verb, adverb, preposition, conjunction, particle or pronoun ("有自己的"
    names nothing; jieba's tags for nouns are too unsure to require one: 主任/b, 生命/vn)."""
    return any(flag == "vn" or not flag.startswith(EMPTY_TAGS) for word, flag in tagged_words(text) if word.strip())


def segment(text: str) -> list[str]:
    """jieba's precise segmentation (whole words only, no sub-words)."""
    return _jieba().lcut(text)


def dictionary_words(text: str) -> list[str]:
    """jieba's dictionary words alone: its HMM glues an unknown name to the word before ("故乙")."""
    return _jieba().lcut(text, HMM=False)


# One-character words that name nothing, which jieba's HMM glues to an unknown name beside them; the
# question words 哪 and 几 stay with their measure word ("哪支", "几所"), which stands for the answer.
FUNCTION_CHARS = "".join(sorted(w for w in STOPWORDS if len(w) == 1 and not w.isascii() and w not in "哪几"))


def question_words(text: str) -> list[str]:
    """A question's words as its sentences write them: jieba's HMM glues an unknown name to the
    function character beside it ("钟惺有" of "钟惺有哪些代表作", "赋及" of "文、赋及诗"), a word no
    sentence writes, so a word outside the dictionary loses function characters at its ends."""
    jieba = _jieba()
    words = []
    for word in tokenize(text):
        # The dictionary lists its words and their beginnings ("中超" of 中超联赛, a name like "于乐"): whole.
        if len(word) > 1 and jieba.get_FREQ(word) is None and not word.isascii() and not NUMBER.fullmatch(word):
            word = word.strip(FUNCTION_CHARS)
        if word.strip():
            words.append(word)
    return list(dict.fromkeys(words))


def _words(text: str) -> list[str]:
    out: list[str] = []
    for span in WORD.findall(text):
        if span.isascii():
            if span not in STOPWORDS:
                out.append(span)
            continue
        for word in _jieba().cut_for_search(span):
            if word not in STOPWORDS:
                out.append(word)
    return out


class KeywordIndex:
    """A BM25 index over chunk texts, saved beside the dense index of the same generation."""

    def __init__(self, retriever: object, chunk_ids: list[str]) -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every indexed word."""
        return frozenset(self._retriever.vocab_dict) - {""} if self.chunk_ids else frozenset()  # type: ignore[attr-defined]

    @classmethod
    def build(cls, chunk_ids: list[str], tokens: list[list[str]]) -> KeywordIndex:
        """From each chunk's `tokenize` output, which the store keeps beside the chunk."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        retriever = bm25s.BM25()
        if tokens:
            retriever.index([t or [""] for t in tokens], show_progress=False)
        return cls(retriever, list(chunk_ids))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.chunk_ids:
            self._retriever.save(str(folder))  # type: ignore[attr-defined]
        (folder / "chunk_ids.json").write_text(json.dumps(self.chunk_ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        chunk_ids = json.loads((folder / "chunk_ids.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder)) if chunk_ids else None
        return cls(retriever, chunk_ids)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Chunk ids with BM25 scores, best first; empty when no query token is indexed."""
        if not self.chunk_ids:
            return []
        vocab = self._retriever.vocab_dict  # type: ignore[attr-defined]
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        k = min(k, len(self.chunk_ids))
        indices, scores = self._retriever.retrieve(  # type: ignore[attr-defined]
            [tokens], k=k, show_progress=False, return_as="tuple"
        )
        return [(self.chunk_ids[int(i)], float(s)) for i, s in zip(indices[0], scores[0], strict=True) if s > 0]
