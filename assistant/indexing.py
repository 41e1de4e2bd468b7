"""Index builds: diff documents by content hash, embed only what changed, publish a new generation.

New chunks are embedded longest first in large batches (so batches hold similar lengths and
padding stays small), while a writer thread tokenises them for BM25 and stores them in Chroma:
the model never waits for the store.
"""

from __future__ import annotations

import errno
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .chunk import CHUNK_RULES, Chunk, chunk_document
from .config import Config
from .errors import IndexProblem
from .ingest import Document, Progress, SkippedFile
from .keyword import KeywordIndex, tokenize
from .prompts import text_language
from .retrieve import years_in
from .store import PAGE, DocumentRecord, Manifest, Staging, Store, check_compatible, open_store

log = logging.getLogger(__name__)

# Chunks handed to the model at once; it sorts them by length and runs its own smaller batches.
EMBED_BATCH = 256
# Chunks per Chroma add: one add of 2,048 costs a quarter less per chunk than eight of 256.
WRITE_BATCH = 2048


@dataclass
class BuildReport:
    store: str  # where the index lives, for messages
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)  # files that could not be read
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def sync_index(
    documents: list[Document],
    keep_ids: set[str],
    config: Config,
    embeddings,
    *,
    rebuild: bool = False,
    skipped: list[SkippedFile] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Make the index hold `documents` plus the already indexed `keep_ids`, and nothing else.

    `skipped` are the files the caller could not read, for the report.
    """
    started = time.perf_counter()
    store = open_store(config)
    report = BuildReport(store=store.description, skipped=list(skipped or []))
    with store.errors():
        store.live_name()  # refuses a foreign folder before anything is written
        with store.lock():
            store.discard_abandoned()
            if rebuild:  # nothing is reused, so a damaged or incompatible index is no obstacle
                old = None
                indexed = _indexed_before(store)
            else:
                old = store.open() if store.live_name() is not None else None
                if old is not None:
                    check_compatible(old.manifest, config, embeddings.model_id, embeddings.dimension)
                indexed = old.manifest.documents if old is not None else {}
            reusable = {} if rebuild else indexed

            new_by_id = {d.doc_id: d for d in documents}
            reuse = {
                doc_id: record
                for doc_id, record in reusable.items()
                if (doc_id in keep_ids and doc_id not in new_by_id)
                or (
                    doc_id in new_by_id
                    and new_by_id[doc_id].content_hash == record.content_hash
                    # chunked by today's rules, under the title its chunks carry
                    and (record.chunk_rules, record.title) == (CHUNK_RULES, new_by_id[doc_id].title)
                )
            }
            to_embed = [d for d in documents if d.doc_id not in reuse]
            report.unchanged = sorted(reuse)
            report.added = sorted(d.doc_id for d in to_embed if d.doc_id not in indexed)
            report.updated = sorted(d.doc_id for d in to_embed if d.doc_id in indexed)
            report.removed = sorted(set(indexed) - set(reuse) - set(new_by_id))
            if old is not None and not rebuild and not report.changed:
                report.chunks_total = old.manifest.chunk_count
                report.seconds = time.perf_counter() - started
                return report

            manifest = Manifest(
                embedding_model=embeddings.model_id,
                dimension=embeddings.dimension,
                chunk_size=config.chunk_size,
                chunk_overlap=config.chunk_overlap,
                built_at=time.strftime("%Y-%m-%d %H:%M:%S"),
            )
            staging = store.begin(manifest.settings())
            try:
                keyword = _write_generation(
                    staging, old, reuse, to_embed, manifest, config, embeddings, progress, report
                )
                store.publish(staging, manifest, keyword)
            except BaseException as exc:
                disk_full = _disk_full(exc) or store.out_of_space()
                store.discard(staging)
                if disk_full and isinstance(exc, Exception):
                    raise IndexProblem(
                        f"The disk holding the index ({store.description}) is full; the build stopped and the"
                        " previous index is unchanged. Free some space and build again."
                    ) from exc
                raise
            report.chunks_total = manifest.chunk_count
    report.seconds = time.perf_counter() - started
    log.info("index built: %s", report)
    return report


def _indexed_before(store: Store) -> dict[str, DocumentRecord]:
    """What a rebuild replaces, for its report; an index too damaged to list its documents counts as empty."""
    if store.live_name() is None:
        return {}
    try:
        return store.live_manifest().documents
    except IndexProblem:
        return {}


def _disk_full(exc: BaseException | None) -> bool:
    """ENOSPC anywhere in the chain; SQLite and Chroma's Rust core report it only in words."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if any(words in str(exc).lower() for words in ("disk is full", "no space left")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _write_generation(
    staging: Staging,
    old,
    reuse: dict[str, DocumentRecord],
    to_embed: list[Document],
    manifest: Manifest,
    config: Config,
    embeddings,
    progress: Progress | None,
    report: BuildReport,
) -> KeywordIndex:
    """Fill the staging collection; returns the BM25 index over everything it holds."""
    collection = staging.collection
    ids: list[str] = []
    tokens: list[list[str]] = []
    if reuse:
        ids, tokens = _copy_chunks(old.collection, collection, sorted(reuse))
        manifest.documents.update(reuse)

    chunks_by_doc = {
        d.doc_id: chunk_document(d, chunk_size=config.chunk_size, chunk_overlap=config.chunk_overlap) for d in to_embed
    }
    pending = sorted((c for chunks in chunks_by_doc.values() for c in chunks), key=lambda c: -len(c.embed_text))
    total = len(pending)
    if progress:
        progress(0, total, f"embedding {total} chunks")

    unwritten: list[tuple[Chunk, list[str], np.ndarray]] = []

    def store_batch(part: list[Chunk], vectors: np.ndarray, last: bool) -> None:
        """Tokenise each batch as it comes; write to Chroma in large batches, which it adds faster."""
        for chunk, vector in zip(part, vectors, strict=True):
            unwritten.append((chunk, tokenize(chunk.embed_text), vector))
        report.chunks_embedded += len(part)
        if progress:
            progress(report.chunks_embedded, total, f"embedded {report.chunks_embedded}/{total} chunks")
        if len(unwritten) >= WRITE_BATCH or last:
            collection.add(
                ids=[c.chunk_id for c, _, _ in unwritten],
                embeddings=np.stack([v for _, _, v in unwritten]),
                documents=[c.embed_text for c, _, _ in unwritten],
                metadatas=[_chunk_metadata(c, t) for c, t, _ in unwritten],
            )
            ids.extend(c.chunk_id for c, _, _ in unwritten)
            tokens.extend(t for _, t, _ in unwritten)
            unwritten.clear()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer") as writer:
        written: Future | None = None
        for start in range(0, total, EMBED_BATCH):
            part = pending[start : start + EMBED_BATCH]
            vectors = embeddings.encode([c.embed_text for c in part], "passage")  # numpy, straight into Chroma
            if written is not None:
                written.result()  # surfaces a failed write before more work is done
            written = writer.submit(store_batch, part, vectors, start + EMBED_BATCH >= total)
        if written is not None:
            written.result()

    now = time.strftime("%Y-%m-%d %H:%M:%S")
    for doc in to_embed:
        manifest.documents[doc.doc_id] = DocumentRecord(
            doc_id=doc.doc_id,
            title=doc.title,
            path=doc.path,
            content_hash=doc.content_hash,
            chunks=len(chunks_by_doc[doc.doc_id]),
            added_at=now,
            years=years_in(doc.text),
            lang=text_language(doc.text),
            chars_read=doc.chars_read,
            chars_kept=doc.chars_kept,
            chunk_rules=CHUNK_RULES,
        )
    stored = collection.count()
    if stored != manifest.chunk_count or len(ids) != stored:
        raise IndexProblem(f"Index build check failed: {stored} chunks stored, {manifest.chunk_count} expected.")
    return KeywordIndex.build(ids, tokens)


