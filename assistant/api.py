"""The public API that the CLI, the chat page and scripts all call."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .config import Config
from .errors import AssistantError, InputError
from .extractive import (
    UNCONFIRMED_REFUSED_BELOW,
    Reading,
    answer_from,
    answers_question,
    is_confident,
    is_unsure,
    is_weakly_aligned,
    read,
    refuse,
)
from .figures import added_numbers
from .followup import condense_by_rules, keeps_subject, user_turns
from .indexing import BuildReport, Progress, sync_index
from .ingest import Document, SkippedFile, load_documents, read_document, read_documents
from .prompts import language_of
from .question import Question, parse_question
from .results import Answer
from .retrieve import Retrieval, retrieve
from .store import check_compatible, open_store

log = logging.getLogger(__name__)
MODES = ("auto", "llm", "extractive")


def resolve_config(config: Config | None = None, index_dir: str | Path | None = None) -> Config:
    config = config or Config.from_env()
    return config.replace(index_dir=Path(index_dir).expanduser()) if index_dir is not None else config


def build_index(
    paths: list[str | Path] | None = None,
    *,
    index_dir: str | Path | None = None,
    rebuild: bool = False,
    strict: bool = False,
    config: Config | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Make the index hold exactly these files and folders.

    Without paths, an index is built again from the files its documents were read from (with
    `rebuild`, under the current settings), never replaced by others; a new index gets the
    bundled corpus. A file that cannot be read is skipped and named in the report, and keeps
    the version the index already holds; with `strict`, any such file is an InputError and
    nothing changes.
    """
    config = resolve_config(config, index_dir)
    if paths:
        documents, skipped = _read(list(paths), strict, config, progress)
    elif open_store(config).live_name() is not None:
        # A rebuild embeds everything again, so a document it cannot read would be lost.
        documents, skipped = _read_recorded(config, strict=strict or rebuild, progress=progress)
    else:
        documents, skipped = _read([config.corpus_dir], strict, config, progress)
    return sync_index(
        documents,
        {s.name for s in skipped},
        config,
        _embedder(config),
        rebuild=rebuild,
        skipped=skipped,
        progress=progress,
    )


def add_documents(
    paths: list[str | Path],
    *,
    index_dir: str | Path | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
    replace: bool = False,
    strict: bool = False,
) -> BuildReport:
    """Add documents to the index, keeping the ones it holds; a name clash is refused unless replace.

    A file that cannot be read is skipped and named in the report; with `strict` (the chat
    page's uploads), any such file is an InputError and nothing is added.
    """
    config = resolve_config(config, index_dir)
    documents, skipped = _read(list(paths), strict, config, progress)
    existing = _indexed_documents(config)
    if not replace:
        clashes = [d.doc_id for d in documents if d.doc_id in existing and existing[d.doc_id] != d.content_hash]
        if clashes:
            raise InputError(
                f"A different document named {', '.join(clashes)} is already indexed; remove it first or rename the file."
            )
    return sync_index(documents, set(existing), config, _embedder(config), skipped=skipped, progress=progress)


def _read(
    paths: list[str | Path], strict: bool, config: Config, progress: Progress | None
) -> tuple[list[Document], list[SkippedFile]]:
    """The readable documents and the skipped files; strict: every file readable, or InputError."""
    if strict:
        return load_documents(paths, config=config, progress=progress), []
    return read_documents(paths, config=config, progress=progress)


def _read_recorded(
    config: Config, *, strict: bool, progress: Progress | None = None
) -> tuple[list[Document], list[SkippedFile]]:
    """The index's documents read again from the files its manifest records."""
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for record in open_store(config).live_manifest().documents.values():
        loaded = read_document(Path(record.path), doc_id=record.doc_id, config=config, progress=progress)
        if isinstance(loaded, Document):
            documents.append(loaded)
        else:
            skipped.append(loaded)
    if skipped and (strict or not documents):
        raise InputError(
            f"These documents of the index cannot be read again: {'; '.join(map(str, skipped))}. Put their files"
            " back, or name the files and folders the index should hold: `assistant index build PATHS --rebuild`"
            " (documents not among them leave the index)."
        )
    return documents, skipped


def remove_documents(
    doc_ids: list[str], *, index_dir: str | Path | None = None, config: Config | None = None
) -> BuildReport:
    config = resolve_config(config, index_dir)
    existing = _indexed_documents(config)
    unknown = [d for d in doc_ids if d not in existing]
    if unknown:
        raise InputError(f"Not in the index: {', '.join(unknown)}.")
    keep = set(existing) - set(doc_ids)
    return sync_index([], keep, config, _embedder(config))


