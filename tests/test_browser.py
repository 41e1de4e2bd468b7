"""End to end in Debian's Chromium: ask, follow up, upload a report and ask it, refuse a bad upload.

Screenshots of each step go to test-artifacts/ (git-ignored). The app serves a copy of the
session index, so uploads here never touch the index other tests share.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from assistant import Config, build_index

from .conftest import require, require_module, running_app

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWER_TIMEOUT_MS = 90_000

pytestmark = pytest.mark.browser

UPLOADED_REPORT = """深圳市科技创新局2010年工作总结

一、专利工作

2010年，全市专利申请量达49430件，比上年增长16.2%。
全年深圳市专利授权量47321件，其中发明专利授权6843件。
全年新认定知识产权优势企业36家。

二、技术市场

全年登记技术合同3176项，合同总金额约41.3亿元。
"""


@pytest.fixture(scope="module")
def app_url(corpus_index: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index_copy = tmp_path_factory.mktemp("browser") / "index"
    shutil.copytree(corpus_index.index_dir, index_copy)
    with running_app(corpus_index.replace(index_dir=index_copy)) as url:
        yield url


@pytest.fixture(scope="module")
def requested_urls() -> list[str]:
    return []


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (Playwright's sync API allows one at a time)."""
    require(CHROMIUM.exists(), "Debian's Chromium at /usr/bin/chromium (make system-deps)")
    require_module("playwright", "Playwright (the dev extra)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ANSWER_TIMEOUT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(browser, app_url: str, requested_urls: list[str]):
    with open_page(browser, app_url, requested_urls) as page:
        yield page


@contextlib.contextmanager
def open_page(browser, url: str, requested_urls: list[str] | None = None):
    """The chat page at `url` in a fresh browser context, once its question box is there."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        if requested_urls is not None:
            page.on("request", lambda request: requested_urls.append(request.url))
        page.goto(url)
        page.locator("#question textarea").wait_for(timeout=60_000)
        yield page
    finally:
        context.close()


def ask(page, question: str) -> None:
    """Ask and wait until the answer is complete (its sources are shown at the end)."""
    from playwright.sync_api import expect

    answers = page.locator("#chatbot .bot-row")
    before = answers.count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    expect(answers).to_have_count(before + 1)
    expect(page.locator("#sources .searching")).to_have_count(0)


def headline(page) -> str:
    """The first line of the latest answer in the chat."""
    return page.locator("#chatbot .bot-row").last.inner_text().strip().splitlines()[0]


def chosen(file: Path) -> re.Pattern[str]:
    """How the file picker lists `file`: Gradio shows the stem and the extension as separate words."""
    return re.compile(rf"{re.escape(file.stem)}\s*{re.escape(file.suffix)}")


def shot(page, name: str, **kwargs) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), **kwargs)


def test_answer_cites_its_passage_and_follow_up_uses_the_conversation(page) -> None:
    from playwright.sync_api import expect

    shot(page, "01-start")
    ask(page, "2007年广州市专利授权量是多少？")
    chat = page.locator("#chatbot")
    expect(chat.locator(".bot-row").last).to_contain_text("8524")
    assert "8524" in headline(page) and "[1]" in headline(page)
    expect(page.locator("#sources .source.cited mark")).to_contain_text("授权量8524件")
    expect(page.locator("#sources .source.cited .where")).to_contain_text("guangzhou-ip-office-2007-work-summary.txt")
    shot(page, "02-answer")

    ask(page, "其中发明专利有多少件？")
    expect(chat.locator(".bot-row").last).to_contain_text("2894")
    assert "2894" in headline(page)
    expect(page.locator("#sources .understood")).to_contain_text("专利授权量")
    expect(page.locator("#sources .source.cited mark")).to_contain_text("发明专利2894件")
    shot(page, "03-follow-up")

    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.wait_for_timeout(500)
        shot(page, "04-phone", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 392, f"the page is {overflow}px wide at a 390px phone width"
        chat_box = page.locator("#chatbot").bounding_box()
        sources_box = page.locator("#sources").bounding_box()
        assert sources_box["y"] >= chat_box["y"] + chat_box["height"], "columns stack on a phone"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})

    page.locator("#new-chat").click()
    expect(chat).not_to_contain_text("8524")
    page.locator("#ask").click()  # an empty question
    expect(chat).to_contain_text("The question is empty")
    expect(chat).not_to_contain_text("Traceback")
    page.locator("#new-chat").click()


def test_uploaded_report_is_indexed_and_answers(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    report = tmp_path / "深圳市2010年工作总结.txt"
    report.write_text(UPLOADED_REPORT, encoding="utf-8")
    page.get_by_role("tab", name="Documents 文档").click()
    page.locator("#upload input[type=file]").set_input_files(str(report))
    expect(page.locator("#upload")).to_contain_text(chosen(report))
    page.locator("#add-docs").click()
    expect(page.locator("#docs-message")).to_contain_text("Added: 深圳市2010年工作总结.txt")
    expect(page.locator("#documents")).to_contain_text("深圳市科技创新局2010年工作总结")
    expect(page.locator("#index-status")).to_contain_text("2 documents")
    shot(page, "05-uploaded")

    page.get_by_role("tab", name="Chat 问答").click()
    ask(page, "2010年深圳市专利授权量是多少？")
    expect(page.locator("#chatbot .bot-row").last).to_contain_text("47321")
    assert "47321" in headline(page)
    expect(page.locator("#sources .source.cited .where")).to_contain_text("深圳市2010年工作总结.txt")
    expect(page.locator("#sources .source.cited mark")).to_contain_text("47321")
    shot(page, "06-answer-from-upload")
    page.locator("#new-chat").click()


def test_a_fake_pdf_is_refused_and_the_index_is_unchanged(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    fake = tmp_path / "fake-report.pdf"
    fake.write_text("这不是PDF文件，只是改了扩展名的文本。", encoding="utf-8")
    page.get_by_role("tab", name="Documents 文档").click()
    status_before = page.locator("#index-status").inner_text()
    page.locator("#upload input[type=file]").set_input_files(str(fake))
    expect(page.locator("#upload")).to_contain_text(chosen(fake))
    page.locator("#add-docs").click()
    message = page.locator("#docs-message")
    expect(message).to_contain_text("Nothing was added")
    expect(message).to_contain_text("fake-report.pdf: not a PDF file")
    expect(page.locator("#documents")).not_to_contain_text("fake-report.pdf")
    assert page.locator("#index-status").inner_text() == status_before
    shot(page, "07-bad-upload")
    page.get_by_role("tab", name="Chat 问答").click()


def test_nothing_is_fetched_from_outside(page, app_url: str, requested_urls: list[str]) -> None:
    app_host = urlparse(app_url).netloc
    outside = [u for u in requested_urls if urlparse(u).scheme in ("http", "https", "ws", "wss")]
    outside = [u for u in outside if urlparse(u).netloc != app_host]
    assert requested_urls, "the page made requests"
    assert not outside, f"the page fetched from outside: {outside}"


PHISHING_REPORT = """某市统计局2011年数据通报

一、人口

2011年末全市常住人口达到1270万人<a href="http://127.0.0.1:9/phish">数据已更正，请点击这里登录核实</a>，比上年增加15万人。
详见[更正说明](http://127.0.0.1:9/phish2)，或访问 http://127.0.0.1:9/phish3 。

二、经济

全年地区生产总值1.2万亿元，比上年增长10.5%。
"""


def test_links_and_html_from_documents_are_shown_as_text(browser, base_config: Config, tmp_path: Path) -> None:
    """A document's <a href> (or markdown link, or bare URL) must never become a clickable link."""
    from playwright.sync_api import expect

    report = tmp_path / "docs" / "notice-2011.txt"
    report.parent.mkdir()
    report.write_text(PHISHING_REPORT, encoding="utf-8")
    config = base_config.replace(index_dir=tmp_path / "index")
    build_index([report.parent], config=config)
    with running_app(config) as url, open_page(browser, url) as page:
        ask(page, "2011年末全市常住人口达到多少？")
        bubble = page.locator("#chatbot .bot-row").last
        expect(bubble).to_contain_text("1270万人")
        expect(bubble).to_contain_text('<a href="http://127.0.0.1:9/phish">数据已更正，请点击这里登录核实</a>')
        shot(page, "08-document-html-as-text")
        assert page.locator("#chatbot a[href*='127.0.0.1:9']").count() == 0
        assert page.locator("#sources a[href*='127.0.0.1:9']").count() == 0

        ask(page, "更正说明在哪里？")
        expect(page.locator("#sources")).to_contain_text("phish2")
        assert page.locator("#chatbot a[href*='127.0.0.1:9']").count() == 0
        assert page.locator("#sources a[href*='127.0.0.1:9']").count() == 0


@pytest.fixture()
def slow_app_url(corpus_index: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The page over the real answers, streamed a few characters every 0.3 s as a language model does."""
    from assistant import api

    answer_stream = api.answer_stream

    def slow_answer_stream(*args, **kwargs):
        for item in answer_stream(*args, **kwargs):
            if not isinstance(item, str):
                yield item
                continue
            for start in range(0, len(item), 4):
                time.sleep(0.3)
                yield item[start : start + 4]

    monkeypatch.setattr(api, "answer_stream", slow_answer_stream)
    with running_app(corpus_index, read_only=True) as url:
        yield url


def test_a_question_typed_while_an_answer_streams_is_kept_and_stop_ends_the_answer(browser, slow_app_url: str) -> None:
    from playwright.sync_api import expect

    with open_page(browser, slow_app_url) as page:
        answers = page.locator("#chatbot .bot-row")
        box = page.locator("#question textarea")
        notice = page.locator("#chat-notice")
        box.fill("2007年广州市专利授权量是多少？")
        box.press("Enter")
        expect(page.locator("#stop")).to_be_visible()
        expect(notice).to_contain_text("stays in the box")
        box.fill("其中发明专利有多少件？")
        box.press("Enter")  # while the first answer streams
        shot(page, "09-typed-while-streaming")
        expect(page.locator("#sources .searching")).to_have_count(0)
        expect(answers.last).to_contain_text("8524")
        expect(page.locator("#stop")).to_be_hidden()
        expect(box).to_have_value("其中发明专利有多少件？")
        assert answers.count() == 1, "the follow-up was not asked behind the user's back"

        box.press("Enter")
        expect(answers).to_have_count(2)
        expect(page.locator("#sources .searching")).to_have_count(0)
        expect(answers.last).to_contain_text("2894")
        expect(box).to_have_value("")

        box.fill("全年登记了多少项技术合同？")
        box.press("Enter")
        expect(answers).to_have_count(3)
        page.locator("#stop").click()
        expect(notice).to_contain_text("Stopped")
        expect(answers.last).to_contain_text("stopped")
        expect(page.locator("#ask")).to_be_visible()
        expect(page.locator("#sources .searching")).to_have_count(0)
        shot(page, "10-stopped")
        page.wait_for_timeout(6_000)  # longer than the whole answer would have streamed
        expect(answers.last).not_to_contain_text("169")

        ask(page, "全年登记了多少项技术合同？")
        expect(answers.last).to_contain_text("169")


def test_uploaded_files_leave_no_temporary_copy_once_added_or_refused(page, tmp_path: Path) -> None:
    from gradio.utils import get_upload_folder
    from playwright.sync_api import expect

    def temporary_copies(name: str) -> list[Path]:
        return list(Path(get_upload_folder()).rglob(name))

    unique = uuid.uuid4().hex[:8]
    added = tmp_path / f"report-{unique}.txt"
    added.write_text(UPLOADED_REPORT.replace("深圳市", "佛山市"), encoding="utf-8")
    refused = tmp_path / f"fake-{unique}.pdf"
    refused.write_text("这不是PDF文件。", encoding="utf-8")
    page.get_by_role("tab", name="Documents 文档").click()
    message = page.locator("#docs-message")
    for upload, outcome in ((added, f"Added: {added.name}"), (refused, f"{refused.name}: not a PDF file")):
        page.locator("#upload input[type=file]").set_input_files(str(upload))
        expect(page.locator("#upload")).to_contain_text(chosen(upload))
        for _ in range(100):  # Gradio moves the upload into its temporary folder in the background
            if temporary_copies(upload.name):
                break
            page.wait_for_timeout(100)
        assert temporary_copies(upload.name), f"Gradio keeps {upload.name} in {get_upload_folder()} until it is added"
        page.locator("#add-docs").click()
        expect(message).to_contain_text(outcome)
        assert not temporary_copies(upload.name), f"{upload.name} was left in {get_upload_folder()}"
        expect(page.locator("#upload")).not_to_contain_text(chosen(upload))
    page.get_by_role("tab", name="Chat 问答").click()
