"""docs/benchmarks.md is written by two benchmarks; each one replaces only its own marked section."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, name: str, text: str) -> None:
    """Put `text` between this section's markers, keeping the other sections as they are."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        path.write_text(head + block + ("\n" + tail if tail else ""), encoding="utf-8")
    else:
        path.write_text((current.rstrip() + "\n\n" if current.strip() else "") + block, encoding="utf-8")