def rebuild_index(
    *, index_dir: str | Path | None = None, config: Config | None = None, progress: Progress | None = None
) -> BuildReport:
    """Re-read every indexed document from its file and embed everything again."""
    config = resolve_config(config, index_dir)
    documents, _ = _read_recorded(config, strict=True, progress=progress)
    return sync_index(documents, set(), config, _embedder(config), rebuild=True, progress=progress)


def index_status(*, index_dir: str | Path | None = None, config: Config | None = None) -> dict:
    """What the index holds and how it was built; `exists` is False when there is none yet."""
    config = resolve_config(config, index_dir)
    store = open_store(config)
    name = store.live_name()
    if name is None:
        return {"index_dir": str(config.index_dir), "store": store.description, "exists": False}
    manifest = store.open().manifest
    return {
        "index_dir": str(config.index_dir),
        "store": store.description,
        "exists": True,
        "generation": name,
        "built_at": manifest.built_at,
        **manifest.settings(),
        "documents": [asdict(d) for d in manifest.documents.values()],
        "chunks": manifest.chunk_count,
        "size_bytes": store.size_bytes(),
    }


def warm_up(*, index_dir: str | Path | None = None, config: Config | None = None) -> None:
    """Load the models, open the index and prime the model's prompt cache, so the first
    question of a long-running server does not wait for them."""
    from .keyword import tokenize

    config = resolve_config(config, index_dir)
    _embedder(config)
    tokenize("预热")  # jieba loads its dictionary once
    store = open_store(config)
    if store.live_name() is not None:
        store.open()
    chat_model = _chat_model(config, "auto")
    if chat_model is not None:
        from langchain_core.messages import HumanMessage, SystemMessage

        from .prompts import template

        # The fixed system prompt is cached by llama.cpp.
        chat_model.invoke([SystemMessage(template("read_system", "en")), HumanMessage("?")], max_tokens=1)


def answer(
    question: str,
    history: list[dict] | None = None,
    *,
    index_dir: str | Path | None = None,
    mode: str = "auto",
    config: Config | None = None,
) -> Answer:
    """Answer a question from the indexed documents, with sources, best first."""
    result = None
    for item in answer_stream(question, history, index_dir=index_dir, mode=mode, config=config):
        if isinstance(item, Answer):
            result = item
    assert result is not None
    return result


