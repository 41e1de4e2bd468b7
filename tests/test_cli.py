"""The command line, run as a user runs it: real processes, JSON output, clean errors."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant import Config
from bench.servers import free_port

from .conftest import DEV_QA, mount_namespace


def run_cli(
    *args: str | bytes, config: Config, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(config.index_dir), "ASSISTANT_LLM": "none", **(env or {})}
    process = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert "Traceback" not in process.stderr, process.stderr
    if check:
        assert process.returncode == 0, process.stderr
    return process


def test_ask_json(corpus_index: Config) -> None:
    result = json.loads(run_cli("ask", "2007年广州市专利授权量是多少？", "--json", config=corpus_index).stdout)
    assert result["found"] is True and "8524" in result["text"]
    assert "8524" in result["sources"][0]["text"]
    assert set(result["timings"]) >= {"retrieve", "total"}


def test_ask_prints_answer_and_sources(corpus_index: Config) -> None:
    out = run_cli("ask", "技术合同总金额大约是多少？", "--mode", "extractive", config=corpus_index).stdout
    assert "2.6亿元" in out.splitlines()[0]
    assert "[1] guangzhou-ip-office-2007-work-summary.txt" in out


def test_index_status_json(corpus_index: Config) -> None:
    status = json.loads(run_cli("index", "status", "--json", config=corpus_index).stdout)
    assert status["exists"] and status["chunks"] > 0 and status["dimension"] == 384
    assert status["documents"][0]["doc_id"] == "guangzhou-ip-office-2007-work-summary.txt"


def test_eval_json(corpus_index: Config, tmp_path: Path) -> None:
    subset = tmp_path / "qa.jsonl"
    subset.write_text("\n".join(DEV_QA.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    report = json.loads(run_cli("eval", str(subset), "--json", config=corpus_index).stdout)
    assert report["questions"] == 3 and report["accuracy"] == 1.0
    assert report["latency_p50_s"] > 0


def test_build_add_remove(fresh_config: Config, tmp_path: Path) -> None:
    doc = tmp_path / "city.md"
    doc.write_text("# 某市2010年统计公报\n\n全市常住人口达到1,270万人。", encoding="utf-8")
    built = run_cli("index", "build", str(doc), config=fresh_config)
    assert "added 1" in built.stdout
    answer = json.loads(run_cli("ask", "某市常住人口达到多少？", "--json", config=fresh_config).stdout)
    assert "1,270万人" in answer["text"] or "1270万人" in answer["text"]
    removed = run_cli("index", "remove", "city.md", config=fresh_config)
    assert "removed 1" in removed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("index", "build", "/no/such/folder"), "No such file or folder"),
        (("ask", ""), "empty"),
        (("eval", "/no/such.jsonl"), "No such question file"),
    ],
)
def test_user_mistakes_exit_2_with_a_message(corpus_index: Config, args: tuple[str, ...], message: str) -> None:
    process = run_cli(*args, config=corpus_index, check=False)
    assert process.returncode == 2
    assert process.stderr.startswith("error: ") and message in process.stderr


def test_ask_without_an_index_says_how_to_build(fresh_config: Config) -> None:
    process = run_cli("ask", "专利授权量是多少？", config=fresh_config, check=False)
    assert process.returncode == 2 and "assistant index build" in process.stderr


def test_build_skips_an_unreadable_file_and_strict_refuses(fresh_config: Config, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "city.md").write_text("# 某市2010年统计公报\n\n全市常住人口达到1,270万人。", encoding="utf-8")
    (docs / "x.pdf").write_bytes(b"%PDF-1.4\n\x00\x13 garbage \xff\xfe no objects, no trailer")
    refused = run_cli("index", "build", str(docs), "--strict", config=fresh_config, check=False)
    error = refused.stderr.splitlines()[-1]  # after pypdf's own warnings
    assert (
        refused.returncode == 2
        and error.startswith("error: ")
        and "x.pdf: the PDF is damaged or uses features that cannot be read (" in error
    )
    built = run_cli("index", "build", str(docs), config=fresh_config)
    assert "added 1" in built.stdout
    assert "skipped 1: x.pdf: the PDF is damaged or uses features that cannot be read (" in built.stdout


def test_rebuild_advice_rebuilds_the_same_documents(
    fresh_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "city.md"
    doc.write_text("# 某市2010年统计公报\n\n全市常住人口达到1,270万人。", encoding="utf-8")
    run_cli("index", "build", str(doc), config=fresh_config)
    monkeypatch.setenv("ASSISTANT_CHUNK_SIZE", "200")
    refused = run_cli("ask", "某市常住人口达到多少？", config=fresh_config, check=False)
    assert refused.returncode == 2 and "Rebuild it with `assistant index build --rebuild`" in refused.stderr
    rebuilt = run_cli("index", "build", "--rebuild", config=fresh_config)
    assert "added 0, updated 1, removed 0" in rebuilt.stdout
    status = json.loads(run_cli("index", "status", "--json", config=fresh_config).stdout)
    assert status["chunk_size"] == 200 and [d["doc_id"] for d in status["documents"]] == ["city.md"]


def test_a_damaged_index_is_an_error_and_the_advice_repairs_it(fresh_config: Config, tmp_path: Path) -> None:
    doc = tmp_path / "city.md"
    doc.write_text("# 某市2010年统计公报\n\n全市常住人口达到1,270万人。", encoding="utf-8")
    run_cli("index", "build", str(doc), config=fresh_config)
    generation = (fresh_config.index_dir / "CURRENT").read_text(encoding="utf-8")
    database = fresh_config.index_dir / generation / "chroma" / "chroma.sqlite3"
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 2])
    refused = run_cli("ask", "某市常住人口达到多少？", config=fresh_config, check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: the index at {fresh_config.index_dir} is damaged (")
    assert "; run `assistant index build --rebuild` to rebuild it from its documents" in refused.stderr
    run_cli("index", "build", "--rebuild", config=fresh_config)
    assert "1,270万人" in run_cli("ask", "某市常住人口达到多少？", config=fresh_config).stdout


def test_an_index_option_naming_a_file_is_an_error(fresh_config: Config, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an index", encoding="utf-8")
    for args in (("ask", "某市常住人口达到多少？"), ("index", "status"), ("index", "build", str(notes))):
        refused = run_cli(*args, "--index", str(notes), config=fresh_config, check=False)
        assert (
            refused.returncode == 2
            and refused.stderr == f"error: {notes} is a file, not an index folder; choose a folder for the index.\n"
        )


def test_a_read_only_index_still_answers(fresh_config: Config, tmp_path: Path) -> None:
    namespace = mount_namespace()  # for a read-only bind mount
    doc = tmp_path / "city.md"
    doc.write_text("# 某市2010年统计公报\n\n全市常住人口达到1,270万人。", encoding="utf-8")
    run_cli("index", "build", str(doc), config=fresh_config)
    index = str(fresh_config.index_dir)
    cache = tmp_path / "cache"  # the test's own cache, sharing the user's models
    cache.mkdir()
    (cache / "models").symlink_to(fresh_config.models_dir)
    script = (
        f'mount --bind "{index}" "{index}" && mount -o remount,ro,bind "{index}"'
        f' && ! touch "{index}/probe" 2>/dev/null && exec "$@"'
    )

    def read_only(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*namespace, "sh", "-c", script, "sh", sys.executable, "-m", "assistant.cli", *args],
            env={
                **os.environ,
                "ASSISTANT_INDEX_DIR": index,
                "ASSISTANT_CACHE_DIR": str(cache),
                "ASSISTANT_LLM": "none",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )

    asked = read_only("ask", "某市常住人口达到多少？", "--json")
    assert asked.returncode == 0, asked.stderr
    assert "1,270万人" in json.loads(asked.stdout)["text"]
    assert list((cache / "read-only-index").glob("*/gen-*/chroma.sqlite3")), "answered from a copy in the cache"
    built = read_only("index", "build", str(doc))
    assert built.returncode == 2 and built.stderr == (
        f"error: Cannot write in {index} (Read-only file system); build the index in a folder you can write to.\n"
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ASSISTANT_TOP_K", "abc", "a whole number"),
        ("ASSISTANT_DENSE_WEIGHT", "heavy", "a number"),
        ("ASSISTANT_LLM_REPACK_WEIGHTS", "maybe", "1 or 0"),
    ],
)
def test_a_setting_of_the_wrong_type_is_an_error_naming_it(
    corpus_index: Config, variable: str, value: str, expected: str
) -> None:
    process = run_cli("ask", "专利授权量是多少？", config=corpus_index, check=False, env={variable: value})
    assert process.returncode == 2
    assert process.stderr.startswith(f"error: {variable} must be {expected}"), process.stderr
    assert repr(value) in process.stderr


def test_a_question_that_is_not_utf8_is_an_error(corpus_index: Config) -> None:
    process = run_cli("ask", b"\xff\xfe", config=corpus_index, check=False)
    assert process.returncode == 2
    assert process.stderr.startswith("error: The question is not UTF-8 text"), process.stderr
    assert process.stdout == ""


def test_an_auth_file_that_is_not_utf8_is_an_error(corpus_index: Config, tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_bytes("alice:mot-de-passe-été\n".encode("latin-1"))
    process = run_cli("chat", "--port", str(free_port()), "--auth-file", str(logins), config=corpus_index, check=False)
    assert process.returncode == 2
    assert process.stderr.startswith(f"error: The auth file {logins} is not UTF-8 text"), process.stderr


def test_a_chat_port_in_use_is_an_error_naming_it(corpus_index: Config) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = run_cli("chat", "--port", str(port), config=corpus_index, check=False)
    assert process.returncode == 2
    assert process.stderr.startswith(f"error: Port {port} on 127.0.0.1 is already in use"), process.stderr
    assert "--port" in process.stderr


class _LyingChatServer(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat server whose every reply is a wrong figure with a citation, streamed or not."""

    LIE = "[1] 99999件"

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        common = {"id": "x", "created": 0, "model": "liar"}
        if request.get("stream"):
            chunks = [
                {"index": 0, "delta": {"role": "assistant", "content": self.LIE}, "finish_reason": None},
                {"index": 0, "delta": {}, "finish_reason": "stop"},
            ]
            events = [{**common, "object": "chat.completion.chunk", "choices": [c]} for c in chunks]
            body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"
            content_type = "text/event-stream"
        else:
            choice = {"index": 0, "message": {"role": "assistant", "content": self.LIE}, "finish_reason": "stop"}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            body = json.dumps({**common, "object": "chat.completion", "choices": [choice], "usage": usage}).encode()
            content_type = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("mode", ["llm", "auto"])
