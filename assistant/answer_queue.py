"""One line of questions for a whole server: the chat page and the OpenAI-compatible API share it.

At most `Config.answer_concurrency` answers run at once, whichever front end asked, and at most
`Config.answer_queue_size` more wait; a question beyond that is refused at once with QueueFull
(the API answers 429 with Retry-After) rather than waiting without end.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from .config import Config
from .errors import ConfigError, QueueFull

# What a refused client is told to wait: about the time a few answers take on a busy CPU.
RETRY_AFTER_S = 10
# How often a question waiting for its turn looks whether its client has gone.
STOP_POLL_S = 0.2


class AnswerQueue:
    """A counting gate with a bounded line; threads wait in it (answers run in worker threads)."""

    def __init__(self, concurrency: int, queue_size: int) -> None:
        if concurrency < 1 or queue_size < 0:
            raise ConfigError(
                "ASSISTANT_ANSWER_CONCURRENCY must be at least 1 and ASSISTANT_ANSWER_QUEUE_SIZE at least 0."
            )
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.running = 0
        self.waiting = 0
        self._changed = threading.Condition()

    @classmethod
    def from_config(cls, config: Config) -> AnswerQueue:
        return cls(config.answer_concurrency, config.answer_queue_size)

    def join(self) -> Place:
        """A place in line, or QueueFull at once when every slot and place is taken."""
        with self._changed:
            if self.running + self.waiting >= self.concurrency + self.queue_size:
                raise QueueFull(RETRY_AFTER_S)
            self.waiting += 1
        return Place(self)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Join, wait for a slot and hold it while the block runs (for the page's handlers)."""
        place = self.join()
        try:
            place.wait()
            yield
        finally:
            place.leave()


class Place:
    """One question's place: waiting, then running, then gone. `leave` and `abandon` may come twice."""

    def __init__(self, queue: AnswerQueue) -> None:
        self.queue = queue
        self.state = "waiting"

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Wait for a slot and take it; False if `stop` is set or the place abandoned first."""
        queue = self.queue
        with queue._changed:
            while self.state == "waiting" and queue.running >= queue.concurrency:
                if stop is not None and stop.is_set():
                    break
                queue._changed.wait(STOP_POLL_S if stop is not None else None)
            if self.state != "waiting" or (stop is not None and stop.is_set()):
                self._leave_locked()
                return False
            queue.waiting -= 1
            queue.running += 1
            self.state = "running"
            return True

    def leave(self) -> None:
        with self.queue._changed:
            self._leave_locked()

    def abandon(self) -> None:
        """Give up a place still waiting (its client went away); a running answer leaves by itself."""
        with self.queue._changed:
            if self.state == "waiting":
                self._leave_locked()

    def _leave_locked(self) -> None:
        if self.state == "waiting":
            self.queue.waiting -= 1
        elif self.state == "running":
            self.queue.running -= 1
        self.state = "gone"
        self.queue._changed.notify_all()
