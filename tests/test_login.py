"""Logins on the real chat server: auth files as editors save them, and HTTP posts to /login."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import ui
from assistant import Config
from assistant.errors import ConfigError
from bench.servers import free_port


@contextlib.contextmanager
def app_with_login(config: Config, auth_file: Path, **options: object) -> Iterator[str]:
    """The real Gradio app on a free loopback port, asking for the logins in `auth_file`; yields its URL."""
    port = free_port()
    demo = ui.build_app(config, **options)
    auth = ui.read_auth(auth_file)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, auth=auth)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


def log_in(url: str, user: str, password: str) -> httpx.Response:
    return httpx.post(f"{url}/login", data={"username": user, "password": password}, timeout=30)


def test_an_auth_file_saved_with_a_bom_lets_its_first_user_in(corpus_index: Config, tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_bytes("alice:first-pw\nbob:second-pw\n".encode("utf-8-sig"))
    with app_with_login(corpus_index, logins, read_only=True) as url:
        assert log_in(url, "alice", "first-pw").status_code == 200
        assert log_in(url, "bob", "second-pw").status_code == 200
        assert log_in(url, "alice", "wrong").status_code == 400


def test_an_auth_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_bytes("alice:été\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text: save it as UTF-8"):
        ui.read_auth(logins)


def test_a_client_guessing_passwords_is_refused_for_a_while(corpus_index: Config, tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_text("alice:right-pw\n", encoding="utf-8")
    with app_with_login(corpus_index, logins, read_only=True) as url:
        assert log_in(url, "alice", "right-pw").status_code == 200
        for guess in range(ui.LOGIN_FAILURES):
            assert log_in(url, "alice", f"guess-{guess}").status_code == 400
        refused = log_in(url, "alice", "right-pw")  # even the right password, until the lockout ends
        assert refused.status_code == 429
        assert "Too many failed logins" in refused.json()["detail"]
        assert 0 < int(refused.headers["Retry-After"]) <= ui.LOGIN_LOCKOUT_S


def test_failures_spread_over_successful_logins_do_not_lock_a_user_out(corpus_index: Config, tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_text("alice:right-pw\n", encoding="utf-8")
    with app_with_login(corpus_index, logins, read_only=True) as url:
        for _ in range(3):
            for _ in range(ui.LOGIN_FAILURES - 1):
                assert log_in(url, "alice", "typo").status_code == 400
            assert log_in(url, "alice", "right-pw").status_code == 200