def test_a_model_that_answers_a_wrong_figure_is_never_shown(corpus_index: Config, mode: str) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingChatServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        llm = f"openai:liar@http://127.0.0.1:{server.server_address[1]}/v1"
        env = {"ASSISTANT_LLM": llm, "OPENAI_API_KEY": "test"}
        shown = run_cli("ask", "2007年广州市专利授权量是多少？", "--mode", mode, config=corpus_index, env=env).stdout
        assert "99999" not in shown and "8524" in shown
        result = json.loads(run_cli("ask", "专利授权量是多少？", "--json", config=corpus_index, env=env).stdout)
        assert "99999" not in result["text"] and "8524" in result["text"]
        # The model was asked and its reply refused, rather than never reached.
        asked = ["ask", "专利授权量是多少？", "--json", "--mode", "llm"]
        refused = json.loads(run_cli(*asked, config=corpus_index, env=env).stdout)
        assert any(c.startswith("model reading rejected") for c in refused["checks"]), refused["checks"]
        # A weak reading (its subject two clauses before the figure) that the model did not confirm is refused.
        weak = json.loads(run_cli("ask", "2007年专利申请总量达到多少？", "--json", config=corpus_index, env=env).stdout)
        assert not weak["found"] and "an unconfirmed weak reading: refused" in weak["checks"], weak["checks"]
    finally:
        server.shutdown()
