"""Index builds: diff documents by content hash, embed only what changed, publish a new generation."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .chunk import Chunk, chunk_document
from .config import Config
from .errors import IndexProblem
from .ingest import Document
from .keyword import KeywordIndex
from .prompts import text_language
from .retrieve import years_in
from .store import (
    COLLECTION,
    MANIFEST_FILE,
    DocumentRecord,
    Manifest,
    build_lock,
    check_compatible,
    chroma_client,
    current_generation,
    discard,
    discard_abandoned,
    new_generation_folder,
    open_generation,
    publish,
    vector_store,
)

log = logging.getLogger(__name__)

# progress(done, total, message)
Progress = Callable[[int, int, str], None]
COPY_PAGE = 1000


@dataclass
class BuildReport:
    index_dir: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
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
    progress: Progress | None = None,
) -> BuildReport:
    """Make the index hold `documents` plus the already indexed `keep_ids`, and nothing else."""
    started = time.perf_counter()
    report = BuildReport(index_dir=config.index_dir)
    current_generation(config.index_dir)  # refuses a foreign folder before anything is written
    with build_lock(config.index_dir):
        old_folder = current_generation(config.index_dir)
        discard_abandoned(config.index_dir)
        old = open_generation(config.index_dir) if old_folder is not None else None
        if old is not None and not rebuild:
            check_compatible(old.manifest, config, embeddings.model_id, embeddings.dimension)
        old_docs = old.manifest.documents if (old is not None and not rebuild) else {}

        new_by_id = {d.doc_id: d for d in documents}
        reuse = {
            doc_id: record
            for doc_id, record in old_docs.items()
            if (doc_id in keep_ids and doc_id not in new_by_id)
            or (doc_id in new_by_id and new_by_id[doc_id].content_hash == record.content_hash)
        }
        to_embed = [d for d in documents if d.doc_id not in reuse]
        report.unchanged = sorted(reuse)
        report.added = sorted(d.doc_id for d in to_embed if d.doc_id not in old_docs)
        report.updated = sorted(d.doc_id for d in to_embed if d.doc_id in old_docs)
        report.removed = sorted(set(old_docs) - set(reuse) - set(new_by_id))
        if old is not None and not rebuild and not report.changed:
            report.chunks_total = old.manifest.chunk_count
            report.seconds = time.perf_counter() - started
            return report

        staging = new_generation_folder(config.index_dir)
        try:
            manifest = _write_generation(staging, old, reuse, to_embed, config, embeddings, progress, report)
            publish(config.index_dir, staging)
        except BaseException:
            discard(staging)
            raise
        report.chunks_total = manifest.chunk_count
    report.seconds = time.perf_counter() - started
    log.info("index built: %s", report)
    return report


def _write_generation(
    staging: Path,
    old,
    reuse: dict[str, DocumentRecord],
    to_embed: list[Document],
    config: Config,
    embeddings,
    progress: Progress | None,
    report: BuildReport,
) -> Manifest:
    manifest = Manifest(
        embedding_model=embeddings.model_id,
        dimension=embeddings.dimension,
        chunk_size=config.chunk_size,
        chunk_overlap=config.chunk_overlap,
        built_at=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    client = chroma_client(staging / "chroma")
    store = vector_store(client, embeddings, create=True)
    collection = client.get_collection(COLLECTION)
    collection.modify(metadata={"assistant": "report-assistant", **manifest.settings()})

    if reuse:
        _copy_chunks(old, collection, sorted(reuse))
        manifest.documents.update(reuse)

    chunks_by_doc = {
        d.doc_id: chunk_document(d, chunk_size=config.chunk_size, chunk_overlap=config.chunk_overlap) for d in to_embed
    }
    pending = [c for chunks in chunks_by_doc.values() for c in chunks]
    total = len(pending)
    batch = max(config.embedding_batch_size * 4, 32)
    if progress:
        progress(0, total, f"embedding {total} chunks")
    for start in range(0, total, batch):
        part = pending[start : start + batch]
        store.add_texts(
            texts=[c.embed_text for c in part],
            metadatas=[_chunk_metadata(c) for c in part],
            ids=[c.chunk_id for c in part],
        )
        report.chunks_embedded += len(part)
        if progress:
            progress(report.chunks_embedded, total, f"embedded {report.chunks_embedded}/{total} chunks")

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
        )

    ids, texts = _all_texts(collection)
    if len(ids) != manifest.chunk_count:
        raise IndexProblem(f"Index build check failed: {len(ids)} chunks stored, {manifest.chunk_count} expected.")
    KeywordIndex.build(ids, texts).save(staging / "keyword")
    (staging / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _chunk_metadata(chunk: Chunk) -> dict[str, object]:
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "section": chunk.section,
        "position": chunk.position,
        "text": chunk.text,
    }


def _copy_chunks(old, collection, doc_ids: list[str]) -> None:
    """Carry unchanged documents' chunks and vectors over without embedding them again."""
    source = old._client.get_collection(COLLECTION)
    for start in range(0, len(doc_ids), 100):
        where = {"doc_id": {"$in": doc_ids[start : start + 100]}}
        offset = 0
        while True:
            got = source.get(
                where=where, include=["embeddings", "documents", "metadatas"], limit=COPY_PAGE, offset=offset
            )
            if not got["ids"]:
                break
            collection.add(
                ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"], metadatas=got["metadatas"]
            )
            offset += len(got["ids"])


def _all_texts(collection) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    texts: list[str] = []
    offset = 0
    while True:
        got = collection.get(include=["documents"], limit=COPY_PAGE, offset=offset)
        if not got["ids"]:
            break
        ids.extend(got["ids"])
        texts.extend(got["documents"])
        offset += len(got["ids"])
    return ids, texts
