"""The OpenAI-compatible API beside the page, for the same questions, in one run.

Usage: ``.venv/bin/python bench/api.py [--rounds N]`` (part of ``make bench``).

One `assistant chat` process (extractive answers, the bundled report indexed into a temporary
folder) serves both front ends. One client asks every dev question (`tests/dev_qa.jsonl`; a
follow-up right after the question it follows, in the same conversation) through the page's
`/ask` endpoint with `gradio_client`, through `POST /v1/chat/completions` with the `openai`
client, and streamed through the same API (time to the first text chunk and to the end). The
three take turns question by question, in an order that rotates every round, so the machine's
load falls on all of them alike. The section "api" of docs/benchmarks.md is replaced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Config, build_index  # noqa: E402
from assistant.config import DEFAULT_CORPUS_DIR  # noqa: E402
from assistant.evaluate import _percentile, load_questions  # noqa: E402
from bench.report import replace_section  # noqa: E402
from bench.servers import cli_env, free_port, wait_http  # noqa: E402

REPORT = ROOT / "docs" / "benchmarks.md"
DEV_QA = ROOT / "tests" / "dev_qa.jsonl"
MODEL = "report-assistant-extractive"
WAYS = ("page /ask (gradio_client)", "API (openai client)", "API streamed (openai client)")


def conversations(questions: list[dict]) -> list[list[dict]]:
    """Each question with the ones it follows, asked in order in one conversation."""
    by_id = {q["id"]: q for q in questions}
    chains = []
    for item in questions:
        chain = [item]
        while chain[0].get("after"):
            chain.insert(0, by_id[chain[0]["after"]])
        chains.append(chain)
    return chains


class Asker:
    """The three ways of asking, each timing the last question of a conversation only: (seconds to the first
    text, for a stream, else None; seconds to the whole answer; the answer)."""

    def __init__(self, url: str) -> None:
        import openai
        from gradio_client import Client

        self.page = Client(f"{url}/", verbose=False)
        self.api = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=300)

    def page_ask(self, chain: list[dict]) -> tuple[float | None, float, str]:
        self.page.predict(api_name="/reset")
        for earlier in chain[:-1]:
            self.page.predict(earlier["q"], "extractive", api_name="/ask")
        tick = time.perf_counter()
        text = self.page.predict(chain[-1]["q"], "extractive", api_name="/ask")["answer"]
        return None, time.perf_counter() - tick, text

    def _messages(self, chain: list[dict]) -> list[dict]:
        messages: list[dict] = []
        for earlier in chain[:-1]:
            messages.append({"role": "user", "content": earlier["q"]})
            reply = self.api.chat.completions.create(model=MODEL, messages=messages)
            messages.append({"role": "assistant", "content": reply.choices[0].message.content})
        return [*messages, {"role": "user", "content": chain[-1]["q"]}]

    def api_ask(self, chain: list[dict]) -> tuple[float | None, float, str]:
        messages = self._messages(chain)
        tick = time.perf_counter()
        text = self.api.chat.completions.create(model=MODEL, messages=messages).choices[0].message.content
        return None, time.perf_counter() - tick, text

    def api_stream(self, chain: list[dict]) -> tuple[float | None, float, str]:
        messages = self._messages(chain)
        tick = time.perf_counter()
        first, text = None, ""
        for chunk in self.api.chat.completions.create(model=MODEL, messages=messages, stream=True):
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                first = first if first is not None else time.perf_counter() - tick
                text += delta
        return first, time.perf_counter() - tick, text


def run(url: str, questions: list[dict], rounds: int) -> dict:
    asker = Asker(url)
    ways = [asker.page_ask, asker.api_ask, asker.api_stream]
    times: dict[str, dict[str, list[float]]] = {w: {"first": [], "total": []} for w in WAYS}
    same = dict.fromkeys(WAYS, 0)  # answers word for word the page's to the same question in the same round
    asker.page_ask(conversations(questions)[0])  # warm-up: the server's first answer loads the models
    for round_number in range(rounds):
        for number, chain in enumerate(conversations(questions)):
            start = (round_number + number) % len(ways)
            texts = {}
            for index in [*range(start, len(ways)), *range(start)]:
                first, total, texts[WAYS[index]] = ways[index](chain)
                if first is not None:
                    times[WAYS[index]]["first"].append(first)
                times[WAYS[index]]["total"].append(total)
            for way in WAYS:
                same[way] += texts[way] == texts[WAYS[0]]
    return {
        way: {
            "answers": len(times[way]["total"]),
            "same_as_page": same[way],
            "p50_s": statistics.median(times[way]["total"]),
            "p95_s": _percentile(sorted(times[way]["total"]), 95),
            "first_text_p50_s": statistics.median(times[way]["first"]) if times[way]["first"] else None,
            "first_text_p95_s": _percentile(sorted(times[way]["first"]), 95) if times[way]["first"] else None,
        }
        for way in WAYS
    }


def render(results: dict, meta: dict) -> str:
    lines = [
        "# The OpenAI-compatible API beside the page",
        "",
        f"Generated by `.venv/bin/python bench/api.py --rounds {meta['rounds']}` on {meta['date']},"
        f" commit `{meta['commit']}`{' (with uncommitted changes)' if meta['dirty'] else ''},"
        f" load average {meta['load_start']} at start and {meta['load_end']} at end; the run took"
        f" {meta['seconds']:.0f} s.",
        "",
        f"One `assistant chat` process (extractive answers, the bundled report) serves both; one client asks the"
        f" {meta['questions']} dev questions {meta['rounds']} times each way, taking turns question by question"
        " (follow-ups in their conversation: the page keeps it per session, the API is sent it as messages;"
        " only the follow-up itself is timed). Wall time at the client, loopback.",
        "",
        "| asked through | answers | same answer as the page | p50 s | p95 s | first text p50 s | first text p95 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for way, row in results.items():
        first = [f"{row[k]:.3f}" if row[k] is not None else "—" for k in ("first_text_p50_s", "first_text_p95_s")]
        lines.append(
            f"| {way} | {row['answers']} | {row['same_as_page']} | {row['p50_s']:.3f} | {row['p95_s']:.3f}"
            f" | {' | '.join(first)} |"
        )
    lines += [
        "",
        "The answer is the same work either way (`assistant.api.answer_stream`); the difference is the front end."
        " The page's `/ask` goes through Gradio's queue (join, then an event stream of the result); the API is one"
        " HTTP request. A streamed answer's first text is the whole checked answer (only checked text is"
        " streamed), so first text and end differ by the last chunk only.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = load_questions(DEV_QA)
    started = time.perf_counter()
    meta = {
        "rounds": args.rounds,
        "questions": len(questions),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "dirty": bool(
            subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        ),
        "load_start": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        config = Config.from_env(index_dir=Path(tmp) / "index", llm="none")
        build_index([DEFAULT_CORPUS_DIR], config=config)
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("assistant")), "chat", "--port", str(port)],
            env=cli_env(config),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/v1/models")
            results = run(url, questions, args.rounds)
        finally:
            server.terminate()
            server.wait(timeout=60)
    meta["load_end"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    meta["seconds"] = time.perf_counter() - started
    text = render(results, meta)
    replace_section(REPORT, "api", text)
    print(text)


if __name__ == "__main__":
    main()
