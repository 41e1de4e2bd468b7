"""Tables as sentences a reader can quote: every cell with its row label and its column headers.

Workbooks (.xlsx, openpyxl), .csv files, tables in text-layer PDFs (pdfplumber) and in .docx
files become one line per row, made of one short sentence per cell:
"2021年第二产业增加值为1234.5亿元。". Each sentence names its own row and column, so a chunk
boundary anywhere keeps them, and a year in a column header stands in the sentence that holds
the value, where the reader's year check sees it. A workbook's sheets are its sections.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from types import TracebackType
from typing import Any
from xml.etree.ElementTree import ParseError

from .errors import InputError

log = logging.getLogger(__name__)

# A cell of a table being read; None is a cell covered by a merged cell (PDF tables), which
# repeats its neighbour: the one to its left in a header row, the one above in the body.
Cell = str | None

# Header rows are the rows above the first one holding a figure; more than this is not a header.
MAX_HEADER_ROWS = 4
# A cell's text longer than this is prose, quoted after a colon rather than read as "X为Y".
MAX_VALUE_CHARS = 40
# A figure as a cell holds it: "1,234.5", "-3", "17.37%", "1,024人", "12.3亿元".
FIGURE_CELL = re.compile(r"^[-+−]?\d[\d,]*(?:\.\d+)?\s*%?[^\d\s]{0,4}$")
PLAIN_NUMBER = re.compile(r"^[-+−]?\d+(?:\.\d+)?$")
# A bare year is a header ("2021" over a column), not a figure.
BARE_YEAR = re.compile(r"^(?:19|20)\d{2}$")
THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d,])")
# Headers that say when ("2021年", "2021年上半年", "一季度", "1-6月") lead the sentence, as in Chinese.
TIME_HEADER = re.compile(
    r"(?=.)(?:(?:19|20)\d{2}\s*年度?)?(?:[上下]半年|第?[一二三四1-4]季度|\d{1,2}(?:\s*[-—~至]\s*\d{1,2})?月份?(?:\d{1,2}日)?)?[末底初]?"
)
# "（亿元）" after a header names the unit of its figures; a unit column ("单位") names a row's;
# a caption "单位：亿元" names the whole table's.
UNIT_IN_HEADER = re.compile(r"\s*[（(]([^（）()\d]{0,6}[元人%‰吨米里个件家户辆亩顷瓦时克升次台套座所项股倍天岁])[）)]$")
UNIT_COLUMN = re.compile(r"^(?:计量)?单位$")
# A column that only numbers the rows says nothing about them.
SEQUENCE_COLUMN = re.compile(r"^序号$")
UNIT_CAPTION = re.compile(r"^(?:计量)?单位\s*[:：]\s*(\S{1,8})$")


def table_text(rows: Iterable[Iterable[Cell]]) -> str:
    """A table (header rows first) as lines of sentences, one line per row and one sentence per cell.

    Captions above the header are kept as lines (a unit note gives the table's unit); header rows
    are the rows above the first row holding a figure; the label of a row is its leading text columns.
    """
    table = _tidy(rows)
    if not table:
        return ""
    if len(table[0]) == 1:
        return "\n".join(_sentence(row[0] or "") for row in table)
    lines: list[str] = []
    unit = ""
    while len(table) > 1 and (caption := _caption(table[0])):
        if found := UNIT_CAPTION.match(caption):
            unit = found.group(1)
        else:
            lines.append(_sentence(caption))
        table = table[1:]
    header_count = _header_rows(table)
    _fill_merged(table, header_count)
    headers = [_header(table[:header_count], column) for column in range(len(table[0]))]
    keep = [i for i, header in enumerate(headers) if not SEQUENCE_COLUMN.match(header)]
    headers = [headers[i] for i in keep]
    body = [[row[i] for i in keep] for row in table[header_count:]]
    unit_columns = {i for i, header in enumerate(headers) if UNIT_COLUMN.match(header)}
    label_columns = _label_columns(body, unit_columns)
    for row in body:
        lines.append(_row_text(row, headers, label_columns, unit_columns, unit))
    return "\n".join(line for line in lines if line)


def _caption(row: list[Cell]) -> str:
    """The row's text when the row is a caption: a title in its first cell (or merged across the
    row) and nothing else, or a unit note ("单位：亿元") wherever it stands; otherwise ""."""
    texts = {cell for cell in row if cell}
    if len(texts) != 1:
        return ""
    text = texts.pop()
    return text if row[0] == text or UNIT_CAPTION.match(text) else ""


def _tidy(rows: Iterable[Iterable[Cell]]) -> list[list[Cell]]:
    """Cells as one-line text, without empty rows and columns, every row as wide as the widest."""
    table = [[None if cell is None else " ".join(str(cell).split()) for cell in row] for row in rows]
    table = [row for row in table if any(row)]
    width = max((len(row) for row in table), default=0)
    table = [row + [""] * (width - len(row)) for row in table]
    keep = [i for i in range(width) if any(row[i] for row in table)]
    return [[row[i] for i in keep] for row in table]


def _is_figure(cell: Cell) -> bool:
    """A figure, not a time: "1,024人" is one, "2021年" and "1-6月" head columns."""
    text = cell or ""
    return bool(FIGURE_CELL.match(text)) and not BARE_YEAR.match(text) and not TIME_HEADER.fullmatch(text)


def _header_rows(table: list[list[Cell]]) -> int:
    """Rows above the first one with a figure beside its label; none when the first row has one.

    A table without figures has its first row as header, unless it has two columns: that is a
    list of names and what they stand for ("公司名称 | 华晟精密制造股份有限公司").
    """
    if len(table) < 2 or any(_is_figure(cell) for cell in table[0][1:]):
        return 0
    for index, row in enumerate(table[1 : MAX_HEADER_ROWS + 1], start=1):
        if any(_is_figure(cell) for cell in row[1:]):
            return index
    return 0 if len(table[0]) == 2 else 1


def _fill_merged(table: list[list[Cell]], header_count: int) -> None:
    """A merged cell's place takes its text: from the left in header rows, from above in the body."""
    for r, row in enumerate(table):
        for c, cell in enumerate(row):
            if cell is None:
                if r < header_count:
                    row[c] = row[c - 1] if c else ""
                else:
                    row[c] = table[r - 1][c] if r > header_count else ""