def _chunk_metadata(chunk: Chunk, tokens: list[str]) -> dict[str, object]:
    metadata: dict[str, object] = {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "section": chunk.section,
        "position": chunk.position,
        "text": chunk.text,
        "tokens": " ".join(tokens),
    }
    if chunk.page is not None:  # Chroma stores no None
        metadata["page"] = chunk.page
    return metadata


def _copy_chunks(source, collection, doc_ids: list[str]) -> tuple[list[str], list[list[str]]]:
    """Carry unchanged documents' chunks, vectors and tokens over without embedding them again."""
    ids: list[str] = []
    tokens: list[list[str]] = []
    for start in range(0, len(doc_ids), 100):
        where = {"doc_id": {"$in": doc_ids[start : start + 100]}}
        offset = 0
        while True:
            got = source.get(where=where, include=["embeddings", "documents", "metadatas"], limit=PAGE, offset=offset)
            if not got["ids"]:
                break
            collection.add(
                ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"], metadatas=got["metadatas"]
            )
            ids.extend(got["ids"])
            # Indexes built before tokens were stored get them now.
            tokens.extend(
                m["tokens"].split() if "tokens" in m else tokenize(text)
                for m, text in zip(got["metadatas"], got["documents"], strict=True)
            )
            offset += len(got["ids"])
    return ids, tokens
