"""The persisted index: Chroma collections (read through langchain-chroma) plus BM25, in generations.

Every build writes a new, complete generation beside the live one and then moves the live
pointer in one atomic step, so a build that fails or is killed midway leaves the previous
index answering and readers never see a half-written index. Two places can hold them:

* ``LocalStore`` (the default): an index folder with ``CURRENT`` (the live generation's name)
  and one folder per generation, each an embedded Chroma plus its BM25 index. A generation is
  written by one process and only read afterwards, which keeps embedded Chroma single-writer.
  Chroma needs write access even to read, so a folder this process cannot write is read from
  a copy of the live generation in the cache.
* ``ServerStore`` (``Config.chroma_url``): a Chroma server holds one collection per generation
  and a catalog collection whose metadata names the live one and whose records are the
  manifests. The BM25 index is derived from the tokens stored with each chunk and cached
  locally per generation, so every machine that talks to the server gets the same keyword side.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from .config import Config
from .errors import IndexProblem
from .keyword import KeywordIndex

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
COLLECTION = "chunks"
KEPT_GENERATIONS = 2
PAGE = 2048
# A server-side staging collection whose builder cannot be checked is abandoned after this long.
STALE_STAGING_SECONDS = 6 * 3600
# A failed build on a disk with less free space than this is reported as a full disk.
LOW_SPACE_BYTES = 16 * 2**20


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
    # Non-space characters extracted from the file and left after cleaning: what cleaning removed.
    chars_read: int = 0
    chars_kept: int = 0
    chunk_rules: int = 1  # chunk.CHUNK_RULES when it was chunked (1: before the edition was recorded)


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


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def chroma_client(folder: Path):
    """A persistent (embedded) Chroma client with telemetry off."""
    import chromadb

    return chromadb.PersistentClient(path=str(folder), settings=_settings())


@dataclass
class Generation:
    """One complete, immutable build of the index, opened for reading."""

    name: str
    manifest: Manifest
    keyword: KeywordIndex
    client: object
    collection_name: str
    _stores: dict = field(default_factory=dict)

    def vectorstore(self, embeddings):
        """The langchain store over this generation, made once per embedding model."""
        from langchain_chroma import Chroma

        key = id(embeddings)
        if key not in self._stores:
            self._stores[key] = Chroma(
                collection_name=self.collection_name,
                embedding_function=embeddings,
                client=self.client,
                create_collection_if_not_exists=False,
            )
        return self._stores[key]

    @functools.cached_property
    def collection(self):
        return self.client.get_collection(self.collection_name)  # type: ignore[attr-defined]

    def chunks_by_id(self, ids: list[str]) -> dict[str, dict]:
        """Stored text and metadata of the given chunks."""
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["metadatas"])
        return {i: m for i, m in zip(got["ids"], got["metadatas"], strict=True)}


@dataclass
class Staging:
    """A generation being written: its name and its (empty at first) Chroma collection."""

    name: str
    client: object
    collection: object
    folder: Path | None = None


class Store:
    """Where generations live; the indexing and answering code only talks to this interface."""

    description: str

    def live_name(self) -> str | None:
        """The live generation's name, or None when nothing was built yet."""
        raise NotImplementedError

    def open(self) -> Generation:
        """The live generation; a missing index is a clear error that says how to build one."""
        raise NotImplementedError

    def live_manifest(self) -> Manifest:
        """The live generation's manifest alone: which documents it holds (from which files) and
        how it was built, readable even when its Chroma or BM25 part is damaged."""
        raise NotImplementedError

    def lock(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def begin(self, settings: dict[str, object]) -> Staging:
        raise NotImplementedError

    def publish(self, staging: Staging, manifest: Manifest, keyword: KeywordIndex) -> None:
        raise NotImplementedError

    def discard(self, staging: Staging) -> None:
        raise NotImplementedError

    def unpublished(self) -> list[str]:
        """Generations being written now, or left behind by builds that were killed."""
        raise NotImplementedError

    def discard_abandoned(self) -> None:
        """Remove what killed builds left behind; call only while holding the lock."""
        raise NotImplementedError

    def size_bytes(self) -> int | None:
        return None

    def out_of_space(self) -> bool:
        """Whether the index's disk is (nearly) full: Chroma reports ENOSPC only as a failed compaction."""
        return False

    def errors(self) -> contextlib.AbstractContextManager[None]:
        """Turns the backend's failures into messages a user can act on."""
        return contextlib.nullcontext()


def open_store(config: Config) -> Store:
    return ServerStore(config) if config.chroma_url else LocalStore(config.index_dir, config.cache_dir)


def _new_generation_name() -> str:
    return f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


class LocalStore(Store):
    def __init__(self, index_dir: Path, cache_dir: Path) -> None:
        self.index_dir = index_dir
        self.cache_dir = cache_dir
        self.description = f"embedded Chroma in {index_dir}"

    def live_name(self) -> str | None:
        if self.index_dir.exists() and not self.index_dir.is_dir():
            raise IndexProblem(f"{self.index_dir} is a file, not an index folder; choose a folder for the index.")
        marker = self.index_dir / CURRENT_FILE
        if not marker.exists():
            visible = (
                [p for p in self.index_dir.iterdir() if not p.name.startswith(".")] if self.index_dir.is_dir() else []
            )
            if visible and not any(p.name.startswith("gen-") for p in visible):
                raise IndexProblem(
                    f"{self.index_dir} is not an index folder (it holds other files and no {CURRENT_FILE});"
                    " choose an empty or new folder for the index."
                )
            return None
        return marker.read_text(encoding="utf-8").strip()

    def _live_folder(self) -> Path:
        name = self.live_name()
        if name is None:
            raise IndexProblem(f"No index in {self.index_dir}: build one with `assistant index build [PATHS…]`.")
        return self.index_dir / name

    def open(self) -> Generation:
        return _open_local(self._live_folder(), self.cache_dir)

    def live_manifest(self) -> Manifest:
        return _read_manifest(self._live_folder())

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with _file_lock(self.index_dir / ".build.lock", f"{self.index_dir}"):
            yield

    def begin(self, settings: dict[str, object]) -> Staging:
        name = _new_generation_name()
        folder = self.index_dir / f".staging-{name}"
        client = chroma_client(folder / "chroma")
        collection = client.create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"assistant": "report-assistant", **settings},
        )
        return Staging(name=name, client=client, collection=collection, folder=folder)

    def publish(self, staging: Staging, manifest: Manifest, keyword: KeywordIndex) -> None:
        assert staging.folder is not None
        keyword.save(staging.folder / "keyword")
        (staging.folder / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        final = self.index_dir / staging.name
        _fsync_tree(staging.folder)
        os.replace(staging.folder, final)
        tmp = self.index_dir / f".{CURRENT_FILE}.{uuid.uuid4().hex[:6]}"
        tmp.write_text(final.name, encoding="utf-8")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.index_dir / CURRENT_FILE)
        _fsync_dir(self.index_dir)
        self._remove_old(keep=final)

    def discard(self, staging: Staging) -> None:
        if staging.folder is not None:
            shutil.rmtree(staging.folder, ignore_errors=True)

    def unpublished(self) -> list[str]:
        return sorted(p.name.removeprefix(".staging-") for p in self.index_dir.glob(".staging-*"))

    def discard_abandoned(self) -> None:
        for name in self.unpublished():
            shutil.rmtree(self.index_dir / f".staging-{name}", ignore_errors=True)
        for tmp in self.index_dir.glob(f".{CURRENT_FILE}.*"):
            tmp.unlink(missing_ok=True)

    def size_bytes(self) -> int | None:
        name = self.live_name()
        return folder_size(self.index_dir / name) if name else None

    def out_of_space(self) -> bool:
        return shutil.disk_usage(self.index_dir).free < LOW_SPACE_BYTES

    def _remove_old(self, keep: Path) -> None:
        """Keep the live and the previous generation (a reader may still hold it); drop the rest."""
        generations = sorted((p for p in self.index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        old = [p for p in generations if p != keep][: -(KEPT_GENERATIONS - 1) or None]
        for folder in old:
            _open_local.cache_clear()
            shutil.rmtree(folder, ignore_errors=True)


def _read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST_FILE
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IndexProblem(
            f"the index at {folder.parent} is damaged ({path} cannot be read: {exc}), so the list of its"
            " documents is lost; run `assistant index build PATHS --rebuild` with the files and folders it"
            " should hold."
        ) from exc


@functools.lru_cache(maxsize=4)
def _open_local(folder: Path, cache_dir: Path) -> Generation:
    """Generations never change once written, so an opened one can be reused.

    Every part is opened (and Chroma's collection counted) here, so a damaged generation is
    reported at once, with how to repair it, instead of failing in the middle of an answer.
    """
    manifest = _read_manifest(folder)
    try:
        keyword = KeywordIndex.load(folder / "keyword")
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise _damaged(folder, f"its keyword index cannot be read: {exc}") from exc
    chroma = _readable_chroma(folder, cache_dir)
    try:
        client = chroma_client(chroma)
        client.get_collection(COLLECTION).count()
    except Exception as exc:  # a failed open makes Chroma's own cleanup raise (AttributeError), hiding the cause
        raise _damaged(folder, f"its Chroma database cannot be read: {_first_cause(exc)}") from exc
    return Generation(name=folder.name, manifest=manifest, keyword=keyword, client=client, collection_name=COLLECTION)


def _first_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ or exc.__context__:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def _damaged(folder: Path, what: str) -> IndexProblem:
    """A generation whose manifest still lists its documents: a rebuild from them repairs it."""
    return IndexProblem(
        f"the index at {folder.parent} is damaged ({what}); run `assistant index build --rebuild` to rebuild it"
        " from its documents."
    )


def _readable_chroma(folder: Path, cache_dir: Path) -> Path:
    """The generation's Chroma folder, or a private copy when this process cannot write there.

    Chroma opens its SQLite database for writing even to read it (chroma-core/chroma#1438), so a
    read-only index is answered from a copy in the cache; generations never change, so one
    copy per generation stays valid.
    """
    chroma = folder / "chroma"
    if not (chroma / "chroma.sqlite3").is_file():
        raise _damaged(folder, f"{chroma / 'chroma.sqlite3'} is missing")
    if os.access(chroma, os.W_OK) and os.access(chroma / "chroma.sqlite3", os.W_OK):
        return chroma
    copies = cache_dir / "read-only-index" / hashlib.sha1(str(folder.parent.resolve()).encode()).hexdigest()[:16]
    copy = copies / folder.name
    if not copy.exists():
        scratch = copies / f".{folder.name}.{uuid.uuid4().hex[:6]}"
        try:
            shutil.copytree(chroma, scratch)
        except OSError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise IndexProblem(
                f"The index at {folder.parent} is read-only, so it is read from a copy, which could not be made in"
                f" {copies} ({exc}). Free some space there, or copy the index folder somewhere writable and pass"
                " that with --index."
            ) from exc
        try:
            os.replace(scratch, copy)
        except OSError:  # another process copied it first
            shutil.rmtree(scratch, ignore_errors=True)
        for stale in copies.iterdir():  # copies of generations that are no longer live
            if stale.name != folder.name and not stale.name.startswith("."):
                shutil.rmtree(stale, ignore_errors=True)
    return copy


class ServerStore(Store):
    def __init__(self, config: Config) -> None:
        parsed = urlparse(config.chroma_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise IndexProblem(f"ASSISTANT_CHROMA_URL must look like http://host:8000, not {config.chroma_url!r}.")
        self.url = config.chroma_url
        self.tenant = config.chroma_tenant
        self.database = config.chroma_database
        self.token = config.chroma_token
        self.prefix = config.chroma_index
        self.description = (
            f"Chroma server {self.url} (tenant {self.tenant}, database {self.database}, index {self.prefix})"
        )
        where = f"{self.url}|{self.tenant}|{self.database}|{self.prefix}"
        self.local_dir = config.cache_dir / "server-index" / hashlib.sha1(where.encode()).hexdigest()[:16]
        self.catalog_name = f"{self.prefix}-catalog"

    def _key(self) -> tuple:
        return (self.url, self.tenant, self.database, self.token, self.prefix, self.local_dir)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServerStore) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def client(self, *, create: bool = False):
        return _server_client(self.url, self.tenant, self.database, self.token, create)

    def _catalog(self, *, create: bool = False):
        from chromadb.errors import NotFoundError

        client = self.client(create=create)
        if create:
            return client.get_or_create_collection(self.catalog_name, metadata={"assistant": "report-assistant"})
        try:
            return client.get_collection(self.catalog_name)
        except NotFoundError:
            return None

    def live_name(self) -> str | None:
        with self.errors():
            catalog = self._catalog()
            return (catalog.metadata or {}).get("current") if catalog is not None else None

    def open(self) -> Generation:
        name = self.live_name()
        if name is None:
            raise IndexProblem(f"No index named {self.prefix!r} on {self.url}: build one with `assistant index build`.")
        with self.errors():
            return _open_server(self, name)

    def live_manifest(self) -> Manifest:
        name = self.live_name()
        if name is None:
            raise IndexProblem(f"No index named {self.prefix!r} on {self.url}: build one with `assistant index build`.")
        with self.errors():
            return _server_manifest(self, name)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        # Builds from one machine are serialised; builds from two machines each write a complete
        # generation of their own, and the later publish wins.
        with _file_lock(self.local_dir / ".build.lock", self.description):
            yield

    def begin(self, settings: dict[str, object]) -> Staging:
        with self.errors():
            self._catalog(create=True)
            client = self.client()
            name = f"{self.prefix}-{_new_generation_name()}"
            collection = client.create_collection(
                name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={
                    "assistant": "report-assistant",
                    "builder": f"{socket.gethostname()}:{os.getpid()}",
                    "created": time.time(),
                    **settings,
                },
            )
            return Staging(name=name, client=client, collection=collection)

    def publish(self, staging: Staging, manifest: Manifest, keyword: KeywordIndex) -> None:
        self._cache_keyword(staging.name, keyword)
        with self.errors():
            catalog = self._catalog(create=True)
            catalog.upsert(ids=[staging.name], documents=[manifest.to_json()], embeddings=[[0.0]])
            catalog.modify(metadata={"assistant": "report-assistant", "current": staging.name})
            self._remove_old(catalog, keep=staging.name)

    def discard(self, staging: Staging) -> None:
        with contextlib.suppress(Exception), self.errors():
            self.client().delete_collection(staging.name)

    def _unpublished_collections(self) -> list:
        catalog = self._catalog()
        published = set(catalog.get(include=[])["ids"]) if catalog is not None else set()
        return [
            c
            for c in self.client().list_collections()
            if c.name.startswith(f"{self.prefix}-gen-") and c.name not in published
        ]

    def unpublished(self) -> list[str]:
        with self.errors():
            return sorted(c.name for c in self._unpublished_collections())

    def discard_abandoned(self) -> None:
        with self.errors():
            host = socket.gethostname()
            for collection in self._unpublished_collections():
                meta = collection.metadata or {}
                builder_host, _, pid = str(meta.get("builder", "")).partition(":")
                # Under the lock, a staging collection of this very process is one its failed build left.
                dead = (
                    builder_host == host and pid.isdigit() and (int(pid) == os.getpid() or not _process_alive(int(pid)))
                )
                if dead or time.time() - float(meta.get("created", 0)) > STALE_STAGING_SECONDS:
                    self.client().delete_collection(collection.name)

    def _remove_old(self, catalog, keep: str) -> None:
        names = sorted(catalog.get(include=[])["ids"])  # names sort by build time
        for name in [n for n in names if n != keep][: -(KEPT_GENERATIONS - 1) or None]:
            with contextlib.suppress(Exception):
                self.client().delete_collection(name)
            catalog.delete(ids=[name])
            shutil.rmtree(self._keyword_dir(name), ignore_errors=True)

    def _keyword_dir(self, name: str) -> Path:
        return self.local_dir / "keyword" / name

    def keyword_index(self, name: str, collection) -> KeywordIndex:
        """The generation's BM25 index from the local cache, or rebuilt from its stored tokens."""
        folder = self._keyword_dir(name)
        if (folder / "chunk_ids.json").exists():
            return KeywordIndex.load(folder)
        keyword = KeywordIndex.build(*stored_tokens(collection))
        self._cache_keyword(name, keyword)
        return keyword

    def _cache_keyword(self, name: str, keyword: KeywordIndex) -> None:
        """Written beside and renamed into place, so a process opening it never reads half a file."""
        folder = self._keyword_dir(name)
        scratch = folder.with_name(f".{name}.{uuid.uuid4().hex[:6]}")
        keyword.save(scratch)
        try:
            os.replace(scratch, folder)
        except OSError:  # another process cached the same generation first
            shutil.rmtree(scratch, ignore_errors=True)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        import httpx
        from chromadb.errors import ChromaError, NotFoundError

        try:
            yield
        except (httpx.TransportError, ConnectionError) as exc:
            raise IndexProblem(
                f"The Chroma server at {self.url} is not reachable ({exc.__class__.__name__}). "
                "Start it (`make chroma-server`) or check ASSISTANT_CHROMA_URL; then ask again."
            ) from exc
        except NotFoundError as exc:
            raise IndexProblem(
                f"The index {self.prefix!r} on {self.url} is incomplete ({exc}); rebuild it with"
                " `assistant index build --rebuild`."
            ) from exc
        except ValueError as exc:
            if "Could not connect" not in str(exc):
                raise
            raise IndexProblem(
                f"The Chroma server at {self.url} is not reachable or has no tenant {self.tenant!r} / database "
                f"{self.database!r}. Start it (`make chroma-server`) or check the ASSISTANT_CHROMA_* settings."
            ) from exc
        except ChromaError as exc:
            raise IndexProblem(f"The Chroma server at {self.url} refused the request: {exc}") from exc


@functools.lru_cache(maxsize=8)
def _server_client(url: str, tenant: str, database: str, token: str, create: bool):
    """One HTTP client per server and database; making one checks that the server answers."""
    import chromadb

    parsed = urlparse(url)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    if create:
        admin = chromadb.AdminClient(
            chromadb.config.Settings(
                anonymized_telemetry=False,
                chroma_api_impl="chromadb.api.fastapi.FastAPI",
                chroma_server_host=parsed.hostname,
                chroma_server_http_port=port,
                chroma_server_ssl_enabled=parsed.scheme == "https",
                chroma_server_headers=headers,
            )
        )
        try:
            admin.get_tenant(tenant)
        except Exception:
            admin.create_tenant(tenant)
        try:
            admin.get_database(database, tenant=tenant)
        except Exception:
            admin.create_database(database, tenant=tenant)
    return chromadb.HttpClient(
        host=parsed.hostname,
        port=port,
        ssl=parsed.scheme == "https",
        headers=headers,
        tenant=tenant,
        database=database,
        settings=_settings(),
    )


@functools.lru_cache(maxsize=4)
def _open_server(store: ServerStore, name: str) -> Generation:
    """Generations never change once published, so an opened one can be reused."""
    manifest = _server_manifest(store, name)
    client = store.client()
    collection = client.get_collection(name)
    return Generation(
        name=name,
        manifest=manifest,
        keyword=store.keyword_index(name, collection),
        client=client,
        collection_name=name,
    )


def _server_manifest(store: ServerStore, name: str) -> Manifest:
    """A published generation's manifest, from the catalog."""
    catalog = store._catalog()
    if catalog is None:
        raise IndexProblem(f"The index {store.prefix!r} on {store.url} has no catalog; build it again.")
    got = catalog.get(ids=[name], include=["documents"])
    if not got["ids"]:
        raise IndexProblem(f"The index {store.prefix!r} on {store.url} is damaged ({name} has no manifest).")
    return Manifest.from_json(got["documents"][0])


def stored_tokens(collection) -> tuple[list[str], list[list[str]]]:
    """Every chunk id with its keyword tokens, read back from the collection in pages."""
    ids: list[str] = []
    tokens: list[list[str]] = []
    offset = 0
    while True:
        got = collection.get(include=["metadatas"], limit=PAGE, offset=offset)
        if not got["ids"]:
            return ids, tokens
        ids.extend(got["ids"])
        tokens.extend(str(m.get("tokens", "")).split() for m in got["metadatas"])
        offset += len(got["ids"])


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
def _file_lock(path: Path, what: str) -> Iterator[None]:
    """One build at a time; a second one is told so instead of waiting."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")  # noqa: SIM115 (closed below, after the lock is released)
    except OSError as exc:
        raise IndexProblem(
            f"Cannot write in {path.parent} ({exc.strerror}); build the index in a folder you can write to."
        ) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexProblem(f"Another build of {what} is running; try again when it ends.") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