def _header(header_rows: list[list[Cell]], column: int) -> str:
    """A column's header: its header rows' texts from the top, a text repeated by a merge once."""
    parts: list[str] = []
    for row in header_rows:
        text = _year(row[column] or "")
        if text and (not parts or parts[-1] != text):
            parts.append(text)
    return _join(parts)


def _label_columns(body: list[list[Cell]], unit_columns: set[int]) -> list[int]:
    """The leading columns that name a row: the first, and the next ones holding text, not figures."""
    width = len(body[0]) if body else 0
    labels = [0]
    for column in range(1, width):
        if column in unit_columns:
            continue
        cells = [row[column] for row in body if row[column]]
        if not cells or sum(map(_is_figure, cells)) * 2 >= len(cells):
            break
        labels.append(column)
    return labels if len(labels) < width - len(unit_columns) else [0]


def _row_text(row: list[Cell], headers: list[str], labels: list[int], units: set[int], table_unit: str) -> str:
    """One sentence per filled cell: "<when><row label><column header>为<value><unit>。"."""
    label_parts = list(dict.fromkeys(_year(row[i] or "") for i in labels if row[i]))
    row_unit = next((row[i] for i in sorted(units) if row[i]), "") or table_unit
    sentences = []
    for column, cell in enumerate(row):
        if column in labels or column in units or not cell:
            continue
        parts = [*label_parts, headers[column]]
        unit = row_unit
        for i, part in enumerate(parts):
            if found := UNIT_IN_HEADER.search(part):
                parts[i] = part[: found.start()]
                unit = found.group(1)
        parts = [part for part in parts if part]
        timing = [part for part in parts if TIME_HEADER.fullmatch(part)]
        subject = _join(timing + [part for part in parts if part not in timing])
        value = THOUSANDS.sub(lambda m: m.group().replace(",", ""), cell) if _is_figure(cell) else cell
        if PLAIN_NUMBER.match(value):
            value += unit
        if not subject:
            sentences.append(_sentence(value))
        elif len(value) > MAX_VALUE_CHARS:
            sentences.append(_sentence(f"{subject}：{value}"))
        else:
            sentences.append(_sentence(f"{subject}为{value}"))
    if not sentences:  # a row with a label only heads the rows under it
        return _join(label_parts)
    return "".join(sentences)


def _year(text: str) -> str:
    """A year written bare, as a number ("2021"), reads as one: "2021年"."""
    return f"{text}年" if BARE_YEAR.match(text) else text


def _join(parts: list[str]) -> str:
    """Chinese parts join directly; a space only between two Latin letters or digits."""
    text = ""
    for part in parts:
        if text and text[-1].isascii() and text[-1].isalnum() and part[0].isascii() and part[0].isalnum():
            text += " "
        text += part
    return text


def _sentence(text: str) -> str:
    return text if not text or text[-1] in "。！？.!?" else f"{text}。"


def workbook_text(data: bytes, name: str, *, max_rows: int) -> str:
    """A .xlsx workbook: its file name as the title, each sheet a section of row sentences."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{name}: the workbook is encrypted or an old .xls file; save it in Excel as .xlsx without a password."
        )
    if not data.startswith(b"PK"):
        raise InputError(f"{name}: not an Excel .xlsx workbook (its content is not a zip package).")
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        if _workbook_rows(data, stop_after=max_rows) > max_rows:
            raise _too_many_rows(name, max_rows)
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        parts = [f"# {_stem(name)}"]
        for sheet in workbook.worksheets:
            text = table_text(_sheet_rows(sheet))
            if text:
                parts.append(f"## {sheet.title}\n{text}")
    # A damaged package raises BadZipFile, zlib.error or KeyError (a missing part), damaged XML ParseError,
    # XML of the wrong shape ValueError or TypeError from openpyxl's readers (seen feeding it such files).
    except (
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,  # a zip entry of an unknown compression or version
        InvalidFileException,
        KeyError,
        ParseError,
        ValueError,
        TypeError,
        IndexError,
    ) as exc:
        raise InputError(
            f"{name}: the workbook is damaged or not an .xlsx file ({exc}); open it in Excel and save it as"
            " .xlsx again, or save its sheets as .csv."
        ) from exc
    if len(parts) == 1:
        raise InputError(f"{name}: the workbook has no cells with values.")
    return "\n\n".join(parts)


def _workbook_rows(data: bytes, *, stop_after: int) -> int:
    """Rows with values in all sheets, counted in a streamed pass that stops past stop_after:
    a huge sheet is never loaded whole."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    count = 0
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                count += any(value is not None and value != "" for value in row)
                if count > stop_after:
                    return count
    finally:
        workbook.close()
    return count


