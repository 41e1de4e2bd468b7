"""Scanned PDFs and pictures: OCR offline, text layer and OCR page by page, limits and damaged files.

Every page here is rendered from a known text by bench/pages.py and read by the real OCR engine.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from assistant import Config
from assistant.errors import InputError
from assistant.ingest import load_document, read_documents
from assistant.ocr import Line, paragraphs
from bench.pages import render_pages, scanned_pdf

from .test_ingest import _tiny_pdf

ROOT = Path(__file__).resolve().parent.parent
DPI = 150
SCANNED_TEXT = "2010年，全市专利申请量达49430件，比上年增长16.2%。\n全年登记技术合同3176项，合同总金额约41.3亿元。"


@pytest.fixture(scope="module")
def scanned_page() -> Image.Image:
    return render_pages(SCANNED_TEXT, DPI)[0].image


def _config(**limits: int) -> Config:
    return Config.from_env(llm="none").replace(**limits)


def test_ocr_runs_offline_and_downloads_nothing(tmp_path: Path, scanned_page: Image.Image) -> None:
    """In a process whose every network connection fails and whose home and caches are empty
    folders, OCR still reads the page: its models come from the installed wheel."""
    picture = tmp_path / "page.png"
    scanned_page.save(picture)
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(
        f"""
        import json, socket, sys

        attempts = []

        def no_network(event, args):
            if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
                attempts.append(event)
                raise OSError("network use during OCR: " + event)

        sys.addaudithook(no_network)
        from pathlib import Path
        from assistant.config import Config
        from assistant.ingest import load_document

        document = load_document(Path({str(picture)!r}), config=Config(ocr_threads=1))
        import rapidocr_onnxruntime
        print(json.dumps({{"text": document.text, "attempts": attempts,
                           "package": str(Path(rapidocr_onnxruntime.__file__).parent)}}))
        """
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "0",  # nothing may rely on an offline switch
    }
    process = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert "49430件" in result["text"] and "41.3亿元" in result["text"]
    # onnxruntime keeps a device id there (a few KB); a model would be megabytes.
    written = [p for p in home.rglob("*") if p.is_file()]
    assert all(p.stat().st_size < 100_000 and p.suffix != ".onnx" for p in written), written
    models = sorted(p.name for p in (Path(result["package"]) / "models").glob("*.onnx"))
    assert models == ["ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx"]


def test_wrapped_lines_join_into_paragraphs_and_indented_lines_start_new_ones() -> None:
    lines = [
        Line("一、专利工作", 100, 300, 0, 30),  # a short heading: its own paragraph
        Line("2010年，全市专利申请量达49430件，比上", 160, 1000, 40, 70),  # indented, runs to the edge
        Line("年增长16.2%。", 100, 400, 80, 110),  # wraps from the line above
        Line("全年登记技术合同3176项，合同总金额约4", 160, 995, 120, 150),  # indented: a new paragraph
        Line("1.3亿元，增长1 2.5%。", 100, 300, 160, 190),  # a number wrapped, and one OCR read with a gap
        Line("Revenue grew 8.5% in", 160, 990, 200, 230),
        Line("2010.", 100, 200, 240, 270),
    ]
    assert paragraphs(lines) == (
        "一、专利工作\n2010年，全市专利申请量达49430件，比上年增长16.2%。\n"
        "全年登记技术合同3176项，合同总金额约41.3亿元，增长12.5%。\nRevenue grew 8.5% in 2010."
    )
    assert paragraphs([]) == ""


def test_a_scanned_picture_is_read_with_its_figures(tmp_path: Path, scanned_page: Image.Image) -> None:
    picture = tmp_path / "scan.jpg"
    scanned_page.convert("RGB").save(picture, quality=90)
    document = load_document(picture, config=_config())
    assert "49430件" in document.text and "16.2%" in document.text and "3176项" in document.text
    assert document.page_starts == ()  # a picture has no pages to cite


def test_a_pdf_reads_its_text_layer_and_ocr_where_there_is_none(tmp_path: Path, scanned_page: Image.Image) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(_tiny_pdf("Revenue grew 8.5% in 2010, profit 12 percent."))))
    writer.append(PdfReader(io.BytesIO(scanned_pdf([scanned_page], DPI))))
    path = tmp_path / "mixed.pdf"
    with path.open("wb") as out:
        writer.write(out)
    progress: list[tuple[int, int, str]] = []
    document = load_document(path, config=_config(), progress=lambda *event: progress.append(event))
    assert progress == [(1, 2, "mixed.pdf: read page 1/2"), (2, 2, "mixed.pdf: read page 2/2 (OCR)")]
    assert document.page_at(document.text.index("Revenue grew 8.5%")) == 1
    assert document.page_at(document.text.index("49430件")) == 2
    assert document.page_at(document.text.index("41.3亿元")) == 2


def test_an_encrypted_pdf_is_refused_and_one_locked_only_against_editing_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    for name, user_password in (("locked.pdf", "secret"), ("no-editing.pdf", "")):
        writer = PdfWriter()
        writer.append(PdfReader(io.BytesIO(_tiny_pdf("Revenue grew 8.5% in 2010, profit 12 percent."))))
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
        with (tmp_path / name).open("wb") as out:
            writer.write(out)
    with pytest.raises(InputError, match=r"locked\.pdf: the PDF is encrypted; save a copy without a password"):
        load_document(tmp_path / "locked.pdf", config=_config())
    assert "Revenue grew 8.5%" in load_document(tmp_path / "no-editing.pdf", config=_config()).text


def test_damaged_pictures_are_refused_with_a_reason_and_a_folder_build_goes_on(
    tmp_path: Path, scanned_page: Image.Image
) -> None:
    whole = io.BytesIO()
    scanned_page.save(whole, format="PNG")
    (tmp_path / "truncated.png").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    (tmp_path / "not-a-photo.jpg").write_bytes("这不是图片，只是改了扩展名的文本。".encode())
    (tmp_path / "report.txt").write_text("2010年全市专利申请量达49430件。", encoding="utf-8")
    for name in ("truncated.png", "not-a-photo.jpg"):
        with pytest.raises(InputError, match=rf"{name}: the picture is damaged or not a PNG or JPEG image \("):
            load_document(tmp_path / name, config=_config())
    Image.new("RGB", (800, 600), "white").save(tmp_path / "blank.png")
    with pytest.raises(InputError, match=r"blank\.png: no text could be read from it \(OCR found none: use a picture"):
        load_document(tmp_path / "blank.png", config=_config())
    documents, skipped = read_documents([tmp_path], config=_config())
    assert [d.doc_id for d in documents] == ["report.txt"]
    assert sorted(s.name for s in skipped) == ["blank.png", "not-a-photo.jpg", "truncated.png"]


def test_pixel_and_page_limits_are_settings_with_clear_messages(
    tmp_path: Path, scanned_page: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = tmp_path / "big.png"
    scanned_page.save(picture)
    monkeypatch.setenv("ASSISTANT_MAX_IMAGE_PIXELS", "1000000")
    with pytest.raises(
        InputError, match=r"big\.png: the picture has 2 million pixels, more than the limit of 1 million"
    ):
        load_document(picture, config=Config.from_env())

    pdf = tmp_path / "long-scan.pdf"
    pdf.write_bytes(scanned_pdf([scanned_page] * 3, DPI))
    monkeypatch.setenv("ASSISTANT_MAX_PDF_PAGES", "2")
    with pytest.raises(InputError, match=r"long-scan\.pdf: the PDF has 3 pages, more than the limit of 2"):
        load_document(pdf, config=Config.from_env())


def test_a_scanned_page_larger_than_the_pixel_limit_is_read_at_a_lower_resolution(
    tmp_path: Path, scanned_page: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant import ocr

    read = ocr.read_text
    sizes: list[tuple[int, int]] = []

    def measured(image: Image.Image, **options: int) -> str:
        sizes.append(image.size)
        return read(image, **options)

    monkeypatch.setattr(ocr, "read_text", measured)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(scanned_pdf([scanned_page], DPI))
    # At the configured 200 dpi the A4 page would have 3.9 million pixels.
    document = load_document(pdf, config=_config(ocr_dpi=200, max_image_pixels=2_000_000))
    assert "49430件" in document.text
    ((width, height),) = sizes
    assert width * height <= 2_000_000 and width * height > 1_900_000


def test_ocr_that_cannot_start_skips_the_file_with_what_to_install(
    tmp_path: Path, scanned_page: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine without the libraries OpenCV links to: the import fails, the build says what to install."""
    from assistant import ocr

    ocr.engine.cache_clear()
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import raises ImportError
    scanned_page.save(tmp_path / "scan.png")
    (tmp_path / "report.txt").write_text("2010年全市专利申请量达49430件。", encoding="utf-8")
    documents, skipped = read_documents([tmp_path], config=_config())
    assert [d.doc_id for d in documents] == ["report.txt"]
    assert [s.name for s in skipped] == ["scan.png"] and "sudo apt-get install libgl1" in skipped[0].reason
    monkeypatch.undo()
    ocr.engine.cache_clear()
