"""The command line, run as a user runs it: real processes, JSON output, clean errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Config
from bench.servers import free_port

from .conftest import DEV_QA


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


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [("ASSISTANT_TOP_K", "abc", "a whole number"), ("ASSISTANT_DENSE_WEIGHT", "heavy", "a number")],
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