def _too_many_rows(name: str, max_rows: int) -> InputError:
    return InputError(
        f"{name}: more than {max_rows:,} rows of values, the limit for one file; split it into smaller"
        " files or raise the limit with ASSISTANT_MAX_TABLE_ROWS."
    )


def _sheet_rows(sheet: Any) -> list[list[str]]:
    """A sheet's cell texts, each merged range's text in every cell it covers."""
    rows = [[_cell_text(cell.value, cell.number_format) for cell in row] for row in sheet.iter_rows()]
    for merged in sheet.merged_cells.ranges:
        text = rows[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, merged.max_row):
            for c in range(merged.min_col - 1, merged.max_col):
                rows[r][c] = text
    return rows


def _cell_text(value: object, number_format: str) -> str:
    """A cell's value as Excel shows it, less the digit grouping: 1234.5, 17.37%; a date as Chinese
    reports write it (2021年3月1日), so that it reads as a time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        if "%" in number_format:
            return f"{_number(value * 100)}%"
        return _number(value)
    if isinstance(value, datetime) and value.time() != time():
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):  # a datetime at midnight is a date
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    return str(value)


def _number(value: float) -> str:
    """Fifteen significant digits, as Excel keeps them, never in exponent form."""
    return format(Decimal(f"{value:.15g}"), "f")


def _stem(name: str) -> str:
    return name.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def csv_text(text: str, name: str, *, max_rows: int) -> str:
    """A decoded .csv file (comma, tab, semicolon or bar separated): its file name as the title, then row sentences."""
    sample = text[:20_000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            if any(cell.strip() for cell in row):
                rows.append(row)
                if len(rows) > max_rows:
                    raise _too_many_rows(name, max_rows)
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable .csv file ({exc}); save it again as CSV (UTF-8).") from exc
    table = table_text(rows)
    if not table:
        raise InputError(f"{name}: the file has no cells with values.")
    return f"# {_stem(name)}\n\n{table}"


class PdfTables:
    """The ruled tables of a text-layer PDF, page by page (pdfplumber, opened once for all pages).

    A page with tables is read here: the text above, beside and below each table in order, and
    each table as row sentences. A page without one is left to the PDF reader (None), and so is
    every page from the first one pdfplumber cannot parse: the PDF reader has read them already.
    """

    def __init__(self, data: bytes, name: str) -> None:
        self._data = data
        self._name = name
        self._pdf: Any = None
        self._unreadable = False

    def __enter__(self) -> PdfTables:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._pdf is not None and not self._unreadable:
            self._pdf.close()  # closing walks every page, which a damaged page list cannot give

    def page_text(self, index: int) -> str | None:
        """The page's text with its tables as sentences, or None when it has no ruled table."""
        from pdfplumber.utils.exceptions import PdfminerException

        if self._unreadable:
            return None
        try:
            if self._pdf is None:
                import pdfplumber

                self._pdf = pdfplumber.open(io.BytesIO(self._data))
            page = self._pdf.pages[index]
            try:
                if not page.chars or not (page.lines or page.rects):  # a scan, or nothing a table is ruled with
                    return None
                tables = sorted(page.find_tables(), key=lambda table: table.bbox[1])
                return _page_with_tables(page, tables) if tables else None
            finally:
                page.close()  # drops the page's parsed objects: a long PDF is read in constant memory
        except (PdfminerException, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning(
                "%s: tables not read from page %d on (%s); the text is read as it is", self._name, index + 1, exc
            )
            self._unreadable = True
            return None


def _page_with_tables(page: Any, tables: list[Any]) -> str:
    """A page's text in reading order, each table where it stands as sentences, text beside it after it."""
    parts: list[str] = []
    top = 0.0
    for table in tables:
        x0, table_top, x1, bottom = table.bbox
        if table_top > top:
            parts.append(page.crop((0, top, page.width, table_top)).extract_text())
        parts.append(table_text(table.extract()))
        band = page.crop((0, max(top, table_top), page.width, min(bottom, page.height)))
        beside = band.filter(lambda obj, x0=x0, x1=x1: not (obj.get("x0", 0) >= x0 and obj.get("x1", 0) <= x1))
        parts.append(beside.extract_text())
        top = max(top, bottom)
    if top < page.height:
        parts.append(page.crop((0, top, page.width, page.height)).extract_text())
    return "\n".join(part for part in parts if part and part.strip())
