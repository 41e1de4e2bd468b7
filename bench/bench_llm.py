"""Benchmark the local LLM (bundled Qwen2.5-Coder-1.5B GGUF via xllamacpp).

Measures model assembly/check and load time, then three streamed questions with the
same fixed system prompt over ~400-token Chinese contexts:

1. cold: empty KV cache;
2. same system prompt, different context (what retrieval usually gives): only the
   system prefix can be reused;
3. same system prompt and context, different question: the whole context is reused.

Prints a markdown table. Usage: ``python bench/bench_llm.py [--threads N] [--max-tokens N]``.

``--compare-layouts R`` instead compares the weights as llama.cpp repacks them at load against the
plain layout (``Config.llm_repack_weights``): R rounds of each, alternating in this one run, over
prompts shaped like the reader's (its system prompt, three corpus sentences, a development question).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import HumanMessage, SystemMessage

from assistant import gguf, llm
from assistant.config import DEFAULT_CORPUS_DIR, Config
from assistant.generative import SENTENCE_CHARS, read_messages

QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "dev_qa.jsonl"
READER_PROMPTS = 16

SYSTEM = (
    "你是一个报告问答助手。请只根据用户给出的资料回答问题，不要使用资料以外的知识。"
    "回答要简洁、准确，数字和单位必须与资料原文完全一致，不要换算或四舍五入。"
    "每个事实后面用方括号标注所依据的资料编号，例如[1]。"
    "如果资料中没有答案，只回答：资料中没有找到答案。"
    "不要重复问题，不要解释你的推理过程，不要输出与问题无关的内容。"
)


def _contexts() -> tuple[str, str]:
    text = next(DEFAULT_CORPUS_DIR.glob("*.txt")).read_text(encoding="utf-8")
    text = "".join(text.split())  # drop blank lines and spaces
    return text[100:780], text[780:1460]  # about 400 Qwen tokens each


def _run(model: llm.LocalChatModel, context: str, question: str, max_tokens: int) -> dict:
    messages = [
        SystemMessage(SYSTEM),
        HumanMessage(f"资料：\n[1] {context}\n\n问题：{question}"),
    ]
    start = time.perf_counter()
    first = None
    parts: list[str] = []
    usage_chunk = None
    for chunk in model.stream(messages, max_tokens=max_tokens):
        if chunk.content and first is None:
            first = time.perf_counter() - start
        parts.append(chunk.content)
        if chunk.usage_metadata:
            usage_chunk = chunk
    total = time.perf_counter() - start
    timings = usage_chunk.response_metadata.get("timings", {}) if usage_chunk else {}
    usage = usage_chunk.usage_metadata if usage_chunk else {}
    return {
        "answer": "".join(parts).strip(),
        "ttft": first if first is not None else float("nan"),
        "total": total,
        "prompt_tokens": usage.get("input_tokens", 0),
        "cached": timings.get("cache_n", 0),
        "evaluated": timings.get("prompt_n", 0),
        "prompt_tps": timings.get("prompt_per_second", float("nan")),
        "gen_tokens": timings.get("predicted_n", 0),
        "gen_tps": timings.get("predicted_per_second", float("nan")),
    }


def _reader_prompts(count: int) -> list[list]:
    """Prompts shaped like the reader's calls: its system prompt, three corpus sentences, a question."""
    text = next(DEFAULT_CORPUS_DIR.glob("*.txt")).read_text(encoding="utf-8")
    sentences = [s + "。" for s in "".join(text.split()).split("。") if len(s) >= 20]
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return [
        read_messages([s[:SENTENCE_CHARS] for s in sentences[3 * n : 3 * n + 3]], questions[n % len(questions)])
        for n in range(count)
    ]


def compare_layouts(config: Config, path: Path, rounds: int, count: int) -> None:
    """Plain against repacked weights, alternating in blocks in this one run, on the reader's prompts."""
    prompts = _reader_prompts(count)
    totals: dict[bool, dict[str, float]] = {}
    for repack in [False, True] * rounds:
        model = llm.LocalChatModel(model_path=str(path), n_threads=config.llm_threads, repack_weights=repack)
        model.load()
        model.invoke(prompts[0], max_tokens=8)  # the system prompt, cached for the rest
        sums = totals.setdefault(repack, dict.fromkeys(("prompt_n", "prompt_ms", "predicted_n", "predicted_ms"), 0.0))
        for messages in prompts[1:]:
            timings = model.invoke(messages, max_tokens=48).response_metadata["timings"]
            for key in sums:
                sums[key] += timings[key]
    print("| weights | prompt tokens | prompt tok/s | generated tokens | gen tok/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for repack, sums in totals.items():
        print(
            f"| {'repacked' if repack else 'plain'} | {sums['prompt_n']:.0f} "
            f"| {1000 * sums['prompt_n'] / sums['prompt_ms']:.1f} | {sums['predicted_n']:.0f} "
            f"| {1000 * sums['predicted_n'] / sums['predicted_ms']:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--compare-layouts", type=int, default=0, metavar="ROUNDS")
    args = parser.parse_args()
    config = Config.from_env(llm="local", llm_threads=args.threads)
    if args.compare_layouts:
        compare_layouts(config, gguf.ensure_gguf(config), args.compare_layouts, READER_PROMPTS)
        return

    start = time.perf_counter()
    path = gguf.ensure_gguf(config)
    ensure_s = time.perf_counter() - start
    model = llm.get_chat_model(config)
    assert isinstance(model, llm.LocalChatModel)
    load_s = model.load()

    ctx_a, ctx_b = _contexts()
    runs = [
        ("1 cold", ctx_a, "2007年广州全年共出台了多少个政府文件和配套措施？"),
        ("2 same system, new context", ctx_b, "文中提到的专利申请量是多少？"),
        ("3 same system + context", ctx_b, "这段资料主要讲了哪些工作？"),
    ]
    results = [(name, _run(model, ctx, q, args.max_tokens)) for name, ctx, q in runs]

    print(f"model: {path.name} ({path.stat().st_size / 1e9:.2f} GB), threads={config.llm_threads}")
    print(f"system prompt: {model.get_num_tokens(SYSTEM)} tokens")
    print()
    print("| step | seconds |")
    print("| --- | ---: |")
    print(f"| ensure_gguf (assemble or stamp check) | {ensure_s:.2f} |")
    print(f"| load model (xllamacpp.Server) | {load_s:.2f} |")
    print()
    print(
        "| question | prompt tok | reused from cache | evaluated | TTFT s | prompt tok/s "
        "| generated tok | gen tok/s | total s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results:
        print(
            f"| {name} | {r['prompt_tokens']} | {r['cached']} | {r['evaluated']} "
            f"| {r['ttft']:.2f} | {r['prompt_tps']:.1f} | {r['gen_tokens']} "
            f"| {r['gen_tps']:.1f} | {r['total']:.2f} |"
        )
    print()
    for name, r in results:
        print(f"- {name}: {r['answer'][:120]!r}")


if __name__ == "__main__":
    main()
