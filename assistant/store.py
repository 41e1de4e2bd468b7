"""The persisted index: Chroma (through langchain-chroma) plus the BM25 index, in generations.

An index folder holds ``CURRENT`` (the name of the live generation) and one folder per
generation. Every build writes a new generation beside the live one and then replaces
``CURRENT`` atomically, so a build that fails or is killed midway leaves the previous
index answering, and readers never see a half-written index.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .config import Config
from .errors import IndexProblem
from .keyword import KeywordIndex

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
COLLECTION = "chunks"
KEPT_GENERATIONS = 2


@dataclass
class DocumentRecord:
    doc_id: str
    title: str
    path: str
    content_hash: str
    chunks: int
    added_at: str
    years: list[str] = field(default_factory=list)
    lang: str = ""


@dataclass
class Manifest:
    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    built_at: str = ""
    documents: dict[str, DocumentRecord] = field(default_factory=dict)

    @property
    def chunk_count(self) -> int:
        return sum(d.chunks for d in self.documents.values())

    @property
    def languages(self) -> set[str]:
        return {d.lang for d in self.documents.values() if d.lang}

    def settings(self) -> dict[str, object]:
        return {
            "embedding_model": self.embedding_model,
            "dimension": self.dimension,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["documents"] = {k: DocumentRecord(**v) for k, v in data.get("documents", {}).items()}
        return cls(**data)


def chroma_client(folder: Path):
    """A persistent Chroma client with telemetry off."""
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))


def vector_store(client, embeddings, *, create: bool):
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=COLLECTION,
        embedding_function=embeddings,
        client=client,
        collection_configuration={"hnsw": {"space": "cosine"}} if create else None,
        create_collection_if_not_exists=create,
    )


@dataclass
class Generation:
    """One complete, immutable build of the index, opened for reading."""

    folder: Path
    manifest: Manifest
    keyword: KeywordIndex
    _client: object
    _stores: dict = field(default_factory=dict)

    def vectorstore(self, embeddings):
        """The langchain store over this generation, made once per embedding model."""
        key = id(embeddings)
        if key not in self._stores:
            self._stores[key] = vector_store(self._client, embeddings, create=False)
        return self._stores[key]

    def chunks_by_id(self, ids: list[str]) -> dict[str, dict]:
        """Stored text and metadata of the given chunks."""
        if not ids:
            return {}
        collection = self._client.get_collection(COLLECTION)  # type: ignore[attr-defined]
        got = collection.get(ids=ids, include=["metadatas"])
        return {i: m for i, m in zip(got["ids"], got["metadatas"], strict=True)}


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index was built here."""
    marker = index_dir / CURRENT_FILE
    if not marker.exists():
        visible = [p for p in index_dir.iterdir() if not p.name.startswith(".")] if index_dir.is_dir() else []
        if visible and not any(p.name.startswith("gen-") for p in visible):
            raise IndexProblem(
                f"{index_dir} is not an index folder (it holds other files and no {CURRENT_FILE});"
                " choose an empty or new folder for the index."
            )
        return None
    folder = index_dir / marker.read_text(encoding="utf-8").strip()
    if not (folder / MANIFEST_FILE).exists():
        raise IndexProblem(
            f"The index in {index_dir} is damaged ({folder.name} is missing);"
            " rebuild it with `assistant index build --rebuild`."
        )
    return folder


def open_generation(index_dir: Path) -> Generation:
    """The live generation; a missing index is a clear error that says how to build one."""
    folder = current_generation(index_dir)
    if folder is None:
        raise IndexProblem(f"No index in {index_dir}: build one with `assistant index build [PATHS…]`.")
    return _open_cached(folder)


@functools.lru_cache(maxsize=4)
def _open_cached(folder: Path) -> Generation:
    """Generations never change once written, so an opened one can be reused."""
    manifest = Manifest.from_json((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return Generation(
        folder=folder,
        manifest=manifest,
        keyword=KeywordIndex.load(folder / "keyword"),
        _client=chroma_client(folder / "chroma"),
    )


def check_compatible(manifest: Manifest, config: Config, model_id: str, dimension: int) -> None:
    """An index answers only with the embedding model and chunking it was built with."""
    expected = {
        "embedding_model": model_id,
        "dimension": dimension,
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
    }
    differing = {k: (v, expected[k]) for k, v in manifest.settings().items() if v != expected[k]}
    if differing:
        details = "; ".join(f"{k}: index has {old!r}, settings ask for {new!r}" for k, (old, new) in differing.items())
        raise IndexProblem(
            f"The index was built with other settings ({details}). "
            "Rebuild it with `assistant index build --rebuild`, or use the settings it was built with."
        )


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder; a second one is told so instead of waiting."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexProblem(f"Another build of {index_dir} is running; try again when it ends.") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_generation_folder(index_dir: Path) -> Path:
    name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return index_dir / f".staging-{name}"


def publish(index_dir: Path, staging: Path) -> Path:
    """Make a fully written generation live with one atomic rename of CURRENT."""
    final = index_dir / staging.name.removeprefix(".staging-")
    _fsync_tree(staging)
    os.replace(staging, final)
    tmp = index_dir / f".{CURRENT_FILE}.{uuid.uuid4().hex[:6]}"
    tmp.write_text(final.name, encoding="utf-8")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / CURRENT_FILE)
    _fsync_dir(index_dir)
    _remove_old(index_dir, keep=final)
    return final


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def discard_abandoned(index_dir: Path) -> None:
    """Remove staging folders of builds that were killed; call only while holding the build lock."""
    for folder in index_dir.glob(".staging-*"):
        discard(folder)


def _remove_old(index_dir: Path, keep: Path) -> None:
    """Keep the live and the previous generation (a reader may still hold it); drop the rest."""
    generations = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    old = [p for p in generations if p != keep][: -(KEPT_GENERATIONS - 1) or None]
    for folder in old:
        _open_cached.cache_clear()
        shutil.rmtree(folder, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
