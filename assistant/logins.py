"""Who may use a served assistant: page logins, API keys, and the pause for a client guessing passwords.

The chat page and the OpenAI-compatible API accept the same logins and share one record of failed
attempts, so a client cannot guess through one front end after the other has paused it.
"""

from __future__ import annotations

import hmac
import math
import os
import threading
import time
from pathlib import Path

from .config import Config
from .errors import ConfigError

LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
LOGIN_LOCKOUT_S = 300.0


def read_auth(auth_file: str | Path | None = None) -> list[tuple[str, str]] | None:
    """Logins from `user:password` lines in auth_file, else from $ASSISTANT_AUTH="user:pass,user2:pass2"."""
    if auth_file:
        path = Path(auth_file).expanduser()
        try:  # utf-8-sig: an editor's byte order mark must not become part of the first user name
            entries = path.read_text(encoding="utf-8-sig").splitlines()
        except OSError as exc:
            raise ConfigError(f"Cannot read the auth file {path}: {exc.strerror}.") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"The auth file {path} is not UTF-8 text: save it as UTF-8.") from None
        source = str(path)
    elif os.environ.get("ASSISTANT_AUTH", "").strip():
        entries = os.environ["ASSISTANT_AUTH"].split(",")
        source = "ASSISTANT_AUTH"
    else:
        return None
    logins = []
    for number, entry in enumerate(entries, start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(f"{source}: entry {number} is not of the form user:password.")
        logins.append((user.strip(), password))
    if not logins:
        raise ConfigError(f"{source} holds no user:password entries.")
    return logins


def read_api_keys(config: Config) -> list[str]:
    """The API keys of `config.api_keys` (ASSISTANT_API_KEYS="key1,key2"); a key may not hold spaces."""
    keys = [key.strip() for key in config.api_keys.split(",") if key.strip()]
    for number, key in enumerate(keys, start=1):
        if any(character.isspace() for character in key):
            raise ConfigError(f"ASSISTANT_API_KEYS: key {number} holds a space; keys are separated by commas.")
    return keys


class Credentials:
    """The logins and API keys a server accepts; with neither, it is open (loopback use)."""

    def __init__(self, logins: list[tuple[str, str]] | None, api_keys: list[str]) -> None:
        self.logins = dict(logins or [])
        self.api_keys = list(api_keys)

    @property
    def required(self) -> bool:
        return bool(self.logins or self.api_keys)

    def accepts_key(self, key: str) -> bool:
        """An API key, or `user:password` of a page login (what an OpenAI client can send as its key)."""
        matched = False
        for known in self.api_keys:  # every key compared in constant time: no early exit to time
            matched |= hmac.compare_digest(key.encode(), known.encode())
        user, sep, password = key.partition(":")
        return matched or (bool(sep) and self.accepts_login(user, password))

    def accepts_login(self, user: str, password: str) -> bool:
        known = self.logins.get(user)
        return known is not None and hmac.compare_digest(password.encode(), known.encode())


class FailedLogins:
    """A client that fails LOGIN_FAILURES logins within LOGIN_WINDOW_S seconds is refused for
    LOGIN_LOCKOUT_S seconds, so passwords and keys cannot be guessed at network speed.

    Clients are told apart by address; behind a proxy, run the server with the proxy's forwarded headers.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}  # client -> times of its recent failed logins
        self._locked_until: dict[str, float] = {}

    def wait_seconds(self, client: str) -> int:
        """How long the client must wait before its next login is heard (0: it may log in now)."""
        with self._lock:
            remaining = self._locked_until.get(client, 0.0) - time.monotonic()
            if remaining <= 0:
                self._locked_until.pop(client, None)
                return 0
            return math.ceil(remaining)

    def record(self, client: str, *, succeeded: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if succeeded:
                self._failures.pop(client, None)
                return
            recent = [t for t in self._failures.get(client, []) if now - t < LOGIN_WINDOW_S] + [now]
            if len(recent) >= LOGIN_FAILURES:
                self._locked_until[client] = now + LOGIN_LOCKOUT_S
                self._failures.pop(client, None)
            else:
                self._failures[client] = recent


def too_many_failures_message(wait: int) -> str:
    return f"Too many failed logins: try again in {wait} seconds."
