"""Shared fixtures: the real embedding model, a real Chroma index in a temporary folder."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Config, build_index
from assistant.config import DEFAULT_CORPUS_DIR
from bench.servers import chroma_server, free_port, wait_for_chroma

from .fakes import fake_config

TESTS_DIR = Path(__file__).parent
DEV_QA = TESTS_DIR / "dev_qa.jsonl"


def require(available: bool, what: str) -> None:
    """Skip a test whose tool is missing on a developer's machine; under CI (CI=true) fail it instead."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing, and CI runs every test", pytrace=False)
    pytest.skip(f"needs {what}")


def require_module(name: str, what: str) -> None:
    require(importlib.util.find_spec(name) is not None, what)


def mount_namespace() -> list[str]:
    """The command prefix of a private mount namespace (as root, or through a user namespace)."""
    command = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    works = (
        shutil.which("unshare") is not None and subprocess.run([*command, "true"], capture_output=True).returncode == 0
    )
    require(works, "`unshare` with mount namespaces")
    return command


@pytest.fixture(scope="session")
def base_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Default settings (real model from the user cache), extractive answers, a temporary index."""
    return Config.from_env(index_dir=tmp_path_factory.mktemp("index"), llm="none")


@pytest.fixture()
def fake_index_config(tmp_path: Path) -> Config:
    """An empty index of the test's own, embedded by the fake embedder: for the quick tests of rules."""
    return fake_config(Config.from_env(index_dir=tmp_path / "index"))


@pytest.fixture(scope="session")
def corpus_index(base_config: Config) -> Config:
    """The bundled report, indexed once for the whole session."""
    build_index([DEFAULT_CORPUS_DIR], config=base_config)
    return base_config


@pytest.fixture()
def fresh_config(base_config: Config, tmp_path: Path) -> Config:
    """Settings with an empty index folder of the test's own."""
    return base_config.replace(index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server `.ci/run` started (ASSISTANT_TEST_CHROMA_URL), or one of the session's own."""
    given = os.environ.get("ASSISTANT_TEST_CHROMA_URL")
    if given:
        wait_for_chroma(given)
        yield given
        return
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as (url, _process):
        yield url


@pytest.fixture(params=["embedded", "server"])
def store_config(request: pytest.FixtureRequest, fresh_config: Config) -> Config:
    """An empty index in an embedded Chroma folder, or under a fresh name on a real Chroma server."""
    if request.param == "embedded":
        return fresh_config
    url = request.getfixturevalue("chroma_url")
    return fresh_config.replace(chroma_url=url, chroma_index=f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus, for tests that edit documents."""
    folder = tmp_path / "docs"
    shutil.copytree(DEFAULT_CORPUS_DIR, folder)
    return folder


def dev_questions() -> list[dict]:
    return [json.loads(line) for line in DEV_QA.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextlib.contextmanager
def running_app(config: Config, **options: object) -> Iterator[str]:
    """The real Gradio app on a free loopback port; yields its URL."""
    import ui

    port = free_port()
    demo = ui.build_app(config, **options)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
