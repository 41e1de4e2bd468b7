"""A short load test: concurrent script clients on the real chat page while the index is rebuilt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from assistant import Config, build_index
from bench.generate_corpus import generate
from bench.load import run_load
from bench.servers import cli_env

from .conftest import running_app


def test_concurrent_clients_get_answers_while_the_index_is_rebuilt(fresh_config: Config, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    facts = generate(docs, docs=8)
    build_index([docs], config=fresh_config)
    questions = [{"question": f.question, "value": f.value} for f in facts]

    def rebuild() -> None:
        subprocess.run(
            [sys.executable, "-m", "assistant.cli", "index", "build", "--rebuild", str(docs)],
            env=cli_env(fresh_config),
            check=True,
            capture_output=True,
            timeout=300,
        )

    before = (fresh_config.index_dir / "CURRENT").read_text()
    with running_app(fresh_config) as url:
        result = run_load(url, questions, clients=6, per_client=8, midway=rebuild, timeout=300)
    summary = result.summary()
    assert summary["errors"] == 0, json.dumps(summary, ensure_ascii=False)
    assert summary["answered"] == 48 and summary["midway_error"] is None
    assert summary["answered_during_midway"] > 0, summary
    assert summary["correct"] >= 46, summary  # the generated facts are answered, during the rebuild too
    assert (fresh_config.index_dir / "CURRENT").read_text() != before, "the rebuild published a new generation"
