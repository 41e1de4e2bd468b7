"""The OpenAI chat-completions protocol over assistant.api, for every client that speaks it.

`POST /v1/chat/completions` and `GET /v1/models`, served beside the chat page (ui.start mounts this
app at /v1). The model names are the answer modes. The last user message is the question and the
turns before it its history, so follow-ups work as on the page. Answers keep their `[n]` markers
(`[n]` is `sources[n-1]`); `found` and the sources travel in extra fields of the response and of a
stream's last chunk. Usage is the language model's own token count, and absent when no model ran.

Bad requests get OpenAI-style errors (`{"error": {"message", "type", "param", "code"}}`) with the
right status, before anything is streamed: the first answer text is awaited before the stream's
headers are sent, which costs nothing since only checked text is ever streamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import asdict
from typing import Any, Literal

from fastapi import FastAPI, Request
from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler
from langchain_core.tracers.context import register_configure_hook
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from . import api
from .answer_queue import STOP_POLL_S, AnswerQueue, Place, QueueFull
from .config import Config
from .errors import AssistantError, InputError
from .logins import Credentials, FailedLogins, too_many_failures_message
from .results import Answer

log = logging.getLogger(__name__)

# The model names clients choose from, and the answer mode each one is.
MODELS = {"report-assistant": "auto", "report-assistant-extractive": "extractive", "report-assistant-llm": "llm"}
OWNER = "report-assistant"
ROLES = ("user", "assistant", "system", "developer", "tool", "function")
NO_USAGE_NOTE = "no language model ran for this answer, so there are no token counts"
SERVER_ERROR = "The server failed while answering; try again, and tell the administrator if it keeps happening."


class ApiError(Exception):
    """A request refused with an OpenAI-style error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


# ---------------------------------------------------------------------------------------------
# The request


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, …: accepted, not used
    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    # temperature, max_tokens, top_p, user, …: accepted and not used (answers are quoted, not sampled)
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1


def parse_request(body: bytes) -> ChatRequest:
    try:
        data = json.loads(body.decode("utf-8"))  # json.loads would guess UTF-16 and UTF-32 from bytes
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not UTF-8 text: send JSON encoded as UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"The request body is not valid JSON ({exc}): send a JSON object.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object with `model` and `messages`.")
    try:
        request = ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(400, f"Invalid request: {where}: {first['msg']}.", param=where) from None
    if request.n != 1:
        raise ApiError(400, "Only n=1 is supported: each question has one answer.", param="n")
    return request


