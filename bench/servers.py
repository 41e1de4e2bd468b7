"""Processes on loopback for benchmarks and tests: free ports, a real Chroma server, CLI environments."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from assistant.config import Config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120) -> None:
    """Until `url` answers; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for_chroma(url: str, timeout: float = 60) -> None:
    wait_http(f"{url}/api/v2/heartbeat", timeout)


@contextlib.contextmanager
def chroma_server(data_dir: Path, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real Chroma server (the `chroma` command of the chromadb package) on loopback."""
    port = port or free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_chroma(url)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def cli_env(config: Config) -> dict[str, str]:
    """The environment that makes an `assistant` subprocess use the same index as `config`, extractively."""
    return {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(config.index_dir),
        "ASSISTANT_CACHE_DIR": str(config.cache_dir),
        "ASSISTANT_LLM": "none",
        "ASSISTANT_CHROMA_URL": config.chroma_url,
        "ASSISTANT_CHROMA_INDEX": config.chroma_index,
    }
