"""`make eval`: every question set, in every answer mode, beside a plain LangChain RAG (the peer).

The sets are the bundled report's (tests/dev_qa.jsonl) and every folder of ../shared/eval/external
(written by other people about documents nobody here wrote; read from there, never copied). Each
set's documents are indexed into the user cache. The table (right answers, refusals, confidently
wrong answers, doc@3, p50) replaces the "external" section of docs/benchmarks.md. Each set's and
mode's figures, with the commit they were measured at, are kept in docs/bench-external.json (in the
repository, so that a mode not run this time, such as the hour-long peer, keeps its last figures on
a fresh clone); the reports with every wrong answer go to docs/bench-data/external.json (ignored).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from assistant import Config, build_index
from assistant.evaluate import eval_index_config, load_questions, run_eval, sample
from bench.report import replace_section

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT.parent / "shared" / "eval" / "external"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
FIGURES = ROOT / "docs" / "bench-external.json"
RAW = ROOT / "docs" / "bench-data" / "external.json"
MODES = ("extractive", "llm", "auto")


def question_sets() -> dict[str, tuple[Path, Path | None]]:
    """Set name -> (questions, documents folder); the bundled report's set uses the corpus."""
    if not EXTERNAL.is_dir():
        sys.exit(f"error: no external question sets at {EXTERNAL}; put a copy of shared/ beside the repository.")
    sets: dict[str, tuple[Path, Path | None]] = {"bundled report": (ROOT / "tests" / "dev_qa.jsonl", None)}
    for folder in sorted(EXTERNAL.iterdir()):
        if (folder / "qa.jsonl").is_file() and (folder / "docs").is_dir():
            sets[folder.name] = (folder / "qa.jsonl", folder / "docs")
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sets", nargs="*", help="only these sets (folder names); the table keeps the others' last figures"
    )
    parser.add_argument("--modes", nargs="*", default=[*MODES, "peer"], choices=[*MODES, "peer"])
    parser.add_argument("--limit", type=int, help="an even sample of N questions per set (a quick look)")
    parser.add_argument(
        "--limit-modes",
        nargs="*",
        help="apply --limit only to these modes (the slow ones); the others ask every question",
    )
    args = parser.parse_args()
    limited = set(args.limit_modes or args.modes) if args.limit else set()
    base = Config.from_env()
    commit = _commit()
    for name, (qa, docs) in question_sets().items():
        if args.sets and name not in args.sets:
            continue
        every = load_questions(qa)
        config = eval_index_config(docs or base.corpus_dir, base)
        build_index([docs or base.corpus_dir], config=config)
        for mode in args.modes:
            questions = sample(every, args.limit) if mode in limited else every
            started = time.perf_counter()
            if mode == "peer":
                from bench.peer import Peer

                peer = Peer(docs or base.corpus_dir, base.cache_dir / "peer-index" / config.index_dir.name, base)
                report = run_eval(questions, config, mode, ask=lambda question, _history, peer=peer: peer.ask(question))
            else:
                report = run_eval(questions, config, mode)
            _record(name, mode, {**report, "commit": commit})
            print(f"{name:<16} {mode:<10} {summary(report)}  ({time.perf_counter() - started:.0f} s)", flush=True)
    reports = _recorded()
    if args.limit is None or limited != set(args.modes):
        replace_section(BENCHMARKS, "external", table(reports, [m for m in (*MODES, "peer") if _ran(reports, m)]))


def _recorded(path: Path = FIGURES) -> dict[str, dict[str, dict]]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _record(name: str, mode: str, report: dict) -> None:
    """Write one set's report at once, replacing the mode's last figures for that set: an interrupted
    run (the full one takes most of an hour) keeps what it finished, and modes not run this time keep
    their figures from the last run (each report names its commit). The figures lose the wrong
    answers, which only the ignored raw file keeps."""
    figures = {key: value for key, value in report.items() if key != "failures"}
    for path, content in ((RAW, report), (FIGURES, figures)):
        reports = _recorded(path)
        reports.setdefault(name, {})[mode] = content
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(reports, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(path)  # never a half-written file


def _ran(reports: dict[str, dict[str, dict]], mode: str) -> bool:
    return any(mode in by_mode for by_mode in reports.values())


def summary(report: dict) -> str:
    answerable, unanswerable = report["answerable"], report["unanswerable"]
    refused = f", refused {unanswerable['refused']}/{unanswerable['n']}" if unanswerable["n"] else ""
    return (
        f"right {answerable['right']}/{answerable['n']}{refused}, confidently wrong {report['confidently_wrong']}"
        f" (+{report['answered_unanswerable']} unanswerable answered), p50 {report['latency_p50_s']:.2f} s"
    )


def cell(report: dict, total: int) -> str:
    answerable, unanswerable = report["answerable"], report["unanswerable"]
    share = answerable["right"] / answerable["n"] if answerable["n"] else 0.0
    text = f"{answerable['right']}/{answerable['n']} ({share:.0%})"
    if report["questions"] < total:
        text = f"sample: {text}"
    if unanswerable["n"]:
        text += f"; refused {unanswerable['refused']}/{unanswerable['n']}"
    return f"{text}; **CW {report['confidently_wrong']}**"


def _commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def table(reports: dict[str, dict[str, dict]], modes: list[str]) -> str:
    commits = {m: sorted({r[m].get("commit", "?") for r in reports.values() if m in r}) for m in modes}
    lines = [
        "# Answers on question sets nobody here wrote",
        "",
        "`make eval` (`.venv/bin/python -m bench.external`), commits: "
        + ", ".join(f"{m} `{'`, `'.join(c)}`" for m, c in commits.items())
        + ". Per set: right answers of"
        " the answerable questions, unanswerable questions refused, and **CW**, the answerable questions answered"
        " as found and wrong (confidently wrong). An answer is right when an accepted string stands in its first"
        " paragraph (shared/eval/external/README.md). The peer is `bench/peer.py`: RecursiveCharacterTextSplitter"
        ' 500/50, the same e5 embeddings, Chroma top 3, the same local model, a standard prompt. A "sample" cell'
        " asked an even sample of the set (`--limit N --limit-modes llm peer`): the model's modes take seconds a"
        " question on this CPU.",
        "",
        f"| set | {' | '.join(modes)} |",
        f"|---|{'---|' * len(modes)}",
    ]
    for name, by_mode in reports.items():
        total = max(r["questions"] for r in by_mode.values())
        lines.append(f"| {name} | {' | '.join(cell(by_mode[m], total) if m in by_mode else '' for m in modes)} |")
    lines += ["", "Retrieval (the answer's document among the first three sources) and answer latency p50:", ""]
    lines += [f"| set | {' | '.join(modes)} |", f"|---|{'---|' * len(modes)}"]
    for name, by_mode in reports.items():
        cells = []
        for mode in modes:
            report = by_mode.get(mode)
            doc = report and report["doc_hit@3"]
            cells.append(
                f"doc@3 {doc:.0%}, {report['latency_p50_s']:.2f} s"
                if report and doc is not None
                else (f"{report['latency_p50_s']:.2f} s" if report else "")
            )
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
