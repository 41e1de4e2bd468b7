"""Answers from a scanned PDF and a photographed page, each source with its page: API, CLI, HTTP, browser.

The bundled report is typeset on A4 pages (bench/pages.py), stored as a PDF of page images with
no text layer, and indexed through the real OCR, embedding model and Chroma.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import ui
from assistant import Config, answer, build_index
from assistant.config import DEFAULT_CORPUS_DIR
from assistant.ingest import load_document
from bench.pages import photographed, render_pages, scanned_pdf

from . import test_browser
from .conftest import running_app
from .test_browser import CHROMIUM, ask, chosen, open_page
from .test_cli import run_cli
from .test_login import app_with_login, log_in

DPI = 150
QUESTION = "2007年广州市专利授权量是多少？"
SCAN = "guangzhou-2007-scan.pdf"
PHOTO = "guangzhou-2007-photo.jpg"


@pytest.fixture(scope="module")
def report_pages() -> list:
    report = next(DEFAULT_CORPUS_DIR.glob("*.txt"))
    return render_pages(load_document(report).text, DPI)


def sentence_page(pages: list, words: str) -> int:
    """The page (from 1) on which the sentence holding `words` starts: a sentence that a page break
    cuts is cited on the page where it starts."""
    texts = [page.text for page in pages]
    full = "".join(texts)
    at = full.index(words)
    sentence_start = max(full.rfind(end, 0, at) for end in "。！？；\n") + 1
    page_ends = list(itertools.accumulate(len(text) for text in texts))
    return next(number for number, end in enumerate(page_ends, start=1) if sentence_start < end)


@pytest.fixture(scope="module")
def answer_page(report_pages: list) -> int:
    return sentence_page(report_pages, "授权量8524件")


@pytest.fixture(scope="module")
def scanned_index(
    base_config: Config, report_pages: list, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Config, list[str]]:
    """An index of the scanned report alone, and the progress messages its build showed."""
    folder = tmp_path_factory.mktemp("scanned")
    (folder / SCAN).write_bytes(scanned_pdf([page.image for page in report_pages], DPI))
    config = base_config.replace(index_dir=folder / "index")
    messages: list[str] = []
    build_index([folder / SCAN], config=config, progress=lambda done, total, message: messages.append(message))
    return config, messages


def test_indexing_a_scan_shows_progress_page_by_page(scanned_index: tuple[Config, list[str]], report_pages) -> None:
    _, messages = scanned_index
    count = len(report_pages)
    read = [m for m in messages if m.startswith(SCAN)]
    assert read == [f"{SCAN}: read page {n}/{count} (OCR)" for n in range(1, count + 1)]


def test_a_scanned_report_answers_and_cites_the_page(
    scanned_index: tuple[Config, list[str]], report_pages: list, answer_page: int
) -> None:
    config, _ = scanned_index
    result = answer(QUESTION, config=config, mode="extractive")
    assert result.found and "8524" in result.text
    cited = result.sources[0]
    assert cited.doc == SCAN and "8524" in cited.highlight
    assert cited.page == answer_page
    assert all(source.page is not None for source in result.sources)
    later = answer("技术合同总金额大约是多少？", config=config, mode="extractive")
    assert later.found and "2.6亿元" in later.text
    assert later.sources[0].page == sentence_page(report_pages, "合同总金额近2.6亿元") != answer_page


def test_the_cli_prints_the_page_and_json_carries_it(scanned_index: tuple[Config, list[str]], answer_page: int) -> None:
    config, _ = scanned_index
    printed = run_cli("ask", QUESTION, "--mode", "extractive", config=config).stdout
    assert "8524" in printed.splitlines()[0]
    assert f"[1] {SCAN} / p. {answer_page}" in printed
    result = json.loads(run_cli("ask", QUESTION, "--json", config=config).stdout)
    assert result["found"] and result["sources"][0]["page"] == answer_page


def test_the_page_shows_the_page_and_serves_the_pdf_at_it(
    scanned_index: tuple[Config, list[str]], answer_page: int
) -> None:
    config, _ = scanned_index
    result = answer(QUESTION, config=config, mode="extractive")
    panel = ui.sources_html(result)
    assert f'<span class="page">p. {answer_page}</span>' in panel
    assert f'href="document/{SCAN}#page={answer_page}"' in panel
    with running_app(config) as url:
        payload = Client(url, verbose=False).predict(QUESTION, "extractive", api_name="/ask")
        assert payload["found"] and payload["sources"][0]["page"] == answer_page
        served = httpx.get(f"{url}document/{SCAN}", timeout=30)
        assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
        assert served.content == (Path(_indexed_path(config, SCAN))).read_bytes()
        for name in ("no-such.pdf", "../" + SCAN, "%2e%2e/etc/passwd"):
            assert httpx.get(f"{url}document/{name}", timeout=30).status_code == 404


def test_documents_are_served_only_behind_the_login(scanned_index: tuple[Config, list[str]], tmp_path: Path) -> None:
    config, _ = scanned_index
    logins = tmp_path / "logins"
    logins.write_text("alice:right-pw\n", encoding="utf-8")
    with app_with_login(config, logins, read_only=True) as url:
        assert httpx.get(f"{url}/document/{SCAN}", timeout=30).status_code == 401
        logged_in = log_in(url, "alice", "right-pw")
        assert logged_in.status_code == 200
        served = httpx.get(f"{url}/document/{SCAN}", cookies=logged_in.cookies, timeout=30)
        assert served.status_code == 200 and served.content.startswith(b"%PDF")


def test_a_photographed_page_answers(base_config: Config, report_pages: list, tmp_path: Path) -> None:
    """A phone picture of the page that reports the technology contracts answers from that page alone."""
    (shown,) = [page for page in report_pages if "合同总金额近2.6亿元" in page.text]
    photo = tmp_path / PHOTO
    photographed(shown.image).save(photo, quality=85)
    config = base_config.replace(index_dir=tmp_path / "index")
    build_index([photo], config=config)
    result = answer("技术合同总金额大约是多少？", config=config, mode="extractive")
    assert result.found and "2.6亿元" in result.text
    assert result.sources[0].doc == PHOTO and result.sources[0].page is None
    assert f'href="document/{PHOTO}"' in ui.sources_html(result)  # the picture opens as it is
    printed = run_cli("ask", "技术合同总金额大约是多少？", "--mode", "extractive", config=config).stdout
    assert "2.6亿元" in printed.splitlines()[0] and PHOTO in printed


def _indexed_path(config: Config, doc_id: str) -> str:
    from assistant import index_status

    return next(d["path"] for d in index_status(config=config)["documents"] if d["doc_id"] == doc_id)


# -- In the browser ---------------------------------------------------------------------------

browser = test_browser.browser  # the one headless Chromium fixture


# In CI a missing browser is a failure, never a skip.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's Chromium is not installed"
)


@pytest.mark.browser
@needs_chromium
def test_the_chat_page_shows_the_page_and_opens_the_pdf_there(
    browser, scanned_index: tuple[Config, list[str]], answer_page: int
) -> None:
    from playwright.sync_api import expect

    config, _ = scanned_index
    with running_app(config) as url, open_page(browser, url) as page:
        ask(page, QUESTION)
        where = page.locator("#sources .source.cited .where")
        expect(where).to_contain_text(f"{SCAN} p. {answer_page}")
        link = where.get_by_role("link", name="open 打开")
        expect(link).to_have_attribute("href", f"document/{SCAN}#page={answer_page}")
        with page.context.expect_page() as opened:
            link.click()
        assert opened.value.url == f"{url}document/{SCAN}#page={answer_page}"


@pytest.mark.browser
@needs_chromium
def test_a_photographed_page_uploaded_on_the_page_answers(
    browser, base_config: Config, report_pages: list, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    (shown,) = [page for page in report_pages if "合同总金额近2.6亿元" in page.text]
    photo = tmp_path / PHOTO
    photographed(shown.image).save(photo, quality=85)
    with running_app(base_config.replace(index_dir=tmp_path / "index")) as url, open_page(browser, url) as page:
        page.get_by_role("tab", name="Documents 文档").click()
        page.locator("#upload input[type=file]").set_input_files(str(photo))
        expect(page.locator("#upload")).to_contain_text(chosen(photo))
        page.locator("#add-docs").click()
        expect(page.locator("#docs-message")).to_contain_text(f"Added: {PHOTO}")
        page.get_by_role("tab", name="Chat 问答").click()
        ask(page, "技术合同总金额大约是多少？")
        expect(page.locator("#chatbot .bot-row").last).to_contain_text("2.6亿元")
        where = page.locator("#sources .source.cited .where")
        expect(where).to_contain_text(PHOTO)
        expect(where).not_to_contain_text("p.")
        expect(where.get_by_role("link", name="open 打开")).to_have_attribute("href", f"document/{PHOTO}")
