"""Spreadsheets and tables: every cell read with its row label, its column headers and its sheet.

The rules are checked on small tables; the end-to-end tests index workbooks, a .csv file, a .docx
and a PDF with tables written here, and ask real questions (real e5, real Chroma, extractive reader).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from assistant import Config, answer, build_index
from assistant.chunk import chunk_document
from assistant.errors import InputError
from assistant.ingest import load_document, read_documents
from assistant.tables import table_text

from .conftest import running_app
from .test_browser import (
    ask,
    browser,  # noqa: F401 (the headless Chromium fixture, used by name)
    chosen,
    headline,
    open_page,
    shot,
)
from .test_cli import run_cli

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


# The rules, on tables given as rows.


def test_each_cell_names_its_row_and_column_with_the_time_first() -> None:
    text = table_text([["指标", "2020年", "2021年"], ["第二产业增加值", "1100.2", "1234.5"]])
    assert text == "2020年第二产业增加值为1100.2。2021年第二产业增加值为1234.5。"


def test_thousands_separators_and_units_from_headers_and_captions() -> None:
    text = table_text(
        [
            ["主要经济指标", "", ""],
            ["单位：亿元", "", ""],
            ["指标", "2022年", "增长（%）"],
            ["营业收入", "5,836,217,450.32", "17.37"],
            ["员工人数（人）", "1,024", ""],
        ]
    )
    assert text.splitlines() == [
        "主要经济指标。",
        "2022年营业收入为5836217450.32亿元。营业收入增长为17.37%。",
        "2022年员工人数为1024人。",
    ]


def test_merged_cells_repeat_their_text_in_headers_and_row_labels() -> None:
    # None is a cell a merge covers, as pdfplumber reports it.
    rows = [
        ["地区", "指标", "2021年", None],
        [None, None, "上半年", "下半年"],
        ["东区", "工业增加值", "120", "130"],
        [None, "零售总额", "80", "90"],
    ]
    assert table_text(rows).splitlines() == [
        "2021年上半年东区工业增加值为120。2021年下半年东区工业增加值为130。",
        "2021年上半年东区零售总额为80。2021年下半年东区零售总额为90。",
    ]


def test_a_table_without_header_row_reads_label_and_value() -> None:
    assert table_text([["员工人数", "1,024人"], ["研发人员", "312人"]]) == "员工人数为1024人。\n研发人员为312人。"


def test_a_unit_note_at_the_right_and_a_sequence_column() -> None:
    rows = [
        ["", "", "单位：万吨"],
        ["序号", "产品", "2023年"],
        ["1", "粮食产量", "35.6"],
        ["2", "蔬菜产量", "12.9"],
    ]
    assert table_text(rows) == "2023年粮食产量为35.6万吨。\n2023年蔬菜产量为12.9万吨。"


def test_a_blank_corner_is_not_a_caption() -> None:
    assert table_text([["", "金额（万元）"], ["营业收入", "320"]]) == "营业收入金额为320万元。"


def test_text_tables_two_columns_of_names_and_values_or_a_header_over_three() -> None:
    pairs = [["公司名称", "青禾科技股份有限公司"], ["报告期", "2022年1月1日至2022年12月31日"]]
    assert table_text(pairs) == "公司名称为青禾科技股份有限公司。\n报告期为2022年1月1日至2022年12月31日。"
    people = [["姓名", "职务", "任期"], ["周建平", "董事长", "三年"]]
    assert table_text(people) == "周建平职务为董事长。周建平任期为三年。"


def test_years_written_as_numbers_read_as_years() -> None:
    text = table_text([["年份", "常住人口（万人）"], ["2020", "1873.41"], ["2021", "1881.06"]])
    assert text == "2020年常住人口为1873.41万人。\n2021年常住人口为1881.06万人。"


def test_every_chunk_of_a_long_table_keeps_row_and_column_with_each_value(tmp_path: Path) -> None:
    rows = [["地区", "2022年", "2023年"]] + [[f"第{i}区", f"{i},100.5", f"{i},200.5"] for i in range(1, 60)]
    path = tmp_path / "long.csv"
    path.write_text("\n".join(",".join(f'"{cell}"' for cell in row) for row in rows), encoding="utf-8")
    chunks = chunk_document(load_document(path), chunk_size=300, chunk_overlap=60)
    assert len(chunks) > 5
    for chunk in chunks:
        for sentence in chunk.text.split("。")[:-1]:
            assert sentence.startswith(("2022年第", "2023年第")) and "区为" in sentence, chunk.text


# Files: workbooks, .csv, .docx and PDF tables, written here.


def write_workbook(path: Path) -> Path:
    """A statistics workbook: a titled sheet with a unit caption and figures typed as numbers and as
    text with separators, a sheet with years as numbers and percentages, a sheet with merged headers."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "主要指标"
    sheet.append(["国民经济主要指标"])
    sheet.merge_cells("A1:D1")
    sheet.append(["单位：亿元"])
    sheet.append(["指标", "2020年", "2021年", "增长（%）"])
    sheet.append(["地区生产总值", 2501.3, 2710.8, 8.4])
    sheet.append(["第二产业增加值", "1,100.2", 1234.5, 6.1])
    sheet.append(["第三产业增加值", 1001, "1,150.75", 7.2])
    people = workbook.create_sheet("人口")
    people.append(["年份", "常住人口（万人）", "城镇化率"])
    people.append([2020, 1873.41, 0.8612])
    people.append([2021, 1881.06, 0.8646])
    for cell in ("C2", "C3"):
        people[cell].number_format = "0.00%"
    quarters = workbook.create_sheet("分半年")
    quarters.append(["指标", "2021年", None, "2022年", None])
    quarters.append([None, "上半年", "下半年", "上半年", "下半年"])
    quarters.append(["出口总额", "1,200", "1,300", "1,400", "1,575"])
    for merged in ("A1:A2", "B1:C1", "D1:E1"):
        quarters.merge_cells(merged)
    workbook.save(path)
    return path


