"""Load report files into clean text: decode, extract, repair web-collection dirt.

The rules are general (any report collected from the web), never tuned to one file.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import io
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import InputError
from .hanzi import HANZI
from .tables import PdfTables, csv_text, table_text, workbook_text

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".xlsx", ".csv", *IMAGE_SUFFIXES)
MAX_FILE_BYTES = 50 * 1024 * 1024
# PDF points per inch: a page rendered at D dpi is D / 72 pixels per point.
POINTS_PER_INCH = 72

# Bare block tags (<p>, </div>, <br>): a .txt file holding a few of them is a page saved as text.
MARKUP_TAG = re.compile(r"<(?:/?(?:p|div|h[1-6]|li|td|tr|table|center|span)|br\s*/?)>", re.IGNORECASE)
MIN_MARKUP_TAGS = 3

# progress(done, total, message): pages read, chunks embedded.
Progress = Callable[[int, int, str], None]

CJK = HANZI  # Chinese characters, defined in assistant/hanzi.py
CJK_PUNCT = r"\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u2018-\u201f\u2014\u2026《》「」『』【】"

# Lists of links to other pages or sites (next article, related reading, share buttons): what
# follows these words is never the article, so the line goes.
LINK_LIST_LINE = re.compile(
    r"^\s*(?:上一篇|下一篇|上一条|下一条|上一页|下一页|前一篇|后一篇|相关阅读|相关文章|相关链接|热门文章|推荐阅读|分享到)"
)

# A notice's value ends at white space; where its end is unclear only the label goes.
_NOTICE_VALUE = r"[^\s，。；！？,;!?]{1,20}(?=\s|$)"
_DATE_TIME = r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}日?(?:\s*-?\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"
_CRUMB = r"[^\s>＞»›，。；！？]{1,20}(?=\s|[>＞»›]|$)"
_CRUMB_SEPARATOR = r"\s*[>＞»›]+\s*"
# Page furniture a web page puts before its article: notices (source, editor, author, time,
# counters, font size), breadcrumbs, copyright lines and buttons. Stripped one after another
# from the start of a line, each only as far as its own end, so text after them survives.
LEADING_NOTICE = re.compile(
    r"\s*(?:"
    rf"(?:责任编辑|编辑|来源|作者)\s*[:：]\s*(?:{_NOTICE_VALUE})?"
    rf"|(?:发布时间|发布日期|发表时间|更新时间)\s*[:：]\s*(?:{_DATE_TIME})?"
    r"|(?:浏览次数|阅读次数|点击次数|点击数|访问量)\s*(?:[:：]\s*\d*|\d+)次?"
    r"|(?:字号|字体)\s*[:：]\s*(?:[大中小]\s*)*"
    rf"|(?:当前位置|您现在的位置|您的位置)是?\s*[:：]?\s*{_CRUMB}(?:{_CRUMB_SEPARATOR}{_CRUMB})*"
    rf"|首页(?:{_CRUMB_SEPARATOR}{_CRUMB})+"
    r"|(?:©|Copyright\b\s*(?:©|\(c\))?|版权所有\s*(?:©|\(c\))?)\s*[:：]?\s*(?:"
    r"[^。\n]{0,60}?(?:版权所有|All\s+Rights\s+Reserved)(?:\s*版权所有)*[。.]?"  # runs to "all rights reserved"
    r"|(?:\d{4}(?:\s*[-–—~]\s*\d{4})?\s*)?[^\s，。；]{0,30}(?=\s|$)"  # or: years and one name
    r")"
    r"|返回顶部|回到顶部|返回首页|返回列表|打印本页|打印此页|关闭窗口|关闭本页|【\s*(?:打印|关闭|返回|收藏|顶部|字体|字号)[^】]*】"
    r"|收藏本页|加入收藏|设为首页"
    r")",
    re.IGNORECASE,
)
# What a line keeps after its notices is leftover furniture ("中 小", "Media Inc.") when it counts
# fewer text units than this; a unit is an ideograph, a digit or a Latin word.
TEXT_UNIT = re.compile(rf"[{CJK}0-9]|[A-Za-z]+")
MIN_TEXT_UNITS_AFTER_NOTICE = 5

# Readings of a file that is not strict UTF-8, besides UTF-8 with its broken bytes replaced; on a
# tie the earlier wins. cp950 is Big5 as Windows writes it (a superset of Python's "big5");
# UTF-16 here is UTF-16 without a byte-order mark.
LEGACY_ENCODINGS = ("gb18030", "cp950", "utf-16-le", "utf-16-be")
# (codec, first, last) code ranges of the frequently used hanzi of each standard.
COMMON_HANZI_BLOCKS = (("gb2312", 0xB0A1, 0xD7FE), ("cp950", 0xA440, 0xC67E))
# Besides common hanzi, readable text is printable ASCII, CJK and full-width punctuation, quotes,
# dashes, the signs of figures (°±×÷‰℃), circled numbers and bullet shapes.
COMMON_NON_HANZI = re.compile(
    r"[\x21-\x7e\u3000-\u303f\uff01-\uff5e\u2010-\u2027\u00b7\u00b0\u00b1\u00d7\u00f7\u2030\u2103\u2460-\u2473\u25a0-\u25ff\u2605\u2606]"
)
# A decoding with fewer readable characters than this is mojibake or binary data, whichever codec won.
MIN_READABLE_SHARE = 0.8
READABILITY_SAMPLE_CHARS = 20_000

SEPARATORS = re.compile(r"^[|｜·•/\\\-—_=*>＞»]+$")


@dataclass(frozen=True)
class Document:
    """One cleaned report. `doc_id` is stable across edits; `content_hash` changes with them.

    `chars_read` counts the non-space characters extracted from the file before cleaning (0 for a
    document not read from a file), so read and kept (`chars_kept`) show what cleaning removed.
    """

    doc_id: str
    title: str
    path: str
    text: str
    content_hash: str
    chars_read: int = 0
    # A PDF's pages: (offset in `text` where the page's text starts, page number from 1), in order;
    # pages with no text are left out. Empty for other types.
    page_starts: tuple[tuple[int, int], ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The page number of the text at `offset`, or None for a document without pages."""
        at = bisect.bisect_right(self.page_starts, (offset, math.inf)) - 1
        return self.page_starts[max(at, 0)][1] if self.page_starts else None

    @property
    def chars_kept(self) -> int:
        """Non-space characters of the cleaned text."""
        return _non_space_chars(self.text)


