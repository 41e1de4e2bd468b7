"""Chinese-aware chunking: sentences, never split inside a number or a quoted title, with sections.

Chunk ids come from the document's name, its content hash and the chunk's position: indexing
the same document twice produces the same ids, and two files with the same text get ids of their own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .hanzi import HANZI_CHAR
from .ingest import Document

# The chunking rules' edition, stored with each indexed document: raise it when a change makes other
# chunks (or sections) of the same text, so that the next build re-chunks every document.
CHUNK_RULES = 3

# A named period: a year, or a five-year plan ("“十一五”", "十二五时期"), which reports review and plan by.
PERIOD = r"(?:(?:19|20)\d{2}|[〇零一二三四五六七八九]{4})年|[“\"]十[一二三四五六七八九]?五[”\"]|十[一二三四五六七八九]?五(?:时期|期间|规划)"
# Section headings, outermost first: a period ("2013年工作回顾", "“十一五”时期工作回顾", "2014年工作安排":
# a short line of its own naming a period, which dates what follows), "第一章", "一、", "（一）", "1.",
# "（1）", "——".
HEADING_LEVELS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"^(?!——)(?=[^。！？；，、：,;:!?]{{2,20}}$)\S*?(?:{PERIOD})"),
    re.compile(r"^第[一二三四五六七八九十百零〇\d]+[章节部分篇]"),
    re.compile(r"^[一二三四五六七八九十]+、"),
    re.compile(r"^[（(][一二三四五六七八九十]+[）)]"),
    re.compile(r"^\d{1,2}[、.．](?!\d)"),
    re.compile(r"^[（(]\d{1,2}[）)]"),
    re.compile(r"^——(?=\S)"),
)
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s*\S")
MAX_HEADING_CHARS = 60
OPENING_QUOTES = "“‘「『《〈（(【"
CLOSING_QUOTES = "”’」』》〉）)】"
SENTENCE_END = "。！？；!?;"
CLAUSE_END = "，、：,:"


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    position: int
    page: int | None = None  # the PDF page the text stands on

    @property
    def embed_text(self) -> str:
        """Title and section travel with the text so a chunk stays findable by its topic."""
        context = " / ".join(part for part in (self.title, self.section) if part)
        return f"{context}\n{self.text}" if context else self.text


def split_sentences(text: str) -> list[str]:
    """Split after sentence ends that are outside quotes and brackets; keep closing quotes attached."""
    sentences: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in OPENING_QUOTES:
            depth += 1
        elif ch in CLOSING_QUOTES and not (depth == 1 and i > 0 and text[i - 1] in SENTENCE_END):
            depth = max(0, depth - 1)
        elif ch == "\n" or (ch in SENTENCE_END and depth == 0) or _is_ascii_period_end(text, i) or ch in CLOSING_QUOTES:
            # A quotation that ends its own sentence ("……。”") ends the outer one too.
            end = i + 1
            while end < len(text) and text[end] in CLOSING_QUOTES:
                end += 1
            piece = text[start:end].strip()
            if piece:
                sentences.append(piece)
            start = i = end
            depth = 0
            continue
        i += 1
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_clauses(sentence: str) -> list[str]:
    """Clauses at commas outside quotes; a comma between digits ("12,057") is not a break."""
    clauses: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(sentence):
        if ch in OPENING_QUOTES:
            depth += 1
        elif ch in CLOSING_QUOTES:
            depth = max(0, depth - 1)
        elif (ch in CLAUSE_END or ch in SENTENCE_END) and depth == 0:
            if ch == "," and 0 < i < len(sentence) - 1 and sentence[i - 1].isdigit() and sentence[i + 1].isdigit():
                continue
            piece = sentence[start : i + 1].strip()
            if piece:
                clauses.append(piece)
            start = i + 1
    tail = sentence[start:].strip()
    if tail:
        clauses.append(tail)
    return clauses


def _is_ascii_period_end(text: str, i: int) -> bool:
    """An ASCII period ends a sentence after a letter and before white space (not in 2.6 or U.S.),
    and between Chinese characters, where it stands for a full stop ("出现高通胀.新货币…")."""
    if text[i] != ".":
        return False
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else " "
    if HANZI_CHAR.match(before) and HANZI_CHAR.match(after):
        return True
    return before.isalpha() and before.isascii() and after.isspace() and not _is_abbreviation(text, i)


def _is_abbreviation(text: str, i: int) -> bool:
    word = re.search(r"(\S+)$", text[:i])
    return bool(word and (len(word.group(1)) <= 2 or "." in word.group(1)))


def heading_level(line: str) -> int | None:
    """The nesting level of a heading line, or None for body text; Markdown's # levels come first."""
    markdown = MARKDOWN_HEADING.match(line)
    if markdown:
        return len(markdown.group(1)) - 1
    for level, pattern in enumerate(HEADING_LEVELS):
        if pattern.match(line):
            return 6 + level
    return None


def _heading_title(line: str) -> str | None:
    """A heading's text: a short standalone line, or the first sentence of a '——' paragraph."""
    if line.startswith("——"):
        first = split_sentences(line)[0]
        return first.rstrip("。；;") if len(first) <= MAX_HEADING_CHARS else None
    if len(line) <= MAX_HEADING_CHARS and not line.endswith("。"):
        return line.lstrip("#").strip()
    return None


