"""The answering LLM: the GGUF file assembled from its packages, and xllamacpp behind langchain.

Tests marked ``llm`` load the real 1.1 GB model (a few seconds, short outputs).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant import gguf, llm
from assistant.config import Config

from .conftest import require_module

SYSTEM = "你是报告问答助手。只根据给出的资料回答，回答要简短。"
PASSAGE = "2007年，专利申请量连续第三年突破万件，达12057件，其中发明专利2894件，授权量8524件，同比增长33.2%。"


@pytest.fixture(scope="module")
def chat() -> llm.LocalChatModel:
    config = Config.from_env(llm="local")
    model = llm.get_chat_model(config)
    assert isinstance(model, llm.LocalChatModel)
    return model


def _messages(question: str) -> list:
    return [SystemMessage(SYSTEM), HumanMessage(f"资料：{PASSAGE}\n问题：{question}")]


@pytest.mark.llm
def test_stream_matches_invoke_at_temperature_zero(chat: llm.LocalChatModel) -> None:
    messages = _messages("2007年专利授权量是多少？")
    start = time.perf_counter()
    arrivals = [(time.perf_counter() - start, c.content) for c in chat.stream(messages, max_tokens=24)]
    texts = [c for _, c in arrivals if c]
    assert len(texts) > 1
    text_times = [t for t, c in arrivals if c]
    # Chunks arrive as tokens are decoded (>= 20 ms each here), not all at the end.
    assert text_times[-1] - text_times[0] > 0.01 * (len(text_times) - 1)
    streamed = "".join(texts)
    invoked = chat.invoke(messages, max_tokens=24).content
    assert streamed == invoked
    assert "8524" in invoked


@pytest.mark.llm
def test_stop_sequences_and_max_tokens(chat: llm.LocalChatModel) -> None:
    counted = chat.invoke([HumanMessage("从1数到30，用逗号分隔，不要其他文字。")], stop=["7"])
    assert "7" not in counted.content
    assert counted.content.startswith("1")
    short = chat.invoke([HumanMessage("写一首关于广州的长诗。")], max_tokens=5)
    assert short.response_metadata["finish_reason"] == "length"
    assert short.usage_metadata["output_tokens"] == 5


@pytest.mark.llm
def test_concurrent_invocations_are_serialised(chat: llm.LocalChatModel) -> None:
    questions = {
        "2007年专利授权量是多少？": "8524",
        "2007年发明专利申请有多少件？": "2894",
    }
    answers: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(q: str) -> None:
        try:
            answers[q] = chat.invoke(_messages(q), max_tokens=24).content
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for q, figure in questions.items():
        assert figure in answers[q], answers[q]


@pytest.mark.llm
def test_tokens_are_counted_by_the_model_s_own_tokenizer(chat: llm.LocalChatModel) -> None:
    assert chat.get_num_tokens("8524") == 4  # Qwen2.5 gives every digit a token
    assert 0 < chat.get_num_tokens(PASSAGE) < len(PASSAGE)


@pytest.mark.llm
def test_prompt_longer_than_the_context_is_a_clear_error(
    chat: llm.LocalChatModel,
) -> None:
    with pytest.raises(llm.LLMError, match="context"):
        chat.invoke([HumanMessage("字" * 6000)], max_tokens=2)


# --- No model load needed below --------------------------------------------


def test_damaged_model_file_is_reported_not_loaded(tmp_path: Path) -> None:
    config = Config(cache_dir=tmp_path)
    config.models_dir.mkdir(parents=True)
    target = config.models_dir / gguf.MODEL_FILENAME
    target.write_bytes(b"GGUF" + b"\0" * 1000)
    with pytest.raises(llm.ModelUnavailable, match="damaged") as info:
        llm.get_chat_model(config.replace(llm="local"))
    assert str(target) in str(info.value)
    assert "Delete" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_llm_setting_selects_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    assert llm.get_chat_model(Config(llm="none")) is None
    with pytest.raises(llm.AssistantError, match="Unknown llm setting"):
        llm.get_chat_model(Config(llm="llamafile"))
    require_module("langchain_openai", "langchain-openai (the openai or dev extra)")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    remote = llm.get_chat_model(Config(llm="openai:qwen2.5@http://127.0.0.1:9/v1"))
    assert type(remote).__name__ == "ChatOpenAI"
    assert remote.model_name == "qwen2.5"
    assert remote.openai_api_base == "http://127.0.0.1:9/v1"


@pytest.mark.fast
def test_the_weight_layout_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_REPACK_WEIGHTS", "yes")
    assert Config.from_env().llm_repack_weights is True
    monkeypatch.setenv("ASSISTANT_LLM_REPACK_WEIGHTS", "0")
    assert Config.from_env().llm_repack_weights is False


@pytest.mark.llm
def test_both_weight_layouts_answer_alike(chat: llm.LocalChatModel) -> None:
    # Either layout loads and reads the passage. They round differently, so greedy decoding may word
    # an answer differently (5 of 437 external questions in auto): the figure is what must agree.
    messages = _messages("2007年专利授权量是多少？")
    plain = chat.invoke(messages, max_tokens=24).content
    repacked = chat.model_copy(update={"repack_weights": True}).invoke(messages, max_tokens=24).content
    assert "8524" in plain and "8524" in repacked