@dataclass(frozen=True)
class SkippedFile:
    """A file a build left out, with the reason, so the user can fix or remove it."""

    name: str  # the document name it would have had
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def load_documents(
    paths: list[Path | str], *, config: Config | None = None, progress: Progress | None = None
) -> list[Document]:
    """Load files and folders (recursively), all or nothing: InputError names every unusable file."""
    documents, skipped = read_documents(paths, config=config, progress=progress)
    if skipped:
        raise InputError(f"{len(skipped)} of the files cannot be used: {'; '.join(map(str, skipped))}.")
    return documents


def read_documents(
    paths: list[Path | str], *, config: Config | None = None, progress: Progress | None = None
) -> tuple[list[Document], list[SkippedFile]]:
    """Load files and folders (recursively), leaving out each file that cannot be read, with its reason.

    A missing path, a folder without documents, a name clash or nothing readable at all is an
    InputError: those are mistakes in what was asked for, not one bad file among good ones.
    """
    if not paths:
        raise InputError("No documents given: pass files or folders of reports.")
    files: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputError(f"No such file or folder: {path}")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                raise InputError(f"Folder {path} holds no supported documents ({', '.join(SUPPORTED_SUFFIXES)}).")
            files.extend((p, p.relative_to(path).as_posix()) for p in found)
        else:
            files.append((path, path.name))
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for path, doc_id in files:
        loaded = read_document(path, doc_id=doc_id, config=config, progress=progress)
        if isinstance(loaded, Document):
            documents.append(loaded)
        else:
            skipped.append(loaded)
    if not documents:
        raise InputError(f"None of the files can be used: {'; '.join(map(str, skipped))}.")
    seen: dict[str, str] = {}
    for doc in documents:
        if doc.doc_id in seen:
            raise InputError(
                f"Two documents share the name {doc.doc_id!r} ({seen[doc.doc_id]} and {doc.path});"
                " rename one or index them from one folder."
            )
        seen[doc.doc_id] = doc.path
    return documents, skipped


