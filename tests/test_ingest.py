"""Ingestion: encodings, file types and the dirt of web-collected Chinese text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assistant.chunk import chunk_document
from assistant.config import DEFAULT_CORPUS_DIR
from assistant.errors import InputError
from assistant.ingest import MAX_FILE_BYTES, clean_text, decode_bytes, file_problem, load_document, load_documents

pytestmark = pytest.mark.fast  # rules alone: the quick tier

REPORT = next(DEFAULT_CORPUS_DIR.glob("*.txt"))


def test_report_dirt_is_cleaned() -> None:
    raw = REPORT.read_text(encoding="utf-8")
    assert "\ufffdD" in raw and "上一篇" in raw  # the dirt the report really carries
    doc = load_document(REPORT)
    assert "\ufffd" not in doc.text
    assert "——专利技术发明和产业化深入推进" in doc.text
    assert "上一篇" not in doc.text and "下一篇" not in doc.text
    assert "部署和要求，按照" in doc.text  # ASCII comma inside Chinese became full-width
    assert "荣获“全国企事业" in doc.text  # stray space before a quote removed
    assert "（一）以创建工作为主线" in doc.text
    assert doc.title == "广州市知识产权局2007年工作总结"
    assert len(doc.content_hash) == 64


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("授权量８５２４件，增长３３．２％", "授权量8524件，增长33.2%"),
        ("ＡＢＣ公司", "ABC公司"),
        ("共有12,057件", "共有12,057件"),
        ("工作 总结 ,全面 推进", "工作总结，全面推进"),
        ("Hello, world", "Hello, world"),
        ("正文\n返回顶部\n【打印本页】\n责任编辑：张三\n当前位置：首页 > 新闻", "正文"),
    ],
)
def test_clean_text_rules(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "来源：滨江日报 5日，滨江市第三届龙舟邀请赛在东湖举行，共有48支队伍参赛。",
            "5日，滨江市第三届龙舟邀请赛在东湖举行，共有48支队伍参赛。",
        ),
        (
            "© 2024 北岸新闻网 版权所有。 据北岸新闻网报道，北岸市今年新建口袋公园137个。",
            "据北岸新闻网报道，北岸市今年新建口袋公园137个。",
        ),
        (
            "您现在的位置 首页 > 新闻中心 > 本地新闻 当地时间10月31日，南湾港集装箱吞吐量创新高。",
            "当地时间10月31日，南湾港集装箱吞吐量创新高。",
        ),
        (
            "发布时间：2023-05-06 09:30 来源：市统计局 作者：李明 全市一季度生产总值增长4.5%。",
            "全市一季度生产总值增长4.5%。",
        ),
        (
            "Copyright © 2003-2023 example.com. All Rights Reserved 全市一季度生产总值增长4.5%。",
            "全市一季度生产总值增长4.5%。",
        ),
        # Where the notice's end is unclear (no space after its value), only its label goes.
        ("来源：滨江日报5日，龙舟邀请赛在东湖举行。", "滨江日报5日，龙舟邀请赛在东湖举行。"),
        # An enumeration is not a copyright sign: only "Copyright (c)" is.
        ("(c) the lessee shall pay the rent monthly.", "(c) the lessee shall pay the rent monthly."),
        # A notice later in a line is text to this cleaner; only leading notices are furniture.
        ("龙舟邀请赛在东湖举行。来源：滨江日报", "龙舟邀请赛在东湖举行。来源：滨江日报"),
    ],
)
def test_leading_notices_go_and_the_text_after_them_stays(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "line",
    [
        "发布时间：2023-05-06 09:30:00 来源：本站 字号：大 中 小 【打印】【关闭】",
        "© 2024 北岸新闻网",
        "Copyright 2024 Northbank Media Inc.",
        "当前位置：首页 > 新闻中心 > 本地新闻",
        "首页 > 信息公开 >> 通知公告",
        "上一篇：关于开展2023年度统计工作的通知",
        "网站地图 | 联系我们 | 隐私声明",
        "【字体：大 中 小】 浏览次数：1024",
        "分享到：微信 微博 QQ空间",
    ],
)
def test_lines_that_are_all_furniture_are_dropped(line: str) -> None:
    assert clean_text(f"全市一季度生产总值增长4.5%。\n{line}") == "全市一季度生产总值增长4.5%。"


@pytest.mark.parametrize("text", ["滨江市第三届龙舟邀请赛开幕", "一、总则\n二、附则"])
def test_a_file_of_only_a_title_or_headings_keeps_its_text_and_is_chunked(tmp_path: Path, text: str) -> None:
    path = tmp_path / "short.txt"
    path.write_text(f"{text}\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.text == text
    chunks = chunk_document(doc, chunk_size=300, chunk_overlap=50)
    assert "".join(chunk.text for chunk in chunks) == text.replace("\n", "")


def test_document_counts_characters_read_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_text("来源：滨江日报 龙舟赛开幕了。\n\n上一篇：旧闻\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.text == "龙舟赛开幕了。"
    assert (doc.chars_read, doc.chars_kept) == (20, 7)  # white space is not counted


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "gbk", "utf-16", "utf-8-sig", "utf-16-le", "utf-16-be"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = "深圳市2008年工作总结\n\n全年专利申请量达到3,210件，同比增长12.5%。"
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_document(path)
    assert "专利申请量达到3,210件" in doc.text
    assert doc.title == "深圳市2008年工作总结"


SIMPLIFIED_SAMPLES = {
    "short": "深圳市工作总结",
    "long": "全年专利申请量达到3,210件，同比增长12.5%。我们坚持以科学发展观为指导，认真贯彻落实市委、"
    "市政府的工作部署，进一步加强知识产权保护工作，全市企业的创新能力明显提高。",
}
TRADITIONAL_SAMPLES = {
    "short": "臺北市政府年度報告",
    "long": "臺北市政府今年推動多項重要建設，包括捷運路網擴展、公共住宅興建與社會福利改革。"
    "全年觀光人數達到1,200萬人次，較去年成長8%。市長表示，將繼續加強與各界的溝通與合作，讓城市發展更加穩健。",
}


@pytest.mark.parametrize("length", ["short", "long"])
@pytest.mark.parametrize(
    ("samples", "encoding"),
    [
        pytest.param(SIMPLIFIED_SAMPLES, "gb18030", id="simplified-gb18030"),
        pytest.param(SIMPLIFIED_SAMPLES, "utf-16-le", id="simplified-utf-16-le"),
        pytest.param(SIMPLIFIED_SAMPLES, "utf-16-be", id="simplified-utf-16-be"),
        pytest.param(TRADITIONAL_SAMPLES, "big5", id="traditional-big5"),
        pytest.param(TRADITIONAL_SAMPLES, "gb18030", id="traditional-gb18030"),
        pytest.param(TRADITIONAL_SAMPLES, "utf-16-le", id="traditional-utf-16-le"),
        pytest.param(TRADITIONAL_SAMPLES, "utf-16-be", id="traditional-utf-16-be"),
    ],
)
def test_encoding_is_judged_by_content(samples: dict[str, str], encoding: str, length: str) -> None:
    """GB18030 decodes Big5 bytes (and UTF-16 bytes) too; only the right reading may win."""
    text = samples[length]
    assert decode_bytes(text.encode(encoding)) == text


def test_utf8_with_a_broken_byte_stays_utf8() -> None:
    data = SIMPLIFIED_SAMPLES["long"].encode("utf-8")
    damaged = data[:9] + b"\xff" + data[10:]  # the fourth character loses a byte
    assert decode_bytes(damaged).endswith(SIMPLIFIED_SAMPLES["long"][4:])


def test_html_keeps_text_and_drops_page_furniture(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>年报</title><style>p{}</style></head><body><nav>首页 | 新闻</nav>"
        "<h1>某市2009年年报</h1><p>全市生产总值达到9,138亿元。</p><script>var a=1;</script>"
        "<footer>版权所有</footer></body></html>",
        encoding="gb18030",
    )
    doc = load_document(path)
    assert "全市生产总值达到9,138亿元。" in doc.text
    assert "var a" not in doc.text and "版权所有" not in doc.text and "首页" not in doc.text
    assert doc.title == "某市2009年年报"


def test_a_page_saved_as_text_is_read_as_the_page(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text(
        '"<divclass="title"><h2>2009年青石市政府工作报告</h2></div><p>各位代表：</p>'
        "<p>一、工作回顾</p><p>全年接待游客640万人次，旅游总收入增长21.5%。</p>校训：<br>勤<br>朴",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert "<" not in doc.text and ">" not in doc.text
    assert doc.title == "2009年青石市政府工作报告"
    assert "\n一、工作回顾\n" in doc.text and "\n全年接待游客640万人次，旅游总收入增长21.5%。" in doc.text
    # Text that only mentions a tag or compares is plain text, read as written.
    plain = tmp_path / "plain.txt"
    plain.write_text("网页用<p>标记段落。当x<y时，增长率<5%。\n", encoding="utf-8")
    assert "<p>标记段落" in load_document(plain).text and "x<y" in load_document(plain).text


def test_a_salutation_is_no_title(tmp_path: Path) -> None:
    path = tmp_path / "2013年青石市政府工作报告.txt"
    path.write_text("各位代表：\n\n现在，我代表市人民政府向大会作工作报告，请予审议。\n", encoding="utf-8")
    assert load_document(path).title == "2013年青石市政府工作报告"  # the file's name says which report


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("年度报告", level=1)
    document.add_paragraph("公司全年营业收入12.3亿元。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "员工人数"
    table.rows[0].cells[1].text = "1,024人"
    path = tmp_path / "annual.docx"
    document.save(path)
    doc = load_document(path)
    assert "公司全年营业收入12.3亿元。" in doc.text
    assert "员工人数为1024人。" in doc.text  # the row label with its value, the digit grouping dropped


def test_pdf_text(tmp_path: Path) -> None:
    path = tmp_path / "brief.pdf"
    path.write_bytes(_tiny_pdf("Revenue grew 8.5% in 2010."))
    doc = load_document(path)
    assert "Revenue grew 8.5% in 2010." in doc.text


def test_folder_is_loaded_recursively(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("第一份报告。", encoding="utf-8")
    (tmp_path / "two.md").write_text("# 第二份\n\n内容。", encoding="utf-8")
    (tmp_path / "skip.bin").write_bytes(b"\x00\x01")
    docs = load_documents([tmp_path])
    assert sorted(d.doc_id for d in docs) == ["a/one.txt", "two.md"]
    assert {d.doc_id: d.title for d in docs} == {"a/one.txt": "one", "two.md": "第二份"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"   \n", "empty"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, "binary"),
        ("fake.pdf", "这不是PDF".encode(), "not a PDF"),
        ("fake.docx", b"plain text", "not a Word"),
        ("table.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "unsupported type"),
        ("cut.xlsx", b"PK\x03\x04", "the workbook is damaged"),
        ("bad-bom.txt", b"\xff\xfe\x00", "does not decode"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_document(path)


def test_docx_with_broken_xml_is_refused_with_a_reason(tmp_path: Path) -> None:
    import zipfile

    import docx

    source = tmp_path / "source.docx"
    document = docx.Document()
    document.add_paragraph("公司全年营业收入12.3亿元。")
    document.save(source)
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as damaged:
        for item in original.infolist():
            content = original.read(item.filename)
            if item.filename == "word/document.xml":
                content = content[: len(content) // 2]  # cut off mid-element: not well-formed XML
            damaged.writestr(item, content)
    with pytest.raises(InputError, match="the Word file is damaged"):
        load_document(path)


def test_pdf_with_an_unsupported_stream_filter_is_refused_with_a_reason(tmp_path: Path) -> None:
    """pypdf raises NotImplementedError here, not one of its own errors."""
    path = tmp_path / "odd.pdf"
    path.write_bytes(_tiny_pdf("Revenue grew 8.5% in 2010.", stream_filter="/NoSuchDecode"))
    with pytest.raises(InputError, match="the PDF is damaged or uses features that cannot be read"):
        load_document(path)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file or folder"):
        load_documents([tmp_path / "nope.txt"])


def test_undecodable_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(0x80, 0x100)) * 20)
    with pytest.raises(InputError):
        load_document(path)


def _tiny_pdf(text: str, *, stream_filter: str = "") -> bytes:
    """A one-page PDF with a line of Helvetica text, written by hand (no PDF writer needed).

    `stream_filter` names a /Filter for the page's content stream (the stream is not encoded).
    """
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    stream_dict = (f"/Filter {stream_filter} " if stream_filter else "").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< " + stream_dict + b"/Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_index_status_reports_the_characters_read_and_kept(fake_index_config, tmp_path) -> None:
    from assistant import build_index, index_status

    page = tmp_path / "news.txt"
    page.write_text(
        "来源：滨江日报 5日，滨江市第三届龙舟邀请赛在东湖举行，共有48支队伍参赛。\n上一篇：无\n", encoding="utf-8"
    )
    build_index([page], config=fake_index_config)
    (record,) = index_status(config=fake_index_config)["documents"]
    assert record["chars_read"] > record["chars_kept"] >= 30


def test_the_checks_before_reading_a_file_name_its_problem() -> None:
    assert file_problem("report.PDF", 10) is None
    assert file_problem("setup.exe", 10).startswith("setup.exe: unsupported type .exe; supported: .txt, ")
    assert file_problem("notes", 10).startswith("notes: unsupported type (none)")
    assert file_problem("blank.txt", 0) == "blank.txt: the file is empty."
    assert file_problem("huge.txt", MAX_FILE_BYTES + 1) == "huge.txt: larger than 50 MiB."
    assert file_problem("big.txt", MAX_FILE_BYTES) is None
