"""OCR speed and accuracy on pages rendered from a known text: `python bench/bench_ocr.py`.

The bundled report is typeset on A4 pages in a CJK font (bench/pages.py) and read back by the
pipeline's OCR (assistant/ocr.py): as clean scans at two resolutions, as phone photographs
(tilted 1.5°, unevenly lit, blurred, grainy, saved as JPEG), and end to end as a scanned PDF
through `load_document` (pdfium renders each page at Config.ocr_dpi, then OCR). Character
accuracy is 1 - edit distance / reference length, white space ignored; "figures exact" is the
share of the report's numbers (digit runs with their decimals) read exactly.
The table replaces the "ocr" section of docs/benchmarks.md.
"""

from __future__ import annotations

import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from assistant import ocr  # noqa: E402
from assistant.config import DEFAULT_CORPUS_DIR, Config  # noqa: E402
from assistant.ingest import load_document  # noqa: E402
from bench.pages import photographed, render_pages, scanned_pdf  # noqa: E402
from bench.report import replace_section  # noqa: E402

NUMBER = re.compile(r"\d+(?:\.\d+)?")
PHOTO_DPI = 200
JPEG_QUALITY = 85


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def accuracy(reference: str, read: str) -> tuple[float, float]:
    """Character accuracy and the share of the reference's numbers read exactly."""
    ref, got = ("".join(text.split()) for text in (reference, read))
    characters = max(0.0, 1 - edit_distance(ref, got) / len(ref))
    numbers = NUMBER.findall(ref)
    found = NUMBER.findall(got)
    exact = sum(1 for n in set(numbers) if n in found) / len(set(numbers)) if numbers else 1.0
    return characters, exact


def as_jpeg(image: Image.Image) -> Image.Image:
    """The picture as a phone stores it: JPEG-compressed."""
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return Image.open(io.BytesIO(out.getvalue()))


def measure_images(label: str, pages: list[tuple[Image.Image, str]], threads: int) -> dict:
    seconds = 0.0
    read_all, reference_all = [], []
    for image, reference in pages:
        started = time.perf_counter()
        read_all.append(ocr.read_text(image, threads=threads))
        seconds += time.perf_counter() - started
        reference_all.append(reference)
    characters, exact = accuracy("".join(reference_all), "".join(read_all))
    width, height = pages[0][0].size
    return {
        "variant": label,
        "pages": len(pages),
        "size": f"{width}×{height}",
        "seconds": seconds,
        "characters": characters,
        "exact": exact,
    }


def main() -> None:
    config = Config.from_env()
    threads = config.ocr_threads
    report_text = load_document(next(DEFAULT_CORPUS_DIR.glob("*.txt"))).text
    load_start = os.getloadavg()
    started = time.perf_counter()
    ocr.engine(threads)  # load once, outside the timings
    engine_load = time.perf_counter() - started

    rows = []
    for dpi in (150, 300):
        rendered = render_pages(report_text, dpi)
        rows.append(measure_images(f"clean scan, {dpi} dpi", [(p.image, p.text) for p in rendered], threads))
    rendered = render_pages(report_text, PHOTO_DPI)
    photos = [(as_jpeg(photographed(p.image)), p.text) for p in rendered]
    rows.append(
        measure_images(f"phone photo of a {PHOTO_DPI} dpi page (1.5° tilt, shade, blur, noise, JPEG)", photos, threads)
    )

    scanned = render_pages(report_text, 150)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scan.pdf"
        path.write_bytes(scanned_pdf([p.image for p in scanned], 150))
        started = time.perf_counter()
        document = load_document(path, config=config)
        seconds = time.perf_counter() - started
    characters, exact = accuracy("".join(p.text for p in scanned), document.text)
    rows.append(
        {
            "variant": f"scanned PDF (150 dpi images) through `load_document`, rendered at {config.ocr_dpi} dpi",
            "pages": len(scanned),
            "size": "A4",
            "seconds": seconds,
            "characters": characters,
            "exact": exact,
        }
    )
    write(rows, engine_load, threads, load_start, os.getloadavg())


def write(rows: list[dict], engine_load: float, threads: int, load_start, load_end) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    lines = [
        "# OCR: scanned and photographed pages",
        "",
        "Generated by `.venv/bin/python bench/bench_ocr.py`; do not edit by hand. The bundled report typeset on A4",
        "pages (WenQuanYi Zen Hei, 12 pt, `bench/pages.py`) and read back by `assistant/ocr.py` (RapidOCR",
        "1.4.4, PP-OCRv4 models from its wheel, onnxruntime on the CPU). Character accuracy is",
        "1 − edit distance / characters (white space ignored); *figures exact* is the share of the report's",
        "numbers that were read digit for digit. Most remaining character errors are quotation marks read",
        'as `"` and the dash `——` read as `一`. The machine is shared (other jobs run on its cores): compare',
        "the rows with each other and read the load average before trusting a time.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {time.strftime('%Y-%m-%d %H:%M:%S %z')} |",
        f"| commit | `{commit.strip()}` |",
        f"| machine | {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()} |",
        f"| OCR threads (`ASSISTANT_OCR_THREADS`) | {threads} |",
        f"| engine load (once per process) | {engine_load:.1f} s |",
        f"| load average (1/5/15 min) start → end | {' / '.join(f'{v:.2f}' for v in load_start)} → "
        f"{' / '.join(f'{v:.2f}' for v in load_end)} |",
        "",
        "| variant | pages | image | s per page | pages per s | character accuracy | figures exact |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        per_page = row["seconds"] / row["pages"]
        lines.append(
            f"| {row['variant']} | {row['pages']} | {row['size']} | {per_page:.1f} | {1 / per_page:.3f}"
            f" | {row['characters']:.2%} | {row['exact']:.0%} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    replace_section(ROOT / "docs" / "benchmarks.md", "ocr", text)


if __name__ == "__main__":
    main()