def read_document(
    path: Path, *, doc_id: str, config: Config | None = None, progress: Progress | None = None
) -> Document | SkippedFile:
    """The document, or why it cannot be read (missing, unreadable, unusable)."""
    try:
        return load_document(path, doc_id=doc_id, config=config, progress=progress)
    except InputError as exc:
        return SkippedFile(doc_id, str(exc).removeprefix(f"{path.name}: ").rstrip("."))
    except OSError as exc:
        return SkippedFile(doc_id, f"{path} could not be read ({exc.strerror or exc})")


def file_problem(name: str, size: int) -> str | None:
    """Why a file of this name and size cannot be indexed, or None: the checks a build makes and the
    chat page makes on uploads before it stores them."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return f"{name}: unsupported type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}."
    if size == 0:
        return f"{name}: the file is empty."
    if size > MAX_FILE_BYTES:
        return f"{name}: larger than {MAX_FILE_BYTES // 2**20} MiB."
    return None


def load_document(
    path: Path, *, doc_id: str | None = None, config: Config | None = None, progress: Progress | None = None
) -> Document:
    """Read one file, extract its text by type and clean it; a PDF keeps where each page starts.

    `config` gives the limits and OCR settings (default: the environment's); `progress` hears of
    each page of a PDF as it is read.
    """
    config = config or Config.from_env()
    suffix = path.suffix.lower()
    problem = file_problem(path.name, path.stat().st_size)
    if problem:
        raise InputError(problem)
    data = path.read_bytes()
    if not data.strip():
        raise InputError(file_problem(path.name, 0))  # whitespace alone is as empty as no bytes
    if suffix == ".pdf":
        raw_pages = _pdf_pages(data, path.name, config, progress)
    elif suffix in IMAGE_SUFFIXES:
        raw_pages = [_image_text(data, path.name, config)]
    else:
        raw_pages = [extract_text(data, suffix, path.name, config)]
    text, page_starts = _join_pages([clean_text(page) for page in raw_pages])
    if _non_space_chars(text) < 2:
        hint = (
            " (OCR found none: use a picture of the page upright, sharp and well lit)"
            if suffix in IMAGE_SUFFIXES
            else ""
        )
        raise InputError(f"{path.name}: no text could be read from it{hint}.")
    if suffix != ".pdf":
        page_starts = ()
    raw_text = "\n\n".join(raw_pages)
    title = _title(raw_text if suffix == ".md" else text, path)
    # The pages are part of the content: the same text laid out on other pages cites other pages.
    layout = "".join(f"\x00{start}:{number}" for start, number in page_starts)
    return Document(
        doc_id=doc_id or path.name,
        title=title,
        path=str(path.resolve()),
        text=text,
        content_hash=hashlib.sha256((text + layout).encode("utf-8")).hexdigest(),
        chars_read=_non_space_chars(raw_text),
        page_starts=page_starts,
    )


def _join_pages(pages: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Cleaned pages as one text, a blank line between them, and where each page with text starts."""
    parts: list[str] = []
    starts: list[tuple[int, int]] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        if not page:
            continue
        if parts:
            offset += 2  # the blank line before this page
        starts.append((offset, number))
        parts.append(page)
        offset += len(page)
    return "\n\n".join(parts), tuple(starts)


def _non_space_chars(text: str) -> int:
    return len(text) - sum(1 for ch in text if ch.isspace())


def extract_text(data: bytes, suffix: str, name: str, config: Config) -> str:
    """Text of a text, HTML, Word or spreadsheet file's bytes; the type is checked against the
    content, not the name alone."""
    if suffix == ".docx":
        if not data.startswith(b"PK"):
            raise InputError(f"{name}: not a Word .docx file (its content is not a zip package).")
        return _docx_text(data, name)
    if suffix == ".xlsx":
        return workbook_text(data, name, max_rows=config.max_table_rows)
    text = decode_bytes(data, name)
    if suffix == ".csv":
        return csv_text(text, name, max_rows=config.max_table_rows)
    # A page saved as .txt reads as the page: its tags are no words, its paragraphs are paragraphs.
    if suffix in (".html", ".htm") or (suffix == ".txt" and len(MARKUP_TAG.findall(text)) >= MIN_MARKUP_TAGS):
        return _html_text(text)
    return text


def decode_bytes(data: bytes, name: str = "file") -> str:
    """Decode UTF-8, UTF-16, GB18030 or Big5, judged by content; refuse binary and undecodable data.

    GB18030 decodes almost any byte sequence and Big5 or UTF-16 often decode too, so a strict
    decode proves nothing: of the encodings that decode, the one that reads as Chinese text wins.
    """
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"{name}: starts with a {encoding} mark but does not decode as it.") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" not in text:  # NULs in valid UTF-8 are UTF-16 text or binary data
            return text
    # UTF-8 with a few broken bytes stays UTF-8: its damage is a few U+FFFD, which clean_text drops.
    readings = [data.decode("utf-8", errors="replace")]
    for encoding in LEGACY_ENCODINGS:
        try:
            readings.append(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    best = max(readings, key=_readable_share)
    if _readable_share(best) >= MIN_READABLE_SHARE:
        return best
    if b"\x00" in data:
        raise InputError(f"{name}: looks like a binary file, not text.")
    raise InputError(
        f"{name}: the text encoding could not be recognised (tried UTF-8, UTF-16, GB18030, Big5); save it as UTF-8."
    )


def _readable_share(text: str) -> float:
    """Share of the non-space characters (of a sample) that ordinary Chinese or ASCII text is made of."""
    common = _common_hanzi()
    sample = [ch for ch in text[:READABILITY_SAMPLE_CHARS] if not ch.isspace()]
    readable = sum(1 for ch in sample if ch in common or COMMON_NON_HANZI.match(ch))
    return readable / len(sample) if sample else 0.0


@functools.cache
def _common_hanzi() -> frozenset[str]:
    """The frequently used characters of both standards: GB2312 level 1 and Big5's 常用字 block."""
    chars = set()
    for encoding, first, last in COMMON_HANZI_BLOCKS:
        for code in range(first, last + 1):
            try:
                chars.add(code.to_bytes(2, "big").decode(encoding))
            except UnicodeDecodeError:
                continue  # a gap in the block
    return frozenset(chars)


def clean_text(text: str) -> str:
    """Repair mojibake, normalise width and punctuation, drop page furniture."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # GBK's em dash read through a wrong codec comes out as U+FFFD followed by 'D'.
    text = re.sub(r"\ufffd[Dd]", "—", text)
    text = text.replace("\ufffd", "")
    text = _normalise_width(text)
    text = re.sub(r"[\u200b-\u200f\ufeff\u00ad]", "", text)
    lines = (_article_line(line) for line in text.split("\n"))
    text = "\n".join(line for line in lines if line is not None)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _article_line(line: str) -> str | None:
    """The line's text without the page furniture it starts with; None when it is all furniture."""
    text = line
    while notice := LEADING_NOTICE.match(text):
        text = text[notice.end() :]
    if len(text) < len(line) and len(TEXT_UNIT.findall(text)) < MIN_TEXT_UNITS_AFTER_NOTICE:
        return None
    # Notices are stripped first: the spaces that end them are gone once the line is cleaned.
    text = _clean_line(text)
    if LINK_LIST_LINE.match(text) or _is_menu(text) or SEPARATORS.match(text):
        return None
    return text


def _is_menu(line: str) -> bool:
    """A row of short links ("网站地图|联系我们|English") is site navigation, not text."""
    items = [item.strip() for item in re.split(r"[|｜]", line) if item.strip()]
    return line.count("|") + line.count("｜") >= 2 and all(len(item) <= 10 for item in items) and "。" not in line


def _normalise_width(text: str) -> str:
    """Full-width digits, letters and the ideographic space become ASCII; Chinese punctuation stays."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            out.append(unicodedata.normalize("NFKC", ch))
        elif ch in "\u3000\u00a0":
            out.append(" ")
        elif ch == "．" and out and out[-1].isdigit():
            out.append(".")
        elif ch == "％":
            out.append("%")
        else:
            out.append(ch)
    return "".join(out)


def _clean_line(line: str) -> str:
    line = line.strip()
    # Spaces next to Chinese characters or punctuation are collection noise.
    line = re.sub(rf"(?<=[{CJK}{CJK_PUNCT}])[ \t]+|[ \t]+(?=[{CJK}{CJK_PUNCT}])", "", line)
    line = re.sub(r"[ \t]{2,}", " ", line)
    line = re.sub(r"^(#{1,6})(?=[^#\s])", r"\1 ", line)  # a Markdown heading keeps its space
    # ASCII punctuation next to Chinese text becomes its full-width form; "12,057" keeps its comma.
    line = re.sub(rf"(?<=[{CJK}{CJK_PUNCT}])([,;:!?])|([,;:!?])(?=[{CJK}{CJK_PUNCT}])", _fullwidth_punct, line)
    line = re.sub(rf"\(([^()]*[{CJK}][^()]*)\)", r"（\1）", line)
    return line


def _fullwidth_punct(match: re.Match[str]) -> str:
    ch = match.group(1) or match.group(2)
    return {",": "，", ";": "；", ":": "：", "!": "！", "?": "？"}[ch]


def _title(text: str, path: Path) -> str:
    """First heading or a short first line (not a salutation or label ending in a colon); otherwise
    the file name."""
    for line in text.split("\n"):
        line = line.strip()
        if not re.search(r"\w", line):  # blank, or a stray quote or rule: it names nothing
            continue
        heading = re.match(r"^#{1,6}\s+(.+)$", line)
        if heading:
            return heading.group(1).strip()
        if len(line) <= 60 and not re.search(r"[。！？.!?：:]$", line):  # "各位代表：" opens a speech
            return line
        break
    return path.stem


def _pdf_pages(data: bytes, name: str, config: Config, progress: Progress | None) -> list[str]:
    """Each page's text, page 1 first: its text layer, or OCR where it has (next to) none."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.startswith(b"%PDF"):
        raise InputError(f"{name}: not a PDF file (its content does not start like one).")
    try:
        reader = PdfReader(io.BytesIO(data))
        # A PDF locked only against editing opens with the empty password; one that needs a password does not.
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{name}: the PDF is encrypted; save a copy without a password and index that.")
        count = len(reader.pages)
        if count > config.max_pdf_pages:
            raise InputError(
                f"{name}: the PDF has {count} pages, more than the limit of {config.max_pdf_pages}"
                " (ASSISTANT_MAX_PDF_PAGES); split it into parts or raise the limit."
            )
        pages: list[str] = []
        with contextlib.ExitStack() as cleanup:
            tables = cleanup.enter_context(PdfTables(data, name))
            rendered = None  # the PDF opened for rendering, once a page needs OCR
            for number, page in enumerate(reader.pages, start=1):
                text = tables.page_text(number - 1) or page.extract_text() or ""
                scanned = _non_space_chars(text) < config.ocr_min_page_chars
                if scanned:
                    if rendered is None:
                        rendered = _open_for_rendering(data, name)
                        cleanup.callback(rendered.close)
                    text = _ocr_pdf_page(rendered, number, name, config) or text
                pages.append(text)
                if progress:
                    progress(number, count, f"{name}: read page {number}/{count}{' (OCR)' if scanned else ''}")
        return pages
    # pypdf's own errors derive from PyPdfError; a damaged object graph or an unsupported stream
    # filter surfaces as these built-in errors instead (seen feeding it damaged files).
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, NotImplementedError) as exc:
        raise InputError(
            f"{name}: the PDF is damaged or uses features that cannot be read ({exc});"
            " save it again from a PDF viewer, or index its text as .txt."
        ) from exc


