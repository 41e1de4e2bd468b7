"""The tutorial-RAG baseline: its "don't know" detection and its reuse of a built collection."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Config
from bench.peer import Peer, says_not_found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I don\u2019t know.", True),
        ("The context does not mention it, so I cannot answer.", True),
        ("根据提供的上下文，无法回答这个问题。", True),
        ("上下文中没有提到陈秀丽的死因。", True),
        ("李x3的妻子是卢英凤。", False),
    ],
)
def test_says_not_found(text: str, expected: bool) -> None:
    assert says_not_found(text) is expected


def test_collection_is_reused_until_the_documents_change(
    base_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("深圳市2008年全社会研发投入达到260亿元。" * 40, encoding="utf-8")
    # A chat model that is never called: the test only builds the collection.
    config = base_config.replace(llm="openai:none@http://127.0.0.1:9")
    store = tmp_path / "store"
    first = Peer(docs, store, config).store._collection.count()
    assert first > 1
    builds: list[int] = []
    build = Peer._build
    monkeypatch.setattr(Peer, "_build", lambda self, files: builds.append(len(files)) or build(self, files))
    assert Peer(docs, store, config).store._collection.count() == first
    assert builds == []
    (docs / "b.txt").write_text("第二份报告。", encoding="utf-8")
    assert Peer(docs, store, config).store._collection.count() == first + 1
    assert builds == [2]
