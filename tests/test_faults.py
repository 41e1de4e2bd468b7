"""Faults a deployment meets: a Chroma server that goes away and comes back, a disk that fills up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant import Config, IndexProblem, answer, build_index
from assistant.config import DEFAULT_CORPUS_DIR
from bench.servers import chroma_server, cli_env, free_port

from .conftest import mount_namespace

QUESTION = "2007年广州市专利授权量是多少？"


def test_server_down_is_a_clear_error_and_the_next_question_works_once_it_is_back(
    fresh_config: Config, tmp_path: Path
) -> None:
    data, port = tmp_path / "chroma", free_port()
    with chroma_server(data, port) as (url, _process):
        config = fresh_config.replace(chroma_url=url, chroma_index="outage")
        build_index([DEFAULT_CORPUS_DIR], config=config)
        assert "8524" in answer(QUESTION, config=config, mode="extractive").text

    with pytest.raises(IndexProblem, match="not reachable"):
        answer(QUESTION, config=config, mode="extractive")
    with pytest.raises(IndexProblem, match="not reachable"):
        build_index([DEFAULT_CORPUS_DIR], config=config, rebuild=True)
    cli = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", QUESTION],
        env=cli_env(config),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 2 and "not reachable" in cli.stderr and "Traceback" not in cli.stderr

    with chroma_server(data, port):
        assert "8524" in answer(QUESTION, config=config, mode="extractive").text


FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import json, subprocess, sys
    from pathlib import Path
    from assistant import Config, AssistantError, answer, build_index, index_status

    index_dir, small, big = map(Path, sys.argv[1:4])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(index_dir)], check=True)
    config = Config.from_env(index_dir=index_dir, llm="none")
    build_index([small], config=config)
    before = index_status(config=config)
    try:
        build_index([big], config=config)
        error = None
    except AssistantError as exc:
        error = str(exc)
    after = index_status(config=config)
    result = answer("深圳市全社会研发投入达到多少？", config=config, mode="extractive")
    leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(".staging")]
    print(json.dumps({"error": error, "before": before["generation"], "after": after["generation"],
                      "chunks": [before["chunks"], after["chunks"]], "answer": result.text, "leftovers": leftovers}))
    """
)


def test_full_disk_fails_cleanly_and_keeps_the_previous_index(tmp_path: Path) -> None:
    namespace = mount_namespace()  # to mount a small tmpfs in
    small = tmp_path / "small"
    small.mkdir()
    (small / "shenzhen.txt").write_text(
        "深圳市2008年科技工作总结\n\n2008年，深圳市全社会研发投入达到260亿元。", encoding="utf-8"
    )
    big = tmp_path / "big"
    big.mkdir()
    for i in range(150):
        (big / f"r{i}.txt").write_text(
            "".join(f"第{i}号报告第{j}段记录了{i * 100 + j}件事项的办理情况。" for j in range(80)), encoding="utf-8"
        )
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    run = subprocess.run(
        [*namespace, sys.executable, "-c", FULL_DISK_SCRIPT, str(index_dir), str(small), str(big)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["error"] and "disk" in outcome["error"] and "full" in outcome["error"]
    assert outcome["after"] == outcome["before"] and outcome["chunks"][0] == outcome["chunks"][1]
    assert "260亿元" in outcome["answer"]
    assert outcome["leftovers"] == []