def _open_for_rendering(data: bytes, name: str):
    """The PDF in pdfium, which renders pages the way viewers do."""
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise InputError(
            f"{name}: the PDF's scanned pages cannot be rendered ({exc}); save it again from a PDF viewer."
        ) from exc


def _ocr_pdf_page(pdf, number: int, name: str, config: Config) -> str:
    """A page's text by OCR of its rendering at ocr_dpi (less when that would exceed max_image_pixels)."""
    import pypdfium2

    from . import ocr

    try:
        page = pdf[number - 1]
        width, height = page.get_size()
        scale = min(config.ocr_dpi / POINTS_PER_INCH, math.sqrt(config.max_image_pixels / max(width * height, 1.0)))
        while math.ceil(width * scale) * math.ceil(height * scale) > config.max_image_pixels:
            scale *= 0.99  # pdfium rounds the pixel size up
        image = page.render(scale=scale).to_pil()
    except pypdfium2.PdfiumError as exc:
        raise InputError(f"{name}: page {number} cannot be rendered for OCR ({exc}); save the PDF again.") from exc
    return ocr.read_text(image, threads=config.ocr_threads)


def _image_text(data: bytes, name: str, config: Config) -> str:
    """The text on a picture (a scan or a photographed page), by OCR."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from . import ocr

    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = image.width * image.height
            if pixels > config.max_image_pixels:
                raise _too_many_pixels(name, pixels, config)
            image.load()
            upright = ImageOps.exif_transpose(image)  # a phone's photo stands as it was taken
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(name, None, config) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(
            f"{name}: the picture is damaged or not a PNG or JPEG image ({exc}); save it again as PNG or JPEG."
        ) from exc
    return ocr.read_text(upright, threads=config.ocr_threads)


def _too_many_pixels(name: str, pixels: int | None, config: Config) -> InputError:
    size = f"{pixels / 1e6:.0f} million pixels" if pixels else "too many pixels"
    return InputError(
        f"{name}: the picture has {size}, more than the limit of {config.max_image_pixels / 1e6:.0f} million"
        " (ASSISTANT_MAX_IMAGE_PIXELS); scale it down or raise the limit."
    )


def _docx_text(data: bytes, name: str) -> str:
    import zipfile
    import zlib

    import docx
    from docx.opc.exceptions import OpcError
    from lxml.etree import XMLSyntaxError

    parts = []
    try:
        document = docx.Document(io.BytesIO(data))
        for block in document.iter_inner_content():  # paragraphs and tables in document order
            if isinstance(block, docx.table.Table):
                parts.append(table_text([[cell.text.strip() for cell in row.cells] for row in block.rows]))
            else:
                parts.append(block.text)
    # Broken XML raises lxml's XMLSyntaxError; well-formed XML of the wrong shape raises
    # AttributeError from python-docx's element classes (seen feeding it damaged files).
    # A damaged compressed part raises zlib.error, or NotImplementedError for a compression it names.
    except (
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        OpcError,
        XMLSyntaxError,
        KeyError,
        ValueError,
        AttributeError,
    ) as exc:
        raise InputError(
            f"{name}: the Word file is damaged or not a .docx ({exc});"
            " open it in Word and save it as .docx again, or index its text as .txt."
        ) from exc
    return "\n\n".join(parts)


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "noscript", "form"]):
        tag.decompose()
    # The page's own heading names the document; site banners above it do not.
    heading = soup.find("h1") or soup.title
    title = heading.get_text(" ", strip=True) if heading else ""
    for tag in soup(["h1", "title"]):
        tag.decompose()
    body = soup.get_text("\n")
    return f"{title}\n\n{body}" if title else body
