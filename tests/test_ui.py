"""The chat page's script endpoint, through gradio_client against the real running app."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import ui
from assistant import Config, build_index
from assistant.config import DEFAULT_CORPUS_DIR
from assistant.errors import ConfigError
from assistant.ingest import file_problem

from .conftest import running_app


@pytest.fixture(scope="module")
def app_url(corpus_index: Config):
    with running_app(corpus_index) as url:
        yield url


def client(url: str) -> Client:
    return Client(url, verbose=False)


def test_ask_answers_with_its_source(app_url: str) -> None:
    result = client(app_url).predict("2007年广州市专利授权量是多少？", api_name="/ask")
    assert result["found"] is True
    assert "8524" in result["answer"]
    assert result["mode"] == "extractive"
    assert result["sources"], "an answer comes with its sources"
    cited = result["sources"][0]
    assert "8524" in cited["text"] and "8524" in cited["highlight"]
    assert cited["doc"].endswith(".txt")


def test_sessions_keep_their_own_conversations(app_url: str) -> None:
    """Both sessions ask their first question before either asks a follow-up that leans on it.

    With one shared history, at least one follow-up would be read against the other session's
    question and its condensed question would name the wrong topic.
    """
    both_asked = threading.Barrier(2, timeout=120)
    results: dict[str, list[dict]] = {}
    errors: list[BaseException] = []

    def conversation(name: str, first: str, follow_up: str) -> None:
        try:
            session = client(app_url)
            answers = [session.predict(first, "extractive", api_name="/ask")]
            both_asked.wait()
            answers.append(session.predict(follow_up, "extractive", api_name="/ask"))
            results[name] = answers
        except BaseException as exc:
            errors.append(exc)
            both_asked.abort()

    threads = [
        threading.Thread(target=conversation, args=("contracts", "全年登记了多少项技术合同？", "总免税额呢？")),
        threading.Thread(
            target=conversation, args=("patents", "2007年广州市专利授权量是多少？", "其中发明专利有多少件？")
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors

    first, follow_up = results["contracts"]
    assert "169" in first["answer"]
    assert "技术合同" in follow_up["condensed_question"]
    assert "专利授权" not in follow_up["condensed_question"]
    assert "1200" in follow_up["answer"]

    first, follow_up = results["patents"]
    assert "8524" in first["answer"]
    assert "专利授权" in follow_up["condensed_question"]
    assert "技术合同" not in follow_up["condensed_question"]
    assert "免税" not in follow_up["condensed_question"]
    assert "2894" in follow_up["answer"]

    # A new session starts with no history at all, and /reset empties a session's history.
    fresh = client(app_url)
    assert fresh.predict("其中发明专利有多少件？", api_name="/ask")["condensed_question"] == "其中发明专利有多少件？"
    session = client(app_url)
    session.predict("2007年广州市专利授权量是多少？", api_name="/ask")
    session.predict(api_name="/reset")
    assert session.predict("其中发明专利有多少件？", api_name="/ask")["condensed_question"] == "其中发明专利有多少件？"


@pytest.mark.parametrize(
    ("question", "mode", "expected"),
    [
        ("", "auto", "question is empty"),
        ("专利" * 5000, "auto", "too long"),
        ("2007年广州市专利授权量是多少？", "llm", "No language model is configured"),
    ],
)
def test_bad_questions_get_readable_errors(app_url: str, question: str, mode: str, expected: str) -> None:
    with pytest.raises(AppError) as caught:
        client(app_url).predict(question, mode, api_name="/ask")
    message = str(caught.value)
    assert expected in message
    assert "Traceback" not in message and 'File "' not in message


def test_file_names_are_sanitised() -> None:
    assert ui.safe_filename("../../etc/passwd.txt") == "passwd.txt"
    assert ui.safe_filename("C:\\Users\\x\\报告 2010（终稿）.PDF") == "报告_2010（终稿）.pdf"
    assert ui.safe_filename(".hidden.md") == "hidden.md"
    assert ui.safe_filename("a<b>|c;rm -rf.html") == "a_b_c_rm_-rf.html"
    assert ui.safe_filename("…….txt") == "document.txt"


def test_the_page_refuses_uploads_by_the_ingest_checks_and_adds_nothing(
    fake_index_config: Config, tmp_path: Path
) -> None:
    program, blank, report = tmp_path / "setup.exe", tmp_path / "blank.txt", tmp_path / "report.txt"
    program.write_bytes(b"MZ\x90\x00")
    blank.write_bytes(b"")
    report.write_text("某市2010年工作总结\n\n全年新增公园12个。", encoding="utf-8")
    message, *_ = ui.add_files([str(program), str(blank), str(report)], fake_index_config)
    assert "Nothing was added" in message
    assert file_problem("setup.exe", 4) in message and file_problem("blank.txt", 0) in message
    assert not ui.uploads_dir(fake_index_config).exists()
    assert ui.api.index_status(config=fake_index_config)["exists"] is False


def test_logins_come_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_AUTH", raising=False)
    assert ui.read_auth(None) is None
    logins = tmp_path / "logins"
    logins.write_text("# users\nalice:s3cr:et\n\nbob:pw\n", encoding="utf-8")
    assert ui.read_auth(logins) == [("alice", "s3cr:et"), ("bob", "pw")]
    monkeypatch.setenv("ASSISTANT_AUTH", "carol:pw1, dave:pw2")
    assert ui.read_auth(None) == [("carol", "pw1"), ("dave", "pw2")]
    logins.write_text("no-colon-here\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        ui.read_auth(logins)


def test_the_page_answers_from_a_chroma_server(base_config: Config, chroma_url: str, tmp_path: Path) -> None:
    config = base_config.replace(index_dir=tmp_path / "local", chroma_url=chroma_url, chroma_index="ui-page")
    build_index([DEFAULT_CORPUS_DIR], config=config)
    with running_app(config) as url:
        result = client(url).predict("2007年广州市专利授权量是多少？", "extractive", api_name="/ask")
    assert result["found"] is True and "8524" in result["answer"]
