"""Scale benchmark on a generated corpus: build throughput, query cost and accuracy as the index grows,
keyword search choices, server mode, and a load test with a rebuild midway.

Usage: ``.venv/bin/python bench/scale.py [--sizes 1000,10000,50000] [--quick]`` (part of ``make bench``).
It writes its section of docs/benchmarks.md, two plots beside it, and raw figures to docs/bench-data/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import answer  # noqa: E402
from assistant.chunk import chunk_document  # noqa: E402
from assistant.config import Config  # noqa: E402
from assistant.embed import get_embedder  # noqa: E402
from assistant.ingest import load_documents  # noqa: E402
from assistant.keyword import tokenize  # noqa: E402
from assistant.store import folder_size, open_store  # noqa: E402
from bench.generate_corpus import generate  # noqa: E402
from bench.load import run_load  # noqa: E402
from bench.report import replace_section  # noqa: E402
from bench.servers import chroma_server, cli_env, free_port, wait_http  # noqa: E402

DOCS_DIR = ROOT / "docs"
DATA_DIR = DOCS_DIR / "bench-data"
REPORT = DOCS_DIR / "benchmarks.md"
PYTHON = sys.executable
RAW_SAMPLE = 1500

BUILD_CHILD = """
import json, sys, time
from assistant import add_documents, Config
config = Config.from_env(llm="none")
paths = json.loads(sys.stdin.read())
report = add_documents(paths, config=config)
print(json.dumps({"embedded": report.chunks_embedded, "total": report.chunks_total, "seconds": report.seconds}))
"""


def pct(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered) + 0.5) - 1))]


def build_in_child(paths: list[Path], config: Config) -> dict:
    """add_documents in a fresh process; its own peak RSS comes from wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-c", BUILD_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=cli_env(config),
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps([str(p) for p in paths]))
    process.stdin.close()
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"build failed ({process.returncode})")
    report = json.loads(output.strip().splitlines()[-1])
    report["wall_s"] = time.perf_counter() - started
    report["peak_rss_mib"] = usage.ru_maxrss / 1024
    return report


def raw_throughput(embedder, texts: list[str]) -> float:
    """Chunks/s of the model alone (same embedder, same texts, one call: it sorts and batches)."""
    tick = time.perf_counter()
    embedder.encode(texts, "passage")
    return len(texts) / (time.perf_counter() - tick)


def ask_facts(config: Config, facts: list[dict]) -> dict:
    for fact in facts[:3]:  # warm-up: models, jieba, the opened generation
        answer(fact["question"], config=config, mode="extractive")
    latencies, correct = [], 0
    for fact in facts:
        tick = time.perf_counter()
        result = answer(fact["question"], config=config, mode="extractive")
        latencies.append(time.perf_counter() - tick)
        right_doc = bool(result.sources) and result.sources[0].doc == fact["doc"]
        correct += right_doc and fact["value"] in result.text.replace(",", "")
    return {
        "questions": len(facts),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": pct(latencies, 95) * 1000,
        "accuracy": correct / len(facts),
    }


def keyword_options(config: Config, facts: list[dict]) -> dict:
    """BM25 (bm25s, what the assistant uses) against Chroma's own full-text filter, per question."""
    generation = open_store(config).open()
    collection = generation.collection
    bm25_ms, bm25_hits, fts_ms, fts_hits = [], 0, [], 0
    for fact in facts:
        tick = time.perf_counter()
        ranked = generation.keyword.search(fact["question"], 20)
        bm25_ms.append((time.perf_counter() - tick) * 1000)
        docs = {m["doc_id"] for m in generation.chunks_by_id([chunk_id for chunk_id, _ in ranked]).values()}
        bm25_hits += fact["doc"] in docs
        terms = sorted(set(tokenize(fact["question"])), key=len, reverse=True)[:4]
        where = {"$and": [{"$contains": t} for t in terms]} if len(terms) > 1 else {"$contains": terms[0]}
        tick = time.perf_counter()
        got = collection.get(where_document=where, limit=20, include=["metadatas"])
        fts_ms.append((time.perf_counter() - tick) * 1000)
        fts_hits += fact["doc"] in {m["doc_id"] for m in got["metadatas"]}
    sparse = "not tried"
    try:
        from chromadb import Schema, SparseVectorIndexConfig

        schema = Schema()
        schema.create_index(key="bm25", config=SparseVectorIndexConfig())
        generation.client.create_collection("sparse-probe", schema=schema)
        generation.client.delete_collection("sparse-probe")
        sparse = "available"
    except Exception as exc:
        sparse = f"{type(exc).__name__}: {exc}"
    return {
        "bm25_p50_ms": statistics.median(bm25_ms),
        "bm25_hit20": bm25_hits / len(facts),
        "fts_p50_ms": statistics.median(fts_ms),
        "fts_hit20": fts_hits / len(facts),
        "sparse_index": sparse,
    }


