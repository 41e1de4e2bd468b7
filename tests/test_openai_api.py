"""The OpenAI-compatible API at /v1, through the official openai client and LangChain's ChatOpenAI,
against the real server (page and API in one process) on the real index."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

import ui
from assistant import Config, answer
from assistant.answer_queue import RETRY_AFTER_S, AnswerQueue, QueueFull
from assistant.logins import LOGIN_FAILURES
from assistant.openai_api import MODELS, ApiError, ChatMessage, question_and_history
from bench.servers import cli_env, free_port, wait_http

PATENTS = "2007年广州市专利授权量是多少？"
INVENTIONS = "其中发明专利有多少件？"
CONTRACTS = "全年登记了多少项技术合同？"
EXEMPTION = "总免税额呢？"
NOT_COVERED = "2007年广州市的GDP是多少？"
EXTRACTIVE = "report-assistant-extractive"


@contextlib.contextmanager
def running_server(config: Config, **options: object) -> Iterator[tuple[str, ui.AssistantApp]]:
    """What `assistant chat` serves (ui.start), on a free loopback port; yields its URL and app."""
    port = free_port()
    demo = ui.start(config, port=port, block=False, quiet=True, **options)
    try:
        yield f"http://127.0.0.1:{port}", demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def server(corpus_index: Config) -> Iterator[tuple[str, ui.AssistantApp]]:
    with running_server(corpus_index) as running:
        yield running


@pytest.fixture(scope="module")
def url(server: tuple[str, ui.AssistantApp]) -> str:
    return server[0]


def client(url: str, key: str = "unused") -> openai.OpenAI:
    # No retries: a refusal must reach the test as it was sent.
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def ask(url: str, *messages: dict, model: str = EXTRACTIVE, **options: object):
    return client(url).chat.completions.create(model=model, messages=list(messages), **options)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


# ---------------------------------------------------------------------------------------------
# Answers


def test_assistant_chat_serves_the_page_and_the_api_on_one_port(corpus_index: Config) -> None:
    port = free_port()
    command = [str(Path(sys.executable).with_name("assistant")), "chat", "--port", str(port)]
    process = subprocess.Popen(command, env=cli_env(corpus_index), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/v1/models", timeout=180)
        assert "Report assistant" in httpx.get(f"{url}/", timeout=30).text
        assert "8524" in ask(url, user(PATENTS)).choices[0].message.content
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_models_are_the_answer_modes(url: str) -> None:
    assert [m.id for m in client(url).models.list()] == list(MODELS)
    assert client(url).models.retrieve("report-assistant-llm").id == "report-assistant-llm"


def test_a_question_is_answered_with_its_cited_sources(url: str, corpus_index: Config) -> None:
    reply = ask(url, user(PATENTS))
    text = reply.choices[0].message.content
    assert text == answer(PATENTS, config=corpus_index, mode="extractive").text
    assert "8524" in text and "[1]" in text
    assert reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra
    assert extra["found"] is True and extra["answer_mode"] == "extractive"
    cited = extra["sources"][0]  # [1]
    assert {"doc", "section", "text", "highlight", "score"} <= set(cited)
    assert "8524" in cited["highlight"] and cited["highlight"] in cited["text"]
    # No model ran: no invented token counts, and the response says why.
    assert reply.usage is None and "no language model ran" in extra["usage_note"]


def test_a_streamed_answer_is_the_same_answer_in_chunks_ending_with_sources(url: str) -> None:
    whole = ask(url, user(PATENTS))
    chunks = list(ask(url, user(PATENTS), stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["found"] is True
    assert last.model_extra["sources"] == whole.model_extra["sources"]
    assert all(c.object == "chat.completion.chunk" and c.id == last.id for c in chunks)

    # On the wire: server-sent events ending with [DONE]; include_usage adds OpenAI's usage chunk.
    body = {"model": EXTRACTIVE, "messages": [user(PATENTS)], "stream": True, "stream_options": {"include_usage": True}}
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=120)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == [] and usage_chunk["usage"] is None and usage_chunk["usage_note"]


def test_a_follow_up_is_read_against_the_conversation(url: str) -> None:
    first = ask(url, user(PATENTS)).choices[0].message.content
    follow_up = ask(url, user(PATENTS), assistant(first), user(INVENTIONS))
    assert "专利授权" in follow_up.model_extra["condensed_question"]
    assert "2894" in follow_up.choices[0].message.content
    alone = ask(url, user(INVENTIONS))  # the same words without the history are read as they stand
    assert alone.model_extra["condensed_question"] == INVENTIONS
    # A system prompt (as chat front ends send) and list-of-parts content change nothing.
    parts = {"role": "user", "content": [{"type": "text", "text": INVENTIONS}]}
    framed = ask(url, {"role": "system", "content": "You are helpful."}, user(PATENTS), assistant(first), parts)
    assert framed.choices[0].message.content == follow_up.choices[0].message.content


def test_a_question_the_documents_do_not_cover_is_refused(url: str, corpus_index: Config) -> None:
    reply = ask(url, user(NOT_COVERED))
    assert reply.model_extra["found"] is False
    refusal = answer(NOT_COVERED, config=corpus_index, mode="extractive")
    assert reply.choices[0].message.content == refusal.text
    assert not any(ch.isdigit() for ch in reply.choices[0].message.content)
    assert all(not s["highlight"] for s in reply.model_extra["sources"])


def test_langchain_chat_openai_asks_streams_and_follows_up(url: str) -> None:
    chat = ChatOpenAI(model=EXTRACTIVE, base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
    reply = chat.invoke(PATENTS)
    assert "8524" in reply.content
    assert "".join(str(chunk.content) for chunk in chat.stream(PATENTS)) == reply.content
    follow_up = chat.invoke([HumanMessage(PATENTS), AIMessage(reply.content), HumanMessage(INVENTIONS)])
    assert "2894" in follow_up.content


def test_two_clients_at_once_keep_their_own_conversations(url: str) -> None:
    both_asked = threading.Barrier(2, timeout=120)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def conversation(first: str, follow_up: str) -> None:
        try:
            opening = ask(url, user(first)).choices[0].message.content
            both_asked.wait()
            reply = ask(url, user(first), assistant(opening), user(follow_up))
            results[first] = [opening, reply.choices[0].message.content, reply.model_extra["condensed_question"]]
        except BaseException as exc:
            errors.append(exc)
            both_asked.abort()

    threads = [
        threading.Thread(target=conversation, args=(CONTRACTS, EXEMPTION)),
        threading.Thread(target=conversation, args=(PATENTS, INVENTIONS)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    opening, follow_up, condensed = results[CONTRACTS]
    assert "169" in opening and "1200" in follow_up and "技术合同" in condensed and "专利" not in condensed
    opening, follow_up, condensed = results[PATENTS]
    assert "8524" in opening and "2894" in follow_up and "专利授权" in condensed and "技术合同" not in condensed


@pytest.mark.llm
def test_the_model_reads_in_llm_mode_and_its_own_token_counts_are_given(corpus_index: Config) -> None:
    with running_server(corpus_index.replace(llm=Config().llm)) as (url, _):
        reply = ask(url, user(PATENTS), model="report-assistant-llm")
    assert reply.model_extra["found"] is True and "8524" in reply.choices[0].message.content
    assert "usage_note" not in reply.model_extra
    usage = reply.usage
    assert usage.prompt_tokens > 50 and 0 < usage.completion_tokens <= Config().llm_max_answer_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


# ---------------------------------------------------------------------------------------------
# Bad requests


def post_raw(url: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions", content=body, headers={"Content-Type": "application/json", **headers}, timeout=60
    )


def assert_openai_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert words in error["message"] and error["type"]
    assert "Traceback" not in response.text


def test_malformed_json_and_wrong_shapes_are_400s(url: str) -> None:
    assert_openai_error(post_raw(url, b'{"model": "report-assistant", "messages": ['), 400, "not valid JSON")
    assert_openai_error(post_raw(url, b"\xff\xfe{}"), 400, "not UTF-8")
    assert_openai_error(post_raw(url, b"[1, 2]"), 400, "JSON object")
    assert_openai_error(post_raw(url, json.dumps({"model": EXTRACTIVE}).encode()), 400, "messages")
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    body = {"model": EXTRACTIVE, "messages": [{"role": "user", "content": [image]}]}
    assert_openai_error(post_raw(url, json.dumps(body).encode()), 400, "only text questions")


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([{"role": "system", "content": "Answer briefly."}], "no user message"),
        ([], "no user message"),
        ([user(PATENTS), assistant("8524")], "must end with the user's question"),
        ([user("   ")], "question is empty"),
        ([user("专利" * 5000)], "too long"),
    ],
)
def test_a_conversation_without_a_usable_question_is_a_400(url: str, messages: list[dict], words: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(url, *messages)
    assert words in caught.value.message


def test_an_unknown_model_is_a_404_naming_the_models(url: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        ask(url, user(PATENTS), model="gpt-4o")
    assert caught.value.code == "model_not_found" and "report-assistant-extractive" in caught.value.message


def test_a_body_over_the_size_limit_is_a_413(url: str, corpus_index: Config) -> None:
    history = [user("专利" * 300), assistant("…")] * (corpus_index.max_request_bytes // 1000)
    with pytest.raises(openai.APIStatusError) as caught:
        ask(url, *history, user(PATENTS))
    assert caught.value.status_code == 413
    assert f"larger than {corpus_index.max_request_bytes} bytes" in caught.value.message
    assert ask(url, user(PATENTS)).model_extra["found"] is True  # the server carries on


def test_llm_mode_without_a_model_says_which_mode_to_use(url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(url, user(PATENTS), model="report-assistant-llm")
    assert "use mode 'extractive'" in caught.value.message


def test_conversation_rules() -> None:
    messages = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content=PATENTS)]
    messages += [ChatMessage(role="assistant", content="8524件 [1]"), ChatMessage(role="user", content=INVENTIONS)]
    question, history = question_and_history(messages)
    assert question == INVENTIONS
    assert history == [{"role": "user", "content": PATENTS}, {"role": "assistant", "content": "8524件 [1]"}]
    with pytest.raises(ApiError, match="unknown role"):
        question_and_history([ChatMessage(role="narrator", content="x"), ChatMessage(role="user", content="y")])


# ---------------------------------------------------------------------------------------------
# Logins, the shared line of questions, read-only


def test_keys_and_page_logins_open_the_api_and_guessing_pauses_both(corpus_index: Config) -> None:
    config = corpus_index.replace(api_keys="key-one, key-two")
    with running_server(config, auth=[("alice", "pw-a")]) as (url, _):
        for refused in ("key-three", "alice:wrong"):
            with pytest.raises(openai.AuthenticationError) as caught:
                client(url, refused).models.list()
            assert caught.value.code == "invalid_api_key"
        for key in ("key-two", "alice:pw-a"):
            reply = client(url, key).chat.completions.create(model=EXTRACTIVE, messages=[user(PATENTS)])
            assert "8524" in reply.choices[0].message.content
        bare = httpx.get(f"{url}/v1/models", timeout=30)
        assert bare.status_code == 401 and "Authorization: Bearer" in bare.json()["error"]["message"]

        for guess in range(LOGIN_FAILURES):
            with pytest.raises(openai.AuthenticationError):
                client(url, f"guess-{guess}").models.list()
        with pytest.raises(openai.RateLimitError) as caught:
            client(url, "key-one").models.list()  # even the right key, until the pause ends
        assert int(caught.value.response.headers["Retry-After"]) > 0
        page_login = httpx.post(f"{url}/login", data={"username": "alice", "password": "pw-a"}, timeout=30)
        assert page_login.status_code == 429  # the page heard of the guesses


def test_a_full_line_is_a_429_with_retry_after_for_the_api_and_busy_for_the_page(corpus_index: Config) -> None:
    config = corpus_index.replace(answer_concurrency=1, answer_queue_size=0)
    with running_server(config) as (url, demo):
        page = Client(f"{url}/", verbose=False)
        with demo.answer_queue.turn():  # the one slot is taken, and no place is left in line
            with pytest.raises(openai.RateLimitError) as caught:
                ask(url, user(PATENTS))
            assert caught.value.response.headers["Retry-After"] == str(RETRY_AFTER_S)
            assert caught.value.code == "rate_limit_exceeded"
            with pytest.raises(AppError, match="busy"):
                page.predict(PATENTS, "extractive", api_name="/ask")
        assert "8524" in ask(url, user(PATENTS)).choices[0].message.content
        assert "8524" in page.predict(PATENTS, "extractive", api_name="/ask")["answer"]


def test_a_client_that_goes_while_waiting_gives_up_its_place(corpus_index: Config) -> None:
    config = corpus_index.replace(answer_concurrency=1, answer_queue_size=1)
    with running_server(config) as (url, demo):
        queue = demo.answer_queue
        with queue.turn():
            with open_request(url, {"model": EXTRACTIVE, "messages": [user(PATENTS)], "stream": True}):
                assert wait_until(lambda: queue.waiting == 1), "the request never joined the line"
            assert wait_until(lambda: queue.waiting == 0), "a gone client kept its place"
        assert queue.running == 0
        assert "8524" in ask(url, user(PATENTS)).choices[0].message.content


def test_a_client_that_disconnects_stops_the_model_generating(corpus_index: Config) -> None:
    """A model server that streams slowly stands in for a long generation; the client leaves mid-way."""
    model = SlowModelServer(tokens=400)
    try:
        config = corpus_index.replace(llm=f"openai:slow@{model.url}/v1")
        with running_server(config) as (url, demo):
            body = {"model": "report-assistant-llm", "messages": [user(PATENTS)], "stream": True}
            with open_request(url, body):
                assert model.started.wait(120), "the model was never asked"
            assert model.ended.wait(60), "the model kept generating after the client left"
            assert model.sent < model.tokens
            assert wait_until(lambda: demo.answer_queue.running == 0)
    finally:
        model.close()


def test_read_only_still_answers_and_takes_no_uploads(corpus_index: Config) -> None:
    with running_server(corpus_index, read_only=True) as (url, _):
        assert "8524" in ask(url, user(PATENTS)).choices[0].message.content
        upload = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", b"x")}, timeout=30)
        assert upload.status_code == 403


def test_the_answer_line_counts_running_and_waiting_questions() -> None:
    queue = AnswerQueue(concurrency=1, queue_size=1)
    running = queue.join()
    assert running.wait()
    waiting = queue.join()
    with pytest.raises(QueueFull):
        queue.join()
    waiting.abandon()
    assert (queue.running, queue.waiting) == (1, 0)
    stop = threading.Event()
    stop.set()
    assert not queue.join().wait(stop)  # a stopped question leaves the line instead of waiting
    running.leave()
    running.leave()  # twice is harmless
    assert (queue.running, queue.waiting) == (0, 0)


# ---------------------------------------------------------------------------------------------
# Helpers


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextlib.contextmanager
def open_request(url: str, body: dict) -> Iterator[socket.socket]:
    """A chat-completions request sent on a raw socket, which is closed (the client gone) on exit."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        connection.sendall(head.encode() + payload)
        yield connection


class SlowModelServer:
    """An OpenAI-compatible model server that streams one token every 50 ms and notes when its client goes."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.sent = 0
        self.started = threading.Event()
        self.ended = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                owner.started.set()
                try:
                    for _ in range(owner.tokens):
                        chunk = {
                            "id": "slow",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": "slow",
                            "choices": [{"index": 0, "delta": {"content": "专"}, "finish_reason": None}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        owner.sent += 1
                        time.sleep(0.05)
                    self.wfile.write(b"data: [DONE]\n\n")
                except OSError:  # the assistant closed the stream: generation stopped
                    pass
                finally:
                    owner.ended.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
