"""The answering language model: the bundled Qwen GGUF run by xllamacpp, or any
OpenAI-compatible server, behind langchain's ``BaseChatModel`` interface.

* the model file comes from ``assistant.gguf`` (assembled from its packages once).
* ``get_chat_model(config)`` returns the chat model that ``config.llm`` names
  (or ``None`` for ``"none"``).

Nothing here downloads anything.
"""

from __future__ import annotations

import functools
import json
import os
import queue
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

from assistant.errors import AssistantError, LLMError, ModelUnavailable
from assistant.gguf import ensure_gguf

if TYPE_CHECKING:
    from assistant.config import Config

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
# Loopback only: never route requests to our own server through an HTTP proxy.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@functools.lru_cache(maxsize=1)
def _load_cached(path: str, threads: int, ctx: int, repack_weights: bool) -> _Llama:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = path
    params.n_ctx = ctx
    params.n_parallel = 1  # one slot: the whole context for one request, prefix cache kept
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    params.no_extra_bufts = not repack_weights  # see Config.llm_repack_weights
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


def load_llama(path: str | Path, threads: int = 2, ctx: int = 4096, repack_weights: bool = False) -> _Llama:
    """The process-wide llama handle for these settings (loaded on first call)."""
    with _LOAD_LOCK:
        return _load_cached(str(path), int(threads), int(ctx), bool(repack_weights))


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
    the process (one per (path, threads, ctx, repack_weights)); a lock serialises generations.
    Greedy decoding (temperature 0) by default. llama.cpp keeps the KV cache of
    the previous prompt and reuses its longest common prefix, so a fixed system
    prompt placed first is only evaluated once.
    """

    model_path: str
    n_threads: int = 2
    n_ctx: int = 4096
    repack_weights: bool = False
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
            "repack_weights": self.repack_weights,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": self.stop,
        }

    def _handle(self) -> _Llama:
        return load_llama(self.model_path, self.n_threads, self.n_ctx, self.repack_weights)

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
            repack_weights=config.llm_repack_weights,
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
