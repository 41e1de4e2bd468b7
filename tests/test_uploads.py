"""Uploads through Gradio's real upload route: a read-only page takes none."""

from __future__ import annotations

import httpx

from assistant import Config

from .conftest import running_app

REPORT = "全年登记技术合同3176项。\n".encode()


def upload(url: str) -> httpx.Response:
    return httpx.post(f"{url}gradio_api/upload", files={"files": ("report.txt", REPORT, "text/plain")}, timeout=30)


def test_a_read_only_page_takes_no_uploads(corpus_index: Config) -> None:
    with running_app(corpus_index, read_only=True) as url:
        refused = upload(url)
        assert refused.status_code == 403 and "read-only" in refused.text
        assert httpx.post(f"{url}gradio_api/upload/", files={"files": ("a.txt", REPORT)}, timeout=30).status_code == 403
        assert httpx.get(url, timeout=30).status_code == 200, "the page itself is served"


def test_the_full_page_takes_uploads(corpus_index: Config) -> None:
    with running_app(corpus_index) as url:
        stored = upload(url)
        assert stored.status_code == 200
        assert stored.json()[0].endswith("report.txt")