def answer_stream(
    question: str,
    history: list[dict] | None = None,
    *,
    index_dir: str | Path | None = None,
    mode: str = "auto",
    config: Config | None = None,
) -> Iterator[str | Answer]:
    """Yield the checked answer text, then the complete Answer.

    Nothing is yielded before every check has passed: a front end shows what it receives.
    """
    started = time.perf_counter()
    config = resolve_config(config, index_dir)
    question = check_question(question, config)
    if mode not in MODES:
        raise InputError(f"Unknown answer mode {mode!r}; choose one of {', '.join(MODES)}.")
    store = open_store(config)
    generation = store.open()
    embeddings = _embedder(config.replace(embedding_backend=config.query_embedding_backend or config.embedding_backend))
    check_compatible(generation.manifest, config, embeddings.model_id, embeddings.dimension)
    chat_model = _chat_model(config, mode)
    timings: dict[str, float] = {}

    tick = time.perf_counter()
    condensed, condensing = _condense(question, history, chat_model)
    # llm mode translates an English question before searching; auto after reading its dictionary words.
    queries = _search_queries(condensed, generation, chat_model if mode == "llm" else None)
    timings["condense"] = time.perf_counter() - tick

    tick = time.perf_counter()
    with store.errors():
        retrieval = retrieve(queries.dense, generation, embeddings, config, keyword_query=queries.keyword)
    timings["retrieve"] = time.perf_counter() - tick

    tick = time.perf_counter()
    text, found, sources, checks, used_mode = _read_passages(question, queries, retrieval, embeddings, chat_model, mode)
    if mode == "auto" and chat_model is not None and not queries.reading_is_question:
        # An English question read by its dictionary words: a bag of words has no question word to
        # align, so its span is a guess. The model translates the question, and the translation is read
        # (by the model when the reader is not confident of it); the bag's answer stands only when the
        # translation's reading refuses, and only for a figure: a figure of the asked kind is evidence,
        # a bag's other spans are guesses. On XQuAD and the bundled report the standing answers were
        # right 5 times and wrong 5 (figures: 2 right, 0 wrong).
        translated = _search_queries(condensed, generation, chat_model)
        if translated.reading_is_question:
            with store.errors():
                second_retrieval = retrieve(
                    translated.dense, generation, embeddings, config, keyword_query=translated.keyword
                )
            second = _read_passages(
                question, translated, second_retrieval, embeddings, chat_model, mode, confident=True
            )
            if second[1]:
                queries, (text, found, sources, checks, used_mode) = translated, second
            else:  # the checks say what the translation's reading found
                verdicts = []
                if found and parse_question(condensed).kind == "number":
                    verdicts = ["the dictionary words' figure stands"]
                elif found:
                    text, found, sources = refuse(question, retrieval)
                    verdicts = ["the dictionary words' answer is no figure: refused"]
                checks = [*checks, *translated.checks, *second[3], *verdicts]
    timings["answer"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    yield text
    yield Answer(
        text=text,
        found=found,
        sources=sources,
        timings=timings,
        question=question,
        condensed_question=condensed,
        mode=used_mode,
        checks=condensing + queries.checks + checks,
    )


def _read_passages(
    question: str, queries: Queries, retrieval: Retrieval, embeddings, chat_model, mode: str, *, confident: bool = False
):
    """Read the passages: extractively, or (llm) by the model, whose words are checked and which falls
    back to the extractive reading. `confident` raises the extractive bar. Returns text, found,
    sources, checks and the mode that answered.

    auto reads extractively, and asks the model unless the reading answers at ASK_MODEL_BELOW or
    above: on the external sets (docs/benchmarks.md) the model's checked picks were right more often
    than an unsure or refused extractive reading, and no better than a confident one.
    A translated English question goes to the model unless its reading is confident: on XQuAD this
    gave 23 right answers of 100 for 10 confidently wrong (16 for 8 without; docs/benchmarks.md).
    A reading below UNCONFIRMED_REFUSED_BELOW, or weakly aligned, whose model check fails is refused
    rather than answered.
    """
    if retrieval.unmatched_anchors or not retrieval.passages:
        reason = f"no document names {', '.join(retrieval.unmatched_anchors)}" if retrieval.passages else "no passages"
        return (*refuse(question, retrieval), [reason], "extractive")
    asked = parse_question(question)
    reading_question = (
        parse_question(queries.reading) if queries.reading_is_question else asked.with_text(queries.reading)
    )
    if not reading_question.kind:  # a translation keeps the kind the English question word says
        reading_question = replace(reading_question, kind=asked.kind)
    retrieval, reading, read_on = _read_on(reading_question, retrieval, embeddings, language_of(question))
    text, found, sources, checks, used_mode = _answer_reading(
        question, queries, retrieval, reading, chat_model, mode, confident=confident
    )
    return text, found, sources, [*read_on, *checks], used_mode


def _read_on(
    reading_question: Question, retrieval: Retrieval, embeddings, lang: str
) -> tuple[Retrieval, Reading, list[str]]:
    """The reading of the passages, or of the next ones when years, places and names rule out every
    sentence of these ("今年" asked, and every passage reviews a past year): those rule sentences out
    only in reading, after retrieval ranked them. Returns the passages read, the reading and a check."""
    reading = read(reading_question, retrieval.passages, embeddings, retrieval.query_vector, lang)
    if not (retrieval.further and reading.candidates and all(c.contradicted for c in reading.candidates)):
        return retrieval, reading, []
    further = replace(retrieval, passages=retrieval.further, further=[])
    further_reading = read(reading_question, further.passages, embeddings, further.query_vector, lang)
    if all(c.contradicted for c in further_reading.candidates):
        return retrieval, reading, []
    return further, further_reading, ["the first passages are about another period, place or name: the next ones read"]


def _answer_reading(
    question: str, queries: Queries, retrieval: Retrieval, reading: Reading, chat_model, mode: str, *, confident: bool
):
    """The answer a reading gives, as `_read_passages` returns it."""
    # A translation is answered extractively only when the reading is confident (the model's wording may
    # not be the text's); otherwise the model reads it.
    translated = queries.reading_is_question and language_of(queries.reading) != language_of(question)
    sure = is_confident(reading) if confident or translated else answers_question(reading)
    # A lone item (the sentence's one name or date, not the words where the question word stands) is
    # an answer only when the model confirms it.
    extractive = (
        answer_from(reading.best, question, retrieval.passages, reading.flagged)
        if sure and reading.best is not None and not reading.best.lone
        else refuse(question, retrieval, reading.flagged)
    )
    if reading.question.asks_judgement:
        return (
            *refuse(question, retrieval, reading.flagged),
            ["a yes/no judgement: no sentence states it"],
            "extractive",
        )
    # auto asks the model about a reading of the question's own words or of its translation (a term bag
    # cannot check the model's pick) unless the reader answers and is sure of it: the model finds answers
    # in sentences the reader refused and trims spans the reader cut wrong.
    unsure = queries.reading_is_question and (not sure or is_unsure(reading))
    if chat_model is None or mode == "extractive" or (mode == "auto" and not unsure):
        return (*extractive, [], "extractive")
    from .generative import model_reading

    try:
        # A translated question is put to the model in Chinese, so that it copies the sentences' words.
        chosen, checks = model_reading(reading, queries.reading if translated else question, chat_model)
    except AssistantError as exc:  # the model's words failed a check: a sure enough extractive reading stands
        log.info("model reading rejected: %s", exc)
        weak = reading.best is not None and (
            reading.best.score < UNCONFIRMED_REFUSED_BELOW or is_weakly_aligned(reading)
        )
        if sure and weak:
            refused = refuse(question, retrieval, reading.flagged)
            return (*refused, [f"model reading rejected: {exc}", "an unconfirmed weak reading: refused"], "extractive")
        return (*extractive, [f"model reading rejected: {exc}", "answered extractively"], "extractive")
    except Exception as exc:  # a server that went away, a broken model
        log.warning("the language model failed, answering extractively: %s", exc)
        return (*extractive, [f"model failed: {exc}", "answered extractively"], "extractive")
    if chosen is None:
        return (*refuse(question, retrieval, reading.flagged), checks, "llm")
    return (*answer_from(chosen, question, retrieval.passages, reading.flagged), checks, "llm")


def check_question(question: object, config: Config) -> str:
    """The question stripped, or InputError when it is empty or over the length limit."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("The question is empty: type a question about the documents.")
    question = question.strip()
    if len(question) > config.max_question_chars:
        raise InputError(
            f"The question is too long ({len(question)} characters; the limit is {config.max_question_chars})."
            " Ask about one thing at a time."
        )
    return question


def _condense(question: str, history: list[dict] | None, chat_model) -> tuple[str, list[str]]:
    """The standalone question, and a check saying who condensed it (the model or the rules)."""
    if chat_model is not None and history:
        from .generative import condense_with_model

        try:
            condensed = condense_with_model(question, history, chat_model)
        except AssistantError as exc:
            log.warning("condensing with the model failed, using rules: %s", exc)
        else:
            invented = added_numbers(condensed, " ".join([question, *user_turns(history)]))
            if keeps_subject(question, condensed) and not invented:
                return condensed, ["condensed by the model"]
            log.info("the model's rewrite %r drops the user's words or adds figures; using rules", condensed)
    condensed = condense_by_rules(question, history)
    return condensed, ["condensed by rules"] if condensed != question else []


@dataclass(frozen=True)
class Queries:
    dense: str  # embedded for the dense search
    keyword: str  # searched by BM25
    reading: str  # what the reader matches sentences with
    checks: list[str]
    reading_is_question: bool = True  # False: a bag of search terms, with no question word to align


def _search_queries(condensed: str, generation, chat_model) -> Queries:
    """What to search and read with.

    An English question about Chinese documents is embedded as asked (e5 is multilingual) and
    searched by its Chinese terms: the model's translation when one is given, else the words of the
    glossary and the dictionary that the documents use, and pinyin names (``crosslingual``).
    """
    if "zh" not in generation.manifest.languages:
        return Queries(condensed, condensed, condensed, [])
    from .crosslingual import chinese_search_terms, expand_latin_terms

    vocabulary = generation.keyword.vocabulary
    if language_of(condensed) == "zh":
        expanded = expand_latin_terms(condensed, vocabulary)
        return Queries(expanded, expanded, expanded, [f"searched as: {expanded}"] if expanded != condensed else [])
    terms = chinese_search_terms(condensed, vocabulary)
    if chat_model is None:
        return Queries(condensed, terms, terms, [f"searched as: {terms}"], reading_is_question=False)
    from .generative import translate_for_search

    try:
        translated = translate_for_search(condensed, chat_model)
    except AssistantError as exc:
        log.warning("translating the question failed, searching with the glossary: %s", exc)
        return Queries(condensed, terms, terms, [f"searched as: {terms}"], reading_is_question=False)
    # The translation is read like a Chinese question: its words align with the Chinese sentence.
    # BM25 also searches the glossary's words, which a free translation may have paraphrased.
    return Queries(condensed, f"{translated} {terms}", translated, [f"searched and read as: {translated}"])


def _embedder(config: Config):
    from .embed import get_embedder

    return get_embedder(config)


def _chat_model(config: Config, mode: str):
    """The chat model for llm/auto modes; auto falls back to extractive when none loads."""
    if mode == "extractive" or config.llm == "none":
        if mode == "llm":
            raise InputError("No language model is configured (ASSISTANT_LLM=none); use mode 'extractive'.")
        return None
    from .errors import ModelUnavailable
    from .llm import get_chat_model

    try:
        return get_chat_model(config)
    except ModelUnavailable as exc:
        if mode == "llm":
            raise
        log.warning("no language model, answering extractively: %s", exc)
        return None


def _indexed_documents(config: Config) -> dict[str, str]:
    store = open_store(config)
    if store.live_name() is None:
        return {}
    return {d.doc_id: d.content_hash for d in store.open().manifest.documents.values()}