def message_text(message: ChatMessage, number: int) -> str:
    """A message's text: a string, or the text parts of a list of parts."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    texts = []
    for part in message.content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                400,
                f"messages[{number}] holds a {part.get('type')!r} part: only text questions can be answered.",
                param=f"messages.{number}.content",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """The last user message and, as history, the user and assistant turns before it.

    System and tool messages are skipped: answers come from the documents, not from instructions.
    """
    for number, message in enumerate(messages):
        if message.role not in ROLES:
            raise ApiError(400, f"messages[{number}] has the unknown role {message.role!r}.", param="messages")
    users = [n for n, m in enumerate(messages) if m.role == "user"]
    if not users:
        raise ApiError(400, "The messages hold no user message: send the question as a message with role 'user'.")
    last = users[-1]
    if any(m.role == "assistant" for m in messages[last + 1 :]):
        raise ApiError(
            400, "The conversation must end with the user's question, not an assistant message.", param="messages"
        )
    history = []
    for number, message in enumerate(messages[:last]):
        text = message_text(message, number).strip()
        if message.role in ("user", "assistant") and text:
            history.append({"role": message.role, "content": text})
    return message_text(messages[last], last), history


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 once it passes `limit` bytes (it is not read further)."""
    too_large = ApiError(
        413,
        f"The request body is larger than {limit} bytes: send a shorter conversation.",
        code="request_too_large",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


# ---------------------------------------------------------------------------------------------
# Answering in the shared line, stopping when the client goes


class AnswerStopped(Exception):
    """The client went away: the model call in progress ends and no other starts."""


class StopWhenGone(BaseCallbackHandler):
    """Raises AnswerStopped in the model's callbacks once `stop` is set, which ends its generation."""

    raise_error = True

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def _check(self, *args: Any, **kwargs: Any) -> None:
        if self.stop.is_set():
            raise AnswerStopped("the client went away")

    on_llm_start = on_chat_model_start = on_llm_new_token = _check

    # With these two (LangChain's streaming-handler protocol) a model call streams token by token even
    # when invoked, so a stop ends it within a token rather than at the end of its reply.
    def tap_output_iter(self, run_id: uuid.UUID, output):
        return output

    def tap_output_aiter(self, run_id: uuid.UUID, output):
        return output


# Handlers every model call in an answer's thread reports to (registered once: each registration is global).
_stop_handler: ContextVar[StopWhenGone | None] = ContextVar("assistant_answer_stop", default=None)
_usage_handler: ContextVar[UsageMetadataCallbackHandler | None] = ContextVar("assistant_answer_usage", default=None)
register_configure_hook(_stop_handler, inheritable=True)
register_configure_hook(_usage_handler, inheritable=True)


class AnswerRun:
    """One answer, worked out in a thread once its place's turn comes; its items reach the event loop
    as ("text", str), ("answer", Answer), ("usage", dict), ("error", exc) and finally ("end", None)."""

    def __init__(self, place: Place, question: str, history: list[dict], mode: str, config: Config) -> None:
        self.place = place
        self.stop = threading.Event()
        self.items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._args = (question, history, mode, config)
        self._next: asyncio.Task | None = None
        threading.Thread(target=self._work, name="api-answer", daemon=True).start()

    def _put(self, kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the server's loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self.items.put_nowait, (kind, value))

    def _work(self) -> None:
        question, history, mode, config = self._args
        try:
            if not self.place.wait(self.stop):
                return
            try:
                usage = UsageMetadataCallbackHandler()
                _stop_handler.set(StopWhenGone(self.stop))
                _usage_handler.set(usage)
                for item in api.answer_stream(question, history, mode=mode, config=config):
                    if self.stop.is_set():
                        return
                    self._put("text" if isinstance(item, str) else "answer", item)
                self._put("usage", usage.usage_metadata)
            finally:
                self.place.leave()
        except AnswerStopped:
            log.info("stopped answering %r: the client went away", question)
        except Exception as exc:
            self._put("error", exc)
        finally:
            self._put("end", None)

    async def next_item(self, request: Request | None = None) -> tuple[str, Any]:
        """The next item; with `request`, ("gone", None) as soon as its client disconnects."""
        if self._next is None:
            self._next = asyncio.ensure_future(self.items.get())
        while True:
            done, _ = await asyncio.wait({self._next}, timeout=STOP_POLL_S)
            if done:
                item, self._next = self._next.result(), None
                return item
            if request is not None and await request.is_disconnected():
                return "gone", None

    def close(self) -> None:
        """Stop the answer if it still runs and give up its place if it still waits (idempotent)."""
        self.stop.set()
        self.place.abandon()
        if self._next is not None:
            self._next.cancel()


def error_for(exc: BaseException) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueueFull):
        return ApiError(
            429,
            str(exc),
            kind="rate_limit_error",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, InputError):
        return ApiError(400, str(exc), param="messages")
    if isinstance(exc, AssistantError):  # no usable index, a model that will not load: the server's to fix
        return ApiError(503, str(exc), kind="server_error", code="unavailable")
    log.error("answering failed", exc_info=exc)
    return ApiError(500, SERVER_ERROR, kind="server_error")


# ---------------------------------------------------------------------------------------------
# The response


def answer_extras(result: Answer) -> dict:
    """What the OpenAI format has no field for: whether the documents hold the answer, and where it stands."""
    return {
        "found": result.found,
        "sources": [asdict(source) for source in result.sources],
        "condensed_question": result.condensed_question,
        "answer_mode": result.mode,
    }


def usage_of(usage_by_model: dict[str, Any]) -> dict | None:
    """The language model's own token counts over every call it made for the answer; None if it made none."""
    if not usage_by_model:
        return None
    prompt = sum(u.get("input_tokens", 0) for u in usage_by_model.values())
    completion = sum(u.get("output_tokens", 0) for u in usage_by_model.values())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def usage_fields(usage: dict | None) -> dict:
    return {"usage": usage} if usage is not None else {"usage": None, "usage_note": NO_USAGE_NOTE}


def sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


class AnswerStream(StreamingResponse):
    """Server-sent events that close their run however the response ends, even if never started."""

    def __init__(self, events: AsyncIterator[str], run: AnswerRun) -> None:
        super().__init__(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.run.close()


# ---------------------------------------------------------------------------------------------
# The app


def build_openai_app(
    config: Config, *, credentials: Credentials, answer_queue: AnswerQueue, failed_logins: FailedLogins
) -> FastAPI:
    """The /v1 app; `answer_queue` and `failed_logins` are the page's, so both front ends share them."""
    app = FastAPI(title="Report assistant OpenAI-compatible API", docs_url=None, redoc_url=None, openapi_url=None)
    started = int(time.time())

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = {404: f"No such route: {request.method} {request.url.path}.", 405: "Method not allowed."}
        return ApiError(exc.status_code, message.get(exc.status_code, str(exc.detail))).response()

    def authenticate(request: Request) -> None:
        if not credentials.required:
            return
        client = request.client.host if request.client else "unknown"
        wait = failed_logins.wait_seconds(client)
        if wait:
            raise ApiError(
                429, too_many_failures_message(wait), kind="rate_limit_error", headers={"Retry-After": str(wait)}
            )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "No API key: send `Authorization: Bearer KEY` with a key of ASSISTANT_API_KEYS"
                " or the user:password of a page login.",
                code="invalid_api_key",
            )
        accepted = credentials.accepts_key(token.strip())
        failed_logins.record(client, succeeded=accepted)
        if not accepted:
            raise ApiError(401, "Incorrect API key or login.", code="invalid_api_key")

    def model_card(name: str) -> dict:
        return {"id": name, "object": "model", "created": started, "owned_by": OWNER}

    def mode_of(name: str) -> str:
        if name not in MODELS:
            raise ApiError(
                404,
                f"The model {name!r} does not exist: choose one of {', '.join(MODELS)}.",
                param="model",
                code="model_not_found",
            )
        return MODELS[name]

    @app.get("/models")
    async def list_models(request: Request) -> dict:
        authenticate(request)
        return {"object": "list", "data": [model_card(name) for name in MODELS]}

    @app.get("/models/{name}")
    async def get_model(name: str, request: Request) -> dict:
        authenticate(request)
        mode_of(name)
        return model_card(name)

    @app.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        authenticate(request)
        chat = parse_request(await read_body(request, config.max_request_bytes))
        mode = mode_of(chat.model)
        question, history = question_and_history(chat.messages)
        try:
            api.check_question(question, config)  # refused now, not after a wait in line
            place = answer_queue.join()
        except AssistantError as exc:
            raise error_for(exc) from None
        run = AnswerRun(place, question, history, mode, config)
        reply = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": chat.model}
        try:
            first = await run.next_item(request)
        except BaseException:
            run.close()
            raise
        if first[0] in ("error", "gone", "end"):
            run.close()
            if first[0] == "error":
                raise error_for(first[1])
            return JSONResponse({}, status_code=499)  # nobody is left to read it
        if chat.stream:
            include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
            return AnswerStream(stream_events(run, first, reply, include_usage), run)
        try:
            return await whole_reply(run, first, reply, request)
        finally:
            run.close()

    return app


async def whole_reply(run: AnswerRun, first: tuple[str, Any], reply: dict, request: Request) -> JSONResponse:
    text, result, usage = "", None, None
    item = first
    while item[0] != "end":
        kind, value = item
        if kind == "gone":
            return JSONResponse({}, status_code=499)
        if kind == "error":
            raise error_for(value)
        if kind == "text":
            text += value
        elif kind == "answer":
            result = value
        elif kind == "usage":
            usage = usage_of(value)
        item = await run.next_item(request)
    if result is None:
        raise ApiError(500, SERVER_ERROR, kind="server_error")
    return JSONResponse(
        {
            **reply,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            **usage_fields(usage),
            **answer_extras(result),
        }
    )


async def stream_events(run: AnswerRun, first: tuple[str, Any], reply: dict, include_usage: bool) -> AsyncIterator[str]:
    """The OpenAI chunk format: the role, the checked text, a last chunk with the sources, [DONE].

    Starlette cancels this generator when the client disconnects; the run is then closed, which
    stops the model.
    """
    base = {**reply, "object": "chat.completion.chunk"}
    finish: Literal["stop"] | None = None

    def chunk(delta: dict, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse({**base, "choices": [choice], **({"usage": None} if include_usage else {}), **extra})

    try:
        yield chunk({"role": "assistant", "content": ""})
        item, result, usage = first, None, None
        while item[0] != "end":
            kind, value = item
            if kind == "error":
                yield sse(error_for(value).body())
                return
            if kind == "text":
                yield chunk({"content": value})
            elif kind == "answer":
                result = value
            elif kind == "usage":
                usage = usage_of(value)
            item = await run.next_item()
        if result is None:
            yield sse(ApiError(500, SERVER_ERROR, kind="server_error").body())
            return
        finish = "stop"
        yield chunk({}, **answer_extras(result), **({} if include_usage else usage_fields(usage)))
        if include_usage:
            yield sse({**base, "choices": [], **usage_fields(usage)})
        yield sse("[DONE]")
    finally:
        run.close()
