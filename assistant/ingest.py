"""Load report files into clean text: decode, extract, repair web-collection dirt.

The rules are general (any report collected from the web), never tuned to one file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
MAX_FILE_BYTES = 50 * 1024 * 1024

CJK = r"\u3400-\u9fff\uf900-\ufaff"
CJK_PUNCT = r"\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u2018-\u201f\u2014\u2026《》「」『』【】"

# Lines that web pages wrap around an article: navigation, print/close buttons, counters.
BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"上一篇|下一篇|上一条|下一条|上一页|下一页|前一篇|后一篇|相关阅读|相关文章|相关链接|热门文章|推荐阅读"
    r"|返回顶部|回到顶部|返回首页|返回列表|打印本页|打印此页|关闭窗口|关闭本页|【\s*(?:打印|关闭|返回|收藏|顶部)[^】]*】"
    r"|分享到|收藏本页|加入收藏|设为首页|字号[:：]|字体[:：]|【字体|浏览次数|阅读次数|点击次数|点击数[:：]|访问量[:：]"
    r"|责任编辑[:：]|编辑[:：]|来源[:：]|发布时间[:：]|发布日期[:：]|作者[:：].{0,20}$"
    r"|当前位置[:：]|您现在的位置|首页\s*[>＞»]"
    r"|版权所有|Copyright\b|©"
    r")",
    re.IGNORECASE,
)


SEPARATORS = re.compile(r"^[|｜·•/\\\-—_=*>＞»]+$")


@dataclass(frozen=True)
class Document:
    """One cleaned report. `doc_id` is stable across edits; `content_hash` changes with them."""

    doc_id: str
    title: str
    path: str
    text: str
    content_hash: str


@dataclass(frozen=True)
class SkippedFile:
    """A file a build left out, with the reason, so the user can fix or remove it."""

    name: str  # the document name it would have had
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def load_documents(paths: list[Path | str]) -> list[Document]:
    """Load files and folders (recursively), all or nothing: InputError names every unusable file."""
    documents, skipped = read_documents(paths)
    if skipped:
        raise InputError(f"{len(skipped)} of the files cannot be used: {'; '.join(map(str, skipped))}.")
    return documents


def read_documents(paths: list[Path | str]) -> tuple[list[Document], list[SkippedFile]]:
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
        loaded = read_document(path, doc_id=doc_id)
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


def read_document(path: Path, *, doc_id: str) -> Document | SkippedFile:
    """The document, or why it cannot be read (missing, unreadable, unusable)."""
    try:
        return load_document(path, doc_id=doc_id)
    except InputError as exc:
        return SkippedFile(doc_id, str(exc).removeprefix(f"{path.name}: ").rstrip("."))
    except OSError as exc:
        return SkippedFile(doc_id, f"{path} could not be read ({exc.strerror or exc})")


def load_document(path: Path, *, doc_id: str | None = None) -> Document:
    """Read one file, extract its text by type and clean it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{path.name}: unsupported type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}."
        )
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path.name}: the file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MiB.")
    raw_text = extract_text(data, suffix, path.name)
    text = clean_text(raw_text)
    if len(re.sub(r"\s", "", text)) < 2:
        raise InputError(f"{path.name}: no text could be read from it.")
    title = _title(raw_text if suffix == ".md" else text, path)
    return Document(
        doc_id=doc_id or path.name,
        title=title,
        path=str(path.resolve()),
        text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def extract_text(data: bytes, suffix: str, name: str) -> str:
    """Text of a file's bytes; the type is checked against the content, not the name alone."""
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise InputError(f"{name}: not a PDF file (its content does not start like one).")
        return _pdf_text(data, name)
    if suffix == ".docx":
        if not data.startswith(b"PK"):
            raise InputError(f"{name}: not a Word .docx file (its content is not a zip package).")
        return _docx_text(data, name)
    text = decode_bytes(data, name)
    if suffix in (".html", ".htm"):
        return _html_text(text)
    return text


def decode_bytes(data: bytes, name: str = "file") -> str:
    """Decode UTF-8, UTF-16 (with BOM) or GB18030/GBK; refuse binary and undecodable data."""
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
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: looks like a binary file, not text.")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise InputError(f"{name}: the text encoding could not be recognised (tried UTF-8, UTF-16, GB18030).")
    return str(best)


def clean_text(text: str) -> str:
    """Repair mojibake, normalise width and punctuation, drop page furniture."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # GBK's em dash read through a wrong codec comes out as U+FFFD followed by 'D'.
    text = re.sub(r"\ufffd[Dd]", "—", text)
    text = text.replace("\ufffd", "")
    text = _normalise_width(text)
    text = re.sub(r"[\u200b-\u200f\ufeff\u00ad]", "", text)
    lines = [_clean_line(line) for line in text.split("\n")]
    lines = [line for line in lines if not (BOILERPLATE_LINE.match(line) or _is_menu(line) or SEPARATORS.match(line))]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


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
    """First heading or a short first line; otherwise the file name."""
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        heading = re.match(r"^#{1,6}\s+(.+)$", line)
        if heading:
            return heading.group(1).strip()
        if len(line) <= 60 and not re.search(r"[。！？.!?]$", line):
            return line
        break
    return path.stem


def _pdf_text(data: bytes, name: str) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError(f"{name}: the PDF is encrypted.")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InputError(f"{name}: the PDF could not be read ({exc}).") from exc


def _docx_text(data: bytes, name: str) -> str:
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"{name}: the Word file could not be read ({exc}).") from exc
    parts = []
    for block in document.iter_inner_content():  # paragraphs and tables in document order
        if isinstance(block, docx.table.Table):
            parts.append(table_text([[cell.text.strip() for cell in row.cells] for row in block.rows]))
        else:
            parts.append(block.text)
    return "\n\n".join(parts)


def table_text(rows: list[list[str]]) -> str:
    """A table as sentences, each row naming its header cells: "营业收入：2022年 5.8亿；2021年 4.9亿。"."""
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return "\n".join("，".join(row) for row in rows)
    header, *body = rows
    lines = []
    for row in body:
        pairs = [f"{h} {c}".strip() for h, c in zip(header[1:], row[1:], strict=False) if c]
        lines.append(f"{row[0]}：{'；'.join(pairs)}。" if row[0] else "；".join(pairs) + "。")
    return "\n".join(lines)


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