def write_csv(path: Path) -> Path:
    """Retail sales by district, saved in GB18030 as Chinese spreadsheet programs do."""
    rows = [
        "地区,指标,2022年,2023年",
        '东城区,社会消费品零售总额,"1,205.6","1,310.2"',
        '西城区,社会消费品零售总额,"2,007.3","2,118.9"',
    ]
    path.write_bytes("\r\n".join(rows).encode("gb18030"))
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("青禾科技年度报告", level=1)
    document.add_paragraph("一、主要会计数据")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(
        table.rows,
        [
            ["项目", "2022年", "2021年"],
            ["营业收入", "836,217,450.32", "772,305,118.76"],
            ["研发投入", "91,554,020.10", "80,120,334.56"],
        ],
        strict=True,
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("二、经营情况")
    document.add_paragraph("公司全年新增客户146家。")
    document.save(path)
    return path


def write_pdf(path: Path) -> Path:
    """A text-layer PDF with prose, a ruled table and more prose, in a CJK font."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    for style in ("", "B"):  # fpdf2 sets table headings in bold
        pdf.add_font("zh", style=style, fname=str(FONT))
    pdf.set_font("zh", size=11)
    pdf.multi_cell(0, 8, "某县农业统计公报\n一、种植业\n全年农业生产平稳，主要产品产量如下表。")
    with pdf.table(col_widths=(60, 30, 30)) as table:
        for cells in [
            ["产品", "2022年", "2023年"],
            ["粮食产量（万吨）", "33.8", "35.6"],
            ["蔬菜产量（万吨）", "12.1", "12.9"],
        ]:
            row = table.row()
            for text in cells:
                row.cell(text)
    pdf.multi_cell(0, 8, "二、畜牧业\n全年生猪出栏21.4万头。")
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def table_documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tables")
    write_workbook(folder / "stats.xlsx")
    write_csv(folder / "retail.csv")
    write_docx(folder / "company.docx")
    if not FONT.exists():  # the Makefile's system-deps installs it; CI must have it
        pytest.fail(f"needs the font {FONT} (fonts-wqy-zenhei)")
    write_pdf(folder / "farming.pdf")
    return folder


@pytest.fixture(scope="module")
def table_index(base_config: Config, tmp_path_factory: pytest.TempPathFactory, table_documents: Path) -> Config:
    config = base_config.replace(index_dir=tmp_path_factory.mktemp("tables-index") / "index")
    report = build_index([table_documents], config=config)
    assert not report.skipped
    return config


def test_workbook_sheets_become_sections_of_row_sentences(table_documents: Path) -> None:
    doc = load_document(table_documents / "stats.xlsx")
    assert doc.title == "stats"
    chunks = chunk_document(doc, chunk_size=300, chunk_overlap=60)
    by_section = {chunk.section: chunk.text for chunk in chunks}
    assert set(by_section) == {"主要指标", "人口", "分半年"}
    assert "2021年第二产业增加值为1234.5亿元。" in by_section["主要指标"]
    assert "2020年第二产业增加值为1100.2亿元。" in by_section["主要指标"]  # text with a separator
    assert "第二产业增加值增长为6.1%。" in by_section["主要指标"]  # the header's unit, not the caption's
    assert "2021年城镇化率为86.46%。" in by_section["人口"]
    assert "2022年下半年出口总额为1575。" in by_section["分半年"]


@pytest.mark.parametrize(
    ("question", "doc", "value", "row"),
    [
        ("2021年第二产业增加值是多少？", "stats.xlsx", "1234.5亿元", "2021年第二产业增加值为1234.5亿元。"),
        ("2020年第二产业增加值是多少？", "stats.xlsx", "1100.2亿元", "2020年第二产业增加值为1100.2亿元。"),
        ("2021年城镇化率是多少？", "stats.xlsx", "86.46%", "2021年城镇化率为86.46%。"),
        ("2022年下半年出口总额是多少？", "stats.xlsx", "1575", "2022年下半年出口总额为1575。"),
        ("2023年西城区社会消费品零售总额是多少？", "retail.csv", "2118.9", "2023年西城区社会消费品零售总额为2118.9。"),
        ("2021年营业收入是多少？", "company.docx", "772305118.76", "2021年营业收入为772305118.76。"),
        ("2023年粮食产量是多少？", "farming.pdf", "35.6万吨", "2023年粮食产量为35.6万吨。"),
    ],
)
def test_a_cell_answers_with_its_row_as_the_source(
    table_index: Config, question: str, doc: str, value: str, row: str
) -> None:
    result = answer(question, config=table_index, mode="extractive")
    assert result.found, result.text
    assert value in result.text
    source = result.sources[0]
    assert source.doc == doc and row in source.text and row.rstrip("。") in source.highlight


def test_pdf_text_around_a_table_keeps_its_place(table_documents: Path) -> None:
    text = load_document(table_documents / "farming.pdf").text
    assert text.index("主要产品产量如下表。") < text.index("2023年粮食产量为35.6万吨。") < text.index("二、畜牧业")
    assert "33.8 35.6" not in text  # the table is read once, as sentences, not also as loose figures


def test_cli_indexes_a_workbook_folder_and_answers_from_a_cell(base_config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "stats"
    folder.mkdir()
    write_workbook(folder / "stats.xlsx")
    write_pdf(folder / "farming.pdf")
    config = base_config.replace(index_dir=tmp_path / "index")
    built = run_cli("index", "build", str(folder), config=config)
    assert "added 2," in built.stdout
    from_pdf = json.loads(run_cli("ask", "2023年粮食产量是多少？", "--json", config=config).stdout)
    assert from_pdf["found"] and "35.6万吨" in from_pdf["text"]
    assert from_pdf["sources"][0]["doc"] == "farming.pdf" and from_pdf["sources"][0]["page"] == 1
    result = json.loads(run_cli("ask", "2021年第二产业增加值是多少？", "--json", config=config).stdout)
    assert result["found"] and "1234.5" in result["text"]
    source = result["sources"][0]
    assert source["doc"] == "stats.xlsx" and source["section"] == "主要指标"
    printed = run_cli("ask", "2021年第二产业增加值是多少？", config=config).stdout
    assert "1234.5" in printed.splitlines()[0] and "stats.xlsx" in printed


@pytest.mark.browser  # the browser fixture skips without Chromium, and fails under CI
def test_the_page_answers_from_an_uploaded_workbook_and_pdf_table(
    browser,  # noqa: F811 (the fixture imported above)
    base_config: Config,
    table_documents: Path,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    config = base_config.replace(index_dir=tmp_path / "index")
    build_index([table_documents / "retail.csv"], config=config)
    uploads = [table_documents / "stats.xlsx", table_documents / "farming.pdf"]
    with running_app(config) as url, open_page(browser, url) as page:
        page.get_by_role("tab", name="Documents 文档").click()
        page.locator("#upload input[type=file]").set_input_files([str(file) for file in uploads])
        for file in uploads:
            expect(page.locator("#upload")).to_contain_text(chosen(file))
        page.locator("#add-docs").click()
        expect(page.locator("#docs-message")).to_contain_text("Added: ")
        expect(page.locator("#index-status")).to_contain_text("3 documents")
        page.get_by_role("tab", name="Chat 问答").click()
        for question, value, doc, row in [
            ("2021年第二产业增加值是多少？", "1234.5", "stats.xlsx", "2021年第二产业增加值为1234.5亿元"),
            ("2023年粮食产量是多少？", "35.6", "farming.pdf", "2023年粮食产量为35.6万吨"),
        ]:
            ask(page, question)
            assert value in headline(page)
            cited = page.locator("#sources .source.cited")
            expect(cited.locator(".where")).to_contain_text(doc)
            expect(cited.locator("mark")).to_contain_text(row)
            shot(page, f"tables-{doc}")
            page.locator("#new-chat").click()
            expect(page.locator("#chatbot .bot-row")).to_have_count(0)


# Boundaries: damaged, empty and huge files.


@pytest.mark.parametrize("separator", [",", "\t", ";"])
def test_csv_separators_are_recognised(tmp_path: Path, separator: str) -> None:
    path = tmp_path / "sales.csv"
    rows = [["地区", "2023年"], ["东城区", "1,310.2" if separator != "," else "1310.2"], ["西城区", "2118.9"]]
    path.write_text("\n".join(separator.join(row) for row in rows), encoding="utf-8-sig")
    text = load_document(path).text
    assert "2023年东城区为1310.2。" in text and "2023年西城区为2118.9。" in text


def test_dates_and_percentages_in_a_workbook_read_as_written_in_chinese(tmp_path: Path) -> None:
    import datetime

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "月度"
    sheet.append(["指标", datetime.datetime(2024, 3, 31), datetime.datetime(2024, 6, 30)])
    sheet.append(["贷款余额增速", 0.0835, 0.0812])
    for cell in sheet[2][1:]:
        cell.number_format = "0.00%"
    path = tmp_path / "monthly.xlsx"
    workbook.save(path)
    text = load_document(path).text
    assert "2024年3月31日贷款余额增速为8.35%。2024年6月30日贷款余额增速为8.12%。" in text


def test_a_damaged_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    good = write_workbook(tmp_path / "good.xlsx").read_bytes()
    cases = {
        "truncated.xlsx": good[: len(good) // 2],
        "renamed.xlsx": b"name,value\n",
        "encrypted.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
    }
    broken = tmp_path / "broken-xml.xlsx"
    with zipfile.ZipFile(tmp_path / "good.xlsx") as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[: len(data) // 2] if item.filename.endswith("sheet1.xml") else data)
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    expected = {
        "truncated.xlsx": "the workbook is damaged",
        "renamed.xlsx": "not an Excel .xlsx workbook",
        "encrypted.xlsx": "encrypted or an old .xls",
        "broken-xml.xlsx": "the workbook is damaged",
    }
    for name, message in expected.items():
        with pytest.raises(InputError, match=message):
            load_document(tmp_path / name)
    documents, skipped = read_documents([tmp_path])
    assert [d.doc_id for d in documents] == ["good.xlsx"]
    assert sorted(s.name for s in skipped) == sorted(expected)


@pytest.mark.parametrize(
    ("name", "part", "message"),
    [
        ("stats.xlsx", "xl/worksheets/sheet1.xml", "the workbook is damaged"),
        ("company.docx", "word/document.xml", "the Word file is damaged"),
    ],
)
def test_damaged_compressed_data_is_refused_with_a_reason(
    table_documents: Path, tmp_path: Path, name: str, part: str, message: str
) -> None:
    data = bytearray((table_documents / name).read_bytes())
    with zipfile.ZipFile(table_documents / name) as package:
        entry = package.getinfo(part)
    assert entry.compress_type == zipfile.ZIP_DEFLATED
    name_and_extra = int.from_bytes(
        data[entry.header_offset + 26 : entry.header_offset + 28], "little"
    ) + int.from_bytes(data[entry.header_offset + 28 : entry.header_offset + 30], "little")
    data[entry.header_offset + 30 + name_and_extra] = 0b111  # a final deflate block of the reserved type
    path = tmp_path / name
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=message):
        load_document(path)


def test_an_empty_workbook_is_refused_not_indexed_empty(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(InputError, match="no cells with values"):
        load_document(path)


def test_a_100000_row_sheet_is_refused_naming_the_limit(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("明细")
    sheet.append(["编号", "金额"])
    for number in range(100_000):
        sheet.append([f"A{number}", number * 1.5])
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)
    with pytest.raises(InputError, match=r"more than 10,000 rows .* ASSISTANT_MAX_TABLE_ROWS"):
        load_document(path, config=Config())
    small = tmp_path / "small"
    small.mkdir()
    (small / "ledger.csv").write_text("\n".join(f"A{n},{n}" for n in range(100_000)), encoding="utf-8")
    with pytest.raises(InputError, match="more than 10,000 rows"):
        load_document(small / "ledger.csv", config=Config())
    doc = load_document(small / "ledger.csv", config=Config(max_table_rows=100_000))
    assert "A99999为99999。" in doc.text


def test_the_cli_names_a_sheet_over_the_limit_without_a_traceback(base_config: Config, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("\n".join(f"A{n},{n}" for n in range(200)), encoding="utf-8")
    config = base_config.replace(index_dir=tmp_path / "index")
    process = run_cli("index", "build", str(path), config=config, check=False, env={"ASSISTANT_MAX_TABLE_ROWS": "100"})
    assert process.returncode == 2
    assert process.stderr.startswith("error: ") and "more than 100 rows" in process.stderr