def bench_server(docs: list[Path], facts: list[dict], tmp: Path) -> dict:
    """The same first-size corpus built into and answered from a real Chroma server."""
    with chroma_server(tmp / "chroma") as (url, _process):
        config = Config.from_env(index_dir=tmp / "server-local", llm="none", chroma_url=url, chroma_index="bench")
        build = build_in_child(docs, config)
        return {"build": build, "queries": ask_facts(config, facts)}


def bench_load(docs: list[Path], facts: list[dict], tmp: Path, clients: int, per_client: int) -> dict:
    """The chat page in its own process over a small index; a CLI rebuild starts when half is asked."""
    config = Config.from_env(index_dir=tmp / "load-index", llm="none")
    build_in_child(docs, config)
    port = free_port()
    env = cli_env(config)
    app = subprocess.Popen(
        [PYTHON, "-m", "assistant.cli", "chat", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rebuild_cmd = [PYTHON, "-m", "assistant.cli", "index", "build", "--rebuild", *map(str, docs)]
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url)
        questions = [{"question": f["question"], "value": f["value"]} for f in facts]
        result = run_load(
            url,
            questions,
            clients=clients,
            per_client=per_client,
            midway=lambda: subprocess.run(rebuild_cmd, env=env, check=True, capture_output=True),
        )
    finally:
        app.terminate()
        app.wait(timeout=30)
    return result.summary()


def plot(filename: str, title: str, ylabel: str, sizes: list[int], lines: dict[str, list[float]]) -> str:
    """One figure against corpus size (log scale), saved beside docs/benchmarks.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (label, values), style in zip(lines.items(), ("o-", "s--"), strict=False):
        ax.plot(sizes, values, style, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(DOCS_DIR / filename, dpi=110)
    plt.close(fig)
    return filename


def plots(steps: list[dict]) -> list[str]:
    sizes = [s["chunks"] for s in steps]
    throughput = {
        "index build (pipeline)": [s["build"]["pipeline_per_s"] for s in steps],
        "model alone, same texts": [s["raw_per_s"] for s in steps],
    }
    latency = {"p50": [s["queries"]["p50_ms"] for s in steps], "p95": [s["queries"]["p95_ms"] for s in steps]}
    return [
        plot("bench-throughput.png", "Indexing throughput", "chunks embedded per second", sizes, throughput),
        plot("bench-latency.png", "Query latency", "extractive answer latency (ms)", sizes, latency),
    ]


def render(results: dict) -> str:
    steps = results["steps"]
    first, last = steps[0], steps[-1]
    growth = last["queries"]["p50_ms"] / first["queries"]["p50_ms"]
    lines = [
        "# Scale: a generated corpus, a Chroma server, load and faults",
        "",
        f"Generated by `.venv/bin/python bench/scale.py{results['flags']}` (part of `make bench`) on"
        f" {results['date']}, commit `{results['commit']}`, load average {results['load_start']} at start and"
        f" {results['load_end']} at end; the run took {results['run_s'] / 60:.0f} minutes.",
        "",
        "The corpus comes from `bench/generate_corpus.py` (seed 7): one work summary per city and year, report"
        " prose shared across documents, six figures per document stated in varied sentence forms, each with a"
        " question and its expected answer. The index grows by `add_documents` in a fresh process per step"
        " (so earlier chunks are carried over, not embedded again), and each step is measured at its size.",
        "",
        "## Indexing throughput",
        "",
        "Pipeline: chunks embedded by the step / the step's build time (chunking, embedding, tokenising for"
        " BM25, Chroma writes, copying the earlier chunks, BM25 index, publish). Model alone: the same embedder"
        f" on {RAW_SAMPLE} of the step's own chunk texts in one call, measured just before and just after the"
        " step; the faster of the two is used, so noise cannot flatter the ratio.",
        "",
        "| chunks in index | documents | new chunks | build s | pipeline chunks/s | model alone chunks/s |"
        " pipeline / model | peak RSS MiB | index on disk MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        b = s["build"]
        lines.append(
            f"| {s['chunks']:,} | {s['documents']:,} | {b['embedded']:,} | {b['seconds']:.0f} |"
            f" {b['pipeline_per_s']:.1f} | {s['raw_per_s']:.1f} | **{b['pipeline_per_s'] / s['raw_per_s']:.0%}** |"
            f" {b['peak_rss_mib']:.0f} | {s['disk_mib']:.0f} |"
        )
    lines += [
        "",
        "Goal: the pipeline reaches ≥ 80% of the model alone.",
        "",
        "![Indexing throughput against corpus size](bench-throughput.png)",
        "",
        "## Query cost and accuracy as the corpus grows",
        "",
        f'`answer(mode="extractive")` in one warm process over {first["queries"]["questions"]} generated facts'
        " per size, drawn from the documents in the index. Correct = the expected figure is in the answer and the"
        " first source is the fact's document.",
        "",
        "| chunks in index | p50 ms | p95 ms | accuracy |",
        "|---|---|---|---|",
    ]
    for s in steps:
        q = s["queries"]
        lines.append(f"| {s['chunks']:,} | {q['p50_ms']:.0f} | {q['p95_ms']:.0f} | {q['accuracy']:.0%} |")
    lines += [
        "",
        f"p50 grows **{growth:.2f}×** from {first['chunks']:,} to {last['chunks']:,} chunks (goal: < 2×).",
        "",
        "![Query latency against corpus size](bench-latency.png)",
        "",
        "## Keyword search: what Chroma offers against BM25",
        "",
        "For the same questions: `KeywordIndex.search` (bm25s over jieba tokens, the assistant's keyword side)"
        " against Chroma's full-text filter `where_document` with `$contains` on the question's four longest"
        " tokens (`$and`), limit 20. Hit = the fact's document among the 20 results.",
        "",
        "| chunks | BM25 p50 ms | BM25 hit@20 | Chroma `$contains` p50 ms | `$contains` hit@20 |",
        "|---|---|---|---|---|",
    ]
    for s in steps:
        k = s["keyword"]
        lines.append(
            f"| {s['chunks']:,} | {k['bm25_p50_ms']:.1f} | {k['bm25_hit20']:.0%} | {k['fts_p50_ms']:.1f} |"
            f" {k['fts_hit20']:.0%} |"
        )
    lines += [
        "",
        f"Chroma's sparse (BM25) vector index, asked for on this installed Chroma: `{last['keyword']['sparse_index']}`.",
        "",
    ]
    server = results.get("server")
    if server:
        lines += [
            "## Server mode",
            "",
            f"The first size ({first['chunks']:,} chunks) built into a real `chroma run` server on loopback"
            " (`ASSISTANT_CHROMA_URL`) and asked the same questions:",
            "",
            "| store | build s | pipeline chunks/s | p50 ms | p95 ms | accuracy |",
            "|---|---|---|---|---|---|",
            f"| embedded | {first['build']['seconds']:.0f} | {first['build']['pipeline_per_s']:.1f} |"
            f" {first['queries']['p50_ms']:.0f} | {first['queries']['p95_ms']:.0f} | {first['queries']['accuracy']:.0%} |",
            f"| server | {server['build']['seconds']:.0f} | {server['build']['embedded'] / server['build']['seconds']:.1f} |"
            f" {server['queries']['p50_ms']:.0f} | {server['queries']['p95_ms']:.0f} | {server['queries']['accuracy']:.0%} |",
            "",
        ]
    load = results.get("load")
    if load:
        lines += [
            "## Load",
            "",
            f"`bench/load.py`: {load['clients']} concurrent `gradio_client` sessions, each asking"
            f" {load['requests'] // load['clients']} generated questions in extractive mode through `/ask` of"
            f" `assistant chat` (its own process, index of {first['chunks']:,} chunks). When half were answered,"
            f" `assistant index build --rebuild` started in another process (at {load['midway_started_s']:.0f} s;"
            f" it took {load['midway_seconds']:.0f} s).",
            "",
            "| requests | errors | correct | answered during the rebuild | p50 s | p95 s | throughput q/s | wall s |",
            "|---|---|---|---|---|---|---|---|",
            f"| {load['requests']} | **{load['errors']}** | {load['correct']} | {load['answered_during_midway']} |"
            f" {load['p50_s']:.2f} | {load['p95_s']:.2f} | {load['throughput_per_s']:.1f} | {load['seconds']:.0f} |",
            "",
            "The page answers two questions at a time (its answer queue); the others wait in the queue,"
            " which is what p95 shows.",
            "",
        ]
    lines += [
        "## Faults",
        "",
        "Tested, not benchmarked (`make test`): `tests/test_index.py` kills builds with SIGKILL at random"
        " points, on both stores; `tests/test_faults.py` stops and restarts a Chroma server under a built index"
        " and fills a 2 MiB tmpfs during a build.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="index sizes in chunks, ascending")
    parser.add_argument("--questions", type=int, default=60, help="generated facts asked at each size")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="sizes 500,2000; 30 questions; 8 clients x 3")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.questions, args.clients, args.per_client = "500,2000", 30, 8, 3
    sizes = [int(s) for s in args.sizes.split(",")]
    flags = "".join(f" {a}" for a in sys.argv[1:])
    started = time.perf_counter()
    results: dict = {
        "flags": flags,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "load_start": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
        "steps": [],
    }
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    embedder = get_embedder(Config.from_env())

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        per_doc = 26  # generated documents make about 26 chunks each; the exact count is measured below
        generate(corpus, docs=min(2000, sizes[-1] // per_doc + 2))
        facts_by_doc: dict[str, list[dict]] = {}
        for line in (corpus / "facts.jsonl").read_text(encoding="utf-8").splitlines():
            fact = json.loads(line)
            facts_by_doc.setdefault(fact["doc"], []).append(fact)
        documents = sorted(load_documents([corpus]), key=lambda d: d.doc_id)
        rng.shuffle(documents)
        chunks = {
            d.doc_id: [c.embed_text for c in chunk_document(d, chunk_size=300, chunk_overlap=60)] for d in documents
        }
        print(f"corpus: {len(documents)} documents, {sum(map(len, chunks.values()))} chunks", flush=True)

        config = Config.from_env(index_dir=tmp / "index", llm="none")
        indexed: list = []
        total = 0
        for size in sizes:
            step = []
            while total < size and len(indexed) + len(step) < len(documents):
                doc = documents[len(indexed) + len(step)]
                step.append(doc)
                total += len(chunks[doc.doc_id])
            texts = [t for d in step for t in chunks[d.doc_id]]
            sample = rng.sample(texts, min(RAW_SAMPLE, len(texts)))
            raw_before = raw_throughput(embedder, sample)
            print(f"[{time.perf_counter() - started:5.0f} s] to {total} chunks: model {raw_before:.1f}/s", flush=True)
            build = build_in_child([corpus / d.doc_id for d in step], config)
            build["pipeline_per_s"] = build["embedded"] / build["seconds"]
            raw_after = raw_throughput(embedder, sample)
            raw = max(raw_before, raw_after)  # the faster of the two, so that noise cannot flatter the ratio
            indexed += step
            print(f"   built: {build}", flush=True)
            facts = [f for d in indexed for f in facts_by_doc.get(d.doc_id, [])]
            asked = rng.sample(facts, min(args.questions, len(facts)))
            generation = open_store(config).open()
            results["steps"].append(
                {
                    "chunks": build["total"],
                    "documents": len(indexed),
                    "raw_per_s": raw,
                    "raw_before_after": [raw_before, raw_after],
                    "build": build,
                    "disk_mib": folder_size(config.index_dir / generation.name) / 2**20,
                    "queries": ask_facts(config, asked),
                    "keyword": keyword_options(config, asked),
                }
            )
            print(f"   queries: {results['steps'][-1]['queries']}", flush=True)
            (DATA_DIR / "scale.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")

        first_docs = [corpus / d.doc_id for d in indexed[: results["steps"][0]["documents"]]]
        first_facts = [f for p in first_docs for f in facts_by_doc.get(p.name, [])]
        print(f"[{time.perf_counter() - started:5.0f} s] server mode", flush=True)
        results["server"] = bench_server(
            first_docs, rng.sample(first_facts, min(args.questions, len(first_facts))), tmp
        )
        print(f"[{time.perf_counter() - started:5.0f} s] load test", flush=True)
        results["load"] = bench_load(first_docs, first_facts, tmp, args.clients, args.per_client)
        print(f"   load: {results['load']}", flush=True)

    results["plots"] = plots(results["steps"])
    results["load_end"] = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    results["run_s"] = time.perf_counter() - started
    (DATA_DIR / "scale.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    replace_section(REPORT, "scale", render(results))
    print(f"wrote {REPORT.relative_to(ROOT)} in {results['run_s'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