def chunk_document(document: Document, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Pack sentences into chunks of at most ~chunk_size characters within one section and one page."""
    if chunk_overlap >= chunk_size:
        raise ValueError("chunk_overlap must be smaller than chunk_size")
    sections: list[tuple[str, int | None, list[str]]] = []
    path: dict[int, str] = {}
    current: list[str] = []
    section_name = ""
    page = document.page_at(0)
    offset = 0
    for raw_line in document.text.split("\n"):
        line_page = document.page_at(offset)
        offset += len(raw_line) + 1
        line = raw_line.strip()
        if line_page != page:  # a new page starts new chunks, so each chunk cites the page it stands on
            if current and line and not _ends_sentence(current[-1]) and heading_level(line) is None:
                # The page break cut a sentence: it is finished where it started, and cites that page.
                first, *rest = split_sentences(line)
                current[-1] = join_sentences([current[-1], first])
                line = join_sentences(rest)
            if current:
                sections.append((section_name, page, current))
            current = []
            page = line_page
        if not line or line.lstrip("# ") == document.title:
            continue
        level = heading_level(line)
        title = _heading_title(line) if level is not None else None
        if level is not None and title is not None:
            if current:
                sections.append((section_name, page, current))
            path = {lvl: name for lvl, name in path.items() if lvl < level}
            path[level] = title
            section_name = " > ".join(path[lvl] for lvl in sorted(path))
            current = []
            if not MARKDOWN_HEADING.match(line) and (line.startswith("——") or len(line) > len(title) + 1):
                current.extend(split_sentences(line))
            continue
        current.extend(split_sentences(line))
    if current:
        sections.append((section_name, page, current))
    if not sections:  # a document that is only its title or headings still needs a chunk to be found
        sections.append(("", document.page_at(0), split_sentences(document.text)))

    id_prefix = _chunk_id_prefix(document)
    chunks: list[Chunk] = []
    for section, page, sentences in sections:
        for text in _pack(sentences, chunk_size, chunk_overlap):
            position = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=_chunk_id(id_prefix, position),
                    doc_id=document.doc_id,
                    title=document.title,
                    section=section,
                    text=text,
                    position=position,
                    page=page,
                )
            )
    return chunks


def _ends_sentence(sentence: str) -> bool:
    """Whether the text ends a sentence ("…。" or "…。”"), rather than stopping inside one."""
    stripped = sentence.rstrip(CLOSING_QUOTES)
    return not stripped or stripped[-1] in SENTENCE_END


def _chunk_id(prefix: str, position: int) -> str:
    return f"{prefix}-{position:05d}"


def next_chunk_id(chunk_id: str) -> str:
    """The id of the chunk after this one in its document, or "" for an id of another form."""
    prefix, _, position = chunk_id.rpartition("-")
    return _chunk_id(prefix, int(position) + 1) if position.isdigit() else ""


def _chunk_id_prefix(document: Document) -> str:
    """The content hash, then the name's: two files with the same text keep chunks of their own."""
    return f"{document.content_hash[:16]}-{hashlib.sha256(document.doc_id.encode()).hexdigest()[:12]}"


def _pack(sentences: list[str], chunk_size: int, chunk_overlap: int) -> list[str]:
    pieces: list[str] = []
    for sentence in sentences:
        pieces.extend(_split_long(sentence, chunk_size))
    chunks: list[str] = []
    window: list[str] = []
    for piece in pieces:
        if window and sum(map(len, window)) + len(piece) > chunk_size:
            chunks.append(join_sentences(window))
            overlap: list[str] = []
            for previous in reversed(window):
                if sum(map(len, overlap)) + len(previous) > chunk_overlap:
                    break
                overlap.insert(0, previous)
            window = overlap
        window.append(piece)
    if window:
        chunks.append(join_sentences(window))
    return chunks


def join_sentences(sentences: list[str]) -> str:
    """Chinese sentences join directly; others keep a space between them."""
    text = ""
    for sentence in sentences:
        if text and not (_is_cjk(text[-1]) or _is_cjk(sentence[0])):
            text += " "
        text += sentence
    return text


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _split_long(sentence: str, chunk_size: int) -> list[str]:
    """A sentence longer than a chunk breaks at clause commas, then (last resort) at chunk_size."""
    if len(sentence) <= chunk_size:
        return [sentence]
    parts: list[str] = []
    buffer = ""
    for clause in split_clauses(sentence):
        if buffer and len(buffer) + len(clause) > chunk_size:
            parts.append(buffer)
            buffer = ""
        while len(clause) > chunk_size:
            cut = _safe_cut(clause, chunk_size)
            parts.append(clause[:cut])
            clause = clause[cut:]
        buffer += clause
    if buffer:
        parts.append(buffer)
    return parts


def _safe_cut(text: str, limit: int) -> int:
    """A cut position at or before limit that does not fall inside a run of digits."""
    cut = limit
    while cut > 1 and (text[cut - 1].isdigit() or text[cut - 1] == ".") and text[cut].isdigit():
        cut -= 1
    return cut if cut > 1 else limit
