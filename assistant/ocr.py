"""Text from page images: RapidOCR (PP-OCRv4 Chinese/English) on the CPU, offline.

rapidocr-onnxruntime 1.4.4 ships its detection, direction and recognition models inside its
wheel and loads them from the package folder: nothing is fetched at run time (tests/test_ocr.py
proves it). The engine takes a second to load, so one per thread count is kept for the process.

OCR gives one box per printed line. A report's paragraphs wrap across lines, and a line break
ends a sentence for the chunker, so wrapped lines are joined back into their paragraph: a line
that runs to the text's right edge continues on the next one unless that one is indented.
"""

from __future__ import annotations

import functools
import itertools
import re
import statistics
import threading
from dataclasses import dataclass

from PIL import Image

from .errors import InputError
from .ingest import CJK, CJK_PUNCT

# Recognised text below this confidence is noise (speckles, stamps, table rules).
MIN_TEXT_SCORE = 0.5
# A line ending within this many line heights of the text's right edge wraps into the next line;
# a line starting this far right of the text's left edge starts a paragraph.
WRAP_MARGIN_LINES = 1.5
INDENT_LINES = 1.0
CJK_CHAR = re.compile(f"[{CJK}{CJK_PUNCT}]")
# Half-width digits in a CJK font stand apart, and OCR reads the gap as a space ("3 3.2%"), as it does
# a number wrapped onto the next line; Chinese text never spaces a number, so in a paragraph with
# CJK characters such spaces go.
SPACE_IN_NUMBER = re.compile(r"(?<=[\d.])\s+(?=[\d.%])")

_lock = threading.Lock()


@dataclass(frozen=True)
class Line:
    """One recognised line of text and where it stands on the image (pixels)."""

    text: str
    left: float
    right: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


@functools.cache
def engine(threads: int):
    """The OCR engine with its bundled models, loaded once per thread count."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:  # OpenCV, which RapidOCR loads, links to the system's libGL and glib
        raise InputError(
            f"OCR cannot start ({exc}); install the system libraries it needs"
            " (Debian/Ubuntu: sudo apt-get install libgl1 libglib2.0-0) or index a text version."
        ) from exc

    # No per-line direction classifier: it turns lines that start with "。" or "，" upside down.
    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, text_score=MIN_TEXT_SCORE, use_cls=False)


def read_lines(image: Image.Image, *, threads: int) -> list[Line]:
    """The lines of text on an image, top to bottom."""
    rgb = image.convert("RGB")
    with _lock:  # one page at a time: each run already uses the configured threads
        result, _ = engine(threads)(rgb)
    lines = []
    for box, text, _score in result or []:
        xs = [point[0] for point in box]
        ys = [point[1] for point in box]
        text = text.strip()
        if text:
            lines.append(Line(text, min(xs), max(xs), min(ys), max(ys)))
    return sorted(lines, key=lambda line: (line.top + line.bottom) / 2)


def read_text(image: Image.Image, *, threads: int) -> str:
    """The text on an image, wrapped lines joined back into paragraphs."""
    return paragraphs(read_lines(image, threads=threads))


def paragraphs(lines: list[Line]) -> str:
    """Lines joined into paragraphs (one per output line)."""
    if not lines:
        return ""
    height = statistics.median(line.height for line in lines)
    right_edge = max(line.right for line in lines)
    left_edge = min(line.left for line in lines)
    out: list[str] = [lines[0].text]
    for previous, line in itertools.pairwise(lines):
        if previous.right >= right_edge - WRAP_MARGIN_LINES * height and line.left < left_edge + INDENT_LINES * height:
            joiner = "" if CJK_CHAR.match(line.text[0]) or CJK_CHAR.match(previous.text[-1]) else " "
            out[-1] += joiner + line.text
        else:
            out.append(line.text)
    return "\n".join(
        SPACE_IN_NUMBER.sub("", paragraph) if CJK_CHAR.search(paragraph) else paragraph for paragraph in out
    )
