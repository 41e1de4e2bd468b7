"""A bounded load test of the running chat page: concurrent script clients, an optional action midway.

Each client is its own ``gradio_client`` session asking its share of the questions through the
page's ``/ask`` endpoint in extractive mode, as a script user would. When half of all requests
have finished, ``midway`` runs in its own thread (for example a rebuild of the index), so the
second half is asked while it runs. Loopback only; every call has a timeout.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class LoadResult:
    clients: int
    requests: int
    latencies: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    correct: int = 0
    seconds: float = 0.0
    midway_started: float | None = None
    midway_seconds: float | None = None
    midway_error: str | None = None

    @property
    def answered_during_midway(self) -> int:
        """Answers that arrived while the midway action (the rebuild) was running."""
        if self.midway_started is None:
            return 0
        end = self.midway_started + (self.midway_seconds if self.midway_seconds is not None else float("inf"))
        return sum(self.midway_started <= t <= end for t in self.finished_at)

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1)] if ordered else 0.0

        return {
            "clients": self.clients,
            "requests": self.requests,
            "answered": len(self.latencies),
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "correct": self.correct,
            "p50_s": statistics.median(ordered) if ordered else 0.0,
            "p95_s": pct(95),
            "throughput_per_s": len(self.latencies) / self.seconds if self.seconds else 0.0,
            "seconds": self.seconds,
            "midway_started_s": self.midway_started,
            "midway_seconds": self.midway_seconds,
            "midway_error": self.midway_error,
            "answered_during_midway": self.answered_during_midway,
        }


def run_load(
    url: str,
    questions: list[dict],
    *,
    clients: int = 20,
    per_client: int = 10,
    midway: Callable[[], None] | None = None,
    timeout: float = 600,
) -> LoadResult:
    """Ask `clients * per_client` questions ({"question", "value"}) at once; `value` must be in the answer."""
    from gradio_client import Client

    if urlparse(url).hostname not in LOOPBACK:
        raise ValueError(f"the load test only runs against loopback, not {url}")
    result = LoadResult(clients=clients, requests=clients * per_client)
    lock = threading.Lock()
    half_done = threading.Event()
    started = time.perf_counter()

    def client_session(number: int) -> None:
        try:
            session = Client(url, verbose=False)
        except Exception as exc:
            with lock:
                result.errors.append(f"client {number} could not connect: {exc}")
            return
        for turn in range(per_client):
            item = questions[(number * per_client + turn) % len(questions)]
            tick = time.perf_counter()
            try:
                reply = session.predict(item["question"], "extractive", api_name="/ask")
                session.predict(api_name="/reset")  # independent questions, not follow-ups
            except Exception as exc:
                with lock:
                    result.errors.append(f"{item['question']}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - tick
            answer_digits = str(reply.get("answer", "")).replace(",", "")
            with lock:
                result.latencies.append(elapsed)
                result.finished_at.append(time.perf_counter() - started)
                result.correct += item["value"] in answer_digits
                if len(result.latencies) + len(result.errors) >= result.requests // 2:
                    half_done.set()

    def run_midway() -> None:
        if not half_done.wait(timeout):
            return
        result.midway_started = time.perf_counter() - started
        tick = time.perf_counter()
        try:
            midway()  # type: ignore[misc]
        except Exception as exc:
            result.midway_error = f"{type(exc).__name__}: {exc}"
        result.midway_seconds = time.perf_counter() - tick

    threads = [threading.Thread(target=client_session, args=(n,), daemon=True) for n in range(clients)]
    helper = threading.Thread(target=run_midway, daemon=True) if midway else None
    for thread in [*threads, *([helper] if helper else [])]:
        thread.start()
    deadline = started + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    result.seconds = time.perf_counter() - started
    unfinished = sum(thread.is_alive() for thread in threads)
    if unfinished:
        result.errors.append(f"{unfinished} clients still waiting after {timeout:.0f} s")
    half_done.set()
    if helper:
        helper.join(max(0.0, deadline - time.perf_counter()))
    return result
