"""Pages with a known text, rendered here: scans and photographs for the OCR benchmark and tests.

A text is typeset on A4 pages in a CJK font (paragraphs indented two characters, as Chinese
reports are), rasterised at a chosen resolution; `photographed` tilts, shades and speckles a
page the way a phone picture of a printout looks. `scanned_pdf` stores page images as a PDF
without a text layer, which is what a scanner produces.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
A4_INCHES = (8.27, 11.69)
MARGIN_INCHES = 0.9
FONT_POINTS = 12
LINE_SPACING = 1.6


@dataclass(frozen=True)
class RenderedPage:
    image: Image.Image
    text: str  # what is printed on it, its paragraphs' lines joined back


def render_pages(text: str, dpi: int) -> list[RenderedPage]:
    """The text's paragraphs (one per line of `text`) typeset on white A4 pages at `dpi`."""
    font = ImageFont.truetype(str(CJK_FONT), round(FONT_POINTS * dpi / 72))
    width, height = (round(side * dpi) for side in A4_INCHES)
    margin = round(MARGIN_INCHES * dpi)
    em = font.getlength("中")
    line_height = round(em * LINE_SPACING)
    lines = [
        line
        for paragraph in text.split("\n")
        if paragraph.strip()
        for line in _wrap(paragraph.strip(), font, em, width - 2 * margin)
    ]
    per_page = (height - 2 * margin) // line_height
    pages = []
    for start in range(0, len(lines), per_page):
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        printed = lines[start : start + per_page]
        for row, (indent, line) in enumerate(printed):
            draw.text((margin + indent, margin + row * line_height), line, font=font, fill=0)
        text_of_page = "".join(("\n" if indent and row else "") + line for row, (indent, line) in enumerate(printed))
        pages.append(RenderedPage(image, text_of_page))
    return pages


def _wrap(paragraph: str, font: ImageFont.FreeTypeFont, em: float, width: int) -> list[tuple[float, str]]:
    """(indent, text) lines of one paragraph, the first indented by two characters."""
    lines: list[tuple[float, str]] = []
    indent = 2 * em
    line = ""
    for ch in paragraph:
        if font.getlength(line + ch) + indent > width:
            lines.append((indent, line))
            line, indent = "", 0.0
        line += ch
    lines.append((indent, line))
    return lines


def photographed(page: Image.Image, *, angle: float = 1.5, noise: float = 12.0, seed: int = 7) -> Image.Image:
    """The page as a phone photographs a printout: tilted, unevenly lit, slightly blurred, grainy."""
    tilted = page.convert("L").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    pixels = np.asarray(tilted.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
    height, width = pixels.shape
    # Light falls off from one corner: paper goes from white to grey, ink stays dark.
    light = 1.0 - 0.25 * np.add.outer(np.linspace(0, 1, height), np.linspace(0, 1, width)) / 2
    grain = np.random.default_rng(seed).normal(0.0, noise, size=pixels.shape)
    return Image.fromarray(np.clip(pixels * light + grain, 0, 255).astype(np.uint8)).convert("RGB")


def scanned_pdf(pages: list[Image.Image], dpi: int) -> bytes:
    """Page images as a PDF with no text layer, one image per page."""
    out = io.BytesIO()
    first, *rest = [page.convert("RGB") for page in pages]
    first.save(out, format="PDF", save_all=True, append_images=rest, resolution=dpi)
    return out.getvalue()
