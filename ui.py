"""The chat page: a thin Gradio front end over assistant.api.

Run it with `assistant chat` (or `serve(Config.from_env())`). Everything the page does goes through
assistant.api; this file only turns answers into HTML and keeps each visitor's conversation in
per-session state.

Scripts can call the `/ask` endpoint::

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    result = client.predict("2007年广州市专利授权量是多少？", "auto", api_name="/ask")
    print(result["answer"], result["sources"][0]["doc"])
    client.predict(api_name="/reset")  # start a new conversation in this client's session
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import html
import logging
import os
import re
import shutil
import socket
import threading
import unicodedata
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import api  # importing assistant first turns Gradio analytics off
from assistant.answer_queue import AnswerQueue
from assistant.config import Config
from assistant.errors import AssistantError, ConfigError
from assistant.ingest import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, file_problem
from assistant.logins import (
    LOGIN_FAILURES,
    LOGIN_LOCKOUT_S,
    Credentials,
    FailedLogins,
    read_api_keys,
    read_auth,
    too_many_failures_message,
)
from assistant.openai_api import build_openai_app

import gradio as gr  # isort: skip
from gradio.utils import get_upload_folder  # isort: skip

log = logging.getLogger("assistant.ui")

CJK_FONTS = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei"]
SANS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", *CJK_FONTS, "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", *CJK_FONTS, "monospace"]
# Plain font names (no GoogleFont): the page loads no font from outside.
THEME = gr.themes.Default(font=SANS, font_mono=MONO)

CSS = """
.sources { font-size: 0.95em; line-height: 1.6; max-height: 720px; overflow-y: auto; padding-right: 4px; }
.sources h3 { margin: 0 0 0.5em; font-size: 1.05em; }
.sources .understood { margin: 0 0 0.6em; color: var(--body-text-color-subdued); }
.sources .source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.5em 0.75em; margin: 0 0 0.6em; }
.sources .source.cited { border-color: var(--color-accent); }
.sources .where { font-weight: 600; margin-bottom: 0.25em; overflow-wrap: anywhere; }
.sources .where .num { color: var(--color-accent); margin-right: 0.3em; }
.sources .title { font-weight: 400; }
.sources .section { font-weight: 400; color: var(--body-text-color-subdued); }
.sources .page { font-weight: 400; margin-left: 0.3em; }
.sources .open { font-weight: 400; margin-left: 0.4em; }
.sources .passage { white-space: pre-wrap; overflow-wrap: anywhere; }
.sources mark { background: #fde68a; color: inherit; padding: 0 0.1em; border-radius: 2px; }
.sources .empty { color: var(--body-text-color-subdued); }
#chatbot .message-content { white-space: pre-wrap; }
.notice-error { color: var(--error-text-color, #b91c1c); }
"""

EXAMPLES = [
    "2007年广州市专利授权量是多少？",
    "其中发明专利有多少件？",
    "全年登记了多少项技术合同？",
    "总免税额呢？",
    "How many patents did Guangzhou grant in 2007?",
]
MODE_CHOICES = [
    ("auto (model if available)", "auto"),
    ("llm (language model)", "llm"),
    ("extractive (quote the report)", "extractive"),
]
ANSWERING_NOTICE = (
    "Answering… A question you type now stays in the box: press Enter when this answer ends, or Stop it."
    " 正在回答……新的问题会留在输入框中，回答结束后按回车提问，或点击停止。"
)
STOPPED = " (stopped 已停止)"
STOPPED_NOTICE = "Stopped. Ask again when you are ready. 已停止。"
SEARCHING = '<div class="sources searching"><p class="empty">Searching the reports… 正在检索…</p></div>'
GENERIC_ERROR = (
    "Sorry, something went wrong while answering. Please try again; if it keeps happening, tell the administrator."
)
UPLOAD_SUFFIXES = list(SUPPORTED_SUFFIXES)
UPLOAD_ROUTES = ("/gradio_api/upload", "/gradio_api/process_recording")  # Gradio's routes that store files
# Indexed documents a source links to, served by their name; only types a browser shows without
# running anything of the document's (an indexed HTML page would run its scripts on this page's origin).
DOCUMENT_ROUTE = "/document/"
VIEWABLE_SUFFIXES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
# The login page says "Incorrect Credentials" for a refused login too, so it explains the pause up front.
LOGIN_MESSAGE = (
    f"Report assistant 报告问答 — after {LOGIN_FAILURES} failed logins within a minute,"
    f" logins from your address pause for {LOGIN_LOCKOUT_S / 60:.0f} minutes."
)


# ---------------------------------------------------------------------------------------------
# The app


class AssistantApp(gr.Blocks):
    """gr.Blocks with this app's safe launch defaults (Gradio 6 takes theme and CSS in launch()).

    `answer_queue` is the line the page's answers wait in, and `failed_logins` the record of its
    failed logins; a server that also serves the API hands both to it.
    """

    def __init__(self, *args, config: Config, read_only: bool = False, answer_queue: AnswerQueue, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.assistant_config = config  # gr.Blocks keeps its own `config`
        self.read_only = read_only
        self.answer_queue = answer_queue
        self.failed_logins = FailedLogins()

    def launch(self, *args, **kwargs):  # type: ignore[override]
        # Gradio's routes accept uploads and unlimited login attempts; these guards run before them.
        guards = [Middleware(LoginThrottle, failed_logins=self.failed_logins)]
        guards += [Middleware(NoUploads)] if self.read_only else []
        guards.append(Middleware(DocumentFiles, config=self.assistant_config))
        app_kwargs = dict(kwargs.get("app_kwargs") or {})
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), *guards]
        kwargs["app_kwargs"] = app_kwargs
        kwargs.setdefault("theme", THEME)
        kwargs.setdefault("css", CSS)
        kwargs.setdefault("share", False)
        kwargs.setdefault("ssr_mode", False)
        kwargs.setdefault("show_error", False)
        kwargs.setdefault("max_file_size", MAX_FILE_BYTES)
        kwargs.setdefault("footer_links", ["api", "settings"])
        kwargs.setdefault("server_name", "127.0.0.1")
        return super().launch(*args, **kwargs)


def build_app(config: Config, *, read_only: bool = False) -> AssistantApp:
    """The chat page (and, unless read_only, the documents tab) over the index in `config`."""
    answer_queue = AnswerQueue.from_config(config)
    with AssistantApp(
        title="Report assistant 报告问答",
        analytics_enabled=False,
        config=config,
        read_only=read_only,
        answer_queue=answer_queue,
    ) as demo:
        gr.Markdown(
            "## Report assistant · 报告问答\nAsk questions about the indexed reports; every answer cites its source."
        )
        history = gr.State([])  # this session's conversation: [{"role", "content": str}]

        with gr.Tabs():
            with gr.Tab("Chat 问答", id="chat"):
                _chat_tab(config, history, answer_queue)
            if not read_only:  # not rendered at all, so its endpoints do not exist either
                with gr.Tab("Documents 文档", id="documents"):
                    _documents_tab(config, demo)

        # The script endpoints: /ask (question, mode) -> dict, with follow-ups read against this
        # client's earlier questions; /reset starts a new conversation.
        api_question = gr.Textbox(visible=False, label="question")
        api_mode = gr.Radio(list(api.MODES), value="auto", visible=False, label="mode")
        api_result = gr.JSON(visible=False, label="answer")
        api_button = gr.Button(visible=False)
        api_button.click(
            partial(ask, config=config, answer_queue=answer_queue),
            [api_question, api_mode, history],
            [api_result, history],
            api_name="ask",
            concurrency_id="answer",
            concurrency_limit=config.answer_concurrency,
        )
        reset_button = gr.Button(visible=False)
        reset_button.click(lambda: [], None, [history], api_name="reset", queue=False)

    # Gradio counts an event as waiting until it starts, so its line holds the slots' events too.
    demo.queue(
        default_concurrency_limit=config.answer_concurrency,
        max_size=config.answer_concurrency + config.answer_queue_size,
    )
    return demo


def _chat_tab(config: Config, history: gr.State, answer_queue: AnswerQueue) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            chatbot = gr.Chatbot(
                label="Conversation 对话",
                height=460,
                elem_id="chatbot",
                buttons=["copy"],
                feedback_options=None,
                placeholder="Ask a question about the reports. 请输入关于报告的问题。",
                # Answers quote documents: their HTML, markdown links and URLs must stay text.
                render_markdown=False,
                latex_delimiters=[],
            )
            with gr.Row(equal_height=True):
                question = gr.Textbox(
                    show_label=False,
                    placeholder="Your question 问题，例如：2007年广州市专利授权量是多少？",
                    lines=1,
                    max_lines=4,
                    scale=5,
                    min_width=200,
                    elem_id="question",
                )
                send = gr.Button("Ask 提问", variant="primary", scale=1, min_width=80, elem_id="ask")
                stop = gr.Button("Stop 停止", variant="stop", scale=1, min_width=80, elem_id="stop", visible=False)
            notice = gr.Markdown(elem_id="chat-notice")
            with gr.Row(equal_height=False):
                mode = gr.Radio(
                    MODE_CHOICES, value="auto", label="Answer mode 回答方式", scale=3, min_width=240, elem_id="mode"
                )
                new_chat = gr.Button("New chat 新对话", scale=1, min_width=120, elem_id="new-chat")
            gr.Examples(EXAMPLES, inputs=[question], label="Examples 示例")
        with gr.Column(scale=2, min_width=300):
            sources = gr.HTML(sources_html(None), elem_id="sources")

    chat_outputs = [question, chatbot, history, sources, notice, send, stop]
    # One event for Enter and Ask: while it runs, both are ignored (trigger_mode "once") and a
    # question typed meanwhile stays in the box, which the answer no longer clears.
    answering = gr.on(
        [question.submit, send.click],
        partial(chat, config=config, answer_queue=answer_queue),
        [question, chatbot, history, mode],
        chat_outputs,
        concurrency_id="answer",
        concurrency_limit=config.answer_concurrency,
        api_visibility="private",
        trigger_mode="once",
    )
    stop.click(
        stop_answer,
        [chatbot],
        [chatbot, sources, notice, send, stop],
        cancels=[answering],
        api_visibility="private",
        queue=False,
    )
    new_chat.click(
        lambda: ("", [], [], sources_html(None), *answer_controls(streaming=False)),
        None,
        chat_outputs,
        cancels=[answering],
        api_visibility="private",
        queue=False,
    )
    # The chat's own trash button clears the display; the conversation state must go with it.
    chatbot.clear(lambda: ([], sources_html(None)), None, [history, sources], api_visibility="private", queue=False)


def _documents_tab(config: Config, demo: gr.Blocks) -> None:
    status = gr.Markdown(status_markdown(config), elem_id="index-status")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            files = gr.File(
                label=f"Upload reports ({', '.join(UPLOAD_SUFFIXES)}; up to {MAX_FILE_BYTES // 2**20} MiB each)",
                file_count="multiple",
                file_types=UPLOAD_SUFFIXES,
                elem_id="upload",
            )
            add_button = gr.Button("Add to index 加入索引", variant="primary", elem_id="add-docs")
            message = gr.Markdown(elem_id="docs-message", min_height=80)
        with gr.Column(scale=2, min_width=300):
            table = gr.Dataframe(
                headers=["name", "title", "chunks", "added_at"],
                value=documents_rows(config),
                interactive=False,
                wrap=True,
                column_widths=["34%", "36%", "10%", "20%"],
                label="Indexed documents",
                elem_id="documents",
            )
            with gr.Row(equal_height=True):
                to_remove = gr.Dropdown(
                    choices=document_names(config),
                    label="Document to remove",
                    scale=3,
                    min_width=200,
                    elem_id="remove-choice",
                )
                remove_button = gr.Button("Remove 删除", variant="stop", scale=1, min_width=100, elem_id="remove")
            with gr.Row():
                rebuild_button = gr.Button("Rebuild index 重建索引", elem_id="rebuild")
                refresh_button = gr.Button("Refresh 刷新", elem_id="refresh")

    refreshed = [status, table, to_remove]
    index_kwargs = {
        "concurrency_id": "index",  # one build at a time; answering has its own concurrency group
        "concurrency_limit": 1,
        "api_visibility": "private",
        "show_progress_on": [message],
    }
    add_button.click(
        lambda f, progress=gr.Progress(): add_files(f, config, progress),  # noqa: B008
        [files],
        [message, files, *refreshed],
        **index_kwargs,
    )
    remove_button.click(lambda d: remove_document(d, config), [to_remove], [message, *refreshed], **index_kwargs)
    rebuild_button.click(
        lambda progress=gr.Progress(): rebuild_index(config, progress),  # noqa: B008
        None,
        [message, *refreshed],
        **index_kwargs,
    )
    refresh_button.click(lambda: refresh_outputs(config), None, refreshed, api_visibility="private", queue=False)
    demo.load(lambda: refresh_outputs(config), None, refreshed, api_visibility="private", queue=False)


# ---------------------------------------------------------------------------------------------
# Chat handlers


def chat(
    message: str,
    chat_messages: list[dict] | None,
    history: list[dict] | None,
    mode: str,
    *,
    config: Config,
    answer_queue: AnswerQueue,
) -> Iterator[tuple]:
    """Stream one answer into the chat; the conversation lives in this session's state only."""
    shown = list(chat_messages or [])
    if isinstance(message, str) and message.strip():
        text = message.strip()
        shown.append(bubble("user", text if len(text) <= 600 else text[:600] + " …"))
    history = list(history or [])
    # Only the first update empties the box: a question typed while this answer streams stays there.
    yield "", [*shown, bubble("assistant", "…")], history, SEARCHING, *answer_controls(streaming=True)
    unchanged = (gr.skip(),) * 4
    text = ""
    result = None
    try:
        with answer_queue.turn():  # the line the API's questions wait in too
            for item in api.answer_stream(message, history, mode=mode, config=config):
                if isinstance(item, str):
                    text += item
                    yield gr.skip(), [*shown, bubble("assistant", text + " …")], history, *unchanged
                else:
                    result = item
    except AssistantError as exc:
        yield gr.skip(), [*shown, bubble("assistant", f"⚠️ {exc}")], history, *finished(None)
        return
    except Exception:
        log.exception("answering %r failed", message)
        yield gr.skip(), [*shown, bubble("assistant", f"⚠️ {GENERIC_ERROR}")], history, *finished(None)
        return
    assert result is not None
    history = [
        *history,
        {"role": "user", "content": result.question},
        {"role": "assistant", "content": result.text},
    ]
    yield gr.skip(), [*shown, bubble("assistant", result.text)], history, *finished(result)


def answer_controls(*, streaming: bool) -> tuple:
    """The notice, Ask and Stop while an answer streams (Stop and why Enter waits) or once it has ended."""
    return (ANSWERING_NOTICE if streaming else "", gr.update(visible=not streaming), gr.update(visible=streaming))


def finished(result: api.Answer | None) -> tuple:
    """The sources of a finished answer (none for an error) and the controls for the next question."""
    return sources_html(result), *answer_controls(streaming=False)


def stop_answer(chat_messages: list[dict] | None) -> tuple:
    """Stop: the partial answer stays, marked as stopped, and does not join the conversation history."""
    shown = list(chat_messages or [])
    last = shown[-1] if shown else None
    if last is not None and last["role"] == "assistant":
        partial = message_text(last)
        if partial.endswith("…"):  # still streaming (a finished answer has no trailing ellipsis)
            # `partial` is already escaped for display; only the added words need escaping.
            stopped = (partial.removesuffix("…").rstrip() + html.escape(STOPPED)).lstrip()
            shown[-1] = {"role": "assistant", "content": stopped}
    return shown, sources_html(None), STOPPED_NOTICE, *answer_controls(streaming=False)[1:]


def bubble(role: str, text: str) -> dict:
    """A chat message showing `text` as plain text: the chat renders HTML, and answers quote documents."""
    return {"role": role, "content": html.escape(text, quote=False)}


def message_text(message: dict) -> str:
    """The text of a chat message as the Chatbot hands it back (a string or a list of parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def ask(
    question: str, mode: str | None, history: list[dict] | None, *, config: Config, answer_queue: AnswerQueue
) -> tuple[dict, list[dict]]:
    """The /ask endpoint: one answer as a JSON-ready dict; follow-ups use this session's history."""
    history = list(history or [])
    try:
        with answer_queue.turn():
            result = api.answer(question, history, mode=mode or "auto", config=config)
    except AssistantError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    except Exception:
        log.exception("answering %r failed", question)
        raise gr.Error(GENERIC_ERROR, print_exception=False) from None
    history += [{"role": "user", "content": result.question}, {"role": "assistant", "content": result.text}]
    payload = {
        "answer": result.text,
        "found": result.found,
        "question": result.question,
        "condensed_question": result.condensed_question,
        "mode": result.mode,
        "sources": [
            {
                "doc": s.doc,
                "title": s.title,
                "section": s.section,
                "text": s.text,
                "highlight": s.highlight,
                "score": s.score,
                "chunk_id": s.chunk_id,
                "page": s.page,
            }
            for s in result.sources
        ],
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
    }
    return payload, history


def sources_html(result: api.Answer | None) -> str:
    """The sources panel: each passage with its document, page and section, the answering sentence marked.

    A PDF's or a picture's source links to the original file, a PDF's at the passage's page.
    """
    if result is None:
        return (
            '<div class="sources"><p class="empty">Sources of the answer appear here. 答案的出处显示在这里。</p></div>'
        )
    parts = ['<div class="sources"><h3>Sources 出处</h3>']
    if result.condensed_question and result.condensed_question != result.question:
        parts.append(f'<p class="understood">Understood as 理解为：<b>{html.escape(result.condensed_question)}</b></p>')
    if not result.found:
        parts.append('<p class="empty">No passage answers this; the closest ones were:</p>')
    if not result.sources:
        parts.append('<p class="empty">No passages were found.</p>')
    for number, source in enumerate(result.sources, start=1):
        section = f' <span class="section">· {html.escape(source.section)}</span>' if source.section else ""
        title = (
            f' <span class="title">«{html.escape(source.title)}»</span>'
            if source.title and source.title != source.doc
            else ""
        )
        cited = " cited" if source.highlight else ""
        page = f' <span class="page">p. {source.page}</span>' if source.page is not None else ""
        link = (
            f' <a class="open" href="{html.escape(document_link(source.doc, source.page))}" target="_blank"'
            ' rel="noopener">open 打开</a>'
            if Path(source.doc).suffix.lower() in VIEWABLE_SUFFIXES
            else ""
        )
        parts.append(
            f'<div class="source{cited}" id="source-{number}">'
            f'<div class="where"><span class="num">[{number}]</span>{html.escape(source.doc)}{page}{title}{section}'
            f"{link}</div>"
            f'<div class="passage">{highlighted(source.text, source.highlight)}</div></div>'
        )
    parts.append("</div>")
    return "".join(parts)


def document_link(doc_id: str, page: int | None) -> str:
    """Where the page serves an indexed document (relative, so it works under any root path); a PDF opens at `page`."""
    return DOCUMENT_ROUTE.lstrip("/") + quote(doc_id) + (f"#page={page}" if page is not None else "")


def highlighted(text: str, sentence: str) -> str:
    """Escaped passage text with the answering sentence in <mark>."""
    escaped = html.escape(text)
    if not sentence:
        return escaped
    mark = html.escape(sentence)
    if mark in escaped:
        return escaped.replace(mark, f"<mark>{mark}</mark>", 1)
    return f"<mark>{mark}</mark><br>… {escaped}"


# ---------------------------------------------------------------------------------------------
# Documents handlers


def uploads_dir(config: Config) -> Path:
    """Uploaded files live beside the index generations (which rebuilds replace), never inside them."""
    return config.index_dir / ".uploads"


def safe_filename(name: str) -> str:
    """A base name with safe characters only (letters of any script, digits, _-.() and CJK brackets)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)
    stem, suffix = os.path.splitext(name)
    stem = re.sub(r"[^\w\-.()（）《》【】]+", "_", stem)
    stem = re.sub(r"_{2,}", "_", stem).strip("._- ")[:100] or "document"
    suffix = re.sub(r"[^\w]", "", suffix.lower())
    return f"{stem}.{suffix}" if suffix else stem


def add_files(files: list[str] | None, config: Config, progress=None) -> tuple:
    """Check the uploads, copy them into the uploads folder and add them; all or nothing.

    Gradio's temporary copies are deleted whatever happens: an added document lives in the
    uploads folder, and a refused one must not linger in the server's temporary folder.
    """
    try:
        return _add_uploads(files, config, progress)
    finally:
        _delete_temporary_uploads(files)


def _add_uploads(files: list[str] | None, config: Config, progress) -> tuple:
    if not files:
        return (_error("Choose one or more files first."), gr.skip(), *refresh_outputs(config))
    problems, staged = [], []
    for upload in files:
        path = Path(upload)
        name = safe_filename(path.name)
        problem = file_problem(name, path.stat().st_size if path.exists() else 0)
        if problem:
            problems.append(problem)
        else:
            staged.append((path, name))
    if problems:
        return (_error("Nothing was added:", problems), None, *refresh_outputs(config))

    if progress is not None:
        progress(None, desc="Reading the files…")
    created: list[Path] = []
    targets: list[Path] = []
    try:
        for path, name in staged:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            target = uploads_dir(config) / digest / name  # same bytes, same place: nothing is overwritten
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                created.append(target)
            if target not in targets:
                targets.append(target)
        report = api.add_documents(targets, config=config, progress=_progress_adapter(progress), strict=True)
    except AssistantError as exc:
        _delete_uploads(created, config)
        return (_error("Nothing was added:", [str(exc)]), None, *refresh_outputs(config))
    except Exception:
        log.exception("adding %s failed", [n for _, n in staged])
        _delete_uploads(created, config)
        return (
            _error("Nothing was added: an unexpected error occurred (see the server log)."),
            None,
            *refresh_outputs(config),
        )
    indexed = {d["path"] for d in api.index_status(config=config).get("documents", [])}
    _delete_uploads([p for p in created if str(p.resolve()) not in indexed], config)
    lines = []
    for label, names in (("Added", report.added), ("Updated", report.updated), ("Already indexed", report.unchanged)):
        shown = [n for n in names if n in {t.name for t in targets}]
        if shown:
            lines.append(f"{label}: {', '.join(shown)}")
    summary = "; ".join(lines) or "Nothing changed"
    return (f"✅ {summary}. The index holds {report.chunks_total} chunks.", None, *refresh_outputs(config))


def remove_document(doc_id: str | None, config: Config) -> tuple:
    if not doc_id:
        return (_error("Choose a document to remove."), *refresh_outputs(config))
    try:
        paths = [d["path"] for d in api.index_status(config=config).get("documents", []) if d["doc_id"] == doc_id]
        report = api.remove_documents([doc_id], config=config)
    except AssistantError as exc:
        return (_error(str(exc)), *refresh_outputs(config))
    except Exception:
        log.exception("removing %s failed", doc_id)
        return (_error("Removing failed: an unexpected error occurred (see the server log)."), *refresh_outputs(config))
    _delete_uploads([Path(p) for p in paths], config)
    return (f"✅ Removed {doc_id}. The index holds {report.chunks_total} chunks.", *refresh_outputs(config))


def rebuild_index(config: Config, progress=None) -> tuple:
    try:
        report = api.rebuild_index(config=config, progress=_progress_adapter(progress))
    except AssistantError as exc:
        return (_error(str(exc)), *refresh_outputs(config))
    except Exception:
        log.exception("rebuilding the index failed")
        return (
            _error("Rebuilding failed: an unexpected error occurred (see the server log)."),
            *refresh_outputs(config),
        )
    return (
        f"✅ Rebuilt: {report.chunks_total} chunks embedded again in {report.seconds:.1f} s.",
        *refresh_outputs(config),
    )


def refresh_outputs(config: Config) -> tuple:
    """Index status, the documents table and the removal choices, as they are now."""
    return status_markdown(config), documents_rows(config), gr.update(choices=document_names(config), value=None)


def _status(config: Config) -> dict:
    try:
        return api.index_status(config=config)
    except AssistantError as exc:
        return {"exists": False, "problem": str(exc), "index_dir": str(config.index_dir)}


def status_markdown(config: Config) -> str:
    status = _status(config)
    if status.get("problem"):
        return f"**Index problem:** {status['problem']}"
    if not status["exists"]:
        return "**No index yet.** Upload documents below (or run `assistant index build`)."
    size = f"{status['size_bytes'] / 2**20:.1f} MiB" if status["size_bytes"] is not None else status["store"]
    return (
        f"**Index:** {len(status['documents'])} documents, {status['chunks']} chunks,"
        f" {size} · model `{status['embedding_model']}`"
        f" ({status['dimension']} dimensions) · chunks of {status['chunk_size']} characters"
        f" · built {status['built_at']}"
    )


def documents_rows(config: Config) -> list[list]:
    rows = [[d["doc_id"], d["title"], d["chunks"], d["added_at"]] for d in _status(config).get("documents", [])]
    return sorted(rows, key=lambda r: r[0])


def document_names(config: Config) -> list[str]:
    return sorted(d["doc_id"] for d in _status(config).get("documents", []))


def _progress_adapter(progress):
    if progress is None:
        return None

    def report(done: int, total: int, message: str) -> None:
        progress((done, total) if total else None, desc=message)

    return report


def _delete_uploads(paths: list[Path], config: Config) -> None:
    """Delete files this app stored in the uploads folder; anything elsewhere is left alone."""
    root = uploads_dir(config).resolve()
    for path in paths:
        path = path.resolve()
        if not path.is_relative_to(root) or path == root:
            continue
        path.unlink(missing_ok=True)
        if path.parent != root and not any(path.parent.iterdir()):
            path.parent.rmdir()


def _delete_temporary_uploads(files: list[str] | None) -> None:
    """Delete Gradio's temporary copies of uploaded files (each in a folder of its own); nothing outside them."""
    root = Path(get_upload_folder()).resolve()
    for name in files or []:
        path = Path(name).resolve()
        if not path.is_relative_to(root) or path.parent == root:
            continue
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the folder still holds other files
            path.parent.rmdir()


def _error(message: str, details: list[str] | None = None) -> str:
    lines = [f"⚠️ **{message}**", *(f"- {html.escape(d)}" for d in details or [])]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Serving


class NoUploads:
    """ASGI middleware for a read-only page: Gradio's upload routes would store anyone's files and serve them back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith(UPLOAD_ROUTES):
            refusal = PlainTextResponse("This page is read-only: it takes no uploads.", status_code=403)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


class DocumentFiles:
    """ASGI middleware serving the indexed documents that sources link to, behind the page's login.

    Only a document the index holds is served, from the file its manifest records, and only the
    types in VIEWABLE_SUFFIXES: the route never reads a path a visitor names.
    """

    def __init__(self, app: ASGIApp, config: Config) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(DOCUMENT_ROUTE):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not _logged_in(request):
            response = PlainTextResponse("Log in on the chat page first.", status_code=401)
        else:
            doc_id = scope["path"].removeprefix(DOCUMENT_ROUTE)
            path = await anyio.to_thread.run_sync(self._indexed_file, doc_id)
            suffix = path.suffix.lower() if path else ""
            if path is None or suffix not in VIEWABLE_SUFFIXES:
                response = PlainTextResponse(f"No viewable document {doc_id!r} in the index.", status_code=404)
            elif not path.is_file():
                response = PlainTextResponse(
                    f"The file of {doc_id!r} has been moved or deleted since it was indexed.", status_code=404
                )
            else:
                response = FileResponse(
                    path,
                    media_type=VIEWABLE_SUFFIXES[suffix],
                    filename=path.name,
                    content_disposition_type="inline",
                    headers={"X-Content-Type-Options": "nosniff"},
                )
        await response(scope, receive, send)

    def _indexed_file(self, doc_id: str) -> Path | None:
        documents = _status(self.config).get("documents", [])
        return next((Path(d["path"]) for d in documents if d["doc_id"] == doc_id), None)


def _logged_in(request: Request) -> bool:
    """Whether the request may see the page: no login is set, or it carries Gradio's login cookie."""
    app = request.scope.get("app")
    if getattr(app, "auth", None) is None:
        return True
    token = request.cookies.get(f"access-token-{app.cookie_id}") or request.cookies.get(
        f"access-token-unsecure-{app.cookie_id}"
    )
    return app.tokens.get(token) is not None


class LoginThrottle:
    """ASGI middleware: Gradio's /login hears a client only while `failed_logins` does not pause it (429)."""

    def __init__(self, app: ASGIApp, failed_logins: FailedLogins) -> None:
        self.app = app
        self.failed_logins = failed_logins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.failed_logins.wait_seconds(client)
        if wait:
            refusal = JSONResponse(
                {"detail": too_many_failures_message(wait)}, status_code=429, headers={"Retry-After": str(wait)}
            )
            await refusal(scope, receive, send)
            return
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_noting_status)
        self.failed_logins.record(client, succeeded=status < 400)


def check_port_free(host: str, port: int) -> None:
    """Say which port is taken and how to choose another, before anything loads (Gradio would raise)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"Port {port} on {host} is already in use: stop what uses it or choose another with --port."
                ) from None
            raise ConfigError(f"Cannot serve on {host}:{port} ({exc.strerror}): check --host and --port.") from None


def _warm_up(config: Config) -> None:
    try:
        api.warm_up(config=config)
    except Exception as exc:  # the first question will report it properly
        log.warning("warm-up failed: %s", exc)


def start(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    read_only: bool = False,
    auth: list[tuple[str, str]] | None = None,
    block: bool = True,
    quiet: bool = False,
) -> AssistantApp:
    """One server: the page at / and the OpenAI-compatible API at /v1, with the same logins, the
    same record of failed ones and the same line of questions. Returns once stopped, or at once
    with `block=False` (then `close()` the returned app)."""
    credentials = Credentials(auth, read_api_keys(config))
    demo = build_app(config, read_only=read_only)
    openai_app = build_openai_app(
        config, credentials=credentials, answer_queue=demo.answer_queue, failed_logins=demo.failed_logins
    )
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message=LOGIN_MESSAGE,
        prevent_thread_lock=not block,
        quiet=quiet,
        # Routes given to the app before Gradio adds its own: /v1 is the API's, whatever Gradio serves.
        app_kwargs={"routes": [Mount("/v1", app=openai_app)]},
    )
    return demo


def serve(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    read_only: bool = False,
    auth_file: str | Path | None = None,
) -> None:
    """Serve the chat page and the API until interrupted; local only unless `host` says otherwise."""
    auth = read_auth(auth_file)
    check_port_free(host, port)
    if host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        log.warning(
            "serving on %s without a login: anyone who can reach it can use%s it",
            host,
            "" if read_only else " and edit",
        )
    threading.Thread(target=_warm_up, args=(config,), name="warm-up", daemon=True).start()
    start(config, host=host, port=port, read_only=read_only, auth=auth)
